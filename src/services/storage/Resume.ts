/**
 * Starting a torrent on the data already on disk: what the last checkpoint recorded is trusted where the
 * files are unchanged since; everything else that might be there is hashed (DataCheck), and every piece
 * that verifies is kept. Nothing is created or written here: a folder that holds nothing stays as it is.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import type { Bitfield } from "../../domain/Bitfield.js"
import * as InfoHash from "../../domain/InfoHash.js"
import { layoutOf, type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import { decide, ResumeData } from "../../domain/ResumeData.js"
import { type CheckProgress, checkData, type CheckResult } from "./DataCheck.js"
import { ResumeStore } from "./ResumeStore.js"
import { type FileStamp, plan, Storage } from "./Storage.js"

export interface Recovered {
  /** The pieces known good: trusted from the checkpoint, or verified now. */
  readonly have: Bitfield
  /** Pieces trusted from the checkpoint without hashing. */
  readonly trusted: number
  /** The hashing done, when some was needed. */
  readonly check: CheckResult | undefined
  /** Why the checkpoint was not enough, when it was not. */
  readonly why: string | undefined
  /** The checkpoint used, if any (its totals carry over). */
  readonly saved: ResumeData | undefined
  /** The files as found on disk at start, by file index (undefined: missing or not stored). */
  readonly stamps: ReadonlyArray<FileStamp | undefined>
  /** The checkpoint on disk says all of this already (same pieces, same files): none need be taken now.
   *  A daemon restarting 1,000 torrents would otherwise rewrite and flush 1,000 unchanged files. */
  readonly current: boolean
}

export interface RecoverOptions {
  readonly onProgress?: (progress: CheckProgress) => Effect.Effect<void>
  /** Hash everything there is, whatever the checkpoint says (`verify`). */
  readonly ignoreCheckpoint?: boolean
}

export const recover = Effect.fn("Resume.recover")(function*(metainfo: Metainfo, root: string, options: RecoverOptions = {}) {
  const storage = yield* Storage
  const store = yield* ResumeStore
  const layout = layoutOf(metainfo)
  const planned = yield* Either.match(plan(metainfo, root), { onLeft: Effect.fail, onRight: Effect.succeed })
  const saved = Option.getOrUndefined(
    Option.filter(yield* store.load(torrentHash(metainfo)), (data) =>
      data.root === path.resolve(root) &&
      (data.infoHashV2 === undefined || (metainfo.infoHashV2 !== undefined && InfoHash.equals(data.infoHashV2, metainfo.infoHashV2))))
  )
  const stamps = yield* storage.stamps(metainfo, root)
  const decision = decide(layout, options.ignoreCheckpoint === true ? undefined : saved, stamps, planned.files.map((f) => f.stored))
  const have = decision.trusted
  const trusted = have.count
  let check: CheckResult | undefined
  if (decision.toCheck.length > 0) {
    check = yield* Effect.scoped(
      Effect.gen(function*() {
        const files = yield* storage.open(metainfo, root, { readOnly: true })
        const result = yield* checkData(metainfo, files, options.onProgress, decision.toCheck)
        // What was found may still be only in the page cache (written just before a crash): flushed
        // before any checkpoint can name it.
        if (!result.have.isEmpty) yield* files.syncAll
        return result
      })
    )
    check.have.forEachSet((piece) => have.set(piece))
  }
  const current = saved !== undefined && check === undefined && describes(saved, have, stamps)
  const recovered: Recovered = { have, trusted, check, why: decision.why, saved, stamps, current }
  return recovered
})

const sameFile = (saved: FileStamp | null | undefined, now: FileStamp | undefined): boolean =>
  saved === null || saved === undefined ? now === undefined : now !== undefined && saved.size === now.size && saved.mtimeNs === now.mtimeNs

/** Whether a checkpoint holds exactly these pieces and these files. */
const describes = (saved: ResumeData, have: Bitfield, stamps: ReadonlyArray<FileStamp | undefined>): boolean => {
  if (saved.pieceCount !== have.pieceCount || saved.files.length !== stamps.length) return false
  if (!stamps.every((s, i) => sameFile(saved.files[i], s))) return false
  const bytes = have.toBytes()
  return bytes.length === saved.pieces.length && bytes.every((b, i) => b === saved.pieces[i])
}

/**
 * Records what `recover` found as the torrent's checkpoint, with the files' stamps as they are now (the
 * data found was flushed by `recover`), keeping the totals of the checkpoint it replaces.
 */
export const record = Effect.fn("Resume.record")(function*(metainfo: Metainfo, root: string, recovered: Recovered) {
  const stamps = yield* (yield* Storage).stamps(metainfo, root)
  yield* (yield* ResumeStore).save(
    new ResumeData({
      infoHash: torrentHash(metainfo),
      ...(metainfo.infoHashV2 !== undefined ? { infoHashV2: metainfo.infoHashV2 } : {}),
      root: path.resolve(root),
      pieceCount: metainfo.pieceCount,
      pieces: recovered.have.toBytes(),
      files: stamps.map((s) => s ?? null),
      downloaded: recovered.saved?.downloaded ?? 0,
      uploaded: recovered.saved?.uploaded ?? 0,
      savedAt: yield* Clock.currentTimeMillis
    })
  )
})
