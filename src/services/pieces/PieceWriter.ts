/**
 * Verified pieces on their way to storage. Whenever one of its two write slots is free, the writer takes
 * what waits, lowest piece first, and writes the run of consecutive pieces from there in one call (a
 * writev per file): the slower the disk, the larger the writes, so per-call costs never hold it back.
 *
 * Why so few writes at once: writes to one file serialise on its inode lock (where more writers only
 * spin, measured), and two keep the disk busy while the main thread gets round to the completion of one.
 * Checking and requesting go on meanwhile; the torrent's memory budget, which counts the pieces waiting
 * here, is what stops requests when the disk cannot keep up.
 *
 * Flushing as it goes: after every `flushEvery` bytes written, the files are flushed in the background
 * (one flush at a time; writing goes on). The flush at completion, which makes "complete" true on disk,
 * then has only the last stretch left: on the machine measured, flushing a whole GiB of direct writes at
 * the end took 0.36-0.8 s, a tenth or more of a loopback download, with the disk idle before it; now it
 * takes about 50 ms.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { StorageError } from "../../domain/Errors.js"
import type { TorrentStorage } from "../storage/Storage.js"

export interface PieceWriter {
  /** Queues a verified piece; `stored` runs once it is written. */
  readonly enqueue: (piece: number, data: Uint8Array) => void
}

/** Bytes written between background flushes. */
export const flushEveryBytes = 64 * 1024 * 1024
/** Bytes written by one call at most. */
const maxRunBytes = 16 * 1024 * 1024
/** Writes under way at once: the next is already with the kernel when one completes, so the disk never
 *  waits for the main thread to notice. */
const writesInFlight = 2

interface Run {
  readonly first: number
  readonly pieces: ReadonlyArray<Uint8Array>
}

/**
 * Starts the writer in the scope. `stored` runs for each piece written (in piece order within a run);
 * the first storage error (of a write, or of `stored`) goes to `failed` and stops the writer.
 */
export const make = (
  storage: TorrentStorage,
  stored: (piece: number, data: Uint8Array) => Effect.Effect<void, StorageError>,
  failed: (error: StorageError) => Effect.Effect<void>,
  flushEvery: number = flushEveryBytes
): Effect.Effect<PieceWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const waiting = new Map<number, Uint8Array>()
    const wake = yield* Queue.sliding<void>(1)

    /** The lowest waiting piece and those right after it, taken out of `waiting`. */
    const takeRun = (): Run => {
      let first = Infinity
      for (const piece of waiting.keys()) first = Math.min(first, piece)
      const pieces: Array<Uint8Array> = []
      let bytes = 0
      for (let piece = first; waiting.has(piece) && (pieces.length === 0 || bytes < maxRunBytes); piece++) {
        const data = waiting.get(piece)!
        waiting.delete(piece)
        pieces.push(data)
        bytes += data.length
      }
      return { first, pieces }
    }

    // A failed background flush leaves its files dirty: the next flush, at the latest the checkpoint's,
    // tries them again and reports the error.
    let unflushed = 0
    let flushing = false
    const flushInBackground = Effect.suspend(() => {
      if (unflushed < flushEvery || flushing) return Effect.void
      unflushed = 0
      flushing = true
      return Effect.forkScoped(storage.sync.pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => (flushing = false)))))
    })

    const write = (run: Run) =>
      Effect.gen(function* () {
        yield* storage.writePieces(run.first, run.pieces)
        for (const piece of run.pieces) unflushed += piece.length
        yield* flushInBackground
        for (let i = 0; i < run.pieces.length; i++) yield* stored(run.first + i, run.pieces[i]!)
      })

    // A run is taken when a write slot is free, so what arrived meanwhile joins it.
    const slots = yield* Effect.makeSemaphore(writesInFlight)
    const writing = yield* FiberSet.make()
    let broken = false
    const stop = (error: StorageError) => Effect.suspend(() => {
      broken = true
      return failed(error)
    })
    const loop = Effect.gen(function* () {
      while (!broken) {
        if (waiting.size === 0) yield* Queue.take(wake)
        if (waiting.size === 0) continue
        yield* slots.take(1)
        if (broken) return
        yield* FiberSet.run(writing, write(takeRun()).pipe(Effect.catchAll(stop), Effect.ensuring(slots.release(1))))
      }
    })
    yield* Effect.forkScoped(loop)

    return {
      enqueue: (piece, data) => {
        waiting.set(piece, data)
        void wake.unsafeOffer(undefined)
      }
    }
  })
