// npm run bench [-- --runs 3 --size 1024 --piece 1024 --timeout 600 --only aria2c|bt-effect --udp --fresh]
//
// Loopback benchmark: bt-effect against aria2c, each downloading the same payload from the same aria2c
// seeder (127.0.0.2) found through the same bittorrent-tracker (127.0.0.1), one after the other, each into a
// fresh folder, each verified by sha256. Prints one line per run and a markdown table at the end.
// Standalone on purpose (plain Node, no TypeScript): it runs `dist/main.js` (as `npx bt-effect` does), aria2c and
// test/support/tracker-server.mjs as child processes, all tracked and stopped by PID.
import { spawn, spawnSync } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

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
    udp: { type: "boolean", default: false }, // bt-effect's torrent names the UDP tracker URL
    fresh: { type: "boolean", default: false }, // rebuild the cached payload
    cache: { type: "string", default: path.join(os.tmpdir(), "bt-effect-bench-cache") }
  }
})
const config = {
  runs: Math.max(1, Number(flags.runs)),
  size: Number(flags.size) * 1024 * 1024,
  pieceLength: Number(flags.piece) * 1024,
  timeoutMs: Number(flags.timeout) * 1000,
  clients: flags.only === undefined ? ["bt-effect", "aria2c"] : flags.only.split(","),
  udp: flags.udp,
  fresh: flags.fresh,
  cache: flags.cache
}

// ------------------------------------------------------------------------------------------------------
// Processes: every child is tracked by PID and stopped by PID on every way out.

const children = new Map() // pid -> ChildProcess
const track = (child) => {
  children.set(child.pid, child)
  child.once("exit", () => children.delete(child.pid))
  return child
}
const kill = (pid, signal) => {
  try {
    process.kill(pid, signal)
  } catch {
    // gone already
  }
}
const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ?
    Promise.resolve({ code: child.exitCode, signal: child.signalCode }) :
    new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
const stop = async (child, graceMs = 5000) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  kill(child.pid, "SIGTERM")
  const timer = setTimeout(() => kill(child.pid, "SIGKILL"), graceMs)
  await exited(child)
  clearTimeout(timer)
}
/** The PIDs of a process's children (to reach the program that /usr/bin/time runs). */
const childPids = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}
/** Waits until a process that is not our child has exited; SIGKILL after `ms`. */
const gone = async (pid, ms) => {
  for (const until = Date.now() + ms; fs.existsSync(`/proc/${pid}`) && Date.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (fs.existsSync(`/proc/${pid}`)) kill(pid, "SIGKILL")
}
/** Stops a tracked child and, first, the program it runs when it is /usr/bin/time (which does not pass
 *  signals on). */
const stopTree = async (child) => {
  const grandchildren = childPids(child.pid)
  for (const pid of grandchildren) kill(pid, "SIGTERM")
  await Promise.all(grandchildren.map((pid) => gone(pid, 3000)))
  await stop(child, 2000)
}
/** CPU seconds (user + sys) a live process has used so far, from /proc/PID/stat (clock ticks of 1/100 s). */
const cpuSeconds = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
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

const freePort = (host) =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const withTimeout = (promise, ms, message) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

// ------------------------------------------------------------------------------------------------------
// Payload: deterministic (AES-CTR keystream), cached between runs; the torrent is rewritten per run.

const bencode = (v) => {
  if (typeof v === "number") return Buffer.from(`i${v}e`)
  if (typeof v === "string") v = Buffer.from(v)
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v])
  const keys = Object.keys(v).sort()
  return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [bencode(k), bencode(v[k])]), Buffer.from("e")])
}

