// npm run bench [-- --runs 3 --size 1024 --piece 1024 --timeout 600 --only aria2c|bt-effect
//                   --direction both|download|upload --udp --fresh]
//
// Loopback benchmark, both directions, one after the other in each run, each download into a fresh folder
// and verified by sha256:
// - download: bt-effect against aria2c, each downloading the payload from the same aria2c seeder
//   (127.0.0.2) found through the same bittorrent-tracker (127.0.0.1);
// - upload: aria2c downloading the payload from a bt-effect seeder (`bt-effect seed`, its own swarm) against
//   aria2c downloading it from the aria2c seeder (the download direction's aria2c run: one measurement,
//   shown in both tables).
// Prints one line per download and a markdown table per direction at the end.
// Standalone on purpose (plain Node, no TypeScript): it runs `dist/main.js` (as `npx bt-effect` does), aria2c and
// test/support/tracker-server.mjs as child processes, all tracked and stopped by PID (bench/support.mjs).
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import {
  aria2Args,
  childPids,
  children,
  cpuSeconds,
  exited,
  freePort,
  infoHash,
  kill,
  logTail,
  peakRssMB,
  preparePayload,
  resetPeakRss,
  sha256File,
  startTracker,
  stopTree,
  track,
  withSource,
  writeTorrent
} from "./support.mjs"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const mainJs = path.join(root, "dist", "main.js")
const trackerScript = path.join(root, "test", "support", "tracker-server.mjs")
const timeBin = "/usr/bin/time"

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "1" },
    size: { type: "string", default: "1024" }, // MiB
    piece: { type: "string", default: "1024" }, // KiB
    timeout: { type: "string", default: "600" }, // seconds per download
    only: { type: "string" },
    direction: { type: "string", default: "both" },
    udp: { type: "boolean", default: false }, // bt-effect's torrent names the UDP tracker URL
    fresh: { type: "boolean", default: false }, // rebuild the cached payload
    cache: { type: "string", default: path.join(os.tmpdir(), "bt-effect-bench-cache") }
  }
})
if (!["both", "download", "upload"].includes(flags.direction)) {
  console.error(`bench: --direction is both, download or upload, not ${flags.direction}`)
  process.exit(2)
}
const config = {
  runs: Math.max(1, Number(flags.runs)),
  size: Number(flags.size) * 1024 * 1024,
  pieceLength: Number(flags.piece) * 1024,
  timeoutMs: Number(flags.timeout) * 1000,
  clients: flags.only === undefined ? ["bt-effect", "aria2c"] : flags.only.split(","),
  download: flags.direction !== "upload",
  upload: flags.direction !== "download",
  udp: flags.udp,
  fresh: flags.fresh,
  cache: flags.cache
}

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

// ------------------------------------------------------------------------------------------------------
// Seeders: each resolves once the tracker has its `started` announce with nothing left (by then it listens).

