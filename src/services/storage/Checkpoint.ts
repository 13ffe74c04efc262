/**
 * Checkpoints: a torrent's resume data, saved at an interval, at completion and on stop.
 *
 * The order is what makes a checkpoint safe to trust after a crash: the verified pieces are listed first,
 * then the files are flushed (every piece listed was written before the list was taken, so it is on disk
 * once the flush returns), then the files are stamped, then the resume file is replaced atomically. A piece
 * written after the list is not in it, and is found again by hashing if its file changed.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import { type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import { ResumeData } from "../../domain/ResumeData.js"
import { ResumeStore } from "./ResumeStore.js"
import type { TorrentStorage } from "./Storage.js"
import * as path from "node:path"

export interface CheckpointOptions {
  readonly metainfo: Metainfo
  readonly root: string
  readonly storage: TorrentStorage
  /** The torrent's verified pieces, live (copied at each checkpoint). */
  readonly have: () => Bitfield
  /** Bytes downloaded and uploaded over the torrent's life (earlier runs included). */
  readonly totals: () => { readonly downloaded: number; readonly uploaded: number }
  /** The resume data on disk already says what `have` and `totals` say now: nothing has changed yet. */
  readonly current?: boolean
  /** Files whose bytes are in the part file (not selected: PartFile.ts), recorded for the next start. */
  readonly parked?: ReadonlyArray<number>
}

export interface Checkpointer {
  /**
   * Takes a checkpoint. Fails with the storage's error when the torrent's files cannot be flushed or
   * stamped (a disk error, a file deleted under the torrent); a resume file that cannot be written fails
   * only when `strict` (at start: a state folder that cannot be written is said at once), else is logged.
   */
  readonly save: (options?: { readonly strict?: boolean }) => Effect.Effect<void, StorageError>
  /** Whether anything has changed since the last checkpoint. */
  readonly changed: Effect.Effect<boolean>
}

export const make = Effect.fn("Checkpoint.make")(function*(options: CheckpointOptions) {
  const store = yield* ResumeStore
  const lock = yield* Effect.makeSemaphore(1)
  let last: { pieces: number; downloaded: number; uploaded: number } | undefined = options.current === true
    ? { pieces: options.have().count, ...options.totals() }
    : undefined

  const save = (saveOptions?: { readonly strict?: boolean }) =>
    lock.withPermits(1)(
      Effect.gen(function*() {
        const have = options.have().copy()
        const totals = options.totals()
        yield* options.storage.sync
        const stamps = yield* options.storage.stamps
        const data = new ResumeData({
          infoHash: torrentHash(options.metainfo),
          ...(options.metainfo.infoHashV2 !== undefined ? { infoHashV2: options.metainfo.infoHashV2 } : {}),
          root: path.resolve(options.root),
          pieceCount: have.pieceCount,
          pieces: have.toBytes(),
          files: stamps.map((s) => s ?? null),
          downloaded: totals.downloaded,
          uploaded: totals.uploaded,
          savedAt: yield* Clock.currentTimeMillis,
          ...(options.parked !== undefined && options.parked.length > 0 ? { parked: options.parked } : {})
        })
        const saved = store.save(data).pipe(Effect.tap(() => (last = { pieces: have.count, ...totals })))
        if (saveOptions?.strict === true) return yield* saved
        yield* saved.pipe(
          Effect.catchAll((e) => Effect.logWarning(`could not save resume data: ${e.message} (will try again)`))
        )
      })
    ).pipe(Effect.withSpan("Checkpoint.save"))

  const checkpointer: Checkpointer = {
    save,
    changed: Effect.sync(() => {
      const totals = options.totals()
      return last === undefined || last.pieces !== options.have().count || last.downloaded !== totals.downloaded ||
        last.uploaded !== totals.uploaded
    })
  }
  return checkpointer
})
