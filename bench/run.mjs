// npm run bench [-- --runs 3 --size-mib 1024 --piece 1024 --timeout 600 --only aria2c|bt-effect
//                   --direction both|download|upload --udp --fresh]
// npm run bench -- --rows all|default|uploads|download,aria2c,upload,btbt,threads,floor,qbt,up-transmission,
//                  up-aria2c,up-webtorrent,up-qbittorrent,multi,files,mse,utp,big,scale,stream
//                  [--files 200 --big-gib 4 --install-qbt --scale-count 1000 --idle-seconds 30
//                   --stream-upload-limit 16M]
//                  (and the flags above but --only and --direction)
// npm run bench -- ... --profile DIR   (every bt-effect process writes a V8 CPU profile into DIR)
// BT_EFFECT_BENCH_MAIN=/path/to/main.js npm run bench ...   (another build than dist/main.js)
//
// Loopback benchmark, each download into a fresh folder and verified by sha256. The default run measures
// both directions against aria2c, one after the other in each run:
// - download: bt-effect against aria2c, each downloading the payload from the same aria2c seeder
//   (127.0.0.2) found through the same bittorrent-tracker (127.0.0.1);
// - upload: aria2c downloading the payload from a bt-effect seeder (`bt-effect seed`, its own swarm) against
//   aria2c downloading it from the aria2c seeder (the download direction's aria2c run: one measurement,
//   shown in both tables).
// and prints one line per download and a markdown table per direction at the end. `--rows` picks rows
// among more (bench/rows.mjs: bt-effect to bt-effect, the machine's floor, qBittorrent, uploads to four
// real clients, five seeders, many files, encryption, uTP beside libtorrent, a big file) and prints a table
// of them (bench/report.mjs), the uploads rows in one of their own.
// Standalone on purpose (plain Node, no TypeScript): it runs `dist/main.js` (as `npx bt-effect` does), aria2c,
// transmission-cli, WebTorrent, qbittorrent-nox, libtorrent (bench/libtorrent-driver.py) and
// test/support/tracker-server.mjs as child processes, all tracked and stopped by PID (bench/support.mjs,
// bench/clients.mjs, bench/leechers.mjs, bench/qbittorrent.mjs, bench/libtorrent.mjs).
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { btEffectCommands, btEffectHasFlag, hasTime } from "./clients.mjs"
import { downloadTable, legacyLine, rowLine, rowsTable, uploadsTable, uploadTable } from "./report.mjs"
import { scaleRow } from "./scale.mjs"
import { streamRow } from "./stream.mjs"
import { jobSpecs, rowGroups, rowNames, runJob, schedule, selectJobs, stopQbittorrentIfStarted, stopSwarm, swarmSeedsBtEffect } from "./rows.mjs"
import { childPids, children, kill, startTracker, stopTree } from "./support.mjs"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const mainJs = path.resolve(process.env.BT_EFFECT_BENCH_MAIN ?? path.join(root, "dist", "main.js"))
const trackerScript = path.join(root, "test", "support", "tracker-server.mjs")

