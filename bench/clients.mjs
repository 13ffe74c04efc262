// The clients the benchmark starts: seeders (aria2c, `bt-effect seed`) that are ready once the tracker has
// their announce, and one measured download at a time (aria2c or `bt-effect download` under
// /usr/bin/time), with what its seeders spent during it. Every process is tracked by PID
// (bench/support.mjs). `ctx` is { mainJs, workDir, tracker, timeoutMs }. Also the floor (bench/floor.mjs)
// as a row. Transmission and WebTorrent are in bench/leechers.mjs, qBittorrent in bench/qbittorrent.mjs.
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { aria2Args, childPids, cpuSeconds, exited, freePort, freeTcpUdpPort, infoHash, kill, logTail, peakRssMB, resetPeakRss, stopTree, track, watchTransfer } from "./support.mjs"

export const timeBin = "/usr/bin/time"
export const hasTime = fs.existsSync(timeBin)
const env = { ...process.env, NO_COLOR: "1" }

/** How bt-effect is started: the executable itself, with its shebang's flags; with `--profile DIR`, node
 *  with those flags plus --cpu-prof (which NODE_OPTIONS refuses), writing a CPU profile into DIR. */
export const btEffectCommand = (ctx, args) => {
  if (ctx.config.profileDir === undefined) return [ctx.mainJs, args]
  const shebang = fs.readFileSync(ctx.mainJs, "utf8").split("\n", 1)[0]
  const nodeFlags = shebang.split(/\s+/).filter((word) => word.startsWith("--"))
  return [process.execPath, [...nodeFlags, "--cpu-prof", `--cpu-prof-dir=${ctx.config.profileDir}`, ctx.mainJs, ...args]]
}

/** bt-effect never looks for peers beyond the bench's tracker, and keeps its state in the bench's folder
 *  (one folder per process, so that no two share resume data). */
export const btEffectArgs = (ctx, name) => ["--no-dht", "--no-pex", "--state", path.join(ctx.workDir, `state-${name}`)]

/** The commands `dist/main.js --help` lists: "  - name ..." lines (older builds) or, under "Commands:",
 *  "  name  what it does" lines. */
export const btEffectCommands = (mainJs) => {
  if (!fs.existsSync(mainJs)) return new Set()
  const help = spawnSync(process.execPath, [mainJs, "--help"], { encoding: "utf8", env })
  const text = (help.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, "")
  const section = /^Commands:\n((?:[ \t]+\S.*\n?)+)/m.exec(text)?.[1] ?? ""
  return new Set([
    ...[...text.matchAll(/^\s*-\s*([a-z][a-z-]*)\b/gm)].map((m) => m[1]),
    ...[...section.matchAll(/^\s+([a-z][a-z-]*)\s{2,}/gm)].map((m) => m[1])
  ])
}

/** Whether `dist/main.js COMMAND --help` lists the option `flag` (the "utp" rows need `--no-tcp`). */
export const btEffectHasFlag = (mainJs, command, flag) => {
  if (!fs.existsSync(mainJs)) return false
  const help = spawnSync(process.execPath, [mainJs, command, "--help"], { encoding: "utf8", env })
  return new RegExp(`(^|\\s)${flag}(?![\\w-])`, "m").test((help.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, ""))
}

// ------------------------------------------------------------------------------------------------------
// Seeders: each resolves once the tracker has its `started` announce with nothing left (by then it listens).

export const startSeeder = async (ctx, name, command, args, { host, port, hash, timeoutMs }) => {
  const logPath = path.join(ctx.workDir, `${name}.log`)
  const log = fs.openSync(logPath, "a")
  const child = track(spawn(command, args, { stdio: ["ignore", log, log], env }))
  fs.closeSync(log)
  const died = exited(child).then(({ code, signal }) => {
    throw new Error(`${name} exited (${code ?? signal}):\n${logTail(logPath)}`)
  })
  const address = `${host}:${port}`
  try {
    await Promise.race([ctx.tracker.waitFor((a) => a.addr === address && a.infoHash === hash && a.left === 0, timeoutMs), died])
  } catch (error) {
    await stopTree(child)
    throw error
  }
  died.catch(() => {})
  return { name, child, address, logPath }
}

