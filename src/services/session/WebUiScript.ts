/**
 * The web interface's script (served as /app.js by WebUi.ts): plain browser JavaScript, no framework and
 * no build step, so that the daemon serves it as it is and it runs on any current browser, phones included.
 *
 * It speaks the classic Transmission RPC dialect to /transmission/rpc (with the X-Transmission-Session-Id
 * 409 handshake), polls the list every second with only the fields the list shows, and the detail view's
 * heavy fields (files, peers, trackers, pieces) for the one torrent that is open. Every text that comes
 * from the daemon (torrent, file and client names, errors) goes into the page through textContent, never
 * markup: names come from torrents anyone can make.
 *
 * The script is a String.raw template so that its backslash escapes reach the browser unchanged; it must
 * contain no backquote and no dollar-brace. The formatting functions (WebUiFormat.ts) are put inside it.
 */
import { webUiFormat } from "./WebUiFormat.js"

export const webUiScript = String.raw`"use strict";
(function () {
` + webUiFormat + String.raw`
  var RPC_PATH = "/transmission/rpc";
  var POLL_MS = 1000;
  var LIST_FIELDS = ["id", "name", "status", "percentDone", "rateDownload", "rateUpload", "peersConnected",
    "eta", "totalSize", "error", "errorString"];
  var DETAIL_FIELDS = ["id", "name", "hashString", "status", "totalSize", "percentDone", "downloadDir",
    "error", "errorString", "pieceCount", "pieceSize", "pieces", "files", "peers", "trackerStats"];
  // Transmission's tr_torrent_activity: the three waits are all a place in a queue.
  var STATUS_WORDS = ["Stopped", "Queued", "Checking", "Queued", "Downloading", "Queued", "Seeding"];
  var HAVE_COLOUR = "#2e8b57";
  var MISSING_COLOUR = "#c8ccd2";

  var sessionId = "";
  var rows = new Map();
  var detailId = null;
  var removeId = null;
  var pollTimer = 0;
  var pollFailed = false;
  var refreshing = false;
  var refreshAgain = false;
  var lastPieceMap = "";
  var lastDetail = null;
  var resizeFrame = 0;

  function byId(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text, isError) {
    var line = byId("status-line");
    line.textContent = text;
    line.classList.toggle("error", !!isError);
  }

  // --- RPC -------------------------------------------------------------------------------------------

  async function post(body, mayRetry) {
    var response = await fetch(RPC_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Transmission-Session-Id": sessionId },
      body: body,
      credentials: "same-origin"
    });
    if (response.status === 409 && mayRetry) {
      // The daemon names the session id to use (CSRF protection); ask again once with it.
      sessionId = response.headers.get("X-Transmission-Session-Id") || "";
      return post(body, false);
    }
    if (!response.ok) throw new Error("HTTP " + response.status + (response.statusText ? " " + response.statusText : ""));
    var reply = await response.json();
    if (!reply || reply.result !== "success") throw new Error(reply && reply.result ? String(reply.result) : "no result");
    return reply.arguments || {};
  }

  function rpc(method, args) {
    return post(JSON.stringify({ method: method, arguments: args || {} }), true);
  }

  function statusWord(t) {
    return STATUS_WORDS[t.status] || "Unknown";
  }

  // --- The list --------------------------------------------------------------------------------------

  function makeRow(id) {
    var root = el("li", "torrent");
    root.dataset.id = String(id);
    var head = el("div", "head");
    var name = el("button", "name");
    name.type = "button";
    name.dataset.action = "open";
    var size = el("span", "size");
    head.append(name, size);
    var bar = el("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    var fill = el("div", "fill");
    bar.append(fill);
    var facts = el("div", "facts");
    var percent = el("span", "percent"), status = el("span", "status"), down = el("span", "down"),
      up = el("span", "up"), peers = el("span", "peers"), eta = el("span", "eta");
    facts.append(percent, status, down, up, peers, eta);
    var error = el("div", "torrent-error");
    error.hidden = true;
    var actions = el("div", "actions");
    var buttons = {};
    [["start", "Start"], ["stop", "Stop"], ["verify", "Verify"], ["remove", "Remove"]].forEach(function (pair) {
      var button = el("button", "action " + pair[0], pair[1]);
      button.type = "button";
      button.dataset.action = pair[0];
      buttons[pair[0]] = button;
      actions.append(button);
    });
    root.append(head, bar, facts, error, actions);
    return { root: root, name: name, size: size, bar: bar, fill: fill, percent: percent, status: status,
      down: down, up: up, peers: peers, eta: eta, error: error, buttons: buttons, torrent: null };
  }

  function updateRow(row, t) {
    row.torrent = t;
    var name = String(t.name);
    if (row.name.textContent !== name) {
      row.name.textContent = name;
      row.name.setAttribute("aria-label", "Details of " + name);
      row.bar.setAttribute("aria-label", "Progress of " + name);
      ["start", "stop", "verify", "remove"].forEach(function (action) {
        row.buttons[action].setAttribute("aria-label", row.buttons[action].textContent + " " + name);
      });
    }
    var percentText = formatPercent(t.percentDone);
    row.root.dataset.status = String(t.status);
    row.bar.setAttribute("aria-valuenow", (Math.floor((t.percentDone || 0) * 1000) / 10).toString());
    row.bar.setAttribute("aria-valuetext", percentText);
    row.fill.style.width = Math.max(0, Math.min(100, (t.percentDone || 0) * 100)) + "%";
    row.percent.textContent = percentText;
    row.status.textContent = statusWord(t);
    row.down.textContent = "\u2193 " + formatRate(t.rateDownload);
    row.up.textContent = "\u2191 " + formatRate(t.rateUpload);
    row.peers.textContent = t.peersConnected + (t.peersConnected === 1 ? " peer" : " peers");
    row.eta.textContent = formatEta(t.eta, t.percentDone);
    row.size.textContent = t.totalSize > 0 ? formatBytes(t.totalSize) : "size unknown";
    row.error.hidden = !t.error;
    row.error.textContent = t.error ? String(t.errorString || "error") : "";
    row.buttons.start.disabled = t.status !== 0;
    row.buttons.stop.disabled = t.status === 0;
    row.root.classList.toggle("open", t.id === detailId);
  }

  function showList(torrents) {
    var list = byId("torrents");
    var seen = new Set();
    var totalDown = 0, totalUp = 0;
    torrents.slice().sort(function (a, b) { return a.id - b.id; }).forEach(function (t, index) {
      seen.add(t.id);
      totalDown += t.rateDownload || 0;
      totalUp += t.rateUpload || 0;
      var row = rows.get(t.id);
      if (!row) { row = makeRow(t.id); rows.set(t.id, row); }
      updateRow(row, t);
      if (list.children[index] !== row.root) list.insertBefore(row.root, list.children[index] || null);
    });
    rows.forEach(function (row, id) {
      if (!seen.has(id)) { row.root.remove(); rows.delete(id); }
    });
    byId("empty").hidden = torrents.length > 0;
    byId("totals").textContent = "\u2193 " + formatRate(totalDown) + "  \u2191 " + formatRate(totalUp);
    if (detailId !== null && !seen.has(detailId)) closeDetail();
  }

  // --- The detail view -------------------------------------------------------------------------------

  function fillTable(id, records, cells) {
    var body = byId(id).tBodies[0];
    var fresh = document.createElement("tbody");
    records.forEach(function (record) {
      var tr = document.createElement("tr");
      cells(record).forEach(function (text) { tr.append(el("td", "", String(text))); });
      fresh.append(tr);
    });
    body.replaceWith(fresh);
    byId(id).dataset.rows = String(records.length);
  }

  function decodeBase64(text) {
    var binary = atob(text || "");
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // One cell per piece, in rows as wide as the panel; cells shrink as pieces multiply.
  function drawPieces(pieces, count) {
    var canvas = byId("piece-map");
    var width = Math.max(120, canvas.parentElement.clientWidth);
    var key = pieces + "|" + count + "|" + width;
    if (key === lastPieceMap) return;
    lastPieceMap = key;
    var bits = decodeBase64(pieces);
    var cell = Math.max(2, Math.min(14, Math.floor(Math.sqrt((width * 160) / Math.max(count, 1)))));
    var columns = Math.max(1, Math.floor(width / cell));
    var lines = Math.ceil(count / columns);
    var gap = cell >= 6 ? 1 : 0;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, columns * cell * ratio);
    canvas.height = Math.max(1, lines * cell * ratio);
    canvas.style.width = columns * cell + "px";
    canvas.style.height = lines * cell + "px";
    var context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, columns * cell, lines * cell);
    var have = 0;
    for (var i = 0; i < count; i++) {
      var set = ((bits[i >> 3] || 0) & (0x80 >> (i & 7))) !== 0;
      if (set) have++;
      context.fillStyle = set ? HAVE_COLOUR : MISSING_COLOUR;
      context.fillRect((i % columns) * cell, Math.floor(i / columns) * cell, cell - gap, cell - gap);
    }
    canvas.dataset.pieceCount = String(count);
    canvas.dataset.have = String(have);
    canvas.dataset.columns = String(columns);
    canvas.dataset.rows = String(lines);
    canvas.dataset.cellSize = String(cell);
    canvas.setAttribute("aria-label", "Piece map: " + have + " of " + count + " pieces verified");
    byId("piece-summary").textContent = have + " of " + count + " pieces";
  }

  function trackerRecords(t) {
    // Back from Transmission's trackerStats to the words a person reads.
    return (t.trackerStats || []).map(function (s) {
      var state = s.lastAnnounceSucceeded ? "working"
        : s.hasAnnounced ? "failed"
        : s.announceState === 1 || s.announceState === 2 ? "waiting" : "idle";
      var error = s.hasAnnounced && !s.lastAnnounceSucceeded ? (s.lastAnnounceResult || "") : "";
      var peers = typeof s.lastAnnouncePeerCount === "number" && s.lastAnnouncePeerCount >= 0 ? s.lastAnnouncePeerCount : "";
      return [s.announce, state, peers, error || "\u2013"];
    });
  }

  function showDetail(t) {
    lastDetail = t;
    byId("detail-name").textContent = String(t.name);
    byId("detail-status").textContent = statusWord(t) + ", " + formatPercent(t.percentDone);
    byId("detail-hash").textContent = String(t.hashString || "");
    byId("detail-size").textContent = t.totalSize > 0 ? formatBytes(t.totalSize) : "unknown";
    byId("detail-pieces").textContent = t.pieceCount > 0 ? t.pieceCount + " \u00d7 " + formatBytes(t.pieceSize) : "no metadata yet";
    byId("detail-dir").textContent = String(t.downloadDir || "");
    byId("detail-error").textContent = t.error ? String(t.errorString || "error") : "none";
    drawPieces(String(t.pieces || ""), t.pieceCount || 0);
    fillTable("files", t.files || [], function (f) {
      return [f.name, formatBytes(f.length), formatPercent(f.length > 0 ? f.bytesCompleted / f.length : 1)];
    });
    fillTable("peers", t.peers || [], function (p) {
      var host = String(p.address).indexOf(":") >= 0 ? "[" + p.address + "]" : String(p.address);
      return [host + ":" + p.port, p.clientName || "\u2013", formatRate(p.rateToClient), formatRate(p.rateToPeer), formatPercent(p.progress)];
    });
    fillTable("trackers", trackerRecords(t), function (record) { return record; });
  }

  function openDetail(id) {
    detailId = id;
    lastPieceMap = "";
    lastDetail = null;
    var row = rows.get(id);
    byId("detail-name").textContent = row && row.torrent ? String(row.torrent.name) : "";
    byId("detail").hidden = false;
    document.body.classList.add("detail-open");
    rows.forEach(function (r, rid) { r.root.classList.toggle("open", rid === id); });
    byId("detail-close").focus();
    refresh();
  }

  function closeDetail() {
    var id = detailId;
    detailId = null;
    byId("detail").hidden = true;
    document.body.classList.remove("detail-open");
    rows.forEach(function (r) { r.root.classList.remove("open"); });
    var row = id === null ? undefined : rows.get(id);
    if (row) row.name.focus();
  }

  // --- Polling and actions ---------------------------------------------------------------------------

  // One poll at a time: a refresh asked for during one (after an action) runs right after it.
  async function refresh() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    window.clearTimeout(pollTimer);
    try {
      var list = await rpc("torrent-get", { fields: LIST_FIELDS });
      showList(list.torrents || []);
      if (detailId !== null) {
        var detail = await rpc("torrent-get", { ids: [detailId], fields: DETAIL_FIELDS });
        var t = (detail.torrents || [])[0];
        if (t && t.id === detailId) showDetail(t);
      }
      if (pollFailed) { pollFailed = false; say("Connected.", false); }
      document.body.dataset.updated = String(Date.now());
    } catch (e) {
      pollFailed = true;
      say("Cannot get the torrents: " + (e && e.message ? e.message : String(e)), true);
    }
    refreshing = false;
    if (refreshAgain) { refreshAgain = false; refresh(); return; }
    if (!document.hidden) pollTimer = window.setTimeout(refresh, POLL_MS);
  }

  async function act(method, id, extra, done) {
    var args = { ids: [id] };
    if (extra) Object.keys(extra).forEach(function (k) { args[k] = extra[k]; });
    try {
      await rpc(method, args);
      say(done, false);
    } catch (e) {
      say(method + " failed: " + (e && e.message ? e.message : String(e)), true);
    }
    refresh();
  }

  function onListClick(event) {
    var target = event.target.closest("[data-action]");
    var rowNode = event.target.closest("li.torrent");
    if (!rowNode) return;
    var id = Number(rowNode.dataset.id);
    var row = rows.get(id);
    var name = row && row.torrent ? String(row.torrent.name) : "#" + id;
    var action = target ? target.dataset.action : "open";
    if (action === "start") act("torrent-start", id, null, "Started " + name + ".");
    else if (action === "stop") act("torrent-stop", id, null, "Stopped " + name + ".");
    else if (action === "verify") act("torrent-verify", id, null, "Verifying " + name + ".");
    else if (action === "remove") askRemove(id, name);
    else openDetail(id);
  }

  function askRemove(id, name) {
    removeId = id;
    byId("remove-name").textContent = name;
    byId("remove-data").checked = false;
    var dialog = byId("remove-dialog");
    dialog.returnValue = "";
    dialog.showModal();
  }

  function onRemoveClosed() {
    var dialog = byId("remove-dialog");
    var id = removeId;
    removeId = null;
    if (dialog.returnValue !== "remove" || id === null) return;
    var deleteData = byId("remove-data").checked;
    var name = byId("remove-name").textContent;
    act("torrent-remove", id, { "delete-local-data": deleteData }, "Removed " + name + (deleteData ? " and its data." : "."));
  }

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer);
    var chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return btoa(chunks.join(""));
  }

  // Each torrent is added on its own: one refused does not keep the others out.
  async function addOne(args, label) {
    try {
      var added = await rpc("torrent-add", args);
      if (added["torrent-duplicate"]) return { ok: true, text: "Already there: " + added["torrent-duplicate"].name };
      return { ok: true, text: "Added " + (added["torrent-added"] ? added["torrent-added"].name : label) };
    } catch (e) {
      return { ok: false, text: "Cannot add " + label + ": " + (e && e.message ? e.message : String(e)) };
    }
  }

  async function onAdd(event) {
    event.preventDefault();
    var fileInput = byId("add-file");
    var magnetInput = byId("add-magnet");
    var magnet = magnetInput.value.trim();
    var paused = byId("add-paused").checked;
    var files = Array.prototype.slice.call(fileInput.files || []);
    if (files.length === 0 && magnet === "") { say("Choose a .torrent file or paste a magnet link.", true); return; }
    var button = byId("add-button");
    button.disabled = true;
    var outcomes = [];
    for (var i = 0; i < files.length; i++) {
      var base64 = toBase64(await files[i].arrayBuffer());
      outcomes.push(await addOne({ metainfo: base64, paused: paused }, files[i].name));
    }
    fileInput.value = "";
    if (magnet !== "") {
      var linkOutcome = await addOne({ filename: magnet, paused: paused }, "the link");
      outcomes.push(linkOutcome);
      // A refused link stays in its field, to be corrected rather than typed again.
      if (linkOutcome.ok) magnetInput.value = "";
    }
    button.disabled = false;
    var failed = outcomes.some(function (o) { return !o.ok; });
    say(outcomes.map(function (o) { return /[.!?]$/.test(o.text) ? o.text : o.text + "."; }).join(" "), failed);
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    byId("torrents").addEventListener("click", onListClick);
    byId("add-form").addEventListener("submit", onAdd);
    byId("detail-close").addEventListener("click", closeDetail);
    byId("remove-dialog").addEventListener("close", onRemoveClosed);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && detailId !== null && !byId("remove-dialog").open) closeDetail(); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    window.addEventListener("resize", function () {
      window.cancelAnimationFrame(resizeFrame);
      resizeFrame = window.requestAnimationFrame(function () {
        if (detailId !== null && lastDetail !== null) drawPieces(String(lastDetail.pieces || ""), lastDetail.pieceCount || 0);
      });
    });
    refresh();
  });
})();
`
