/**
 * `bt-effect seed`: find the data a folder holds for a torrent (from resume data where the files are
 * unchanged, else by hashing), then offer it to peers (announcing as a
 * seeder, accepting connections and connecting out to the peers trackers name) until stopped.
 */
import * as Effect from "effect/Effect"
import { DownloadError } from "../../domain/Errors.js"
import * as Progress from "./Progress.js"
import { recoverShowing } from "./Recover.js"
import type * as Dht from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import * as Torrent from "../torrent/Torrent.js"
import { ensureDownloadable, loadTorrent } from "../torrent/TorrentSource.js"
import { randomPeerId } from "../../domain/PeerId.js"

export interface SeedOptions {
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
}

export const seed = (options: SeedOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const metainfo = yield* loadTorrent(options.torrent).pipe(Effect.flatMap(ensureDownloadable))
      const recovered = yield* recoverShowing(metainfo, options.data, options.progress)
      const have = recovered.have
      if (have.isEmpty) {
        return yield* new DownloadError({
          reason: "NoData",
          detail: `${options.data}: none of ${metainfo.name}'s data is there to seed`
        })
      }
      if (!have.isComplete) {
        yield* Effect.logWarning(`${metainfo.pieceCount - have.count} piece(s) missing or damaged: they will be downloaded`)
      }
      const dht = yield* startDht(options.dht)
      const handle = yield* Torrent.start({
        ...(dht !== undefined ? { dht } : {}),
        pex: options.pex,
        metainfo,
        root: options.data,
        peerId: yield* randomPeerId,
        port: options.port,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots,
        trusted: have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current
      })
      yield* options.progress.write(`seeding ${metainfo.name} on port ${handle.port} (Ctrl-C stops)\n`)
      return yield* Progress.run(handle.stats, options.progress)
    })
  )
