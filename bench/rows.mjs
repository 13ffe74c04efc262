// What the benchmark can measure: its jobs (one download each, by one client from one swarm), grouped in
// the rows that `--rows` names, and the swarms they download from (each a set of seeders of one torrent,
// started before the first job that needs it and stopped after the last). A job that cannot run (a
// command missing, a seeder that did not start, no disk space) is skipped with its reason.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { aria2Download, btEffectDownload, floorRun, startAria2Seeder, startBtEffectSeeder } from "./clients.mjs"
import { transmissionDownload, webtorrentDownload } from "./leechers.mjs"
import { libtorrentDownload, startLibtorrentSeeder, utpSocketBuffer } from "./libtorrent.mjs"
import { installQbittorrent, qbittorrentDownload, qbittorrentVersion, startQbittorrent, stopQbittorrent } from "./qbittorrent.mjs"
import { logTail, preparePayload, stopTree, topLevelValues, udpReceiveBufferErrors, verifyPayload, withSource, writeTorrent } from "./support.mjs"

/**
 * The leechers of the "uploads" rows, in the order they run (Transmission among the first, as a fresh
 * seeder in a real swarm meets it), each on a loopback address of its own: libtorrent refuses a peer on
 * its own IP address, and none of them must share one with a seeder.
 */
const uploadLeechers = [
  { client: "transmission", name: "Transmission", host: "127.0.0.11" },
  { client: "aria2c", name: "aria2c", host: "127.0.0.12" },
  { client: "webtorrent", name: "WebTorrent", host: "127.0.0.13" },
  { client: "qbittorrent", name: "qBittorrent", host: "127.0.0.14" }
]
/** qBittorrent is one daemon for every row that uses it, on the address of the uploads rows. */
const qbittorrentHost = uploadLeechers.find((l) => l.client === "qbittorrent").host
const uploadRows = uploadLeechers.map((l) => `up-${l.client}`)

/** `--rows` names: a row or a group of rows. "big" is in no group: it writes and downloads `--big-gib`.
 *  The "scale" and "stream" rows are tables of their own (bench/run.mjs runs them; `all` includes them). */
export const rowGroups = {
  default: ["download", "aria2c", "upload"],
  uploads: uploadRows,
  all: ["download", "aria2c", "upload", "btbt", "threads", "floor", "qbt", ...uploadRows, "multi", "files", "mse", "utp", "v2"]
}
export const rowNames = ["download", "aria2c", "upload", "btbt", "threads", "floor", "qbt", ...uploadRows, "multi", "files", "mse", "utp", "v2", "big"]
/** The rows issue 17's targets are judged on: without `--runs`, they (and their baselines) run 3 times. */
export const targetRows = ["btbt", "threads", "floor", ...uploadRows]
export const targetRuns = 3

/**
 * Every job, in the order they run. `job` is its id (also the legacy tables'), `row` the `--rows` name
 * that selects it, `payload` which payload, `swarm` whom it downloads from, `client` the downloader,
 * `baseline` the aria2c job its MB/s is compared with (the same payload from comparable seeders). An
 * upload job (`upload: true`) has its downloader on `host` and measures the transfer time too (from the
 * first payload byte on disk); its baseline is the same leecher's job from the aria2c seeder. The floor
 * job downloads from no swarm and has no baseline: it is bench/floor.mjs --direct on the payload.
 * A uTP job names its TCP counterpart in `tcp` (run beside it: "MB/s ÷ TCP"); a libtorrent downloader
 * has its `host` and `transport`; `flags` are the bt-effect options a job needs, per command (a build
 * without them skips the job, saying so).
 */