const preparePayload = () => {
  const dir = path.join(config.cache, `${config.size}-${config.pieceLength}`)
  const name = `bench-${config.size / 1024 / 1024}MiB.bin`
  const file = path.join(dir, "data", name)
  const metaFile = path.join(dir, "meta.json")
  if (!config.fresh && fs.existsSync(metaFile) && fs.existsSync(file)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8"))
    const stat = fs.statSync(file)
    if (meta.format === 1 && stat.size === config.size && stat.mtimeMs === meta.mtimeMs) {
      console.log(`payload: cached ${file}`)
      return { ...meta, dataDir: path.join(dir, "data"), info: fs.readFileSync(path.join(dir, "info.bin")) }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(file), { recursive: true })
  console.log(`payload: writing ${config.size} bytes to ${file}`)
  const started = performance.now()
  const keystream = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0))
  const zeros = Buffer.alloc(config.pieceLength)
  const whole = createHash("sha256")
  const pieces = []
  const fd = fs.openSync(file, "w")
  for (let at = 0; at < config.size; at += config.pieceLength) {
    const chunk = keystream.update(zeros.subarray(0, Math.min(config.pieceLength, config.size - at)))
    fs.writeSync(fd, chunk)
    whole.update(chunk)
    pieces.push(createHash("sha1").update(chunk).digest())
  }
  fs.closeSync(fd)
  const info = bencode({ length: config.size, name, "piece length": config.pieceLength, pieces: Buffer.concat(pieces) })
  fs.writeFileSync(path.join(dir, "info.bin"), info)
  const meta = { format: 1, name, size: config.size, sha256: whole.digest("hex"), mtimeMs: fs.statSync(file).mtimeMs }
  fs.writeFileSync(metaFile, JSON.stringify(meta))
  console.log(`payload: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { ...meta, dataDir: path.join(dir, "data"), info }
}

const writeTorrent = (file, info, announce) => {
  fs.writeFileSync(file, Buffer.concat([Buffer.from("d"), bencode("announce"), bencode(announce), bencode("info"), info, Buffer.from("e")]))
  return file
}

const sha256File = async (file) => {
  const hash = createHash("sha256")
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk)
  return hash.digest("hex")
}

// ------------------------------------------------------------------------------------------------------
// Tracker and seeder

const startTracker = async () => {
  const child = track(spawn(process.execPath, [trackerScript], { stdio: ["pipe", "pipe", "inherit"] }))
  const announces = []
  const listeners = new Set()
  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const message = JSON.parse(line)
      if (message.ready === true) resolve(message)
      else {
        announces.push(message)
        for (const listener of listeners) listener()
      }
    })
    child.once("exit", (code) => reject(new Error(`tracker exited (${code})`)))
  })
  const ports = await withTimeout(ready, 15_000, "tracker did not start")
  const waitFor = (predicate, ms) => {
    let listener
    return withTimeout(
      new Promise((resolve) => {
        listener = () => announces.some(predicate) && resolve()
        listeners.add(listener)
        listener()
      }),
      ms,
      `no announce within ${ms} ms; seen ${JSON.stringify(announces)}`
    ).finally(() => listeners.delete(listener))
  }
  return { child, httpUrl: `http://127.0.0.1:${ports.http}/announce`, udpUrl: `udp://127.0.0.1:${ports.udp}`, waitFor }
}

/** aria2c on loopback only: no DHT, LPD, PEX or IPv6; announces over HTTP to `announceUrl` only. */
const aria2Args = ({ host, port, dir, announceUrl }) => [
  "--no-conf", "--quiet", "--log=-", "--log-level=notice",
  "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
  "--disable-ipv6=true", `--interface=${host}`, `--listen-port=${port}`,
  "--follow-torrent=false", "--file-allocation=none", "--summary-interval=0", "--bt-require-crypto=false",
  `--stop-with-process=${process.pid}`, `--dir=${dir}`, "--bt-exclude-tracker=*", `--bt-tracker=${announceUrl}`
]

const logTail = (file) => {
  try {
    return fs.readFileSync(file, "utf8").slice(-3000)
  } catch {
    return ""
  }
}

