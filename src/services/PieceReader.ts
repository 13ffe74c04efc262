/**
 * Reading blocks for peers: each piece is read from storage once, whole, and its blocks are served from
 * it as views, so that a piece of 64 blocks costs one read instead of 64. Recently read pieces are kept
 * (least recently used goes first) within a byte budget; two peers asking for the same piece at once
 * share one read.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { StorageError } from "../domain/Errors.js"
import * as Layout from "../domain/Layout.js"
import type { TorrentStorage } from "./Storage.js"

export interface PieceReader {
  /** The bytes of a block (a view into its piece; valid as long as the caller holds it). */
  readonly readBlock: (piece: number, offset: number, length: number) => Effect.Effect<Uint8Array, StorageError>
}

export const make = (layout: Layout.Layout, storage: TorrentStorage, budgetBytes: number): PieceReader => {
  const capacity = Math.max(2, Math.floor(budgetBytes / layout.pieceLength))
  const cached = new Map<number, Uint8Array>()
  const reading = new Map<number, Deferred.Deferred<Uint8Array, StorageError>>()

  const keep = (piece: number, data: Uint8Array) => {
    cached.set(piece, data)
    if (cached.size > capacity) cached.delete(cached.keys().next().value!)
  }

  const piece = (index: number): Effect.Effect<Uint8Array, StorageError> =>
    Effect.suspend(() => {
      const hit = cached.get(index)
      if (hit !== undefined) {
        // Most recently used goes last.
        cached.delete(index)
        cached.set(index, hit)
        return Effect.succeed(hit)
      }
      const pending = reading.get(index)
      if (pending !== undefined) return Deferred.await(pending)
      return Effect.gen(function* () {
        const deferred = yield* Deferred.make<Uint8Array, StorageError>()
        reading.set(index, deferred)
        const exit = yield* Effect.exit(storage.read(index, 0, Layout.pieceSize(layout, index)))
        reading.delete(index)
        if (exit._tag === "Success") keep(index, exit.value)
        yield* Deferred.done(deferred, exit)
        return yield* exit
      })
    })

  return {
    readBlock: (index, offset, length) => Effect.map(piece(index), (data) => data.subarray(offset, offset + length))
  }
}
