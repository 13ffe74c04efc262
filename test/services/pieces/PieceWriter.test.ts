import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { StorageError } from "../../../src/domain/Errors.js"
import * as PieceWriter from "../../../src/services/pieces/PieceWriter.js"
import type { TorrentStorage } from "../../../src/services/storage/Storage.js"

/** A storage that records its writePieces calls (first piece, piece count) and fails when told to. */
const recording = (failing = false) => {
  const calls: Array<[number, number]> = []
  const notUsed = Effect.die("not used by the writer")
  const storage: TorrentStorage = {
    write: () => notUsed,
    writePieces: (first, pieces) =>
      Effect.suspend(() => {
        calls.push([first, pieces.length])
        return failing ? Effect.fail(new StorageError({ reason: "NoSpace", path: "/x", detail: "no space left on device" })) : Effect.void
      }),
    read: () => notUsed,
    readInto: () => notUsed,
    sync: Effect.void,
    syncAll: Effect.void,
    stamps: Effect.succeed([])
  }
  return { storage, calls }
}

const piece = (n: number) => new Uint8Array([n])

/** Lets the writer's fibers run to where they wait again. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("PieceWriter", () => {
  it.scoped("writes what waits in runs of consecutive pieces, lowest first, and reports each piece stored", () =>
    Effect.gen(function* () {
      const { storage, calls } = recording()
      const stored: Array<number> = []
      const writer = yield* PieceWriter.make(storage, (p) => Effect.sync(() => void stored.push(p)), () => Effect.void)
      for (const p of [9, 6, 5, 7]) writer.enqueue(p, piece(p))
      yield* settle
      expect(calls).toEqual([[5, 3], [9, 1]])
      expect(stored.sort((a, b) => a - b)).toEqual([5, 6, 7, 9])
      writer.enqueue(2, piece(2))
      yield* settle
      expect(calls.at(-1)).toEqual([2, 1])
    }))

  it.scoped("stops at the first storage error, reporting it once", () =>
    Effect.gen(function* () {
      const { storage, calls } = recording(true)
      const failures: Array<string> = []
      const writer = yield* PieceWriter.make(storage, () => Effect.void, (e) => Effect.sync(() => void failures.push(e.reason)))
      writer.enqueue(1, piece(1))
      yield* settle
      writer.enqueue(3, piece(3))
      yield* settle
      expect(failures).toEqual(["NoSpace"])
      expect(calls).toEqual([[1, 1]])
    }))

  it.scoped("flushes in the background after every so many bytes, one flush at a time, while it goes on writing", () =>
    Effect.gen(function* () {
      const { storage, calls } = recording()
      let syncs = 0
      const release = yield* Deferred.make<void>()
      const slowSync: TorrentStorage = { ...storage, sync: Effect.zipRight(Effect.sync(() => void syncs++), Deferred.await(release)) }
      const stored: Array<number> = []
      const writer = yield* PieceWriter.make(slowSync, (p) => Effect.sync(() => void stored.push(p)), () => Effect.void, 3)
      const write = (p: number) =>
        Effect.zipRight(Effect.sync(() => writer.enqueue(p, new Uint8Array(2))), settle)
      yield* write(0)
      expect(syncs).toBe(0) // 2 bytes: below the 3
      yield* write(1)
      expect(syncs).toBe(1)
      // The flush has not returned: writing goes on, and no second flush starts.
      yield* write(2)
      yield* write(3)
      expect(stored).toEqual([0, 1, 2, 3])
      expect(calls.length).toBe(4)
      expect(syncs).toBe(1)
      yield* Deferred.succeed(release, undefined)
      yield* settle
      yield* write(4)
      expect(syncs).toBe(2)
    }))
})