const startSeeder = async (name, command, args, tracker, { host, port, hash, timeoutMs }) => {
  const logPath = path.join(workDir, `${name}.log`)
  const log = fs.openSync(logPath, "a")
  const child = track(spawn(command, args, { stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1" } }))
  fs.closeSync(log)
  const died = exited(child).then(({ code, signal }) => {
    throw new Error(`${name} exited (${code ?? signal}):\n${logTail(logPath)}`)
  })
  const address = `${host}:${port}`
  try {
    await Promise.race([tracker.waitFor((a) => a.addr === address && a.infoHash === hash && a.left === 0, timeoutMs), died])
  } catch (error) {
    await stopTree(child)
    throw error
  }
  died.catch(() => {})
  return { child, address, logPath }
}

/** aria2c seeding the payload on 127.0.0.2 without hashing it first, forever. */
const startAria2Seeder = async (tracker, torrent, payload) => {
  const host = "127.0.0.2"
  const port = await freePort(host)
  return startSeeder("aria2c-seeder", "aria2c", [
    ...aria2Args({ host, port, dir: payload.dataDir, announceUrl: tracker.httpUrl }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0", torrent
  ], tracker, { host, port, hash: infoHash(payload.info), timeoutMs: 30_000 })
}

/**
 * `bt-effect seed` on every address (it has no option to bind one), announcing from 127.0.0.1, where the
 * aria2c downloader (bound to 127.0.0.1) calls it. It checks the payload's pieces before announcing.
 */
const startBtEffectSeeder = async (tracker, torrent, info, payload) => {
  const port = await freePort("0.0.0.0")
  return startSeeder("bt-effect-seeder", mainJs, ["seed", torrent, "--data", payload.dataDir, "--port", String(port), "--state", path.join(workDir, "state"), "--no-dht"],
    tracker, { host: "127.0.0.1", port, hash: infoHash(info), timeoutMs: config.timeoutMs })
}

// ------------------------------------------------------------------------------------------------------
// One measured download

const hasTime = fs.existsSync(timeBin)
let peakResets = true

/** Runs the downloader under /usr/bin/time; CPU and peak RSS are the downloader's own (and its children's);
 *  the seeder's CPU and peak RSS are what it used during the download. */
const measure = async (command, args, logPath, seeder) => {
  const timeFile = `${logPath}.time`
  const log = fs.openSync(logPath, "a")
  const argv = hasTime ? [timeBin, ["-f", "%e %U %S %M", "-o", timeFile, "--", command, ...args]] : [command, args]
  const seederCpuBefore = cpuSeconds(seeder.child.pid)
  peakResets = resetPeakRss(seeder.child.pid) && peakResets
  const started = performance.now()
  const child = track(spawn(argv[0], argv[1], { stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1" } }))
  fs.closeSync(log)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stopTree(child)
  }, config.timeoutMs)
  const { code } = await exited(child)
  clearTimeout(timer)
  const seconds = (performance.now() - started) / 1000
  let cpu = Number.NaN
  let rssMB = Number.NaN
  if (hasTime && fs.existsSync(timeFile)) {
    const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1).split(" ").map(Number)
    if (last.length === 4) {
      cpu = last[1] + last[2]
      rssMB = (last[3] * 1024) / 1e6 // %M is in KiB
    }
  }
  return {
    code, timedOut, seconds, cpu, rssMB,
    seederCpu: cpuSeconds(seeder.child.pid) - seederCpuBefore,
    seederRssMB: peakRssMB(seeder.child.pid)
  }
}

/** The commands `dist/main.js --help` lists. */
const btEffectCommands = () => {
  if (!fs.existsSync(mainJs)) return new Set()
  const help = spawnSync(process.execPath, [mainJs, "--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } })
  const text = (help.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, "")
  return new Set([...text.matchAll(/^\s*-\s*([a-z][a-z-]*)\b/gm)].map((m) => m[1]))
}

/**
 * One download of job `job` in run `run`:
 * - "bt-effect": bt-effect downloads from the aria2c seeder;
 * - "aria2c": aria2c downloads from the aria2c seeder (the baseline of both tables);
 * - "bt-effect seeder": aria2c downloads from the bt-effect seeder.
 */
const runJob = async (job, run, payload, tracker, seeders) => {
  const slug = job.replace(" ", "-")
  const outDir = fs.mkdtempSync(path.join(workDir, `${slug}-${run}-`))
  const logPath = `${outDir}.log`
  const port = await freePort("127.0.0.1")
  const torrent = (info, announce) => writeTorrent(path.join(workDir, `${slug}-${run}.torrent`), info, announce)
  const aria2c = (info, seeder) =>
    measure("aria2c", [
      ...aria2Args({ host: "127.0.0.1", port, dir: outDir, announceUrl: tracker.httpUrl }),
      "--seed-time=0", torrent(info, tracker.httpUrl)
    ], logPath, seeder)
  const result = job === "aria2c" ? await aria2c(payload.info, seeders.aria2c) :
    job === "bt-effect seeder" ? await aria2c(seeders.uploadInfo, seeders.btEffect) :
    // The program as users start it (`npx bt-effect`): the executable itself, with its shebang's flags.
    await measure(mainJs, [
      "download", torrent(payload.info, config.udp ? tracker.udpUrl : tracker.httpUrl), "--out", outDir, "--port", String(port),
      "--state", path.join(workDir, "state"), "--no-dht"
    ], logPath, seeders.aria2c)
  const file = path.join(outDir, payload.name)
  let verified = "missing"
  if (fs.existsSync(file)) {
    verified = fs.statSync(file).size !== payload.size ? "wrong size" :
      (await sha256File(file)) === payload.sha256 ? "ok" : "sha256 differs"
  }
  const ok = result.code === 0 && !result.timedOut && verified === "ok"
  if (!ok) console.log(`  ${job} log (last lines):\n${logTail(logPath)}`)
  fs.rmSync(outDir, { recursive: true, force: true })
  return { job, run, ...result, mbps: ok ? payload.size / 1e6 / result.seconds : Number.NaN, verified, ok }
}

// ------------------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")

const summary = (results, job) => {
  const rows = results.filter((r) => r.job === job)
  const good = rows.filter((r) => r.ok)
  if (rows.length === 0) return undefined
  const med = (key) => median(good.map((r) => r[key]))
  return {
    runs: `${good.length}/${rows.length}`,
    seconds: med("seconds"), mbps: med("mbps"), cpu: med("cpu"), rssMB: med("rssMB"),
    seederCpu: med("seederCpu"), seederRssMB: med("seederRssMB")
  }
}

/** A markdown table: one row per [label, job] (or a "skipped" row), ratios against the aria2c job. */
const table = (results, skipped, header, rows, cells) => {
  const aria = summary(results, "aria2c")
  const lines = [`| ${header.join(" | ")} | time ratio | MB/s ratio |`, `|${"---|".repeat(header.length + 2)}`]
  for (const [label, job] of rows) {
    if (skipped.has(job)) {
      lines.push(`| ${label} | skipped: ${skipped.get(job)} |${" |".repeat(header.length)}`)
      continue
    }
    const s = summary(results, job)
    if (s === undefined) continue
    const ratio = (a, b) => (aria === undefined ? "n/a" : fmt(a / b))
    lines.push(`| ${label} | ${s.runs} | ${cells(s).join(" | ")} | ${ratio(s.seconds, aria?.seconds)} | ${ratio(s.mbps, aria?.mbps)} |`)
  }
  return lines.join("\n")
}

const downloadTable = (results, skipped) =>
  table(results, skipped,
    ["client", "ok runs", "seconds", "MB/s", "CPU s (user+sys)", "peak RSS MB", "seeder CPU s"],
    [["bt-effect", "bt-effect"], ["aria2c", "aria2c"]],
    (s) => [fmt(s.seconds), fmt(s.mbps, 1), fmt(s.cpu), fmt(s.rssMB, 1), fmt(s.seederCpu)])

const uploadTable = (results, skipped) =>
  table(results, skipped,
    ["seeder (aria2c downloads)", "ok runs", "seconds", "MB/s", "downloader CPU s", "seeder CPU s", "seeder peak RSS MB"],
    [["bt-effect", "bt-effect seeder"], ["aria2c", "aria2c"]],
    (s) => [fmt(s.seconds), fmt(s.mbps, 1), fmt(s.cpu), fmt(s.seederCpu), fmt(s.seederRssMB, 1)])

// ------------------------------------------------------------------------------------------------------

const main = async () => {
  const aria2 = spawnSync("aria2c", ["--version"], { encoding: "utf8" })
  if (aria2.status !== 0) throw new Error("aria2c is not installed (apt-get install -y aria2)")
  if (!hasTime) console.log("bench: /usr/bin/time is missing (apt-get install -y time): CPU and RSS will read n/a")
  const skipped = new Map() // job -> why
  const commands = config.clients.includes("bt-effect") ? btEffectCommands() : new Set()
  const wanted = [
    ...(config.download && config.clients.includes("bt-effect") ? [["bt-effect", "download"]] : []),
    ...(config.clients.includes("aria2c") ? [["aria2c"]] : []),
    ...(config.upload && config.clients.includes("bt-effect") ? [["bt-effect seeder", "seed"]] : [])
  ]
  for (const [job, command] of wanted) {
    if (command !== undefined && !commands.has(command)) {
      skipped.set(job, `dist/main.js has no \`${command}\` command yet`)
      console.log(`bench: dist/main.js has no \`${command}\` command yet (npm run build once it exists): ${job} skipped`)
    }
  }
  const free = fs.statfsSync(os.tmpdir())
  if (free.bavail * free.bsize < config.size * 2.2) throw new Error(`not enough space in ${os.tmpdir()} for 2 x ${config.size} bytes`)

  const payload = preparePayload(config)
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-bench-"))
  const tracker = await startTracker(trackerScript)
  const seeders = { uploadInfo: withSource(payload.info, "bt-effect bench: bt-effect seeds") }
  if (wanted.some(([job]) => job !== "bt-effect seeder" && !skipped.has(job))) {
    seeders.aria2c = await startAria2Seeder(tracker, writeTorrent(path.join(workDir, "seed.torrent"), payload.info, tracker.httpUrl), payload)
  }
  if (wanted.some(([job]) => job === "bt-effect seeder") && !skipped.has("bt-effect seeder")) {
    const torrent = writeTorrent(path.join(workDir, "bt-effect-seed.torrent"), seeders.uploadInfo, tracker.httpUrl)
    const started = performance.now()
    try {
      seeders.btEffect = await startBtEffectSeeder(tracker, torrent, seeders.uploadInfo, payload)
      console.log(`bench: bt-effect seeder ready (data checked) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    } catch (error) {
      skipped.set("bt-effect seeder", "the seeder did not start (see above)")
      console.log(`bench: bt-effect seeder did not start: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const jobs = wanted.map(([job]) => job).filter((job) => !skipped.has(job))
  console.log([
    `bench: ${payload.size} bytes, ${config.pieceLength / 1024} KiB pieces, ${config.runs} run(s), timeout ${config.timeoutMs / 1000} s`,
    `  node ${process.version}, ${aria2.stdout.split("\n")[0]}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}`,
    `  tracker ${tracker.httpUrl} / ${tracker.udpUrl} (bt-effect announces over ${config.udp ? "UDP" : "HTTP"})` +
      (seeders.aria2c === undefined ? "" : `, seeder aria2c on ${seeders.aria2c.address}`),
    ...(seeders.btEffect === undefined ? [] :
      [`  seeder bt-effect on all addresses, announced as ${seeders.btEffect.address} (info hash ${infoHash(seeders.uploadInfo)}, a swarm of its own)`]),
    "  1 MB = 10^6 bytes; seconds are wall time from start to exit; CPU and peak RSS are the downloader's unless said",
    ...(config.upload ? ["  seeder peak RSS: the seeder's resident set high-water mark during the download (/proc/PID/status VmHWM)"] : [])
  ].join("\n"))

  const results = []
  for (let run = 1; run <= config.runs; run++) {
    for (const job of jobs) {
      if (interrupted) return 130
      const r = await runJob(job, run, payload, tracker, seeders)
      results.push(r)
      const label = job === "bt-effect seeder" ? "aria2c <- bt-effect seeder" : job
      console.log(`${label} run ${run}: ${fmt(r.seconds)} s, ${fmt(r.mbps, 1)} MB/s, CPU ${fmt(r.cpu)} s, ` +
        `peak RSS ${fmt(r.rssMB, 1)} MB, seeder CPU ${fmt(r.seederCpu)} s, seeder peak RSS ${fmt(r.seederRssMB, 1)} MB, ` +
        `exit ${r.code}${r.timedOut ? " (timed out)" : ""}, sha256 ${r.verified}`)
    }
  }
  if (config.download) console.log(`\nDownload: the client downloads from the aria2c seeder\n\n${downloadTable(results, skipped)}\n`)
  if (config.upload) {
    console.log(`\nUpload: aria2c downloads from the seeder\n\n${uploadTable(results, skipped)}\n`)
    if (!peakResets) console.log("(the kernel refused to reset peak RSS: seeder peak RSS covers the seeder's whole life)\n")
  }
  if (config.runs > 1) console.log("(medians over the runs that succeeded)\n")
  return results.every((r) => r.ok) ? 0 : 1
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