/**
 * aria2c seeding `dataDir` on `host` (a loopback address of its own) without hashing it first, forever;
 * with `reannounceSeconds`, announcing that often whatever the tracker says (`--bt-tracker-interval`);
 * with `uploadLimit` (aria2c's syntax: 16M), uploading at most that many bytes per second; `extra`: more
 * options (the "mse" row's --bt-require-crypto=true).
 */
export const startAria2Seeder = async (ctx, { name, host, torrent, info, dataDir, reannounceSeconds, uploadLimit, extra = [] }) => {
  const port = await freePort(host)
  return startSeeder(ctx, name, "aria2c", [
    ...aria2Args({ host, port, dir: dataDir, announceUrl: ctx.tracker.httpUrl }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0",
    ...(reannounceSeconds === undefined ? [] : [`--bt-tracker-interval=${reannounceSeconds}`]),
    ...(uploadLimit === undefined ? [] : [`--max-upload-limit=${uploadLimit}`, `--max-overall-upload-limit=${uploadLimit}`]), ...extra, torrent
  ], { host, port, hash: infoHash(info), timeoutMs: 30_000 })
}

/**
 * `bt-effect seed` on every address (it has no option to bind one), announcing from 127.0.0.1, where the
 * downloaders (bound to 127.0.0.1) call it. It checks the payload's pieces before announcing.
 */
export const startBtEffectSeeder = async (ctx, { name, torrent, info, dataDir, extra = [] }) => {
  const port = await freeTcpUdpPort("0.0.0.0")
  const [command, args] = btEffectCommand(ctx, ["seed", torrent, "--data", dataDir, "--port", String(port), ...extra, ...btEffectArgs(ctx, name)])
  return startSeeder(ctx, name, command, args, { host: "127.0.0.1", port, hash: infoHash(info), timeoutMs: ctx.timeoutMs })
}

// ------------------------------------------------------------------------------------------------------
// One measured download

/**
 * Runs a downloader under /usr/bin/time: its CPU and peak RSS are its own (and its children's). For
 * each seeder, the CPU it used and its peak resident set during the download (VmHWM, reset just before:
 * `peakReset` is false where the kernel refused, and the peak then covers the seeder's whole life).
 *
 * `watch`: the download's files, watched for the first payload byte on disk (bench/support.mjs
 * watchTransfer): `transferSeconds` runs from it to completion. Completion is the downloader's exit or,
 * with `marker`, the file the downloader writes once complete (for a client that would seed on), after
 * which the program gets `stopSignal` and the bench waits for its exit. `seconds` runs from the start to
 * completion.
 */
export const measure = async (ctx, command, args, logPath, seeders, { watch: files, marker, stopSignal = "SIGTERM" } = {}) => {
  const timeFile = `${logPath}.time`
  const log = fs.openSync(logPath, "a")
  const argv = hasTime ? [timeBin, ["-f", "%e %U %S %M", "-o", timeFile, "--", command, ...args]] : [command, args]
  const cpuBefore = seeders.map((s) => cpuSeconds(s.child.pid))
  const peakReset = seeders.map((s) => resetPeakRss(s.child.pid)).every(Boolean)
  const started = performance.now()
  const child = track(spawn(argv[0], argv[1], { stdio: ["ignore", log, log], env }))
  fs.closeSync(log)
  const watch = files === undefined ? undefined : watchTransfer(files, marker)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stopTree(child)
  }, ctx.timeoutMs)
  const exit = exited(child)
  if (watch !== undefined && marker !== undefined) await Promise.race([watch.completed, exit])
  const completedAt = watch?.completedAt
  // The program itself: /usr/bin/time passes no signal on.
  if (completedAt !== undefined) for (const pid of hasTime ? childPids(child.pid) : [child.pid]) kill(pid, stopSignal)
  const { code } = await exit
  const doneAt = completedAt ?? performance.now()
  clearTimeout(timer)
  watch?.stop()
  const firstByteAt = watch?.firstByteAt
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
    code, timedOut, seconds: (doneAt - started) / 1000,
    transferSeconds: firstByteAt === undefined ? Number.NaN : (doneAt - firstByteAt) / 1000,
    cpu, rssMB, ...seederUse(seeders, cpuBefore), peakReset
  }
}

