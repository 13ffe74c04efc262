/**
 * `bt-effect seed`: find the data a folder holds for a torrent (from resume data where the files are
 * unchanged, else by hashing), then offer it to peers (announcing as a seeder, accepting connections and
 * connecting out to the peers trackers name) until stopped. The peer port (and the DHT's) is bound first,
 * so that a port in use fails before gigabytes are hashed.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { DownloadError } from "../../domain/Errors.js"
import { formatBytes, formatDuration } from "../../domain/Units.js"
import * as Progress from "./Progress.js"
import * as ProgressJson from "./ProgressJson.js"
import { recoverShowing } from "./Recover.js"
import type * as Dht from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import * as Torrent from "../torrent/Torrent.js"
import { ensureDownloadable, loadTorrent } from "../torrent/TorrentSource.js"
import { randomPeerId } from "../../domain/PeerId.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import { dataHint } from "./DataFolder.js"
import { type RateLimits, throttleOf } from "./RateLimits.js"

export interface SeedOptions extends RateLimits {
  readonly torrent: string
  readonly data: string
  readonly port: number
  readonly maxPeers: number
  readonly uploadSlots: number
  readonly progress: Progress.ProgressOptions
  /** Our DHT node's settings; absent: no DHT. */
  readonly dht?: Dht.DhtOptions
  /** Peer exchange (BEP 11); --no-pex turns it off. */
  readonly pex: boolean
  /** Missing pieces from the torrent's web seeds (BEP 19); default on, --no-web-seeds turns them off. */
  readonly webSeeds?: boolean
}

export const seed = (options: SeedOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const progress = options.progress
      const metainfo = yield* loadTorrent(options.torrent).pipe(Effect.flatMap(ensureDownloadable))
      const listener = yield* PeerRouter.make({ port: options.port })
      const dht = yield* startDht(options.dht)
      const recovered = yield* recoverShowing(metainfo, options.data, progress)
      const have = recovered.have
      if (have.isEmpty) {
        const hint = dataHint(metainfo, options.data)
        return yield* new DownloadError({
          reason: "NoData",
          detail: `${options.data}: none of ${metainfo.name}'s data is there to seed${hint !== undefined ? ` (${hint})` : ""}`
        })
      }
      if (!have.isComplete) {
        yield* Effect.logWarning(`${metainfo.pieceCount - have.count} piece(s) missing or damaged: they will be downloaded`)
      }
      const throttle = yield* throttleOf(options)
      const started = yield* Clock.currentTimeMillis
      const handle = yield* Torrent.start({
        ...(dht !== undefined ? { dht } : {}),
        ...(throttle !== undefined ? { throttle } : {}),
        pex: options.pex,
        webSeeds: { enabled: options.webSeeds !== false },
        metainfo,
        root: options.data,
        peerId: yield* randomPeerId,
        port: listener.port,
        listener,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots,
        trusted: have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current
      })
      yield* Progress.say(progress, `seeding ${metainfo.name} on port ${handle.port} (Ctrl-C stops)`)
      // Ctrl-C: what this run gave.
      const stopped = Effect.gen(function* () {
        yield* Progress.finish(progress)
        const s = yield* handle.stats
        const ms = (yield* Clock.currentTimeMillis) - started
        const ratio = s.uploadedBytes / Math.max(1, s.totalLength)
        yield* Progress.tell(
          progress,
          ProgressJson.ended("seeded", s, ms, { why: "stopped", ratio: Math.round(ratio * 100) / 100 }),
          `stopped seeding ${s.name} after ${formatDuration(ms / 1000)}: uploaded ${formatBytes(s.uploadedBytes)} (ratio ${ratio.toFixed(2)})`
        )
      })
      return yield* Progress.run(handle.stats, progress).pipe(Effect.onInterrupt(() => stopped))
    })
  )