const usage = (message) => {
  console.error(`bench: ${message}`)
  process.exit(2)
}
const { values: flags } = parseArgs({
  options: {
    runs: { type: "string" }, // default: 3 for the rows targets depend on, 1 for the others
    size: { type: "string" }, // MiB (the older name of --size-mib)
    "size-mib": { type: "string" },
    piece: { type: "string", default: "1024" }, // KiB
    timeout: { type: "string", default: "600" }, // seconds per download
    only: { type: "string" },
    direction: { type: "string" },
    rows: { type: "string" },
    files: { type: "string", default: "200" }, // files of the "files" row's torrent
    "big-gib": { type: "string", default: "4" }, // the "big" row's payload
    "scale-count": { type: "string", default: "1000" }, // torrents of the "scale" row
    "idle-seconds": { type: "string", default: "30" }, // the "scale" row's idle CPU span
    "stream-upload-limit": { type: "string", default: "16M" }, // the "stream" row's limited aria2c seeder
    "install-qbt": { type: "boolean", default: false }, // apt-get install qbittorrent-nox when missing
    udp: { type: "boolean", default: false }, // bt-effect's torrents name the UDP tracker URL
    fresh: { type: "boolean", default: false }, // rebuild the cached payloads
    profile: { type: "string" }, // a folder: every bt-effect process writes a --cpu-prof profile there
    cache: { type: "string", default: path.join(os.tmpdir(), "bt-effect-bench-cache") }
  }
})
const direction = flags.direction ?? "both"
if (!["both", "download", "upload"].includes(direction)) usage(`--direction is both, download or upload, not ${direction}`)
if (flags.rows !== undefined && (flags.only !== undefined || flags.direction !== undefined)) {
  usage("--rows picks the rows itself: drop --only and --direction")
}
const rows = flags.rows?.split(",").flatMap((name) => rowGroups[name] ?? [name]).filter((name) => name !== "scale" && name !== "stream")
// The scale and stream rows are tables of their own: daemons with many torrents (bench/scale.mjs), a file
// served over HTTP while it downloads (bench/stream.mjs).
const scale = flags.rows?.split(",").some((name) => name === "scale" || name === "all") ?? false
const streaming = flags.rows?.split(",").some((name) => name === "stream" || name === "all") ?? false
const unknown = rows?.filter((name) => !rowNames.includes(name)) ?? []
if (unknown.length > 0) usage(`unknown row(s) ${unknown.join(", ")}: --rows takes ${[...Object.keys(rowGroups), ...rowNames, "scale", "stream"].join(", ")}`)
const positive = (name, value) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) usage(`--${name} is a whole number above 0, not ${value}`)
  return n
}
const config = {
  runs: flags.runs === undefined ? undefined : positive("runs", flags.runs),
  size: positive("size-mib", flags["size-mib"] ?? flags.size ?? "1024") * 1024 * 1024,
  pieceLength: positive("piece", flags.piece) * 1024,
  timeoutMs: positive("timeout", flags.timeout) * 1000,
  files: positive("files", flags.files),
  bigSize: positive("big-gib", flags["big-gib"]) * 1024 ** 3,
  scaleCount: positive("scale-count", flags["scale-count"]),
  scaleIdleSeconds: positive("idle-seconds", flags["idle-seconds"]),
  streamUploadLimit: /^\d+[KM]?$/.test(flags["stream-upload-limit"]) && !/^0+[KM]?$/.test(flags["stream-upload-limit"]) ?
    flags["stream-upload-limit"] : usage(`--stream-upload-limit is bytes per second above 0, with K or M (16M), not ${flags["stream-upload-limit"]}`),
  installQbt: flags["install-qbt"],
  udp: flags.udp,
  fresh: flags.fresh,
  cache: flags.cache,
  profileDir: flags.profile === undefined ? undefined : path.resolve(flags.profile)
}
const clients = flags.only === undefined ? ["bt-effect", "aria2c"] : flags.only.split(",")
const specs = rows !== undefined ? selectJobs(config, rows) : jobSpecs(config).filter((s) =>
  s.job === "bt-effect" ? direction !== "upload" && clients.includes("bt-effect") :
  s.job === "aria2c" ? clients.includes("aria2c") :
  s.job === "bt-effect seeder" ? direction !== "download" && clients.includes("bt-effect") :
  false).map((s) => ({ ...s, runs: config.runs ?? 1 }))

