/**
 * Checking the data a torrent's files already hold: every piece read and hashed, in a stream (a few reads
 * ahead of the hashing, so that the disk and the CPU work at once), with progress. What verifies can be
 * trusted and offered to peers; what does not is fetched again.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import { pieceChecker } from "../../domain/V2Pieces.js"
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

/** Pieces read or hashed at once: reads ahead of the hashing, so that the disk and the CPU work at once;
 *  fewer for big pieces, to bound memory (one buffer each). */
const inFlight = (pieceLength: number) => Math.max(2, Math.min(8, Math.floor((64 * 1024 * 1024) / pieceLength)))

/** Hashes `pieces` (default: all) and says which verify. */
export const checkData = (
  metainfo: Metainfo,
  storage: TorrentStorage,
  onProgress: (progress: CheckProgress) => Effect.Effect<void> = () => Effect.void,
  pieces: ReadonlyArray<number> = Array.from({ length: metainfo.pieceCount }, (_, i) => i)
): Effect.Effect<CheckResult, StorageError> =>
  Effect.gen(function* () {
    const layout = layoutOf(metainfo)
    const holds = pieceChecker(metainfo)
    const have = Bitfield.empty(metainfo.pieceCount)
    const started = yield* Clock.currentTimeMillis
    const totalBytes = pieces.reduce((sum, piece) => sum + Layout.dataBytes(layout, piece), 0)
    let checked = 0
    let lastReport = Number.NEGATIVE_INFINITY
    const report = (now: number) =>
      onProgress({
        checkedBytes: checked,
        totalBytes,
        verifiedPieces: have.count,
        rate: now > started ? (checked * 1000) / (now - started) : 0
      })
    // One buffer per read in flight, reused: a fresh piece-sized buffer per piece cost more (zeroing and
    // garbage collection) than the hashing itself.
    const concurrency = Math.min(inFlight(layout.pieceLength), Math.max(1, pieces.length))
    const free = Array.from({ length: concurrency }, () => new Uint8Array(layout.pieceLength))
    yield* Effect.forEach(
      pieces,
      (piece) =>
        Effect.gen(function* () {
          const size = Layout.pieceSize(layout, piece)
          yield* Effect.acquireUseRelease(
            Effect.sync(() => free.pop()!.subarray(0, size)),
            (data) =>
              Effect.map(storage.readInto(piece, 0, data), () => {
                if (holds(piece, data)) have.set(piece)
              }),
            (data) => Effect.sync(() => free.push(new Uint8Array(data.buffer, data.byteOffset, layout.pieceLength)))
          )
          checked += Layout.dataBytes(layout, piece)
          const now = yield* Clock.currentTimeMillis
          if (now - lastReport >= 250) {
            lastReport = now
            yield* report(now)
          }
        }),
      { concurrency, discard: true }
    )
    const now = yield* Clock.currentTimeMillis
    yield* report(now)
    const seconds = (now - started) / 1000
    return { have, seconds, checkedBytes: totalBytes, rate: seconds > 0 ? totalBytes / seconds : 0 }
  })