export const jobSpecs = (config) => [
  { job: "bt-effect", row: "download", label: "bt-effect ← aria2c", payload: "single", swarm: "aria2c", client: "bt-effect", baseline: "aria2c" },
  { job: "aria2c", row: "aria2c", label: "aria2c ← aria2c", payload: "single", swarm: "aria2c", client: "aria2c", baseline: "aria2c" },
  { job: "qbt", row: "qbt", label: "qBittorrent ← aria2c", payload: "single", swarm: "aria2c", client: "qbittorrent", baseline: "aria2c" },
  { job: "bt-effect seeder", row: "upload", label: "aria2c ← bt-effect", payload: "single", swarm: "bt-effect", client: "aria2c", baseline: "aria2c" },
  { job: "btbt", row: "btbt", label: "bt-effect ← bt-effect", payload: "single", swarm: "bt-effect", client: "bt-effect", baseline: "aria2c" },
  // The same with one thread hashing the pieces (HashThreads; off by default on two cores), to measure it.
  {
    job: "btbt threads", row: "threads", label: "bt-effect --hash-threads 1 ← bt-effect", payload: "single", swarm: "bt-effect",
    client: "bt-effect", baseline: "aria2c", args: ["--hash-threads", "1"]
  },
  { job: "floor", row: "floor", label: "floor: loopback TCP + SHA-1 + O_DIRECT writes, no BitTorrent", payload: "single", client: "floor" },
  ...uploadLeechers.flatMap(({ client, name, host }) => ["bt-effect", "aria2c"].map((seeder) => ({
    job: `${client} from ${seeder}`, row: `up-${client}`, label: `${name} ← ${seeder}`, payload: "single",
    swarm: `uploads ${seeder}`, client, host, baseline: `${client} from aria2c`, upload: true
  }))),
  { job: "multi", row: "multi", label: "bt-effect ← 5 seeders (3 bt-effect, 2 aria2c)", payload: "single", swarm: "five", client: "bt-effect", baseline: "multi aria2c" },
  { job: "multi aria2c", row: "multi", label: "aria2c ← the same 5 seeders", payload: "single", swarm: "five", client: "aria2c", baseline: "multi aria2c" },
  { job: "files", row: "files", label: `bt-effect ← aria2c, ${config.files} files`, payload: "files", swarm: "files", client: "bt-effect", baseline: "files aria2c" },
  { job: "files aria2c", row: "files", label: `aria2c ← aria2c, ${config.files} files`, payload: "files", swarm: "files", client: "aria2c", baseline: "files aria2c" },
  // Protocol encryption (MSE, RC4 both ways) against the plaintext rows "btbt" and "download".
  {
    job: "btbt mse", row: "mse", label: "bt-effect ← bt-effect, both --encryption require", payload: "single", swarm: "bt-effect mse",
    client: "bt-effect", baseline: "aria2c", args: ["--encryption", "require"]
  },
  {
    job: "mse aria2c", row: "mse", label: "bt-effect --encryption require ← aria2c --bt-require-crypto", payload: "single", swarm: "aria2c mse",
    client: "bt-effect", baseline: "aria2c", args: ["--encryption", "require"]
  },
  // uTP (BEP 29): each pair over uTP only beside the same pair over TCP, libtorrent's as the reference for
  // what uTP costs a mature implementation. Every libtorrent on a loopback address of its own; over uTP
  // with 4 MiB socket buffers (bench/libtorrent.mjs utpSocketBuffer) and, once, with the OS default.
  {
    job: "lt utp", row: "utp", label: "libtorrent ← libtorrent, both uTP only", payload: "single", swarm: "libtorrent utp",
    client: "libtorrent", host: "127.0.0.33", transport: "utp", socketBuffer: utpSocketBuffer, baseline: "aria2c", tcp: "lt tcp"
  },
  {
    job: "btlt utp", row: "utp", label: "bt-effect --no-tcp ← libtorrent uTP only", payload: "single", swarm: "libtorrent utp",
    client: "bt-effect", baseline: "aria2c", tcp: "btlt tcp", args: ["--no-tcp"], flags: [["download", "--no-tcp"]]
  },
  {
    job: "lt utp os buffers", row: "utp", label: "libtorrent ← libtorrent, both uTP only, OS default socket buffers", payload: "single",
    swarm: "libtorrent utp os buffers", client: "libtorrent", host: "127.0.0.33", transport: "utp", socketBuffer: 0, baseline: "aria2c", tcp: "lt tcp"
  },
  {
    job: "lt tcp", row: "utp", label: "libtorrent ← libtorrent, both TCP only", payload: "single", swarm: "libtorrent tcp",
    client: "libtorrent", host: "127.0.0.34", transport: "tcp", baseline: "aria2c"
  },
  {
    job: "btlt tcp", row: "utp", label: "bt-effect --no-utp ← libtorrent TCP only", payload: "single", swarm: "libtorrent tcp",
    client: "bt-effect", baseline: "aria2c", args: ["--no-utp"], flags: [["download", "--no-utp"]]
  },
  {
    job: "btbt utp", row: "utp", label: "bt-effect --no-tcp ← bt-effect --no-tcp", payload: "single", swarm: "bt-effect utp",
    client: "bt-effect", baseline: "aria2c", tcp: "btbt", args: ["--no-tcp"], flags: [["download", "--no-tcp"], ["seed", "--no-tcp"]]
  },
  // BitTorrent v2 (BEP 52): the payload as a v2-only torrent (made by `bt-effect create --v2`, the same
  // info hash libtorrent makes), seeded by libtorrent over TCP; beside the v1 pairs of the "utp" row's
  // "lt tcp" and "btlt tcp", so that what merkle checking costs shows as a ratio.
  {
    job: "lt v2", row: "v2", label: "libtorrent ← libtorrent, v2-only torrent, TCP", payload: "single", swarm: "libtorrent v2",
    client: "libtorrent", host: "127.0.0.37", transport: "tcp", baseline: "aria2c", tcp: "lt tcp"
  },
  {
    job: "btlt v2", row: "v2", label: "bt-effect --no-utp ← libtorrent, v2-only torrent, TCP", payload: "single", swarm: "libtorrent v2",
    client: "bt-effect", baseline: "aria2c", tcp: "btlt tcp", args: ["--no-utp"], flags: [["download", "--no-utp"]]
  },
  {
    job: "btbt v2", row: "v2", label: "bt-effect ← bt-effect, v2-only torrent", payload: "single", swarm: "bt-effect v2",
    client: "bt-effect", baseline: "aria2c", tcp: "btbt"
  },
  { job: "big", row: "big", label: "bt-effect ← aria2c, big file", payload: "big", swarm: "big", client: "bt-effect", baseline: "big aria2c" },
  { job: "big aria2c", row: "big", label: "aria2c ← aria2c, big file", payload: "big", swarm: "big", client: "aria2c", baseline: "big aria2c" }
]

