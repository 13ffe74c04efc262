/**
 * Checking the data a torrent's files already hold: every piece read and hashed, in a stream (a few reads
 * ahead of the hashing, so that the disk and the CPU work at once), with progress. What verifies can be
 * trusted and offered to peers; what does not is fetched again.
 */
import { createHash } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Bitfield } from "../domain/Bitfield.js"
import type { StorageError } from "../domain/Errors.js"
import * as Layout from "../domain/Layout.js"
import { layoutOf, type Metainfo, pieceHash } from "../domain/Metainfo.js"
import type { TorrentStorage } from "./Storage.js"

export interface CheckProgress {
  readonly checkedBytes: number
  readonly totalBytes: number
  readonly verifiedPieces: number
  /** Bytes checked per second so far. */
  readonly rate: number
}

export interface CheckResult {
  readonly have: Bitfield
  /** Bytes hashed. */
  readonly checkedBytes: number
  readonly seconds: number
  /** Bytes per second over the whole check. */
  readonly rate: number
}

/** Reads in flight ahead of the hashing. */
const readAhead = 4

/** Hashes `pieces` (default: all) and says which verify. */
export const checkData = (
  metainfo: Metainfo,
  storage: TorrentStorage,
  onProgress: (progress: CheckProgress) => Effect.Effect<void> = () => Effect.void,
  pieces: ReadonlyArray<number> = Array.from({ length: metainfo.pieceCount }, (_, i) => i)
): Effect.Effect<CheckResult, StorageError> =>
  Effect.gen(function* () {
    const layout = layoutOf(metainfo)
    const have = Bitfield.empty(metainfo.pieceCount)
    const started = yield* Clock.currentTimeMillis
    const totalBytes = pieces.reduce((sum, piece) => sum + Layout.pieceSize(layout, piece), 0)
    let checked = 0
    let lastReport = Number.NEGATIVE_INFINITY
    const report = (now: number) =>
      onProgress({
        checkedBytes: checked,
        totalBytes,
        verifiedPieces: have.count,
        rate: now > started ? (checked * 1000) / (now - started) : 0
      })
    yield* Effect.forEach(
      pieces,
      (piece) =>
        Effect.gen(function* () {
          const data = yield* storage.read(piece, 0, Layout.pieceSize(layout, piece))
          if (createHash("sha1").update(data).digest().equals(pieceHash(metainfo, piece))) have.set(piece)
          checked += data.length
          const now = yield* Clock.currentTimeMillis
          if (now - lastReport >= 250) {
            lastReport = now
            yield* report(now)
          }
        }),
      { concurrency: readAhead, discard: true }
    )
    const now = yield* Clock.currentTimeMillis
    yield* report(now)
    const seconds = (now - started) / 1000
    return { have, seconds, checkedBytes: totalBytes, rate: seconds > 0 ? totalBytes / seconds : 0 }
  })
