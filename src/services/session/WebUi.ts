/**
 * The daemon's web interface: the files its RPC server serves as they are (no bundler, nothing built),
 * "/" the page, "/app.js" its script (WebUiScript.ts), "/app.css" its style (WebUiStyle.ts).
 *
 * The page holds only fixed markup: everything from the daemon is put in by the script as text. Script
 * and style are separate files rather than inline so that the server may send a Content-Security-Policy
 * of 'self' without 'unsafe-inline'. The empty data: icon keeps the browser from asking for /favicon.ico.
 */
import { webUiScript } from "./WebUiScript.js"
import { webUiStyle } from "./WebUiStyle.js"

export interface WebFile {
  readonly contentType: string
  readonly body: string
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>bt-effect</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>bt-effect</h1>
  <span id="totals" aria-label="Total rates"></span>
</header>
<main>
  <section id="list-section" class="panel" aria-labelledby="list-title">
    <h2 id="list-title">Torrents</h2>
    <form id="add-form" aria-label="Add a torrent">
      <div class="field">
        <label for="add-file">Torrent file</label>
        <input type="file" id="add-file" name="file" accept=".torrent,application/x-bittorrent" multiple>
      </div>
      <div class="field">
        <label for="add-magnet">Magnet link or URL</label>
        <input type="text" id="add-magnet" name="magnet" inputmode="url" autocomplete="off" autocapitalize="off"
          spellcheck="false" placeholder="magnet:?xt=urn:btih:...">
      </div>
      <label class="check"><input type="checkbox" id="add-paused" name="paused"> Add stopped</label>
      <button type="submit" id="add-button" class="primary">Add</button>
    </form>
    <p id="status-line" role="status" aria-live="polite"></p>
    <ul id="torrents" aria-label="Torrents"></ul>
    <p id="empty" hidden>No torrents yet.</p>
  </section>
  <section id="detail" class="panel" hidden aria-labelledby="detail-name">
    <header>
      <button type="button" id="detail-close" aria-label="Back to the list">Back</button>
      <h2 id="detail-name"></h2>
    </header>
    <dl class="facts-list">
      <dt>Status</dt><dd id="detail-status"></dd>
      <dt>Info hash</dt><dd id="detail-hash"></dd>
      <dt>Size</dt><dd id="detail-size"></dd>
      <dt>Pieces</dt><dd id="detail-pieces"></dd>
      <dt>Folder</dt><dd id="detail-dir"></dd>
      <dt>Error</dt><dd id="detail-error"></dd>
    </dl>
    <h3>Pieces</h3>
    <div class="piece-box"><canvas id="piece-map" role="img" aria-label="Piece map" width="1" height="1"></canvas></div>
    <p id="piece-summary"></p>
    <h3 id="files-title">Files</h3>
    <div class="scroll"><table id="files" aria-labelledby="files-title">
      <thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Done</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <h3 id="peers-title">Peers</h3>
    <div class="scroll"><table id="peers" aria-labelledby="peers-title">
      <thead><tr><th scope="col">Address</th><th scope="col">Client</th><th scope="col">Down</th><th scope="col">Up</th><th scope="col">Has</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <h3 id="trackers-title">Trackers</h3>
    <div class="scroll"><table id="trackers" aria-labelledby="trackers-title">
      <thead><tr><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Peers</th><th scope="col">Last error</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
</main>
<dialog id="remove-dialog" aria-labelledby="remove-title">
  <form method="dialog">
    <h2 id="remove-title">Remove this torrent?</h2>
    <p id="remove-name"></p>
    <label><input type="checkbox" id="remove-data"> Also delete the downloaded data</label>
    <div class="actions">
      <button value="cancel">Cancel</button>
      <button value="remove" id="remove-confirm" class="primary">Remove</button>
    </div>
  </form>
</dialog>
</body>
</html>
`

/** Path → file, for RpcServer's `staticFiles`. */
export const webFiles: ReadonlyMap<string, WebFile> = new Map([
  ["/", { contentType: "text/html; charset=utf-8", body: page }],
  ["/app.js", { contentType: "text/javascript; charset=utf-8", body: webUiScript }],
  ["/app.css", { contentType: "text/css; charset=utf-8", body: webUiStyle }]
])