const startSeeder = async (tracker, torrent, dataDir) => {
  const host = "127.0.0.2"
  const port = await freePort(host)
  const logPath = path.join(workDir, "seeder.log")
  const log = fs.openSync(logPath, "a")
  const args = [
    ...aria2Args({ host, port, dir: dataDir, announceUrl: tracker.httpUrl }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0", torrent
  ]
  const child = track(spawn("aria2c", args, { stdio: ["ignore", log, log] }))
  fs.closeSync(log)
  const died = exited(child).then(({ code }) => {
    throw new Error(`aria2c seeder exited (${code}):\n${logTail(logPath)}`)
  })
  await Promise.race([tracker.waitFor((a) => a.addr === `${host}:${port}` && a.left === 0, 30_000), died])
  died.catch(() => {})
  return { child, address: `${host}:${port}` }
}

// ------------------------------------------------------------------------------------------------------
// One measured download

const hasTime = fs.existsSync(timeBin)

/** Runs the downloader under /usr/bin/time; CPU and peak RSS are the downloader's own (and its children's). */
const measure = async (command, args, logPath, seeder) => {
  const timeFile = `${logPath}.time`
  const log = fs.openSync(logPath, "a")
  const argv = hasTime ? [timeBin, ["-f", "%e %U %S %M", "-o", timeFile, "--", command, ...args]] : [command, args]
  const seederCpuBefore = cpuSeconds(seeder.child.pid)
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
  return { code, timedOut, seconds, cpu, rssMB, seederCpu: cpuSeconds(seeder.child.pid) - seederCpuBefore }
}

const btEffectHasDownload = () => {
  if (!fs.existsSync(mainJs)) return false
  const help = spawnSync(process.execPath, [mainJs, "--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } })
  return /^\s*-\s*download\b/m.test((help.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, ""))
}

const runClient = async (client, run, payload, tracker, seeder) => {
  const outDir = fs.mkdtempSync(path.join(workDir, `${client}-${run}-`))
  const logPath = `${outDir}.log`
  const port = await freePort("127.0.0.1")
  const result = client === "aria2c" ?
    await measure("aria2c", [
      ...aria2Args({ host: "127.0.0.1", port, dir: outDir, announceUrl: tracker.httpUrl }),
      "--seed-time=0", writeTorrent(path.join(workDir, `aria2c-${run}.torrent`), payload.info, tracker.httpUrl)
    ], logPath, seeder) :
    // The program as users start it (`npx bt-effect`): the executable itself, with its shebang's flags.
    await measure(mainJs, [
      "download",
      writeTorrent(path.join(workDir, `bt-effect-${run}.torrent`), payload.info, config.udp ? tracker.udpUrl : tracker.httpUrl),
      "--out", outDir, "--port", String(port)
    ], logPath, seeder)
  const file = path.join(outDir, payload.name)
  let verified = "missing"
  if (fs.existsSync(file)) {
    verified = fs.statSync(file).size !== payload.size ? "wrong size" :
      (await sha256File(file)) === payload.sha256 ? "ok" : "sha256 differs"
  }
  const ok = result.code === 0 && !result.timedOut && verified === "ok"
  if (!ok) console.log(`  ${client} log (last lines):\n${logTail(logPath)}`)
  fs.rmSync(outDir, { recursive: true, force: true })
  return { client, run, ...result, mbps: ok ? payload.size / 1e6 / result.seconds : Number.NaN, verified, ok }
}

// ------------------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")

const report = (results, skipped) => {
  const summary = (client) => {
    const rows = results.filter((r) => r.client === client)
    const good = rows.filter((r) => r.ok)
    if (rows.length === 0) return undefined
    return {
      client,
      runs: `${good.length}/${rows.length}`,
      seconds: median(good.map((r) => r.seconds)),
      mbps: median(good.map((r) => r.mbps)),
      cpu: median(good.map((r) => r.cpu)),
      rssMB: median(good.map((r) => r.rssMB)),
      seederCpu: median(good.map((r) => r.seederCpu))
    }
  }
  const aria = summary("aria2c")
  const lines = [
    "| client | ok runs | seconds | MB/s | CPU s (user+sys) | peak RSS MB | seeder CPU s | time ratio | MB/s ratio |",
    "|---|---|---|---|---|---|---|---|---|"
  ]
  for (const client of ["bt-effect", "aria2c"]) {
    if (skipped.has(client)) {
      lines.push(`| ${client} | skipped: ${skipped.get(client)} | | | | | | | |`)
      continue
    }
    const s = summary(client)
    if (s === undefined) continue
    const ratio = (a, b) => (aria === undefined ? "n/a" : fmt(a / b))
    lines.push(`| ${client} | ${s.runs} | ${fmt(s.seconds)} | ${fmt(s.mbps, 1)} | ${fmt(s.cpu)} | ${fmt(s.rssMB, 1)} | ` +
      `${fmt(s.seederCpu)} | ${ratio(s.seconds, aria?.seconds)} | ${ratio(s.mbps, aria?.mbps)} |`)
  }
  return lines.join("\n")
}

// ------------------------------------------------------------------------------------------------------

const main = async () => {
  const aria2 = spawnSync("aria2c", ["--version"], { encoding: "utf8" })
  if (aria2.status !== 0) throw new Error("aria2c is not installed (apt-get install -y aria2)")
  if (!hasTime) console.log("bench: /usr/bin/time is missing (apt-get install -y time): CPU and RSS will read n/a")
  const skipped = new Map()
  if (config.clients.includes("bt-effect") && !btEffectHasDownload()) {
    skipped.set("bt-effect", "dist/main.js has no `download` command yet")
    console.log("bench: dist/main.js has no `download` command yet (npm run build once it exists): bt-effect skipped")
  }
  const clients = config.clients.filter((c) => !skipped.has(c))
  const free = fs.statfsSync(os.tmpdir())
  if (free.bavail * free.bsize < config.size * 2.2) throw new Error(`not enough space in ${os.tmpdir()} for 2 x ${config.size} bytes`)

  const payload = preparePayload()
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-bench-"))
  const tracker = await startTracker()
  const seeder = await startSeeder(tracker, writeTorrent(path.join(workDir, "seed.torrent"), payload.info, tracker.httpUrl), payload.dataDir)
  console.log([
    `bench: ${payload.size} bytes, ${config.pieceLength / 1024} KiB pieces, ${config.runs} run(s) per client, timeout ${config.timeoutMs / 1000} s`,
    `  node ${process.version}, ${aria2.stdout.split("\n")[0]}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}`,
    `  tracker ${tracker.httpUrl} / ${tracker.udpUrl} (bt-effect announces over ${config.udp ? "UDP" : "HTTP"}), seeder aria2c on ${seeder.address}`,
    "  1 MB = 10^6 bytes; seconds are wall time from start to exit; CPU and peak RSS are the downloader's"
  ].join("\n"))

  const results = []
  for (let run = 1; run <= config.runs; run++) {
    for (const client of clients) {
      if (interrupted) return 130
      const r = await runClient(client, run, payload, tracker, seeder)
      results.push(r)
      console.log(`${client} run ${run}: ${fmt(r.seconds)} s, ${fmt(r.mbps, 1)} MB/s, CPU ${fmt(r.cpu)} s, ` +
        `peak RSS ${fmt(r.rssMB, 1)} MB, seeder CPU ${fmt(r.seederCpu)} s, exit ${r.code}` +
        `${r.timedOut ? " (timed out)" : ""}, sha256 ${r.verified}`)
    }
  }
  console.log(`\n${report(results, skipped)}\n`)
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
