/**
 * `bt-effect download`: one torrent from its trackers' peers into a folder, with progress, until every
 * piece is verified; then a summary. Data already in the folder is kept (Resume.ts). Stopping (Ctrl-C)
 * says what was done and closes the scope: a last checkpoint, a `stopped` announce, files closed.
 *
 * The peer port is bound before anything else (a port in use fails at once, not after hashing the data
 * already there), and files are created as their first piece arrives (FileStorage), so that a download
 * that fails early leaves no empty full-size files behind.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { DownloadError } from "../../domain/Errors.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { formatBytes, formatDuration } from "../../domain/Units.js"
import { chooseFiles } from "./FileChoice.js"
import * as Progress from "./Progress.js"
import { torrentInput } from "./TorrentInput.js"
import * as ProgressJson from "./ProgressJson.js"
import * as Torrent from "../torrent/Torrent.js"
import { recoverShowing } from "./Recover.js"
import { ensureDownloadable } from "../torrent/TorrentSource.js"
import type * as Dht from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import * as HashThreads from "../pieces/HashThreads.js"
import type { TrackerStatus } from "../tracker/Announcer.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import { type RateLimits, throttleOf } from "./RateLimits.js"

export interface DownloadOptions extends RateLimits {
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
  /** `--files 1,4-7` (1-based) and `--only GLOB`: the files to download (FileChoice.ts); neither: a
   *  magnet's so=, else all. */
  readonly files?: string
  readonly only?: ReadonlyArray<string>
  /** Threads that hash downloaded pieces (HashThreads), and their script; absent or 0: the main thread. */
  readonly hashThreads?: { readonly count: number; readonly script: string }
  /** Pieces from the torrent's web seeds (BEP 19); default on, --no-web-seeds turns them off. */
  readonly webSeeds?: boolean
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

/** A tracker as the stall message gives it: a pending one has not answered yet, which is not "0 peers". */
const trackerWord = (t: TrackerStatus): string =>
  t.state === "failed" ? `${t.url}: ${t.error ?? "failed"}` : t.state === "pending" ? `${t.url}: no answer yet` : `${t.url}: ${t.peers} peer(s)`

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
        const trackers = s.trackers.map(trackerWord)
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
      const progress = options.progress
      const peerId = yield* randomPeerId
      const listener = yield* PeerRouter.make({ port: options.port })
      const dht = yield* startDht(options.dht)
      const source = yield* torrentInput(options.torrent, { peerId, port: listener.port, dht, stallTimeoutSeconds: options.stallTimeoutSeconds, progress })
      const metainfo = yield* ensureDownloadable(source.metainfo)
      const selection = yield* chooseFiles(metainfo, {
        ...(options.files !== undefined ? { files: options.files } : {}),
        ...(options.only !== undefined ? { only: options.only } : {}),
        ...(source.selectOnly !== undefined ? { selectOnly: source.selectOnly } : {})
      })
      if (source.fetched !== undefined) {
        const file = yield* MagnetSource.saveBeside(options.out, metainfo, source.fetched)
        yield* Progress.say(progress, `saved ${file}`)
      }
      const recovered = yield* recoverShowing(metainfo, options.out, progress)
      const threads = options.hashThreads !== undefined && options.hashThreads.count > 0
        ? yield* HashThreads.make(options.hashThreads.count, options.hashThreads.script)
        : undefined
      const started = yield* Clock.currentTimeMillis
      const throttle = yield* throttleOf(options)
      const handle = yield* Torrent.start({
        ...(threads !== undefined ? { hashThreads: threads } : {}),
        ...(throttle !== undefined ? { throttle } : {}),
        trusted: recovered.have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current,
        ...(dht !== undefined ? { dht } : {}),
        pex: options.pex,
        webSeeds: { enabled: options.webSeeds !== false, urls: source.webSeeds },
        peers: source.peers,
        metainfo,
        ...(selection !== undefined ? { selection } : {}),
        root: options.out,
        peerId,
        port: listener.port,
        listener,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots
      })
      const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - started)
      const done = options.stallTimeoutSeconds > 0
        ? Effect.raceFirst(handle.completed, watchdog(handle.stats, options.stallTimeoutSeconds))
        : handle.completed
      yield* Effect.forkScoped(Progress.run(handle.stats, progress))
      // Ctrl-C before the end: what was done, as a finished download says it.
      const stopped = Effect.gen(function* () {
        yield* Progress.finish(progress)
        const s = yield* handle.stats
        const ms = yield* elapsed
        yield* Progress.tell(progress, ProgressJson.ended("stopped", s, ms), Progress.stoppedSummary(s, ms))
      })
      yield* done.pipe(Effect.onExit(() => Progress.finish(progress)), Effect.onInterrupt(() => stopped))
      const stats = yield* handle.stats
      const ms = yield* elapsed
      yield* Progress.tell(progress, ProgressJson.ended("done", stats, ms), Progress.summary(stats, ms))
      if (options.seed === undefined) return
      yield* Progress.say(progress, `seeding on port ${handle.port} (Ctrl-C stops)`)
      const seeded = (why: string) =>
        Effect.gen(function* () {
          yield* Progress.finish(progress)
          const after = yield* handle.stats
          const ratio = after.uploadedBytes / after.totalLength
          yield* Progress.tell(
            progress,
            ProgressJson.ended("seeded", after, yield* elapsed, { why, ratio: Math.round(ratio * 100) / 100 }),
            `seeded: ${why}; uploaded ${formatBytes(after.uploadedBytes)} (ratio ${ratio.toFixed(2)})`
          )
        })
      const why = yield* seedUntil(handle.stats, options.seed).pipe(Effect.onInterrupt(() => seeded("stopped")))
      yield* seeded(why)
    })
  )
