/**
 * Reading pieces for peers: each piece is read from storage once, whole, and many blocks are served from
 * it. Recently read pieces are kept (least recently used goes first) within a byte budget; two peers asking
 * for the same piece at once share one read.
 *
 * The buffers of pieces that leave are reused for the next reads: fresh memory costs page faults, which
 * on a seeder reading every piece were a large part of its work. That is safe because nothing keeps a
 * piece's bytes beyond `withPieces`: it pins the pieces until the effect its callback makes has run (a
 * pinned piece is never recycled), typically the socket write of views into them.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import type { TorrentStorage } from "../storage/Storage.js"

export interface PieceReader {
  /** Runs the effect `use` makes with the bytes of every piece in `pieces` (read when not kept), pinned
   *  until it ends. */
  readonly withPieces: <A, E>(
    pieces: ReadonlyArray<number>,
    use: (piece: (index: number) => Uint8Array) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | StorageError>
}

interface Entry {
  readonly data: Uint8Array
  pins: number
}

interface Reading {
  readonly done: Deferred.Deferred<Entry, StorageError>
  /** Callers waiting for this read; each gets a pin when it lands. */
  waiters: number
}

/** Buffers of evicted pieces kept for reuse. */
const maxFree = 4

export const make = (layout: Layout.Layout, storage: TorrentStorage, budgetBytes: number): PieceReader => {
  const capacity = Math.max(2, Math.floor(budgetBytes / layout.pieceLength))
  const entries = new Map<number, Entry>()
  const reading = new Map<number, Reading>()
  const free: Array<Uint8Array> = []

  const evict = () => {
    for (const [index, entry] of entries) {
      if (entries.size <= capacity) return
      if (entry.pins > 0) continue
      entries.delete(index)
      if (entry.data.length === layout.pieceLength && free.length < maxFree) free.push(entry.data)
    }
  }

  /** The piece's entry, pinned once for the caller. */
  const load = (index: number): Effect.Effect<Entry, StorageError> =>
    Effect.suspend(() => {
      const kept = entries.get(index)
      if (kept !== undefined) {
        // Most recently used goes last.
        entries.delete(index)
        entries.set(index, kept)
        kept.pins++
        return Effect.succeed(kept)
      }
      const pending = reading.get(index)
      if (pending !== undefined) {
        pending.waiters++
        return Deferred.await(pending.done)
      }
      // Uninterruptible: a read abandoned between `reading.set` and its end would leave later callers
      // waiting on it for ever.
      return Effect.uninterruptible(Effect.gen(function* () {
        const size = Layout.pieceSize(layout, index)
        const data = (size === layout.pieceLength ? free.pop() : undefined) ?? new Uint8Array(size)
        const read: Reading = { done: yield* Deferred.make<Entry, StorageError>(), waiters: 0 }
        reading.set(index, read)
        const exit = yield* Effect.exit(storage.readInto(index, 0, data))
        reading.delete(index)
        if (exit._tag === "Failure") {
          yield* Deferred.failCause(read.done, exit.cause)
          return yield* Effect.failCause(exit.cause)
        }
        const entry: Entry = { data, pins: 1 + read.waiters }
        entries.set(index, entry)
        evict()
        yield* Deferred.succeed(read.done, entry)
        return entry
      }))
    })

  return {
    withPieces: (pieces, use) =>
      Effect.suspend(() => {
        const pinned = new Map<number, Entry>()
        const unpin = Effect.sync(() => {
          for (const entry of pinned.values()) entry.pins--
          evict()
        })
        return Effect.forEach(new Set(pieces), (index) => Effect.map(load(index), (entry) => void pinned.set(index, entry)), {
          discard: true
        }).pipe(
          Effect.flatMap(() => use((index) => pinned.get(index)!.data)),
          Effect.ensuring(unpin)
        )
      })
  }
}