/** What the seeders used since `cpuBefore`: CPU added up, the largest peak RSS, and each one's. */
export const seederUse = (seeders, cpuBefore) => {
  const each = seeders.map((s, i) => ({ name: s.name, cpu: cpuSeconds(s.child.pid) - cpuBefore[i], rssMB: peakRssMB(s.child.pid) }))
  return {
    seederCpu: each.reduce((sum, s) => sum + s.cpu, 0),
    seederRssMB: Math.max(...each.map((s) => s.rssMB)),
    seeders: each
  }
}

/** aria2c on `host` downloads `torrent` into `outDir` and exits (`--seed-time=0`). */
export const aria2Download = async (ctx, { outDir, torrent, logPath, host, watch }, seeders) =>
  measure(ctx, "aria2c", [
    ...aria2Args({ host, port: await freePort(host), dir: outDir, announceUrl: ctx.tracker.httpUrl }),
    "--seed-time=0", torrent
  ], logPath, seeders, { watch })

/** `bt-effect download` into `outDir`: the program as users start it (`npx bt-effect`), the executable
 *  itself with its shebang's flags. */
export const btEffectDownload = async (ctx, { name, outDir, torrent, logPath, watch, args: extra = [] }, seeders) => {
  const [command, args] = btEffectCommand(ctx, [
    "download", torrent, "--out", outDir, "--port", String(await freeTcpUdpPort("0.0.0.0")), ...btEffectArgs(ctx, name), ...extra
  ])
  return measure(ctx, command, args, logPath, seeders, { watch })
}

// ------------------------------------------------------------------------------------------------------
// The floor

const floorScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "floor.mjs")

/**
 * `node bench/floor.mjs --direct` on the payload file (one run): what the machine does without BitTorrent
 * (loopback TCP, SHA-1, direct writes; see there), as a row. Its receiver is the row's downloader, its
 * sender the seeder; their CPU and peak RSS are those floor.mjs prints (the sender's over its life).
 */
export const floorRun = async (ctx, { logPath }, payloadFile) => {
  const log = fs.openSync(logPath, "a")
  const child = track(spawn(process.execPath, [floorScript, "--direct", "--payload", payloadFile], { stdio: ["ignore", "pipe", log], env }))
  fs.closeSync(log)
  let out = ""
  child.stdout.on("data", (chunk) => {
    out += chunk
    fs.appendFileSync(logPath, chunk)
  })
  // "close", not "exit": by then its output has been read.
  const closed = new Promise((resolve) => child.once("close", (code) => resolve(code)))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stopTree(child)
  }, ctx.timeoutMs)
  const code = await closed
  clearTimeout(timer)
  const m = /: ([\d.]+) MB\/s, ([\d.]+) s; receiver CPU ([\d.]+) s, peak RSS ([\d.]+) MB; sender CPU ([\d.]+) s, peak RSS ([\d.]+) MB/.exec(out)
  const [seconds, cpu, rssMB, senderCpu, senderRssMB] = m === null ? [] : [m[2], m[3], m[4], m[5], m[6]].map(Number)
  return {
    code: m === null ? (code || 1) : code, timedOut, seconds: seconds ?? Number.NaN, transferSeconds: seconds ?? Number.NaN,
    cpu: cpu ?? Number.NaN, rssMB: rssMB ?? Number.NaN, seederCpu: senderCpu ?? Number.NaN, seederRssMB: senderRssMB ?? Number.NaN,
    seeders: [{ name: "floor sender", cpu: senderCpu ?? Number.NaN, rssMB: senderRssMB ?? Number.NaN }], peakReset: true
  }
}