let workDir
let interrupted = false
const cleanup = async () => {
  await Promise.all([...children.values()].map(stopTree))
  if (workDir !== undefined) fs.rmSync(workDir, { recursive: true, force: true })
}
process.once("exit", () => {
  for (const pid of children.keys()) {
    for (const grandchild of childPids(pid)) kill(grandchild, "SIGKILL")
    kill(pid, "SIGKILL")
  }
  if (workDir !== undefined) fs.rmSync(workDir, { recursive: true, force: true })
})
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    interrupted = true
    console.error(`\nbench: ${signal}, stopping`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** Jobs that cannot run with this dist/ (a bt-effect command, or an option a job needs, missing), with
 *  the reason. */
const missingCommands = () => {
  const skipped = new Map()
  const needs = (spec) => [
    ...(spec.client === "bt-effect" ? ["download"] : []),
    ...(swarmSeedsBtEffect(spec.swarm) ? ["seed"] : [])
  ]
  const commands = specs.some((s) => needs(s).length > 0) ? btEffectCommands(mainJs) : new Set()
  const flags = new Map()
  const hasFlag = (command, flag) => {
    const key = `${command} ${flag}`
    if (!flags.has(key)) flags.set(key, btEffectHasFlag(mainJs, command, flag))
    return flags.get(key)
  }
  for (const spec of specs) {
    const missing = needs(spec).find((command) => !commands.has(command))
    const missingFlag = missing === undefined ? (spec.flags ?? []).find(([command, flag]) => !hasFlag(command, flag)) : undefined
    const reason = missing !== undefined ? `dist/main.js has no \`${missing}\` command yet` :
      missingFlag !== undefined ? `dist/main.js has no \`${missingFlag.join(" ")}\` yet` : undefined
    if (reason !== undefined) {
      skipped.set(spec.job, reason)
      console.log(`bench: ${reason} (npm run build once it exists): ${spec.job} skipped`)
    }
  }
  return skipped
}

/** "3 run(s)", or how many for which rows when they differ. */
const runsText = (jobs) => {
  const counts = [...new Set(jobs.map((s) => s.runs))].sort((a, b) => b - a)
  if (counts.length <= 1) return `${counts[0] ?? 0} run(s)`
  return counts.map((n) => `${n} run(s) of ${jobs.filter((s) => s.runs === n).map((s) => s.job).join(", ")}`).join("; ")
}

const main = async () => {
  const aria2 = spawnSync("aria2c", ["--version"], { encoding: "utf8" })
  if (aria2.status !== 0) throw new Error("aria2c is not installed (apt-get install -y aria2)")
  if (!hasTime) console.log("bench: /usr/bin/time is missing (apt-get install -y time): CPU and RSS will read n/a")
  const skipped = missingCommands()
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-bench-"))
  // Every client re-announces every 30 s, bt-effect's shortest interval: the uploads rows' seeders learn
  // of a new leecher then (bittorrent-tracker's default is 10 minutes).
  const tracker = await startTracker(trackerScript, { intervalSeconds: 30 })
  const ctx = { mainJs, workDir, tracker, trackerScript, scaleIdleSeconds: config.scaleIdleSeconds, timeoutMs: config.timeoutMs, config, payloads: {}, swarms: new Map(), failedSwarms: new Map() }
  const jobs = specs.filter((s) => !skipped.has(s.job))
  console.log([
    `bench: ${config.size} bytes${rows?.includes("big") ? ` (big file: ${config.bigSize})` : ""}, ${config.pieceLength / 1024} KiB pieces, ` +
      `${jobs.length > 0 ? `${runsText(jobs)}, ` : ""}timeout ${config.timeoutMs / 1000} s`,
    `  node ${process.version}, ${aria2.stdout.split("\n")[0]}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}`,
    `  tracker ${tracker.httpUrl} / ${tracker.udpUrl} (bt-effect announces over ${config.udp ? "UDP" : "HTTP"}; interval 30 s)`,
    "  1 MB = 10^6 bytes; seconds are wall time from start to exit (uploads rows: to completion); CPU and peak RSS are the downloader's unless said",
    "  seeder peak RSS: the seeder's resident set high-water mark during the download (/proc/PID/status VmHWM)"
  ].join("\n"))

  // A swarm stops after the last job that uses it, so that idle seeders do not share the CPU with later
  // rows (within a run of several, they stay up from one run to the next); qBittorrent likewise.
  const order = schedule(jobs)
  const lastUse = new Map(order.map(({ spec }, i) => [spec.swarm, i]))
  const lastQbittorrent = order.findLastIndex(({ spec }) => spec.client === "qbittorrent")
  const results = []
  let peakResets = true
  for (const [i, { spec, run }] of order.entries()) {
    if (interrupted) return 130
    if (!skipped.has(spec.job)) {
      try {
        const r = await runJob(ctx, spec, run)
        results.push(r)
        peakResets = peakResets && r.peakReset
        console.log(rows === undefined ? legacyLine(r) : rowLine(spec, r))
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        skipped.set(spec.job, reason.split("\n")[0])
        console.log(`bench: ${spec.job} skipped: ${reason}`)
      }
    }
    if (spec.swarm !== undefined && lastUse.get(spec.swarm) === i) await stopSwarm(ctx, spec.swarm)
    if (i === lastQbittorrent) await stopQbittorrentIfStarted(ctx)
  }
  if (rows !== undefined) {
    const [uploads, others] = [specs.filter((s) => s.upload), specs.filter((s) => !s.upload)]
    if (others.length > 0) {
      console.log(`\nEvery row: the downloader's seconds, MB/s, CPU per GiB and peak RSS; the seeders' CPU (added up) and largest peak RSS\n\n${rowsTable(results, skipped, others)}\n`)
    }
    if (uploads.length > 0) {
      console.log(`\nUploads: each leecher downloads from one bt-effect seeder and, in a swarm of its own, from one aria2c seeder; ` +
        `wall time from its start, transfer time from its first payload byte on disk, to completion\n\n${uploadsTable(results, skipped, uploads)}\n`)
    }
  } else {
    if (direction !== "upload") console.log(`\nDownload: the client downloads from the aria2c seeder\n\n${downloadTable(results, skipped)}\n`)
    if (direction !== "download") console.log(`\nUpload: aria2c downloads from the seeder\n\n${uploadTable(results, skipped)}\n`)
  }
  if (!peakResets) console.log("(the kernel refused to reset peak RSS: seeder peak RSS covers the seeder's whole life)\n")
  if (jobs.some((s) => s.runs > 1)) console.log("(medians over the runs that succeeded)\n")
  const streamOk = streaming && !interrupted ? await streamRow(ctx) : true
  const scaleOk = scale && !interrupted ? await scaleRow(ctx) : true
  return results.every((r) => r.ok) && streamOk && scaleOk ? 0 : 1
}

main()
  .catch((error) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  })
  .then(async (code) => {
    await cleanup()
    process.exit(code)
  })
