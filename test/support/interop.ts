/**
 * Interop harness: a real bittorrent-tracker (test/support/tracker-server.mjs), real aria2c peers and
 * bt-effect's own executable on loopback (payloads and .torrent files: ./payload.ts; other clients as
 * downloaders: ./leechers.ts). Every process is spawned by this module, tracked by PID and stopped by
 * PID (`stop()`, `stopAll()`); aria2c also stops by itself when this process ends (`--stop-with-process`)
 * and the tracker when its stdin closes.
 *
 * aria2c 1.36 announces over HTTP only while its DHT is off, so the seeder announces to the tracker's HTTP
 * URL (the torrent's own trackers are replaced) and the client under test may use the UDP URL: both
 * reach the same swarm. The seeder binds 127.0.0.2 so that it is another host for a client on 127.0.0.1.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"

// ---------------------------------------------------------------------------------------------------------
// Processes

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Process {
  readonly pid: number
  readonly exited: Promise<Exit>
  readonly hasExited: () => boolean
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  readonly stop: (graceMs?: number) => Promise<void>
}

const live = new Map<number, ChildProcess>()
let exitHookInstalled = false

const track = (child: ChildProcess, what: string): Process => {
  // A failed spawn (ENOENT) reports through "error"; without a listener that would crash the runner.
  child.on("error", () => {})
  const pid = child.pid
  if (pid === undefined) throw new Error(`${what}: could not start (is it installed?)`)
  live.set(pid, child)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      for (const id of live.keys()) signal(id, "SIGKILL")
    })
  }
  let done = false
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, sig) => {
      done = true
      live.delete(pid)
      resolve({ code, signal: sig })
    })
  })
  const stop = async (graceMs = 5_000) => {
    if (done) return
    signal(pid, "SIGTERM")
    const timer = setTimeout(() => signal(pid, "SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
  }
  return { pid, exited, hasExited: () => done, stop }
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Stops every process this module started that is still running (a safety net for afterAll). */
export const stopAll = async (): Promise<void> => {
  await Promise.all([...live.keys()].map((pid) => {
    signal(pid, "SIGKILL")
    const child = live.get(pid)
    return child === undefined || child.exitCode !== null ? Promise.resolve() :
      new Promise<void>((resolve) => child.once("exit", () => resolve()))
  }))
}

/** A port that was free on `host` a moment ago. */
export const freePort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))))
    })
  })

export interface TempDir {
  readonly path: string
  readonly remove: () => void
}

export const tempDir = (prefix = "bt-effect-interop-"): TempDir => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { path: dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** The last `bytes` of a log file (for assertion messages). */
export const logTail = (file: string, bytes = 4_000): string => {
  try {
    const text = fs.readFileSync(file, "utf8")
    return text.length > bytes ? text.slice(-bytes) : text
  } catch {
    return `(no log at ${file})`
  }
}

const deadline = <A>(promise: Promise<A>, ms: number, message: () => string): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message())), ms)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

// ---------------------------------------------------------------------------------------------------------
// Tracker

export interface Announce {
  readonly event: "start" | "complete" | "update" | "stop" | "paused"
  readonly type: "http" | "udp"
  /** "host:port" as the tracker saw it (the address it hands out to other peers). */
  readonly addr: string
  readonly infoHash: string
  readonly peerId: string
  readonly left: number | null
}

export interface Tracker extends Process {
  /** http://127.0.0.1:P/announce */
  readonly httpUrl: string
  /** udp://127.0.0.1:Q (no path: bittorrent-tracker ignores it) */
  readonly udpUrl: string
  /** Every announce the tracker has answered, in order. */
  readonly announces: ReadonlyArray<Announce>
  readonly waitForAnnounce: (predicate: (a: Announce) => boolean, timeoutMs?: number) => Promise<Announce>
  /** What the tracker wrote on stderr (warnings about bad requests). */
  readonly stderr: () => string
}

const events: ReadonlyArray<Announce["event"]> = ["start", "complete", "update", "stop", "paused"]

const parseLine = (line: string): { ready: true; http: number; udp: number } | Announce | undefined => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null) return undefined
  const field = (key: string): unknown => (key in value ? Reflect.get(value, key) : undefined)
  if (field("ready") === true) return { ready: true, http: Number(field("http")), udp: Number(field("udp")) }
  const event = events.find((e) => e === field("event"))
  if (event === undefined) return undefined
  const left = field("left")
  return {
    event,
    type: field("type") === "udp" ? "udp" : "http",
    addr: String(field("addr")),
    infoHash: String(field("infoHash")),
    peerId: String(field("peerId")),
    left: typeof left === "number" ? left : null
  }
}

const trackerScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "tracker-server.mjs")

