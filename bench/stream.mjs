// The stream row (`npm run bench -- --rows stream`, issue 19): how soon `bt-effect stream` serves a file
// while it downloads it, a table of its own.
//
// Each job starts a streamer on the payload (one file) against one aria2c seeder, under /usr/bin/time:
// - bt-effect: `node dist/main.js stream FILE.torrent --port P --http-port H --no-dht --no-pex --state
//   TMP/state-NAME --out TMP/out-NAME`, which prints one URL per file and puts deadlines on the pieces under
//   each HTTP read;
// - WebTorrent (baseline): bench/webtorrent/streamer.mjs, the npm package with its own HTTP server
//   (`client.createServer()`), printing the same lines.
// As soon as the URL is printed the bench GETs it with `Range: bytes=0-` and reads the first body bytes
// (**first byte**, from the spawn), closes, and at once GETs `Range: bytes=<half the size>-` (**seek**: to
// its first body byte and to 1 MiB of it, which it checks against the payload), then waits for "download
// complete" (**whole download**, from the spawn), stops the streamer with SIGINT and checks the file's
// sha256. Two seeders: the default aria2c seeder (127.0.0.2, unlimited) and one on 127.0.0.8 limited to
// `--stream-upload-limit` (default 16M) in a swarm of its own, started afresh for each job: there the
// download takes long enough for the order of the pieces to matter.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { btEffectArgs, btEffectCommand, btEffectCommands, hasTime, timeBin } from "./clients.mjs"
import { webtorrentVersion } from "./leechers.mjs"
import { fmt } from "./report.mjs"
import { ensureSwarm, stopSwarm } from "./rows.mjs"
import { childPids, exited, freePort, kill, stopTree, track, verifyPayload, withTimeout, writeTorrent } from "./support.mjs"

const MiB = 1024 * 1024
const streamerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "webtorrent", "streamer.mjs")
/** WebTorrent's peer side: a loopback address of its own (bt-effect and the downloaders use 127.0.0.1). */
const webtorrentHost = "127.0.0.9"

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * GET `url` from `offset` on and read `want` bytes of the body (fewer if it ends), then close. Resolves
 * with the time of the first body byte and of the `want`-th (performance.now()), and the bytes read.
 */
const rangeRead = (url, offset, want, timeoutMs) => {
  let request
  const read = new Promise((resolve, reject) => {
    request = http.get(url, { agent: false, headers: { range: `bytes=${offset}-` } }, (response) => {
      if (response.statusCode !== 206) {
        reject(new Error(`GET ${url} from ${offset}: HTTP ${response.statusCode}, not 206`))
        response.resume()
        return
      }
      const chunks = []
      let got = 0
      let firstAt
      const finish = () => {
        resolve({ firstAt, lastAt: performance.now(), bytes: Buffer.concat(chunks).subarray(0, want) })
        request.destroy()
      }
      response.on("data", (chunk) => {
        firstAt ??= performance.now()
        chunks.push(chunk)
        got += chunk.length
        if (got >= want) finish()
      })
      response.on("end", () => (got >= want ? undefined : finish()))
      response.on("error", reject)
    })
    request.on("error", reject)
  })
  return withTimeout(read, timeoutMs, `GET ${url} from ${offset}: no ${want} bytes within ${timeoutMs / 1000} s`).finally(() => request.destroy())
}