/**
 * The jobs `--rows` selects, with the aria2c jobs their ratios need (and the TCP jobs of the uTP ones). `runs`: how many times each runs,
 * `--runs` or, without it, 3 for the target rows and their baselines and 1 for the others.
 */
export const selectJobs = (config, rows) => {
  const specs = jobSpecs(config)
  const wanted = new Set(specs.filter((s) => rows.includes(s.row)).map((s) => s.job))
  const targets = new Set(specs.filter((s) => wanted.has(s.job) && targetRows.includes(s.row)).flatMap((s) => [s.job, s.baseline]))
  for (const s of specs) {
    if (wanted.has(s.job)) for (const other of [s.baseline, s.tcp]) if (other !== undefined) wanted.add(other)
  }
  return specs.filter((s) => wanted.has(s.job)).map((s) => ({ ...s, runs: config.runs ?? (targets.has(s.job) ? targetRuns : 1) }))
}

/** The order the jobs run in: run 1 of every job, then run 2 of those that run twice or more, and so on. */
export const schedule = (specs) => {
  const runs = Math.max(0, ...specs.map((s) => s.runs))
  return Array.from({ length: runs }, (_, i) => specs.filter((s) => s.runs > i).map((spec) => ({ spec, run: i + 1 }))).flat()
}

/**
 * The swarms. A swarm other than "aria2c" on the single payload has an info dictionary with a `source`
 * key (bench/support.mjs withSource): another info hash, so that its downloaders only ever see its own
 * seeders. aria2c and libtorrent seeders bind a loopback address each; bt-effect seeders listen on every
 * address and announce from 127.0.0.1.
 */
