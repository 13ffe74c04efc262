// The scale row (`npm run bench -- --rows scale`): one daemon seeding 1,000 small torrents, bt-effect's
// against qBittorrent's (qbittorrent-nox, the anchor) on the same torrents, data and tracker.
//
// The set: `count` torrents (default 1,000) of 256 KiB to 16 MiB (log-uniform, a seeded generator, so the
// same set every time), every third one a folder of 2-4 files, the others one file; written once under
// the bench's cache (about 3.7 GiB for 1,000) with their info dictionaries. Each client, with a fresh
// profile:
// 1. starts, is given every torrent through its API (the data already in place: bt-effect checks it,
//    qBittorrent is told to skip the check), and is waited for until all seed (not measured: this writes
//    the resume data);
// 2. is stopped gracefully and started again: **all seeding** is the time from the spawn to the first
//    poll (every 100 ms) that sees every torrent seeding;
// 3. once every torrent has announced `started` (at most 90 s) and 5 s more, **idle CPU** is its CPU over
//    two windows of `idleSeconds` one after the other (no peer connects: the tracker answers every
//    announce with no other peer), as a share of one core; **RSS** its resident set then;
// 4. **list all**: the median of 5 calls listing every torrent with the fields a front end asks for
//    (Transmission's torrent-get with the fields of transmission-remote-gui's list; qBittorrent's
//    torrents/info, which always returns all of its fields);
// 5. **announces**: from the tracker's log, the most `started` announces it saw in any one second after
//    the restart, and the seconds between the first and the last.
import { spawn } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { peerLoad } from "./peerload.mjs"
import { bencode, cpuSeconds, exited, freePort, infoHash, logTail, startTracker, stopTree, track, writeTorrent } from "./support.mjs"
import { startQbittorrent, stopQbittorrent } from "./qbittorrent.mjs"

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const KiB = 1024
const MiB = 1024 * 1024

/** A small seeded generator (mulberry32): the same set of sizes on every machine. */
const generator = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const pieceLengthFor = (size) => (size <= 2 * MiB ? 32 * KiB : size <= 8 * MiB ? 128 * KiB : 256 * KiB)

/** The torrents' layouts: name, files (relative to the data folder) and piece length. */
const layouts = (count) => {
  const random = generator(17)
  return Array.from({ length: count }, (_, i) => {
    const size = Math.round(256 * KiB * 2 ** (random() * 6))
    const name = `scale-${String(i).padStart(4, "0")}`
    const parts = i % 3 === 2 ? 2 + Math.floor(random() * 3) : 1
    const files = parts === 1 ? [{ path: `${name}.bin`, length: size }] :
      Array.from({ length: parts }, (_, f) => ({
        path: `${name}/part-${f + 1}.bin`,
        length: Math.floor(size / parts) + (f < size % parts ? 1 : 0)
      }))
    return { name: parts === 1 ? `${name}.bin` : name, multi: parts > 1, files, size, pieceLength: pieceLengthFor(size) }
  })
}

