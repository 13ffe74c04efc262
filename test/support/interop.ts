/**
 * Interop harness: a real bittorrent-tracker (test/support/tracker-server.mjs) and real aria2c peers on
 * loopback, with payloads and .torrent files made here. Every process is spawned by this module, tracked
 * by PID and stopped by PID (`stop()`, `stopAll()`); aria2c also stops by itself when this process ends
 * (`--stop-with-process`) and the tracker when its stdin closes.
 *
 * aria2c 1.36 announces over HTTP only while its DHT is off, so the seeder announces to the tracker's HTTP
 * URL (the torrent's own trackers are replaced) and the client under test may use the UDP URL: both
 * reach the same swarm. The seeder binds 127.0.0.2 so that it is another host for a client on 127.0.0.1.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { type Bencode, bytes } from "../../src/domain/Bencode.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import { encode } from "../../src/protocol/Bencode.js"
import { makeTorrent, randomBytes, type TestFile } from "./torrents.js"

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
// Payloads and torrents

export interface PayloadFile {
  /** Relative to the data folder, "/"-separated, starting with the torrent's name. */
  readonly path: string
  readonly length: number
  readonly sha256: string
}

export interface Payload {
  readonly torrentPath: string
  /** The folder that holds the content (`<dataDir>/<name>`): aria2c's --dir, bt-effect's --out. */
  readonly dataDir: string
  readonly name: string
  readonly infoHash: string
  readonly pieceLength: number
  readonly totalLength: number
  readonly files: ReadonlyArray<PayloadFile>
  readonly metainfo: Metainfo
}

export interface PayloadOptions {
  /** Default 256 KiB. */
  readonly pieceLength?: number
  readonly announce?: string
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
  /** Seed of the content and of the multi-file layout (default 1). */
  readonly seed?: number
  /** Single: the file's size (default 64 MiB). */
  readonly size?: number
  /** Multi: how many files (default 100). */
  readonly fileCount?: number
  readonly name?: string
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

/** Deterministic 32-bit generator (mulberry32) for the layout. */
const generator = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const folders = [[], [], ["docs"], ["docs", "guides"], ["docs", "guides", "deep", "er", "still"], ["media"],
  ["media", "ünïcødé"], ["src", "a", "b"], ["src", "a", "c"], ["with space"], ["x"], ["x", "y", "z"]]
const specialNames = ["README", "name with spaces.txt", "ñandú.bin", "UPPER.DAT", "dots.in.name.tar.gz"]

/**
 * The multi-file layout: empty files first and last and in between, tiny files, sizes on both sides of
 * block (16 KiB) and piece boundaries, files larger than a piece; pieces then span many files.
 */
const multiLayout = (count: number, pieceLength: number, seed: number) => {
  const random = generator(seed)
  const special = [0, 1, 2, 3, 7, 13, 100, 999, 16383, 16384, 16385, pieceLength - 1, pieceLength,
    pieceLength + 1, 3 * pieceLength + 12345, 0, 0]
  const sizes: Array<number> = []
  for (let i = 0; i < count - 2; i++) {
    const r = random()
    sizes.push(i < special.length ? special[i]! :
      r < 0.35 ? Math.floor(random() * 2_000) :
      r < 0.75 ? 2_000 + Math.floor(random() * 200_000) :
      200_000 + Math.floor(random() * 1_000_000))
  }
  for (let i = sizes.length - 1; i > 0; i--) { // shuffle
    const j = Math.floor(random() * (i + 1))
    ;[sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!]
  }
  sizes.unshift(0)
  sizes.push(0)
  return sizes.map((size, i) => {
    const folder = folders[Math.floor(random() * folders.length)]!
    const name = i < specialNames.length ? `${i}-${specialNames[i]}` : `file-${String(i).padStart(3, "0")}.bin`
    return { path: [...folder, name], size }
  })
}

/**
 * Writes deterministic content under `<dir>/data/<name>` and its torrent at `<dir>/<name>.torrent`.
 * Single: one file of `size` bytes; multi: `fileCount` files in nested folders.
 */
export const makePayload = (dir: string, kind: "single" | "multi", options: PayloadOptions = {}): Payload => {
  const pieceLength = options.pieceLength ?? 256 * 1024
  const seed = options.seed ?? 1
  const name = options.name ?? (kind === "single" ? "single.bin" : "multi")
  const layout = kind === "single" ?
    [{ path: [], size: options.size ?? 64 * 1024 * 1024 }] :
    multiLayout(options.fileCount ?? 100, pieceLength, seed)
  const files: Array<TestFile> = layout.map((f, i) => ({ path: f.path, data: randomBytes(f.size, seed * 1000 + i + 1) }))
  const torrent = makeTorrent({
    name,
    pieceLength,
    files,
    multiFile: kind === "multi",
    ...(options.announce === undefined ? {} : { announce: options.announce }),
    ...(options.announceList === undefined ? {} : { announceList: options.announceList })
  })
  const dataDir = path.join(dir, "data")
  const written = files.map((f) => {
    const relative = [name, ...f.path].join("/")
    const target = path.join(dataDir, ...relative.split("/"))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, f.data)
    return { path: relative, length: f.data.length, sha256: sha256(f.data) }
  })
  const torrentPath = path.join(dir, `${name}.torrent`)
  fs.writeFileSync(torrentPath, torrent.bytes)
  return {
    torrentPath,
    dataDir,
    name,
    infoHash: createHash("sha1").update(torrent.metainfo.infoBytes).digest("hex"),
    pieceLength,
    totalLength: torrent.payload.length,
    files: written,
    metainfo: torrent.metainfo
  }
}