/** The payload's bytes [offset, offset + length). */
const payloadBytes = (file, offset, length) => {
  const fd = fs.openSync(file, "r")
  try {
    const buffer = Buffer.alloc(length)
    const n = fs.readSync(fd, buffer, 0, length, offset)
    return buffer.subarray(0, n)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * One streamer, measured: `command args` under /usr/bin/time, its output (stdout and stderr) copied to
 * `logPath` and read line by line for the first URL and "download complete". Times are seconds from the
 * spawn; `seekSentAt` says when the seek went out, `completeBeforeSeek` whether the download had ended by
 * then (the seek then measures a finished file).
 */
const measureStream = async (ctx, { command, args, logPath, payloadFile, size }) => {
  const timeFile = `${logPath}.time`
  const log = fs.createWriteStream(logPath, { flags: "a" })
  const argv = hasTime ? [timeBin, ["-f", "%e %U %S %M", "-o", timeFile, "--", command, ...args]] : [command, args]
  const started = performance.now()
  const child = track(spawn(argv[0], argv[1], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } }))
  const since = (t) => (t === undefined ? Number.NaN : (t - started) / 1000)
  let signalUrl
  let signalComplete
  const urlPrinted = new Promise((resolve) => (signalUrl = resolve))
  const complete = new Promise((resolve) => (signalComplete = resolve))
  let completedAt
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false })
    readline.createInterface({ input: stream }).on("line", (line) => {
      const url = /^\s*(http:\/\/\S+)/.exec(line)
      if (url !== null) signalUrl(url[1])
      if (completedAt === undefined && /download complete/.test(line)) {
        completedAt = performance.now()
        signalComplete()
      }
    })
  }
  const exit = exited(child)
  const died = exit.then(({ code, signal }) => {
    throw new Error(`the streamer exited (${code ?? signal}) before it was stopped`)
  })
  died.catch(() => {})
  const deadline = started + ctx.timeoutMs
  const left = () => Math.max(1, deadline - performance.now())
  const result = { ok: false }
  try {
    const url = await withTimeout(Promise.race([urlPrinted, died]), left(), "no URL printed")
    result.urlAt = since(performance.now())
    // First byte: read what the first chunk brings, then close.
    const first = await Promise.race([rangeRead(url, 0, 1, left()), died])
    result.firstByte = since(first.firstAt)
    if (!first.bytes.equals(payloadBytes(payloadFile, 0, first.bytes.length))) throw new Error("the first byte served differs from the payload's")
    // The seek, with the download still going (unless it has ended: said so).
    const half = Math.floor(size / 2)
    const want = Math.min(MiB, size - half)
    const seekSentAt = performance.now()
    result.completeBeforeSeek = completedAt !== undefined
    result.seekSentAt = since(seekSentAt)
    const seek = await Promise.race([rangeRead(url, half, want, left()), died])
    result.seekFirst = (seek.firstAt - seekSentAt) / 1000
    result.seekMiB = seek.bytes.length >= want ? (seek.lastAt - seekSentAt) / 1000 : Number.NaN
    result.seekAnsweredAt = since(seek.lastAt)
    if (!seek.bytes.equals(payloadBytes(payloadFile, half, want))) throw new Error(`the bytes served from ${half} differ from the payload's`)
    await withTimeout(Promise.race([complete, died]), left(), "no \"download complete\"")
    result.whole = since(completedAt)
    result.ok = true
  } catch (error) {
    result.failure = error instanceof Error ? error.message : String(error)
  } finally {
    // The program itself (/usr/bin/time passes no signal on): SIGINT, as Ctrl-C; SIGKILL if it lingers.
    for (const pid of hasTime ? childPids(child.pid) : [child.pid]) kill(pid, "SIGINT")
    const timer = setTimeout(() => void stopTree(child), 10_000)
    await exit
    clearTimeout(timer)
    await new Promise((resolve) => log.end(resolve))
  }
  result.cpu = Number.NaN
  result.rssMB = Number.NaN
  if (hasTime && fs.existsSync(timeFile)) {
    const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1).split(" ").map(Number)
    if (last.length === 4) [result.cpu, result.rssMB] = [last[1] + last[2], (last[3] * 1024) / 1e6]
  }
  return result
}

/** The jobs: each streamer against each seeder. */
const streamJobs = [
  { job: "bt-effect", client: "bt-effect", swarm: "aria2c", label: "bt-effect stream ← aria2c" },
  { job: "webtorrent", client: "webtorrent", swarm: "aria2c", label: "WebTorrent createServer ← aria2c" },
  { job: "bt-effect limited", client: "bt-effect", swarm: "stream limited", label: "bt-effect stream ← aria2c limited" },
  { job: "webtorrent limited", client: "webtorrent", swarm: "stream limited", label: "WebTorrent createServer ← aria2c limited" }
]

const runStreamJob = async (ctx, spec, run) => {
  const swarm = await ensureSwarm(ctx, spec.swarm)
  const data = swarm.payload
  const free = fs.statfsSync(os.tmpdir())
  if (free.bavail * free.bsize < data.size * 1.05) throw new Error(`not enough space in ${os.tmpdir()} for ${data.size} bytes`)
  const slug = `stream-${spec.job.replace(/ /g, "-")}-${run}`
  const outDir = path.join(ctx.workDir, `out-${slug}`)
  fs.mkdirSync(outDir, { recursive: true })
  const logPath = path.join(ctx.workDir, `${slug}.log`)
  const torrent = writeTorrent(path.join(ctx.workDir, `${slug}.torrent`), swarm.info, ctx.tracker.httpUrl)
  const httpPort = String(await freePort("127.0.0.1"))
  const [command, args] = spec.client === "bt-effect" ?
    btEffectCommand(ctx, ["stream", torrent, "--port", String(await freePort("0.0.0.0")), "--http-port", httpPort, ...btEffectArgs(ctx, slug), "--out", outDir]) :
    [process.execPath, [streamerScript, "--torrent", torrent, "--out", outDir, "--host", webtorrentHost, "--port", String(await freePort(webtorrentHost)), "--http-port", httpPort]]
  const result = await measureStream(ctx, { command, args, logPath, payloadFile: path.join(data.dataDir, data.files[0].path), size: data.size })
  result.verified = result.ok ? await verifyPayload(outDir, data) : "not checked"
  if (result.ok && result.verified !== "ok") result.failure = `the downloaded file: ${result.verified}`
  result.ok = result.ok && result.verified === "ok"
  if (!result.ok) console.log(`  ${spec.job} log (last lines):\n${fs.readFileSync(logPath, "utf8").slice(-3000)}`)
  fs.rmSync(outDir, { recursive: true, force: true })
  return { job: spec.job, run, ...result }
}