/** Writes the set's data and info dictionaries under `cache` once; later runs reuse them. */
export const prepareScaleSet = ({ cache, count }) => {
  const dir = path.join(cache, `scale-${count}`)
  const dataDir = path.join(dir, "data")
  const infoFile = path.join(dir, "infos.json")
  if (fs.existsSync(infoFile)) {
    const infos = JSON.parse(fs.readFileSync(infoFile, "utf8")).map((hex) => Buffer.from(hex, "hex"))
    console.log(`scale: cached ${count} torrents in ${dataDir}`)
    return { dataDir, infos, layouts: layouts(count) }
  }
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dataDir, { recursive: true })
  console.log(`scale: writing ${count} torrents to ${dataDir}`)
  const started = performance.now()
  const infos = []
  let total = 0
  for (const [i, layout] of layouts(count).entries()) {
    const keystream = createCipheriv("aes-128-ctr", Buffer.alloc(16, i & 0xff), Buffer.alloc(16, i >> 8))
    const bytes = keystream.update(Buffer.alloc(layout.size))
    total += layout.size
    let at = 0
    for (const file of layout.files) {
      const target = path.join(dataDir, file.path)
      fs.mkdirSync(path.dirname(target), { recursive: true })
      fs.writeFileSync(target, bytes.subarray(at, at + file.length))
      at += file.length
    }
    const pieces = []
    for (let p = 0; p < layout.size; p += layout.pieceLength) {
      pieces.push(createHash("sha1").update(bytes.subarray(p, Math.min(p + layout.pieceLength, layout.size))).digest())
    }
    const files = layout.multi ? { files: layout.files.map((f) => ({ length: f.length, path: [path.basename(f.path)] })) } : { length: layout.size }
    infos.push(bencode({ ...files, name: layout.name, "piece length": layout.pieceLength, pieces: Buffer.concat(pieces) }))
  }
  fs.writeFileSync(infoFile, JSON.stringify(infos.map((info) => info.toString("hex"))))
  console.log(`scale: ${(total / MiB).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { dataDir, infos, layouts: layouts(count) }
}

const rssMB = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : (Number(match[1]) * 1024) / 1e6
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** Waits until `allSeeding()` holds, polling every 100 ms; the seconds since `since`. */
const untilAllSeeding = async (allSeeding, child, since, timeoutMs, what) => {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`)
    const seeding = await allSeeding().catch(() => undefined)
    if (seeding?.done === true) return (performance.now() - since) / 1000
    if (performance.now() - since > timeoutMs) throw new Error(`${what}: ${seeding?.count ?? "?"} torrents seeding after ${timeoutMs / 1000} s`)
    await sleep(100)
  }
}

// ------------------------------------------------------------------------------------------------------
// bt-effect's daemon through its Transmission RPC

/** The fields transmission-remote-gui asks for in its torrent list (and Transmission's web client in part). */
const listFields = [
  "id", "name", "status", "errorString", "error", "sizeWhenDone", "leftUntilDone", "rateDownload", "rateUpload",
  "totalSize", "percentDone", "uploadedEver", "downloadedEver", "peersConnected", "peersSendingToUs",
  "peersGettingFromUs", "eta", "uploadRatio", "addedDate", "doneDate", "queuePosition", "hashString",
  "downloadDir", "isFinished", "isStalled", "recheckProgress", "metadataPercentComplete", "seedRatioLimit",
  "seedRatioMode", "labels", "haveValid", "corruptEver", "activityDate", "trackerStats"
]

const transmissionRpc = (port) => {
  let sessionId = ""
  const call = async (method, args = {}) => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await fetch(`http://127.0.0.1:${port}/transmission/rpc`, {
        method: "POST", headers: { "X-Transmission-Session-Id": sessionId, "content-type": "application/json" },
        body: JSON.stringify({ method, arguments: args })
      })
      if (response.status === 409) {
        sessionId = response.headers.get("X-Transmission-Session-Id") ?? ""
        continue
      }
      const body = await response.json()
      if (body.result !== "success") throw new Error(`${method}: ${body.result}`)
      return body.arguments
    }
    throw new Error(`${method}: no session id`)
  }
  return call
}

const startBtEffectDaemon = async (ctx, scale, rpcPort, peerPort) => {
  const logPath = path.join(ctx.workDir, "scale-bt-effect.log")
  const log = fs.openSync(logPath, "a")
  const args = [ctx.mainJs, "daemon", "--rpc-host", "127.0.0.1", "--rpc-port", String(rpcPort), "--peer-port", String(peerPort),
    "--download-dir", scale.dataDir, "--state", path.join(ctx.workDir, "scale-bt-effect-state"), "--no-dht", "--no-pex"]
  const child = track(spawn(process.execPath, args, { stdio: ["ignore", log, log] }))
  fs.closeSync(log)
  return { child, logPath, rpc: transmissionRpc(rpcPort) }
}