export const startTracker = async (options?: {
  /** The re-announce interval the tracker asks for (default 600 s). */
  readonly intervalSeconds?: number
  readonly timeoutMs?: number
}): Promise<Tracker> => {
  const args = options?.intervalSeconds === undefined ? [] : ["--interval", String(options.intervalSeconds)]
  const child = spawn(process.execPath, [trackerScript, ...args], { stdio: ["pipe", "pipe", "pipe"] })
  const proc = track(child, "tracker")
  let stderr = ""
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-20_000)))
  const announces: Array<Announce> = []
  const waiters = new Set<() => void>()
  const ready = new Promise<{ http: number; udp: number }>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const message = parseLine(line)
      if (message === undefined) return
      if ("ready" in message) resolve(message)
      else {
        announces.push(message)
        for (const wake of waiters) wake()
      }
    })
    void proc.exited.then((exit) => {
      reject(new Error(`tracker exited (${exit.code ?? exit.signal}): ${stderr}`))
      for (const wake of waiters) wake()
    })
  })
  const ports = await deadline(ready, options?.timeoutMs ?? 15_000, () => `tracker did not start: ${stderr}`)
    .catch(async (e: unknown) => {
      await proc.stop()
      throw e
    })
  const waitForAnnounce = (predicate: (a: Announce) => boolean, timeoutMs = 30_000) => {
    let wake = () => {}
    const found = new Promise<Announce>((resolve, reject) => {
      wake = () => {
        const hit = announces.find(predicate)
        if (hit !== undefined) resolve(hit)
        else if (proc.hasExited()) reject(new Error("tracker exited"))
      }
      waiters.add(wake)
      wake()
    })
    return deadline(found, timeoutMs, () => `no such announce within ${timeoutMs} ms; seen: ${JSON.stringify(announces)}`)
      .finally(() => waiters.delete(wake))
  }
  return {
    ...proc,
    httpUrl: `http://127.0.0.1:${ports.http}/announce`,
    udpUrl: `udp://127.0.0.1:${ports.udp}`,
    announces,
    waitForAnnounce,
    stderr: () => stderr
  }
}

// ---------------------------------------------------------------------------------------------------------
// aria2c

/** aria2c's version line, or undefined when it is not installed. */
export const aria2cVersion = (): string | undefined => {
  const result = spawnSync("aria2c", ["--version"], { encoding: "utf8" })
  return result.status === 0 ? result.stdout.split("\n")[0] : undefined
}

/** Options for a quiet, loopback-only aria2c: no DHT/LPD/PEX, no IPv6, notice log on stdout. */
const aria2Args = (o: { host: string; port: number; dir: string; announceUrl: string | undefined; logLevel: string }) => [
  "--no-conf", "--quiet", "--log=-", `--log-level=${o.logLevel}`,
  "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
  "--disable-ipv6=true", `--interface=${o.host}`, `--listen-port=${o.port}`,
  "--follow-torrent=false", "--file-allocation=none", "--summary-interval=0", "--bt-require-crypto=false",
  `--stop-with-process=${process.pid}`, `--dir=${o.dir}`,
  ...(o.announceUrl === undefined ? [] : ["--bt-exclude-tracker=*", `--bt-tracker=${o.announceUrl}`])
]

/** Spawns a tracked process with stdout and stderr appended to `logPath`. */
export const spawnLogged = (command: string, args: ReadonlyArray<string>, logPath: string): Process => {
  fs.mkdirSync(path.dirname(logPath), { recursive: true })
  const log = fs.openSync(logPath, "a")
  try {
    return track(spawn(command, args, { stdio: ["ignore", log, log] }), command)
  } finally {
    fs.closeSync(log)
  }
}

export interface RunResult extends Exit {
  readonly timedOut: boolean
  readonly seconds: number
  readonly logPath: string
}

/** Runs a tracked process to its end, killed (SIGTERM, then SIGKILL) after `timeoutMs`. */
export const runLogged = async (command: string, args: ReadonlyArray<string>, logPath: string, timeoutMs: number): Promise<RunResult> => {
  const started = performance.now()
  const proc = spawnLogged(command, args, logPath)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void proc.stop(2_000)
  }, timeoutMs)
  const exit = await proc.exited
  clearTimeout(timer)
  return { ...exit, timedOut, seconds: (performance.now() - started) / 1000, logPath }
}

export interface Seeder extends Process {
  readonly host: string
  readonly port: number
  /** "host:port" */
  readonly address: string
  readonly logPath: string
}

