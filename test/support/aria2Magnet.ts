/**
 * Helpers for test/interop/magnet.test.ts (magnet links, ut_metadata, PEX and the DHT against aria2c):
 * a payload of many small files whose info dictionary spans several ut_metadata pieces; a bt-effect DHT
 * node run inside the test process on real UDP 127.0.0.1 (the only node anyone is pointed at, never the
 * public routers); aria2c started with its DHT or PEX on top of the harness's quiet loopback flags (later
 * aria2c options override earlier ones); magnet links; a hand-made tracker announce; and polling with a
 * deadline.
 */
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Prng from "../../src/domain/Prng.js"
import * as Dht from "../../src/services/dht/Dht.js"
import { aria2BaseArgs, freePort, type Process, spawnLogged } from "./interop.js"
import { type Payload, writePayload } from "./payload.js"
import { makeTorrent, randomBytes } from "./torrents.js"
import * as UdpDatagram from "../../src/services/wire/UdpDatagram.js"
import * as DhtNode from "../../src/services/dht/DhtNode.js"

/** BEP 9 metadata piece size. */
export const metadataPieceSize = 16 * 1024

export const metadataPieces = (payload: Payload): number => Math.ceil(payload.metainfo.infoBytes.length / metadataPieceSize)

/**
 * `fileCount` small files (0 to 14 KiB, a few empty) in a handful of folders, 16 KiB pieces, written under
 * `<dir>/data/<name>` with the torrent (no tracker) at `<dir>/<name>.torrent`. A few MiB of data whose
 * info dictionary is large (about 55 bytes per file plus 20 per piece): 600 files give three metadata pieces.
 */
export const manyFilesPayload = (dir: string, options: { readonly fileCount: number; readonly seed?: number; readonly name?: string }): Payload => {
  const seed = options.seed ?? 1
  const name = options.name ?? "many"
  const pieceLength = 16 * 1024
  const random = Prng.make(seed)
  const files = Array.from({ length: options.fileCount }, (_, i) => ({
    path: [`folder-${String(i % 9)}`, `file-${String(i).padStart(4, "0")}.bin`],
    data: randomBytes(i % 41 === 0 ? 0 : 1 + random.below(14 * 1024), seed * 10_000 + i + 1)
  }))
  const torrent = makeTorrent({ name, pieceLength, files, multiFile: true })
  return writePayload(dir, name, pieceLength, files, torrent)
}

/** `magnet:?xt=urn:btih:HEX` with optional `dn`, `x.pe` (host:port) and `tr` parameters. */
export const magnetLink = (infoHash: string, options: {
  readonly name?: string
  readonly peers?: ReadonlyArray<string>
  readonly trackers?: ReadonlyArray<string>
} = {}): string =>
  [
    `magnet:?xt=urn:btih:${infoHash}`,
    ...(options.name === undefined ? [] : [`dn=${encodeURIComponent(options.name)}`]),
    ...(options.peers ?? []).map((p) => `x.pe=${p}`),
    ...(options.trackers ?? []).map((t) => `tr=${encodeURIComponent(t)}`)
  ].join("&")

// ---------------------------------------------------------------------------------------------------------
// Waiting

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 100 ms until it holds; fails with `what()` after `timeoutMs`. */
export const waitUntil = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> => {
  const end = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what()}`)
    await sleep(100)
  }
}

/** A log file's text, or "" before it exists. */
export const readLog = (file: string): string => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

// ---------------------------------------------------------------------------------------------------------
// A DHT node in the test process

export interface DhtNodeHandle {
  readonly port: number
  /** "127.0.0.1:PORT" */
  readonly address: string
  readonly stats: () => Promise<Dht.DhtStats>
  readonly close: () => Promise<void>
}

/**
 * bt-effect's DHT node on real UDP 127.0.0.1, knowing nobody at first: the bootstrap node that aria2c and
 * bt-effect are both pointed at, so that an announce reaches it and a lookup finds it there.
 */
export const startDhtNode = async (): Promise<DhtNodeHandle> => {
  const scope = Effect.runSync(Scope.make())
  const close = () => Effect.runPromise(Scope.close(scope, Exit.void))
  try {
    const node = await Effect.runPromise(
      DhtNode.make({ port: 0, host: "127.0.0.1", bootstrap: [] }).pipe(Scope.extend(scope), Effect.provide(UdpDatagram.layer))
    )
    return { port: node.port, address: `127.0.0.1:${node.port}`, stats: () => Effect.runPromise(node.stats), close }
  } catch (e) {
    await close()
    throw e
  }
}

/** A UDP port that was free on `host` a moment ago. */
export const freeUdpPort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4")
    socket.once("error", reject)
    socket.bind(0, host, () => {
      const port = socket.address().port
      socket.close(() => resolve(port))
    })
  })

/** aria2c's IPv4 DHT on `dhtPort` (bound to its --interface address), entering only through `entry`. */
export const aria2DhtArgs = (o: { readonly dhtPort: number; readonly entry: string; readonly stateDir: string }): ReadonlyArray<string> => [
  "--enable-dht=true", "--enable-dht6=false", `--dht-listen-port=${o.dhtPort}`, `--dht-entry-point=${o.entry}`,
  `--dht-file-path=${path.join(o.stateDir, `dht-${o.dhtPort}.dat`)}`
]

// ---------------------------------------------------------------------------------------------------------
// aria2c started by hand

export interface Aria2Peer extends Process {
  readonly host: string
  readonly port: number
  /** "host:port" */
  readonly address: string
  readonly logPath: string
  readonly log: () => string
}

/**
 * aria2c with the harness's loopback flags (DHT, LPD and PEX off) plus `args` (which override them), on
 * host and a free port, logging at `logLevel` (default info) to `logPath`; it runs until stopped.
 */
export const startAria2 = async (o: {
  readonly host: string
  readonly dir: string
  readonly logPath: string
  readonly args: ReadonlyArray<string>
  readonly logLevel?: string
}): Promise<Aria2Peer> => {
  const port = await freePort(o.host)
  fs.mkdirSync(o.dir, { recursive: true })
  const base = aria2BaseArgs({ host: o.host, port, dir: o.dir, announceUrl: undefined, logLevel: o.logLevel ?? "info" })
  const proc = spawnLogged("aria2c", [...base, ...o.args], o.logPath)
  return { ...proc, host: o.host, port, address: `${o.host}:${port}`, logPath: o.logPath, log: () => readLog(o.logPath) }
}

// ---------------------------------------------------------------------------------------------------------
// Trackers

const percent = (bytes: Uint8Array) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")

/**
 * Announces 127.0.0.1:`port` as a seed of `infoHash` to an HTTP tracker, as if that peer had: so that a
 * client asking this tracker (and only it) finds the peer.
 */
export const announceFor = async (trackerUrl: string, infoHash: string, port: number): Promise<void> => {
  const peerId = Buffer.from(`-TS0001-${String(port).padStart(12, "0")}`)
  const query = `info_hash=${percent(Buffer.from(infoHash, "hex"))}&peer_id=${percent(peerId)}&port=${port}` +
    "&uploaded=0&downloaded=0&left=0&event=started&compact=1"
  const response = await fetch(`${trackerUrl}?${query}`, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`announce for port ${port}: HTTP ${response.status}`)
}
