/**
 * Reading pieces for peers: each piece is read from storage once, whole, and many blocks are served from
 * it. Recently read pieces are kept in a ReadCache (a byte budget, least recently used goes first, shared
 * by a daemon's torrents); two peers asking for the same piece at once share one read.
 *
 * The buffers of pieces that leave are reused for the next reads (ReadCache's spares). That is safe
 * because nothing keeps a piece's bytes beyond `withPieces`: it pins the pieces until the effect its
 * callback makes has run (a pinned piece is never recycled), typically the socket write of views into them.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import type { TorrentStorage } from "../storage/Storage.js"
import type { CachedPiece, ReadCache } from "./ReadCache.js"

export interface PieceReader {
  /** Runs the effect `use` makes with the bytes of every piece in `pieces` (read when not kept), pinned
   *  until it ends. */
  readonly withPieces: <A, E>(
    pieces: ReadonlyArray<number>,
    use: (piece: (index: number) => Uint8Array) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | StorageError>
  /** Lets this torrent's unpinned pieces leave the cache (it stops). */
  readonly close: () => void
}

type Entry = CachedPiece

interface Reading {
  readonly done: Deferred.Deferred<Entry, StorageError>
  /** Callers waiting for this read; each gets a pin when it lands. */
  waiters: number
}

export const make = (layout: Layout.Layout, storage: TorrentStorage, cache: ReadCache): PieceReader => {
  const entries = new Map<number, Entry>()
  const reading = new Map<number, Reading>()

  /** The piece's entry, pinned once for the caller. */
  const load = (index: number): Effect.Effect<Entry, StorageError> =>
    Effect.suspend(() => {
      const kept = entries.get(index)
      if (kept !== undefined) {
        cache.touch(kept)
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
        const data = cache.buffer(Layout.pieceSize(layout, index))
        const read: Reading = { done: yield* Deferred.make<Entry, StorageError>(), waiters: 0 }
        reading.set(index, read)
        const exit = yield* Effect.exit(storage.readInto(index, 0, data))
        reading.delete(index)
        if (exit._tag === "Failure") {
          yield* Deferred.failCause(read.done, exit.cause)
          return yield* Effect.failCause(exit.cause)
        }
        const entry: Entry = {
          data,
          pins: 1 + read.waiters,
          forget: () => void entries.delete(index)
        }
        entries.set(index, entry)
        cache.add(entry)
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
          cache.trim()
        })
        return Effect.forEach(new Set(pieces), (index) => Effect.map(load(index), (entry) => void pinned.set(index, entry)), {
          discard: true
        }).pipe(
          Effect.flatMap(() => use((index) => pinned.get(index)!.data)),
          Effect.ensuring(unpin)
        )
      }),
    close: () => {
      const mine = new Set(entries.values())
      cache.release((entry) => mine.has(entry))
    }
  }
}
