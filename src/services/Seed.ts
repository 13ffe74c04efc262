/**
 * `bt-effect seed`: check the data a folder holds for a torrent, then offer it to peers (announcing as a
 * seeder, accepting connections and connecting out to the peers trackers name) until stopped.
 */
import * as Effect from "effect/Effect"
import { DownloadError } from "../domain/Errors.js"
import type { Metainfo } from "../domain/Metainfo.js"
import { formatBytes, formatRate } from "../domain/Units.js"
import { checkData } from "./DataCheck.js"
import { randomPeerId } from "./Download.js"
import * as Progress from "./Progress.js"
import { Storage } from "./Storage.js"
import * as Torrent from "./Torrent.js"
import { ensureDownloadable, loadTorrent } from "./TorrentSource.js"

export interface SeedOptions {
  readonly torrent: string
  readonly data: string
  readonly port: number
  readonly maxPeers: number
  readonly uploadSlots: number
  readonly progress: Progress.ProgressOptions
}

/** Checks the data under `root`, showing progress; says what it found. */
export const checkExisting = (metainfo: Metainfo, root: string, progress: Progress.ProgressOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const storage = yield* (yield* Storage).open(metainfo, root)
      const result = yield* checkData(metainfo, storage, Progress.checkReporter(progress))
      yield* Progress.finish(progress)
      const percent = ((100 * result.have.count) / Math.max(1, metainfo.pieceCount)).toFixed(1)
      yield* progress.write(
        `checked ${root}: ${result.have.count} of ${metainfo.pieceCount} pieces verified (${percent}%), ` +
          `${formatBytes(metainfo.totalLength)} in ${result.seconds.toFixed(1)} s (${formatRate(result.rate)})\n`
      )
      return result.have
    })
  )

export const seed = (options: SeedOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const metainfo = yield* loadTorrent(options.torrent).pipe(Effect.flatMap(ensureDownloadable))
      const have = yield* checkExisting(metainfo, options.data, options.progress)
      if (have.isEmpty) {
        return yield* new DownloadError({
          reason: "NoData",
          detail: `${options.data}: none of ${metainfo.name}'s data is there to seed`
        })
      }
      if (!have.isComplete) {
        yield* Effect.logWarning(`${metainfo.pieceCount - have.count} piece(s) missing or damaged: they will be downloaded`)
      }
      const handle = yield* Torrent.start({
        metainfo,
        root: options.data,
        peerId: yield* randomPeerId,
        port: options.port,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots,
        trusted: have
      })
      yield* options.progress.write(`seeding ${metainfo.name} on port ${handle.port} (Ctrl-C stops)\n`)
      return yield* Progress.run(handle.stats, options.progress)
    })
  )
