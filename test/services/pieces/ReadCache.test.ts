import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layout from "../../../src/domain/Layout.js"
import * as PieceReader from "../../../src/services/pieces/PieceReader.js"
import { ReadCache } from "../../../src/services/pieces/ReadCache.js"
import type { TorrentStorage } from "../../../src/services/storage/Storage.js"

const KiB = 1024

/** A torrent of `pieces` pieces of `pieceLength` whose storage counts its reads (piece i is filled with
 *  i), and its reader on `cache`. */
const torrent = (pieces: number, pieceLength: number, cache: ReadCache) => {
  const reads: Array<number> = []
  const storage = {
    readInto: (piece: number, _offset: number, into: Uint8Array) =>
      Effect.sync(() => {
        reads.push(piece)
        into.fill(piece)
      })
  } as unknown as TorrentStorage
  return { reader: PieceReader.make(Layout.make(pieceLength, [{ length: pieces * pieceLength }]), storage, cache), reads }
}

/** Serves piece `index` once (reads it unless kept), returning its first byte. */
const serve = (reader: PieceReader.PieceReader, index: number) =>
  reader.withPieces([index], (piece) => Effect.succeed(piece(index)[0]))

describe("ReadCache", () => {
  it.effect("holds the pieces of every torrent sharing it within one budget, least recently used leaving first", () =>
    Effect.gen(function* () {
      const cache = new ReadCache(4 * 64 * KiB)
      const [a, b] = [torrent(10, 64 * KiB, cache), torrent(10, 64 * KiB, cache)]
      const [readerA, readerB] = [a.reader, b.reader]
      for (const i of [0, 1, 2]) yield* serve(readerA, i)
      for (const i of [0, 1, 2]) yield* serve(readerB, i)
      // Six pieces read, four kept: A's 0 and 1 left.
      expect(cache.bytes).toBe(4 * 64 * KiB)
      expect([yield* serve(readerA, 2), yield* serve(readerB, 0)]).toEqual([2, 0])
      expect([a.reads, b.reads]).toEqual([[0, 1, 2], [0, 1, 2]])
      yield* serve(readerA, 0)
      expect(a.reads).toEqual([0, 1, 2, 0])
      expect(cache.bytes).toBe(4 * 64 * KiB)
    }))

  it.effect("keeps a piece pinned while it is being served, however full the cache", () =>
    Effect.gen(function* () {
      const cache = new ReadCache(64 * KiB)
      const { reader } = torrent(10, 64 * KiB, cache)
      const inner = yield* reader.withPieces([0], (piece) =>
        Effect.gen(function* () {
          // Three more pieces go through while piece 0 is pinned: it stays, and its bytes are its own.
          for (const i of [1, 2, 3]) yield* serve(reader, i)
          return piece(0)[0]
        }))
      expect(inner).toBe(0)
      expect(cache.bytes).toBeLessThanOrEqual(2 * 64 * KiB)
    }))

  it.effect("keeps the two most recent pieces even when they are larger than the budget", () =>
    Effect.gen(function* () {
      const cache = new ReadCache(16 * KiB)
      const t = torrent(4, 64 * KiB, cache)
      const reader = t.reader
      for (const i of [0, 1, 0, 1, 0, 1]) yield* serve(reader, i)
      expect(t.reads).toEqual([0, 1])
    }))

  it.effect("lets a stopped torrent's pieces go, and reuses their buffers", () =>
    Effect.gen(function* () {
      const cache = new ReadCache(8 * 64 * KiB)
      const [readerA, readerB] = [torrent(4, 64 * KiB, cache).reader, torrent(4, 64 * KiB, cache).reader]
      yield* serve(readerA, 0)
      yield* serve(readerA, 1)
      yield* serve(readerB, 0)
      readerA.close()
      expect(cache.bytes).toBe(64 * KiB)
      // Past the budget, a piece that leaves gives its buffer to the next read.
      const small = new ReadCache(64 * KiB)
      const readerC = torrent(4, 64 * KiB, small).reader
      const buffers = []
      for (const i of [0, 1, 2, 3]) buffers.push(yield* readerC.withPieces([i], (piece) => Effect.succeed(piece(i))))
      expect(buffers[3]!.buffer).toBe(buffers[0]!.buffer)
    }))
})
