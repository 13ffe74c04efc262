/**
 * The Effect face's files: `add`'s `files` option (only the files chosen downloaded) and a file's bytes as
 * a `Stream` read while the torrent downloads from a slow seeder, in an in-memory swarm under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { StorageError, UsageError } from "../../src/library/index.js"
import { randomBytes, Swarm, withTestClock } from "../../src/library/testing.js"

const files = [
  { path: ["a.bin"], data: randomBytes(100_000, 11) },
  { path: ["b.bin"], data: randomBytes(300_000, 12) },
  { path: ["c.bin"], data: randomBytes(200_000, 13) },
  { path: ["d.bin"], data: randomBytes(50_000, 14) }
]
const collect = (stream: Stream.Stream<Uint8Array, StorageError>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** The swarm, its seeder sending 128 KiB/s (virtual), and a client on 10.0.0.2. */
const slowSwarm = Effect.gen(function* () {
  const swarm = yield* Swarm.make({ files, pieceLength: 32768 })
  yield* swarm.seeder("10.0.0.1", { link: { bandwidth: 128 * 1024 } })
  return { swarm, client: yield* swarm.client("10.0.0.2") }
})

describe("library: the Effect face's files", () => {
  it.scoped("reads a file and a range of it as Streams while the torrent downloads", () =>
    Effect.gen(function* () {
      const { swarm, client } = yield* slowSwarm
      const torrent = yield* client.add(swarm.torrent.bytes)
      expect(torrent.files.map((f) => [f.number, f.path, f.length, f.selected])).toEqual([
        [1, "swarm/a.bin", 100_000, true],
        [2, "swarm/b.bin", 300_000, true],
        [3, "swarm/c.bin", 200_000, true],
        [4, "swarm/d.bin", 50_000, true]
      ])
      const c = torrent.files[2]!
      const read = yield* withTestClock(
        Effect.gen(function* () {
          const whole = yield* Effect.fork(collect(c.stream()))
          const part = yield* Effect.fork(collect(c.stream({ start: 70_000, end: 140_000 })))
          const past = yield* Effect.fork(collect(c.stream({ start: 199_990, end: 1_000_000 })))
          const early = yield* torrent.stats
          return { early, whole: yield* Fiber.join(whole), part: yield* Fiber.join(part), past: yield* Fiber.join(past) }
        }),
        { maxVirtual: "60 seconds" }
      )
      // The reads began before the data was there.
      expect(read.early.verifiedBytes).toBeLessThan(200_000)
      expect(read.whole.equals(files[2]!.data)).toBe(true)
      expect(read.part.equals(files[2]!.data.subarray(70_000, 140_001))).toBe(true)
      expect(read.past.equals(files[2]!.data.subarray(199_990))).toBe(true)
      expect((yield* collect(c.stream({ start: 200_000 }))).length).toBe(0)
      const bad = yield* Effect.exit(collect(c.stream({ start: 5, end: 4 })))
      expect(Exit.isFailure(bad) && String(bad.cause)).toMatch(/RangeError: swarm\/c.bin: start \(5\) is after end \(4\)/)
    }), 60_000)

  it.scoped("downloads only the files chosen, by the numbers info shows", () =>
    Effect.gen(function* () {
      const { swarm, client } = yield* slowSwarm
      const torrent = yield* client.add(swarm.torrent.bytes, { files: [4, 2] })
      expect(torrent.files.map((f) => f.selected)).toEqual([false, true, false, true])
      const d = yield* withTestClock(
        Effect.zipLeft(collect(torrent.files[3]!.stream()), torrent.done),
        { maxVirtual: "60 seconds" }
      )
      expect(d.equals(files[3]!.data)).toBe(true)
      const stats = yield* torrent.stats
      expect(stats.selectedLength).toBe(350_000)
      expect(stats.selectedVerifiedBytes).toBe(350_000)
      expect(stats.verifiedBytes).toBeLessThan(600_000)
      const held = Buffer.from(swarm.contents("10.0.0.2")!)
      expect(held.subarray(100_000, 400_000).equals(files[1]!.data)).toBe(true)
      expect(held.subarray(600_000).equals(files[3]!.data)).toBe(true)
      // The others' bytes were never stored in their files (those of shared pieces are parked).
      expect(held.subarray(0, 100_000).every((b) => b === 0)).toBe(true)
      expect(held.subarray(400_000, 600_000).every((b) => b === 0)).toBe(true)
      const unselected = yield* Effect.flip(collect(torrent.files[0]!.stream()))
      expect(unselected).toBeInstanceOf(StorageError)
      expect(unselected.message).toBe("swarm/a.bin: not among the files chosen to download")
    }), 60_000)

  it.scoped("refuses a number that is no file of the torrent with a one-line UsageError", () =>
    Effect.gen(function* () {
      const { swarm, client } = yield* slowSwarm
      for (const [asked, said] of [
        [[5], "files: 5 is not a file number of the torrent (1 to 4, as bt-effect info shows them)"],
        [[0], "files: 0 is not a file number of the torrent (1 to 4, as bt-effect info shows them)"],
        [[1.5], "files: 1.5 is not a file number of the torrent (1 to 4, as bt-effect info shows them)"],
        [[], "files: the list is empty (leave it out to download every file)"]
      ] as const) {
        const error = yield* Effect.flip(client.add(swarm.torrent.bytes, { files: asked }))
        expect(error).toBeInstanceOf(UsageError)
        expect(error.message).toBe(said)
      }
      expect(yield* client.torrents).toEqual([])
    }))

  it.scoped("ends a read early without error, and fails one still waiting when the torrent is removed", () =>
    Effect.gen(function* () {
      const swarm = yield* Swarm.make({ files, pieceLength: 32768 })
      const seeder = yield* swarm.seeder("10.0.0.1", { link: { bandwidth: 64 * 1024 } })
      const client = yield* swarm.client("10.0.0.2")
      const torrent = yield* client.add(swarm.torrent.bytes)
      const first = yield* withTestClock(collect(torrent.files[0]!.stream().pipe(Stream.take(1))), { maxVirtual: "30 seconds" })
      expect(first.equals(files[0]!.data.subarray(0, first.length))).toBe(true)
      // The seeder gone (after some 64 KiB), the 300 KB of b.bin never all come: the read waits until the
      // torrent is removed.
      yield* (yield* seeder.torrents)[0]!.remove
      expect((yield* torrent.stats).verifiedBytes).toBeLessThan(200_000)
      const waiting = yield* Effect.fork(collect(torrent.files[1]!.stream()))
      yield* withTestClock(Effect.sleep("2 seconds"))
      expect(waiting.unsafePoll()).toBe(null)
      yield* torrent.remove
      const ended = yield* Fiber.await(waiting)
      expect(Exit.isFailure(ended) && String(ended.cause)).toMatch(/the torrent was removed or its client closed/)
    }), 60_000)

  it.scoped("keeps to a magnet's so= when files is absent", () =>
    Effect.gen(function* () {
      const { swarm, client } = yield* slowSwarm
      const hash = Buffer.from(swarm.torrent.metainfo.infoHash!).toString("hex")
      const torrent = yield* withTestClock(client.add(`magnet:?xt=urn:btih:${hash}&x.pe=10.0.0.1:6881&so=0,2`), { maxVirtual: "30 seconds" })
      expect(torrent.files.map((f) => f.selected)).toEqual([true, false, true, false])
      yield* withTestClock(torrent.done, { maxVirtual: "60 seconds" })
      expect((yield* torrent.stats).selectedVerifiedBytes).toBe(300_000)
      const past = yield* Effect.flip(client.add(`magnet:?xt=urn:btih:${hash}&x.pe=10.0.0.1:6881&so=7`))
      expect(past.message).toBe("the magnet's so= names file 7 (0-based); the torrent has 4 files")
    }), 60_000)
})
