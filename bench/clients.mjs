// The clients the benchmark starts: seeders (aria2c, `bt-effect seed`) that are ready once the tracker has
// their announce, and one measured download at a time (aria2c or `bt-effect download` under
// /usr/bin/time), with what its seeders spent during it. Every process is tracked by PID
// (bench/support.mjs). `ctx` is { mainJs, workDir, tracker, timeoutMs }.
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { aria2Args, cpuSeconds, exited, freePort, infoHash, logTail, peakRssMB, resetPeakRss, stopTree, track } from "./support.mjs"

const timeBin = "/usr/bin/time"
export const hasTime = fs.existsSync(timeBin)
const env = { ...process.env, NO_COLOR: "1" }

/** How bt-effect is started: the executable itself, with its shebang's flags; with `--profile DIR`, node
 *  with those flags plus --cpu-prof (which NODE_OPTIONS refuses), writing a CPU profile into DIR. */
const btEffectCommand = (ctx, args) => {
  if (ctx.config.profileDir === undefined) return [ctx.mainJs, args]
  const shebang = fs.readFileSync(ctx.mainJs, "utf8").split("\n", 1)[0]
  const nodeFlags = shebang.split(/\s+/).filter((word) => word.startsWith("--"))
  return [process.execPath, [...nodeFlags, "--cpu-prof", `--cpu-prof-dir=${ctx.config.profileDir}`, ctx.mainJs, ...args]]
}

/** bt-effect never looks for peers beyond the bench's tracker, and keeps its state in the bench's folder
 *  (one folder per process, so that no two share resume data). */
const btEffectArgs = (ctx, name) => ["--no-dht", "--no-pex", "--state", path.join(ctx.workDir, `state-${name}`)]

/** The commands `dist/main.js --help` lists. */
export const btEffectCommands = (mainJs) => {
  if (!fs.existsSync(mainJs)) return new Set()
  const help = spawnSync(process.execPath, [mainJs, "--help"], { encoding: "utf8", env })
  const text = (help.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, "")
  return new Set([...text.matchAll(/^\s*-\s*([a-z][a-z-]*)\b/gm)].map((m) => m[1]))
}

// ------------------------------------------------------------------------------------------------------
// Seeders: each resolves once the tracker has its `started` announce with nothing left (by then it listens).

const startSeeder = async (ctx, name, command, args, { host, port, hash, timeoutMs }) => {
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

/** aria2c seeding `dataDir` on `host` (a loopback address of its own) without hashing it first, forever. */
export const startAria2Seeder = async (ctx, { name, host, torrent, info, dataDir }) => {
  const port = await freePort(host)
  return startSeeder(ctx, name, "aria2c", [
    ...aria2Args({ host, port, dir: dataDir, announceUrl: ctx.tracker.httpUrl }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0", torrent
  ], { host, port, hash: infoHash(info), timeoutMs: 30_000 })
}

/**
 * `bt-effect seed` on every address (it has no option to bind one), announcing from 127.0.0.1, where the
 * downloaders (bound to 127.0.0.1) call it. It checks the payload's pieces before announcing.
 */
export const startBtEffectSeeder = async (ctx, { name, torrent, info, dataDir }) => {
  const port = await freePort("0.0.0.0")
  const [command, args] = btEffectCommand(ctx, ["seed", torrent, "--data", dataDir, "--port", String(port), ...btEffectArgs(ctx, name)])
  return startSeeder(ctx, name, command, args, { host: "127.0.0.1", port, hash: infoHash(info), timeoutMs: ctx.timeoutMs })
}

// ------------------------------------------------------------------------------------------------------
// One measured download

/**
 * Runs a downloader under /usr/bin/time: its CPU and peak RSS are its own (and its children's). For
 * each seeder, the CPU it used and its peak resident set during the download (VmHWM, reset just before:
 * `peakReset` is false where the kernel refused, and the peak then covers the seeder's whole life).
 */
const measure = async (ctx, command, args, logPath, seeders) => {
  const timeFile = `${logPath}.time`
  const log = fs.openSync(logPath, "a")
  const argv = hasTime ? [timeBin, ["-f", "%e %U %S %M", "-o", timeFile, "--", command, ...args]] : [command, args]
  const cpuBefore = seeders.map((s) => cpuSeconds(s.child.pid))
  const peakReset = seeders.map((s) => resetPeakRss(s.child.pid)).every(Boolean)
  const started = performance.now()
  const child = track(spawn(argv[0], argv[1], { stdio: ["ignore", log, log], env }))
  fs.closeSync(log)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stopTree(child)
  }, ctx.timeoutMs)
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
  return { code, timedOut, seconds, cpu, rssMB, ...seederUse(seeders, cpuBefore), peakReset }
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

/** aria2c on 127.0.0.1 downloads `torrent` into `outDir` and exits (`--seed-time=0`). */
export const aria2Download = async (ctx, { outDir, torrent, logPath }, seeders) =>
  measure(ctx, "aria2c", [
    ...aria2Args({ host: "127.0.0.1", port: await freePort("127.0.0.1"), dir: outDir, announceUrl: ctx.tracker.httpUrl }),
    "--seed-time=0", torrent
  ], logPath, seeders)

/** `bt-effect download` into `outDir`: the program as users start it (`npx bt-effect`), the executable
 *  itself with its shebang's flags. */
export const btEffectDownload = async (ctx, { name, outDir, torrent, logPath }, seeders) => {
  const [command, args] = btEffectCommand(ctx, [
    "download", torrent, "--out", outDir, "--port", String(await freePort("0.0.0.0")), ...btEffectArgs(ctx, name)
  ])
  return measure(ctx, command, args, logPath, seeders)
}