const btEffectScale = async (ctx, scale, torrents) => {
  const [rpcPort, peerPort] = [await freePort("127.0.0.1"), await freePort("127.0.0.1")]
  const allSeeding = (rpc) => async () => {
    const { torrents: list } = await rpc("torrent-get", { fields: ["status"] })
    const count = list.filter((t) => t.status === 6).length
    return { done: list.length === torrents.length && count === torrents.length, count }
  }
  let daemon = await startBtEffectDaemon(ctx, scale, rpcPort, peerPort)
  try {
    const since = performance.now()
    for (;;) {
      if (await daemon.rpc("session-get").then(() => true, () => false)) break
      if (performance.now() - since > 30_000) throw new Error("its RPC did not answer within 30 s")
      await sleep(100)
    }
    for (const torrent of torrents) {
      await daemon.rpc("torrent-add", { metainfo: fs.readFileSync(torrent).toString("base64"), "download-dir": scale.dataDir })
    }
    const firstSeconds = await untilAllSeeding(allSeeding(daemon.rpc), daemon.child, since, ctx.timeoutMs, "bt-effect")
    console.log(`scale: bt-effect checked and seeds all ${torrents.length} in ${firstSeconds.toFixed(1)} s (first start, not measured)`)
    await stopTree(daemon.child)
    await exited(daemon.child)
    const restartAt = performance.now()
    const announcesBefore = ctx.scaleTracker.announces.length
    daemon = await startBtEffectDaemon(ctx, scale, rpcPort, peerPort)
    const startSeconds = await untilAllSeeding(allSeeding(daemon.rpc), daemon.child, restartAt, ctx.timeoutMs, "bt-effect")
    return await idleFigures(ctx, {
      pid: daemon.child.pid, startSeconds, restartAt, announcesBefore,
      list: () => daemon.rpc("torrent-get", { fields: listFields }).then((a) => a.torrents.length),
      peers: { scale, host: "127.0.0.1", port: peerPort }
    })
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logTail(daemon.logPath)}`)
  } finally {
    await stopTree(daemon.child)
    await exited(daemon.child)
  }
}

// ------------------------------------------------------------------------------------------------------
// qBittorrent through its Web API

const qbittorrentScale = async (ctx, scale, torrents) => {
  const host = "127.0.0.21"
  let qbt = await startQbittorrent(ctx, host, { profileName: "qbittorrent-scale" })
  const allSeeding = async () => {
    const list = await qbt.api("torrents/info").then((r) => r.json())
    const count = list.filter((t) => t.progress === 1 && ["uploading", "stalledUP", "queuedUP", "forcedUP"].includes(t.state)).length
    return { done: list.length === torrents.length && count === torrents.length, count }
  }
  try {
    const since = performance.now()
    for (let at = 0; at < torrents.length; at += 50) {
      const form = new FormData()
      for (const torrent of torrents.slice(at, at + 50)) form.append("torrents", new Blob([fs.readFileSync(torrent)]), path.basename(torrent))
      // Told to skip the check: libtorrent checks one torrent at a time, over 10 minutes for this set
      // (bt-effect checks them all in about 30 s); the first start is not measured, the data is good.
      for (const [key, value] of Object.entries({ savepath: scale.dataDir, paused: "false", autoTMM: "false", skip_checking: "true" })) {
        form.append(key, value)
      }
      await qbt.api("torrents/add", form)
    }
    const firstSeconds = await untilAllSeeding(allSeeding, qbt.child, since, ctx.timeoutMs, "qBittorrent")
    console.log(`scale: qBittorrent checked and seeds all ${torrents.length} in ${firstSeconds.toFixed(1)} s (first start, not measured)`)
    await qbt.api("app/shutdown", "").catch(() => {})
    await Promise.race([exited(qbt.child), sleep(30_000)])
    await stopQbittorrent(qbt)
    const restartAt = performance.now()
    const announcesBefore = ctx.scaleTracker.announces.length
    qbt = await startQbittorrent(ctx, host, { profileName: "qbittorrent-scale" })
    const startSeconds = await untilAllSeeding(allSeeding, qbt.child, restartAt, ctx.timeoutMs, "qBittorrent")
    const { listen_port: port } = await qbt.api("app/preferences").then((r) => r.json())
    return await idleFigures(ctx, {
      pid: qbt.child.pid, startSeconds, restartAt, announcesBefore,
      list: () => qbt.api("torrents/info").then((r) => r.json()).then((list) => list.length),
      peers: { scale, host, port }
    })
  } finally {
    await stopQbittorrent(qbt)
  }
}

// ------------------------------------------------------------------------------------------------------

/** Leechers at once in the "peers" part, one per torrent, spread over the set (every fifth of 1,000). */
const loadPeers = 200

/**
 * `loadPeers` leechers (bench/peerload.mjs) download a torrent each from the daemon at once: the bytes it
 * served per second over the whole load, how many completed, and its CPU meanwhile.
 */
const servePeers = async ({ scale, host, port }, pid) => {
  const step = Math.max(1, Math.floor(scale.infos.length / loadPeers))
  const chosen = scale.infos.map((info, i) => ({ info, layout: scale.layouts[i] })).filter((_, i) => i % step === 0).slice(0, loadPeers)
  const torrents = chosen.map(({ info, layout }) => ({ infoHash: Buffer.from(infoHash(info), "hex"), size: layout.size, pieceLength: layout.pieceLength }))
  const cpuBefore = cpuSeconds(pid)
  const load = await peerLoad({ host, port, torrents })
  return {
    peers: torrents.length, peersComplete: load.complete, servedMB: load.bytes / 1e6, serveSeconds: load.seconds,
    serveMbps: load.bytes / 1e6 / load.seconds, serveCpuPercent: ((cpuSeconds(pid) - cpuBefore) / load.seconds) * 100,
    serveRssMB: rssMB(pid)
  }
}

const idleFigures = async (ctx, { pid, startSeconds, restartAt, announcesBefore, list, peers }) => {
  // Idle is after the start: once every torrent has announced (or a minute and a half), and 5 s more.
  const count = ctx.config.scaleCount
  const started = () => ctx.scaleTracker.announces.slice(announcesBefore).filter((a) => a.event === "start").length
  for (const until = performance.now() + 90_000; started() < count && performance.now() < until;) await sleep(200)
  await sleep(5_000)
  // Two windows: V8 gives back the heap a start grew in a one-off collection, which the first often
  // catches (bt-effect: 5% of a core over that window, 0.1% over the next); the second is the idle cost.
  const window = async () => {
    const cpuBefore = cpuSeconds(pid)
    const idleStart = performance.now()
    await sleep(ctx.scaleIdleSeconds * 1000)
    return (cpuSeconds(pid) - cpuBefore) / ((performance.now() - idleStart) / 1000)
  }
  const firstIdleCpu = await window()
  const idleCpu = await window()
  const rss = rssMB(pid)
  const listMs = []
  let listed = 0
  for (let i = 0; i < 5; i += 1) {
    const t = performance.now()
    listed = await list()
    listMs.push(performance.now() - t)
  }
  const starts = ctx.scaleTracker.announces.slice(announcesBefore).filter((a) => a.event === "start").map((a) => (a.at - restartAt) / 1000)
  const perSecond = new Map()
  for (const s of starts) perSecond.set(Math.floor(s), (perSecond.get(Math.floor(s)) ?? 0) + 1)
  const served = await servePeers(peers, pid)
  return {
    ...served,
    startSeconds, firstIdleCpuPercent: firstIdleCpu * 100, idleCpuPercent: idleCpu * 100, rssMB: rss, listMs: median(listMs), listed,
    announces: starts.length, announcesPeakPerSecond: Math.max(0, ...perSecond.values()),
    announceSpreadSeconds: starts.length === 0 ? Number.NaN : Math.max(...starts) - Math.min(...starts)
  }
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")

/** Runs the scale row for bt-effect and qBittorrent and prints its table. */
export const scaleRow = async (ctx) => {
  const scale = prepareScaleSet({ cache: ctx.config.cache, count: ctx.config.scaleCount })
  ctx.scaleTracker = await startTracker(ctx.trackerScript)
  const torrentDir = path.join(ctx.workDir, "scale-torrents")
  fs.mkdirSync(torrentDir, { recursive: true })
  const torrents = scale.infos.map((info, i) => writeTorrent(path.join(torrentDir, `${i}.torrent`), info, ctx.scaleTracker.httpUrl))
  const results = new Map()
  for (const [name, run] of [["bt-effect", btEffectScale], ["qBittorrent", qbittorrentScale]]) {
    try {
      const r = await run(ctx, scale, torrents)
      results.set(name, r)
      console.log(`scale: ${name}: all seeding ${fmt(r.startSeconds)} s after a restart, idle CPU ${fmt(r.firstIdleCpuPercent, 2)}% then ${fmt(r.idleCpuPercent, 2)}% of a core, ` +
        `RSS ${fmt(r.rssMB, 0)} MB, list of ${r.listed} in ${fmt(r.listMs, 0)} ms, ${r.announces} announces (at most ${r.announcesPeakPerSecond} in a second, over ${fmt(r.announceSpreadSeconds)} s); ` +
        `${r.peers} leechers at once: ${fmt(r.servedMB, 0)} MB in ${fmt(r.serveSeconds)} s (${fmt(r.serveMbps)} MB/s), ${r.peersComplete} complete, CPU ${fmt(r.serveCpuPercent, 0)}% of a core, RSS then ${fmt(r.serveRssMB, 0)} MB`)
    } catch (error) {
      results.set(name, { failure: (error instanceof Error ? error.message : String(error)).split("\n")[0] })
      console.log(`scale: ${name} skipped: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  await stopTree(ctx.scaleTracker.child)
  const cell = (name, key, digits) => {
    const r = results.get(name)
    return r?.failure !== undefined ? "skipped" : fmt(r?.[key], digits)
  }
  const rows = [
    ["all seeding after a restart (s)", "startSeconds", 1, "3"],
    [`CPU with no peer connected (% of a core, first ${ctx.scaleIdleSeconds} s)`, "firstIdleCpuPercent", 2, ""],
    [`CPU with no peer connected (% of a core, next ${ctx.scaleIdleSeconds} s)`, "idleCpuPercent", 2, "1"],
    ["RSS (MB)", "rssMB", 0, "150"],
    ["list all torrents (ms, median of 5)", "listMs", 0, "200"],
    ["started announces in the busiest second", "announcesPeakPerSecond", 0, ""],
    ["seconds from the first to the last started announce", "announceSpreadSeconds", 1, ""],
    [`${loadPeers} leechers at once, a torrent each: MB/s served`, "serveMbps", 1, ""],
    [`the same: leechers complete (of ${loadPeers})`, "peersComplete", 0, ""],
    ["the same: CPU (% of a core)", "serveCpuPercent", 0, ""],
    ["the same: RSS after (MB)", "serveRssMB", 0, ""]
  ]
  console.log(`\nScale: one daemon seeding ${torrents.length} torrents (256 KiB-16 MiB, a third multi-file), resume data present\n`)
  console.log("| | bt-effect daemon | qBittorrent | target (bt-effect) |\n|---|---|---|---|")
  for (const [label, key, digits, target] of rows) {
    console.log(`| ${label} | ${cell("bt-effect", key, digits)} | ${cell("qBittorrent", key, digits)} | ${target === "" ? "" : `< ${target}`} |`)
  }
  for (const [name, r] of results) if (r.failure !== undefined) console.log(`(${name}: ${r.failure})`)
  console.log("")
  return [...results.values()].every((r) => r.failure === undefined)
}