export interface SeederOptions {
  readonly torrent: string
  /** The folder holding the content (Payload.dataDir). */
  readonly dataDir: string
  /** The seeder announces to `tracker.httpUrl` (instead of the torrent's trackers); we wait for that. */
  readonly tracker: Tracker
  /** Default 127.0.0.2. */
  readonly host?: string
  /** Default: a free port on `host`. */
  readonly port?: number
  /** Default: `<dirname(dataDir)>/aria2-seed-<port>.log`. */
  readonly logPath?: string
  /** Until the seeder has announced (default 30 s). */
  readonly timeoutMs?: number
  /** "notice" by default; "info" logs every message. */
  readonly logLevel?: string
  /**
   * Re-announce every this many seconds (`--bt-tracker-interval`) instead of when the tracker says
   * (10 min): the seeder dials the peers each answer names, so this bounds how long a leecher that
   * announced after the seeder waits to be called (Transmission never dials a 127.x seeder itself).
   */
  readonly reannounceSeconds?: number
  readonly extraArgs?: ReadonlyArray<string>
}

/**
 * aria2c seeding `dataDir` without hashing it first (the harness wrote it), forever (ratio 0), on
 * host:port. Resolves once the tracker has answered its `started` announce (by then it listens). It
 * accepts peers and also connects out to those the tracker names.
 */
export const startAria2Seeder = async (options: SeederOptions): Promise<Seeder> => {
  const host = options.host ?? "127.0.0.2"
  const port = options.port ?? (await freePort(host))
  const logPath = options.logPath ?? path.join(path.dirname(options.dataDir), `aria2-seed-${port}.log`)
  const args = [
    ...aria2Args({ host, port, dir: options.dataDir, announceUrl: options.tracker.httpUrl, logLevel: options.logLevel ?? "notice" }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0",
    ...(options.reannounceSeconds === undefined ? [] : [`--bt-tracker-interval=${options.reannounceSeconds}`]),
    ...(options.extraArgs ?? []), options.torrent
  ]
  const proc = spawnLogged("aria2c", args, logPath)
  const address = `${host}:${port}`
  const exitedEarly = proc.exited.then((exit) => {
    throw new Error(`aria2c seeder exited (${exit.code ?? exit.signal})`)
  })
  try {
    await Promise.race([
      options.tracker.waitForAnnounce((a) => a.addr === address && a.left === 0, options.timeoutMs ?? 30_000),
      exitedEarly
    ])
  } catch (e) {
    await proc.stop()
    throw e instanceof Error ? new Error(`${e.message}\nseeder log: ${logTail(logPath)}`) : e
  }
  exitedEarly.catch(() => {})
  return { ...proc, host, port, address, logPath }
}

export interface DownloadOptions {
  readonly torrent: string
  readonly outDir: string
  /** Default 127.0.0.1. */
  readonly host?: string
  readonly port?: number
  /** Replaces the torrent's trackers (aria2c needs an HTTP one). */
  readonly announceUrl?: string
  /** Default 120 s; the process is killed then. */
  readonly timeoutMs?: number
  /** Default: `<outDir>.aria2.log`. */
  readonly logPath?: string
  readonly logLevel?: string
  readonly extraArgs?: ReadonlyArray<string>
}

/**
 * aria2c downloading the torrent into `outDir` and exiting when complete (--seed-time=0). It listens on
 * host:port, so it also downloads from a seeder that calls it (pass `port` to know its address before it
 * announces), besides dialing the peers the tracker names.
 */
export const runAria2Download = async (options: DownloadOptions): Promise<RunResult> => {
  const host = options.host ?? "127.0.0.1"
  const port = options.port ?? (await freePort(host))
  const args = [
    ...aria2Args({ host, port, dir: options.outDir, announceUrl: options.announceUrl, logLevel: options.logLevel ?? "notice" }),
    "--seed-time=0", ...(options.extraArgs ?? []), options.torrent
  ]
  return runLogged("aria2c", args, options.logPath ?? `${options.outDir}.aria2.log`, options.timeoutMs ?? 120_000)
}

const mainJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/main.js")

/** `node dist/main.js download TORRENT --out OUT --port P` (build first), output in `<outDir>.bt-effect.log`. */
export const runBtEffectDownload = async (options: {
  readonly torrent: string
  readonly outDir: string
  readonly port?: number
  readonly timeoutMs?: number
  readonly logPath?: string
  readonly extraArgs?: ReadonlyArray<string>
}): Promise<RunResult> => {
  const port = options.port ?? (await freePort("127.0.0.1"))
  const args = [mainJs, "download", options.torrent, "--out", options.outDir, "--port", String(port), ...(options.extraArgs ?? [])]
  return runLogged(process.execPath, args, options.logPath ?? `${options.outDir}.bt-effect.log`, options.timeoutMs ?? 120_000)
}

// Payloads and hashing live in ./payload.ts; re-exported for the files that still import them from here.

/** The quiet loopback flags every harness aria2c starts with (DHT, LPD and PEX off), for tests that start
 *  aria2c their own way and turn one of them back on (later aria2c options override earlier ones). */
export const aria2BaseArgs = aria2Args