const swarmSpecs = {
  aria2c: { payload: "single", seeders: [{ client: "aria2c", host: "127.0.0.2" }] },
  "bt-effect": { payload: "single", source: "bt-effect bench: bt-effect seeds", seeders: [{ client: "bt-effect" }] },
  // The uploads rows: one seeder each, serving its four leechers one after the other. Both announce every
  // 30 s (bt-effect's shortest interval, the tracker's), which is when they learn of a new leecher.
  "uploads bt-effect": { payload: "single", source: "bt-effect bench: uploads from bt-effect", seeders: [{ client: "bt-effect" }] },
  "uploads aria2c": {
    payload: "single", source: "bt-effect bench: uploads from aria2c", seeders: [{ client: "aria2c", host: "127.0.0.7", reannounceSeconds: 30 }]
  },
  five: {
    payload: "single", source: "bt-effect bench: five seeders",
    seeders: [{ client: "bt-effect" }, { client: "aria2c", host: "127.0.0.3" }, { client: "bt-effect" }, { client: "aria2c", host: "127.0.0.4" }, { client: "bt-effect" }]
  },
  files: { payload: "files", seeders: [{ client: "aria2c", host: "127.0.0.5" }] },
  "bt-effect mse": { payload: "single", source: "bt-effect bench: MSE required", seeders: [{ client: "bt-effect", extra: ["--encryption", "require"] }] },
  "aria2c mse": {
    payload: "single", source: "bt-effect bench: aria2c requires MSE",
    seeders: [{ client: "aria2c", host: "127.0.0.9", extra: ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"] }]
  },
  // The "utp" rows: libtorrent seeding over uTP only and over TCP only, a bt-effect seeder over uTP only.
  "libtorrent utp": {
    payload: "single", source: "bt-effect bench: libtorrent seeds over uTP",
    seeders: [{ client: "libtorrent", host: "127.0.0.31", transport: "utp", socketBuffer: utpSocketBuffer }]
  },
  "libtorrent utp os buffers": {
    payload: "single", source: "bt-effect bench: libtorrent seeds over uTP with the OS default socket buffers",
    seeders: [{ client: "libtorrent", host: "127.0.0.35", transport: "utp", socketBuffer: 0 }]
  },
  "libtorrent tcp": {
    payload: "single", source: "bt-effect bench: libtorrent seeds over TCP", seeders: [{ client: "libtorrent", host: "127.0.0.32", transport: "tcp" }]
  },
  "bt-effect utp": { payload: "single", source: "bt-effect bench: bt-effect seeds over uTP", seeders: [{ client: "bt-effect", extra: ["--no-tcp"] }] },
  // The "v2" rows: the payload as a v2-only torrent.
  "libtorrent v2": { payload: "single", v2: true, seeders: [{ client: "libtorrent", host: "127.0.0.36", transport: "tcp" }] },
  "bt-effect v2": { payload: "single", v2: true, seeders: [{ client: "bt-effect" }] },
  big: { payload: "big", seeders: [{ client: "aria2c", host: "127.0.0.6" }] },
  // The stream table's slow seeder (bench/stream.mjs): aria2c uploading at most --stream-upload-limit.
  "stream limited": {
    payload: "single", source: "bt-effect bench: a seeder limited for streaming", seeders: [{ client: "aria2c", host: "127.0.0.8", limited: true }]
  }
}

/** Whether swarm `name` has a bt-effect seeder (whose build then needs a `seed` command). */
export const swarmSeedsBtEffect = (name) => swarmSpecs[name]?.seeders.some((s) => s.client === "bt-effect") ?? false

const freeBytes = () => {
  const free = fs.statfsSync(os.tmpdir())
  return free.bavail * free.bsize
}

/** The payload named `which`, written (or found in the cache) on first use. */
const payload = (ctx, which) => {
  const { config } = ctx
  if (ctx.payloads[which] === undefined) {
    const size = which === "big" ? config.bigSize : config.size
    if (freeBytes() < size * 1.1) throw new Error(`not enough space in ${os.tmpdir()} for ${size} bytes`)
    ctx.payloads[which] = preparePayload({ ...config, size, files: which === "files" ? config.files : 1 })
  }
  return ctx.payloads[which]
}

/** The single-file payload as a v2-only torrent, made once by `bt-effect create --v2` with the payload's
 *  piece length: its info and piece layers, bencoded as they are in the .torrent. */
const v2Of = (ctx, data) => {
  if (ctx.v2Torrent === undefined) {
    const out = path.join(ctx.workDir, "payload-v2.torrent")
    const made = spawnSync(process.execPath, [ctx.mainJs, "create", path.join(data.dataDir, data.name), "--v2",
      "--piece-length", String(ctx.config.pieceLength), "--force", "-o", out], { encoding: "utf8" })
    if (made.status !== 0) throw new Error(`create --v2 failed: ${made.stderr.trim()}`)
    const top = topLevelValues(fs.readFileSync(out))
    ctx.v2Torrent = { info: top.get("info"), pieceLayers: top.get("piece layers") }
  }
  return ctx.v2Torrent
}

const startSwarm = async (ctx, name) => {
  const spec = swarmSpecs[name]
  const data = payload(ctx, spec.payload)
  const v2 = spec.v2 === true ? v2Of(ctx, data) : undefined
  const info = v2 !== undefined ? v2.info : spec.source === undefined ? data.info : withSource(data.info, spec.source)
  const torrent = writeTorrent(path.join(ctx.workDir, `swarm-${name}.torrent`), info, ctx.tracker.httpUrl, v2?.pieceLayers)
  const swarm = { name, payload: data, info, pieceLayers: v2?.pieceLayers, seeders: [] }
  ctx.swarms.set(name, swarm)
  const started = performance.now()
  for (const [i, seeder] of spec.seeders.entries()) {
    const options = { name: `${name}-seeder-${i + 1}-${seeder.client}`, torrent, info, dataDir: data.dataDir }
    swarm.seeders.push(seeder.client === "aria2c" ?
      await startAria2Seeder(ctx, {
        ...options, host: seeder.host, reannounceSeconds: seeder.reannounceSeconds,
        uploadLimit: seeder.limited === true ? ctx.config.streamUploadLimit : undefined, extra: seeder.extra
      }) :
      seeder.client === "libtorrent" ?
      await startLibtorrentSeeder(ctx, { ...options, host: seeder.host, transport: seeder.transport, socketBuffer: seeder.socketBuffer }) :
      await startBtEffectSeeder(ctx, { ...options, extra: seeder.extra }))
  }
  const who = swarm.seeders.map((s) => `${s.name.replace(/^.*-seeder-\d+-/, "")} on ${s.address}`).join(", ")
  const checks = spec.seeders.some((s) => s.client === "bt-effect") ? " (bt-effect seeders check the data first)" : ""
  console.log(`bench: swarm "${name}" ready in ${((performance.now() - started) / 1000).toFixed(1)} s${checks}: ${who}`)
  return swarm
}

export const stopSwarm = async (ctx, name) => {
  const swarm = ctx.swarms.get(name)
  ctx.swarms.delete(name)
  if (swarm !== undefined) await Promise.all(swarm.seeders.map((s) => stopTree(s.child)))
}

/** The swarm a job needs, started on first use; a failure is kept, so that the swarm's other jobs skip. */
export const ensureSwarm = async (ctx, name) => {
  if (ctx.swarms.has(name)) return ctx.swarms.get(name)
  if (ctx.failedSwarms.has(name)) throw ctx.failedSwarms.get(name)
  try {
    return await startSwarm(ctx, name)
  } catch (error) {
    await stopSwarm(ctx, name)
    const failure = new Error(`swarm "${name}" did not start: ${error instanceof Error ? error.message : String(error)}`)
    ctx.failedSwarms.set(name, failure)
    throw failure
  }
}

/** qbittorrent-nox, started on first use (installed first with `--install-qbt`). */
const ensureQbittorrent = async (ctx) => {
  if (ctx.qbittorrent !== undefined) return ctx.qbittorrent
  if (qbittorrentVersion(ctx.workDir) === undefined) {
    if (!ctx.config.installQbt) throw new Error("qbittorrent-nox is not installed (apt-get install -y qbittorrent-nox, or --install-qbt)")
    const failure = installQbittorrent()
    if (failure !== undefined) throw new Error(failure)
  }
  ctx.qbittorrent = await startQbittorrent(ctx, qbittorrentHost)
  console.log(`bench: ${qbittorrentVersion(ctx.workDir)} (Web API ${ctx.qbittorrent.version}) ready on ${qbittorrentHost}, profile in the bench's temp folder`)
  return ctx.qbittorrent
}
export const stopQbittorrentIfStarted = async (ctx) => {
  if (ctx.qbittorrent !== undefined) await stopQbittorrent(ctx.qbittorrent)
  ctx.qbittorrent = undefined
}

/** The floor row: bench/floor.mjs --direct on the payload file; its written file is deleted, not checked. */
const runFloor = async (ctx, spec, run) => {
  const data = payload(ctx, spec.payload)
  if (freeBytes() < data.size * 1.05) throw new Error(`not enough space in ${os.tmpdir()} for ${data.size} bytes`)
  const logPath = path.join(ctx.workDir, `floor-${run}.log`)
  const result = await floorRun(ctx, { logPath }, path.join(data.dataDir, data.files[0].path))
  const ok = result.code === 0 && !result.timedOut
  if (!ok) console.log(`  floor log (last lines):\n${logTail(logPath)}`)
  const mbps = ok ? data.size / 1e6 / result.seconds : Number.NaN
  return { job: spec.job, run, size: data.size, files: 1, ...result, mbps, transferMbps: mbps, verified: "not checked (floor.mjs deletes what it wrote)", ok }
}

const downloaders = {
  aria2c: aria2Download, "bt-effect": btEffectDownload, libtorrent: libtorrentDownload, transmission: transmissionDownload, webtorrent: webtorrentDownload
}

/** One download of `spec` in run `run`, into a fresh folder, verified against the payload's sha256. */
export const runJob = async (ctx, spec, run) => {
  if (spec.client === "floor") return runFloor(ctx, spec, run)
  const swarm = await ensureSwarm(ctx, spec.swarm)
  const data = swarm.payload
  if (freeBytes() < data.size * 1.05) throw new Error(`not enough space in ${os.tmpdir()} for ${data.size} bytes`)
  const qbt = spec.client === "qbittorrent" ? await ensureQbittorrent(ctx) : undefined
  const slug = spec.job.replace(/ /g, "-")
  const outDir = fs.mkdtempSync(path.join(ctx.workDir, `${slug}-${run}-`))
  const logPath = `${outDir}.log`
  const announce = spec.client === "bt-effect" && ctx.config.udp ? ctx.tracker.udpUrl : ctx.tracker.httpUrl
  const torrent = writeTorrent(path.join(ctx.workDir, `${slug}-${run}.torrent`), swarm.info, announce, swarm.pieceLayers)
  const job = {
    name: `${slug}-${run}`, outDir, torrent, logPath, info: swarm.info, host: spec.host ?? "127.0.0.1", args: spec.args ?? [],
    transport: spec.transport, socketBuffer: spec.socketBuffer,
    ...(spec.upload ? { watch: data.files.map((f) => path.join(outDir, f.path)) } : {})
  }
  // uTP jobs: the UDP datagrams the machine dropped for a full receive buffer meanwhile (any process's).
  const dropsBefore = spec.row === "utp" ? udpReceiveBufferErrors() : undefined
  const result = qbt === undefined ? await downloaders[spec.client](ctx, job, swarm.seeders) :
    await qbittorrentDownload(ctx, qbt, job, swarm.seeders)
  if (dropsBefore !== undefined) result.udpDrops = udpReceiveBufferErrors() - dropsBefore
  const verified = await verifyPayload(outDir, data)
  const ok = result.code === 0 && !result.timedOut && verified === "ok"
  if (!ok) {
    const log = qbt === undefined ? logTail(logPath) : `${result.failure ?? ""}\n${logTail(qbt.logPath)}`
    console.log(`  ${spec.job} log (last lines):\n${log}`)
  }
  fs.rmSync(outDir, { recursive: true, force: true })
  return {
    job: spec.job, run, size: data.size, files: data.files.length, ...result, verified, ok,
    mbps: ok ? data.size / 1e6 / result.seconds : Number.NaN,
    transferMbps: ok ? data.size / 1e6 / result.transferSeconds : Number.NaN
  }
}