const line = (spec, r) => r.ok ?
  `stream: ${spec.label}, run ${r.run}: URL at ${fmt(r.urlAt)} s, first byte at ${fmt(r.firstByte)} s; seek to the middle sent at ${fmt(r.seekSentAt)} s` +
    `${r.completeBeforeSeek ? " (download already complete)" : ""}: first byte in ${fmt(r.seekFirst * 1000, 0)} ms, 1 MiB in ${fmt(r.seekMiB * 1000, 0)} ms; ` +
    `whole download ${fmt(r.whole)} s; CPU ${fmt(r.cpu)} s, peak RSS ${fmt(r.rssMB, 0)} MB; sha256 ${r.verified}` :
  `stream: ${spec.label}, run ${r.run} failed: ${r.failure}`

/** Runs the stream row's jobs (`runs` times each) and prints its table; false when any failed. */
export const streamRow = async (ctx) => {
  const runs = ctx.config.runs ?? 1
  const skipped = new Map()
  if (!btEffectCommands(ctx.mainJs).has("stream")) for (const s of streamJobs) if (s.client === "bt-effect") skipped.set(s.job, `\`${ctx.mainJs} --help\` lists no \`stream\` command`)
  if (webtorrentVersion() === undefined) for (const s of streamJobs) if (s.client === "webtorrent") skipped.set(s.job, "the webtorrent package is not installed (npm ci)")
  console.log(`\nstream: ${runs} run(s) of each; the limited seeder uploads at most ${ctx.config.streamUploadLimit}/s (aria2c --max-upload-limit)`)
  const results = []
  try {
    for (let run = 1; run <= runs; run += 1) {
      for (const spec of streamJobs.filter((s) => !skipped.has(s.job))) {
        try {
          const r = await runStreamJob(ctx, spec, run)
          results.push(r)
          console.log(line(spec, r))
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error)
          results.push({ job: spec.job, run, ok: false, failure: reason.split("\n")[0] })
          console.log(`stream: ${spec.label}, run ${run} skipped: ${reason}`)
        }
        // aria2c holds its upload limit for the first downloader of its life only (the next ones, seen
        // at 64 MiB, got twice the limit and more): every job meets a fresh limited seeder.
        if (spec.swarm === "stream limited") await stopSwarm(ctx, spec.swarm)
      }
    }
  } finally {
    for (const name of new Set(streamJobs.map((s) => s.swarm))) await stopSwarm(ctx, name)
  }
  const size = ctx.config.size
  console.log(`\nStream: a ${size / MiB} MiB file (${ctx.config.pieceLength / 1024} KiB pieces) served over HTTP while it downloads; ` +
    `seconds from the streamer's spawn unless said; the seek asks for bytes from ${Math.floor(size / 2)} on\n`)
  console.log("| streamer ← seeder | runs | first byte (s) | seek: first byte (ms) | seek: 1 MiB (ms) | seek answered at (s) | whole download (s) | CPU s | peak RSS MB |")
  console.log("|---|---|---|---|---|---|---|---|---|")
  for (const spec of streamJobs) {
    if (skipped.has(spec.job)) {
      console.log(`| ${spec.label} | skipped: ${skipped.get(spec.job)} | | | | | | | |`)
      continue
    }
    const rows = results.filter((r) => r.job === spec.job)
    const good = rows.filter((r) => r.ok)
    const med = (key, scale = 1) => median(good.map((r) => r[key] * scale))
    const late = good.some((r) => r.completeBeforeSeek) ? " (complete before the seek)" : ""
    console.log(`| ${spec.label}${late} | ${good.length}/${rows.length} | ${fmt(med("firstByte"))} | ${fmt(med("seekFirst", 1000), 0)} | ${fmt(med("seekMiB", 1000), 0)} | ` +
      `${fmt(med("seekAnsweredAt"))} | ${fmt(med("whole"))} | ${fmt(med("cpu"))} | ${fmt(med("rssMB"), 0)} |`)
  }
  console.log(runs > 1 ? "\n(medians over the runs that succeeded)\n" : "")
  return results.every((r) => r.ok)
}