/** Writes another .torrent for the same content (same info hash) with other trackers. */
export const writeTorrent = (payload: Payload, file: string, trackers: {
  readonly announce?: string
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
}): string => {
  const top = new Map<string, Bencode>()
  if (trackers.announce !== undefined) top.set("announce", bytes(trackers.announce))
  if (trackers.announceList !== undefined) top.set("announce-list", trackers.announceList.map((t) => t.map(bytes)))
  const head = encode(top) // "d...e": "info" sorts after "announce*", so it goes last
  fs.writeFileSync(file, Buffer.concat([head.subarray(0, head.length - 1), Buffer.from("4:info"), payload.metainfo.infoBytes, Buffer.from("e")]))
  return file
}

// ---------------------------------------------------------------------------------------------------------
// Hashing

export const sha256File = async (file: string): Promise<string> => {
  const hash = createHash("sha256")
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest("hex")
}

/** The sha256 of every regular file under `dir`, by "/"-separated relative path. */
export const sha256Tree = async (dir: string): Promise<Map<string, string>> => {
  const out = new Map<string, string>()
  const walk = async (relative: ReadonlyArray<string>): Promise<void> => {
    const entries = fs.readdirSync(path.join(dir, ...relative), { withFileTypes: true })
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const next = [...relative, entry.name]
      if (entry.isDirectory()) await walk(next)
      else if (entry.isFile()) out.set(next.join("/"), await sha256File(path.join(dir, ...next)))
      else out.set(next.join("/"), "not a regular file")
    }
  }
  await walk([])
  return out
}

/**
 * What differs between the payload and a download into `outDir` (the folder given to the client): missing
 * or different files, and (multi-file) extra files inside the torrent's folder. Empty when equal.
 */
export const verifyDownload = async (payload: Payload, outDir: string): Promise<ReadonlyArray<string>> => {
  const problems: Array<string> = []
  for (const f of payload.files) {
    const file = path.join(outDir, ...f.path.split("/"))
    if (!fs.existsSync(file)) problems.push(`missing ${f.path}`)
    else if (fs.statSync(file).size !== f.length) problems.push(`size ${f.path}: ${fs.statSync(file).size} != ${f.length}`)
    else if ((await sha256File(file)) !== f.sha256) problems.push(`sha256 ${f.path}`)
  }
  if (payload.metainfo.multiFile && fs.existsSync(path.join(outDir, payload.name))) {
    const expected = new Set(payload.files.map((f) => f.path))
    for (const found of (await sha256Tree(path.join(outDir, payload.name))).keys()) {
      if (!expected.has(`${payload.name}/${found}`)) problems.push(`extra ${payload.name}/${found}`)
    }
  }
  return problems
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
  readonly extraArgs?: ReadonlyArray<string>
}

/**
 * aria2c seeding `dataDir` without hashing it first (the harness wrote it), forever (ratio 0), on
 * host:port. Resolves once the tracker has answered its `started` announce (by then it listens).
 */
export const startAria2Seeder = async (options: SeederOptions): Promise<Seeder> => {
  const host = options.host ?? "127.0.0.2"
  const port = options.port ?? (await freePort(host))
  const logPath = options.logPath ?? path.join(path.dirname(options.dataDir), `aria2-seed-${port}.log`)
  const args = [
    ...aria2Args({ host, port, dir: options.dataDir, announceUrl: options.tracker.httpUrl, logLevel: options.logLevel ?? "notice" }),
    "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false", "--bt-max-peers=0",
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

/** aria2c downloading the torrent into `outDir` and exiting when complete (--seed-time=0). */
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
