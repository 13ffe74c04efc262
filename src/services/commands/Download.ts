/**
 * `bt-effect download`: one torrent from its trackers' peers into a folder, with progress, until every
 * piece is verified; then a summary. Data already in the folder is kept (Resume.ts). Stopping (Ctrl-C)
 * closes the scope: a last checkpoint, a `stopped` announce, files closed.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { DownloadError } from "../../domain/Errors.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { formatBytes, formatDuration } from "../../domain/Units.js"
import * as Progress from "./Progress.js"
import * as Torrent from "../torrent/Torrent.js"
import { recoverShowing } from "./Recover.js"
import { ensureDownloadable, loadTorrent } from "../torrent/TorrentSource.js"
import type * as Dht from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import * as HashThreads from "../pieces/HashThreads.js"
import * as Magnet from "../../domain/Magnet.js"

export interface DownloadOptions {
  /** A .torrent file, or a magnet link. */
  readonly torrent: string
  readonly out: string
  readonly port: number
  /** Give up when no data has arrived for this long (0: never). */
  readonly stallTimeoutSeconds: number
  readonly maxPeers: number
  readonly uploadSlots: number
  /** Keep seeding after completion, until a limit is reached (none given: until stopped). */
  readonly seed?: { readonly ratio?: number; readonly minutes?: number }
  readonly progress: Progress.ProgressOptions
  /** Our DHT node's settings; absent: no DHT (--no-dht). */
  readonly dht?: Dht.DhtOptions
  /** Peer exchange (BEP 11); --no-pex turns it off. */
  readonly pex: boolean
  /** Threads that hash downloaded pieces (HashThreads), and their script; absent or 0: the main thread. */
  readonly hashThreads?: { readonly count: number; readonly script: string }
}

/** Seeds until uploaded/size reaches `ratio` or `minutes` pass (whichever comes first), or forever. */
const seedUntil = (stats: Effect.Effect<Torrent.TorrentStats>, limits: { readonly ratio?: number; readonly minutes?: number }) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    while (true) {
      const s = yield* stats
      const now = yield* Clock.currentTimeMillis
      if (limits.ratio !== undefined && s.uploadedBytes >= limits.ratio * s.totalLength) {
        return `ratio ${(s.uploadedBytes / s.totalLength).toFixed(2)} reached`
      }
      if (limits.minutes !== undefined && now - started >= limits.minutes * 60_000) return `${limits.minutes} min of seeding`
      yield* Effect.sleep("1 second")
    }
  })


/** Fails when nothing has arrived for `seconds`, saying what the trackers said. */
const watchdog = (stats: Effect.Effect<Torrent.TorrentStats>, seconds: number) =>
  Effect.gen(function* () {
    let last = -1
    let since = yield* Clock.currentTimeMillis
    while (true) {
      yield* Effect.sleep("1 second")
      const s = yield* stats
      const now = yield* Clock.currentTimeMillis
      if (s.downloadedBytes !== last) {
        last = s.downloadedBytes
        since = now
      } else if (now - since >= seconds * 1000) {
        const trackers = s.trackers.map((t) => (t.state === "failed" ? `${t.url}: ${t.error ?? "failed"}` : `${t.url}: ${t.peers} peer(s)`))
        const why = s.peers === 0 ? "no peers" : `${s.peers} peer(s) but no data`
        return yield* new DownloadError({
          reason: "Stalled",
          detail: `stalled: ${why} for ${formatDuration(seconds)}${trackers.length > 0 ? ` (trackers: ${trackers.join("; ")})` : " (no trackers)"}`
        })
      }
    }
  })

export const download = (options: DownloadOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const peerId = yield* randomPeerId
      const dht = yield* startDht(options.dht)
      const source = options.torrent.startsWith("magnet:")
        ? yield* MagnetSource.resolve(yield* Magnet.parse(options.torrent), {
            peerId,
            port: options.port,
            dht,
            stallTimeoutSeconds: options.stallTimeoutSeconds,
            report: (line) => options.progress.write(`${line}\n`)
          })
        : { metainfo: yield* loadTorrent(options.torrent), fetched: undefined, peers: [] }
      const metainfo = yield* ensureDownloadable(source.metainfo)
      if (source.fetched !== undefined) {
        const file = yield* MagnetSource.saveBeside(options.out, metainfo, source.fetched)
        yield* options.progress.write(`saved ${file}\n`)
      }
      const recovered = yield* recoverShowing(metainfo, options.out, options.progress)
      const threads = options.hashThreads !== undefined && options.hashThreads.count > 0
        ? yield* HashThreads.make(options.hashThreads.count, options.hashThreads.script)
        : undefined
      const started = yield* Clock.currentTimeMillis
      const handle = yield* Torrent.start({
        ...(threads !== undefined ? { hashThreads: threads } : {}),
        trusted: recovered.have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current,
        ...(dht !== undefined ? { dht } : {}),
        pex: options.pex,
        peers: source.peers,
        metainfo,
        root: options.out,
        peerId,
        port: options.port,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots
      })
      const done = options.stallTimeoutSeconds > 0
        ? Effect.raceFirst(handle.completed, watchdog(handle.stats, options.stallTimeoutSeconds))
        : handle.completed
      yield* Effect.forkScoped(Progress.run(handle.stats, options.progress))
      yield* done.pipe(Effect.onExit(() => Progress.finish(options.progress)))
      const stats = yield* handle.stats
      const now = yield* Clock.currentTimeMillis
      yield* options.progress.write(`${Progress.summary(stats, now - started)}\n`)
      if (options.seed === undefined) return
      yield* options.progress.write(`seeding on port ${handle.port} (Ctrl-C stops)\n`)
      const why = yield* seedUntil(handle.stats, options.seed).pipe(Effect.onExit(() => Progress.finish(options.progress)))
      const after = yield* handle.stats
      yield* options.progress.write(
        `seeded: ${why}; uploaded ${formatBytes(after.uploadedBytes)} (ratio ${(after.uploadedBytes / after.totalLength).toFixed(2)})\n`
      )
    })
  )
