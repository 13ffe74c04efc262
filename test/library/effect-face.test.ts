/**
 * The library's Effect face as a program uses it, with the test kit a program gets ("bt-effect/testing"):
 * a seeder and a downloader, each a Client on its own host of an in-memory swarm, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Client, layerMemory, MetainfoError } from "../../src/library/index.js"
import { MemoryResume, Swarm, withTestClock } from "../../src/library/testing.js"

describe("library: the Effect face on the test kit", () => {
  it.scoped("downloads from a seeder in an in-memory swarm, with events and figures as streams", () =>
    Effect.gen(function* () {
      const swarm = yield* Swarm.make({ size: 3 * 1024 * 1024 + 1000, pieceLength: 65536 })
      const seeder = yield* swarm.seeder("10.0.0.1")
      expect((yield* seeder.torrents).map((t) => t.name)).toEqual(["swarm"])
      const program = Effect.gen(function* () {
        const client = yield* Client
        const torrent = yield* client.add(swarm.torrent.bytes)
        const verified = yield* Effect.fork(Stream.runCollect(torrent.events.pipe(
          Stream.filter((e) => e._tag === "PieceVerified"),
          Stream.take(swarm.torrent.metainfo.pieceCount)
        )))
        yield* torrent.done
        return { torrent, pieces: Chunk.size(yield* verified.await.pipe(Effect.flatten)) }
      }).pipe(Effect.provide(swarm.layer("10.0.0.2")))
      const { torrent, pieces } = yield* withTestClock(program, { maxVirtual: "60 seconds" })
      expect(pieces).toBe(swarm.torrent.metainfo.pieceCount)
      expect(torrent.files).toEqual([{ number: 1, path: "swarm", length: 3 * 1024 * 1024 + 1000, selected: true }])
      expect(Buffer.from(swarm.contents("10.0.0.2")!).equals(Buffer.from(swarm.torrent.payload))).toBe(true)
    }), 60_000)

  it.scoped("gives the figures as a Stream and stops a torrent on remove", () =>
    Effect.gen(function* () {
      const swarm = yield* Swarm.make({ size: 512 * 1024 })
      yield* swarm.seeder("10.0.0.1")
      const client = yield* swarm.client("10.0.0.3")
      const torrent = yield* client.add(swarm.torrent.bytes)
      const last = yield* withTestClock(
        Stream.runLast(torrent.statsEvery(500).pipe(Stream.takeUntil((s) => s.complete))),
        { maxVirtual: "30 seconds" }
      )
      expect(last._tag === "Some" && last.value.verifiedBytes).toBe(512 * 1024)
      expect(last._tag === "Some" && last.value.complete).toBe(true)
      yield* torrent.remove
      expect(yield* client.torrents).toEqual([])
    }), 60_000)

  it.scoped("fails with a typed error for bytes that are no torrent", () =>
    Effect.gen(function* () {
      const swarm = yield* Swarm.make({ size: 64 * 1024 })
      const error = yield* Effect.flip(Effect.flatMap(Client, (c) => c.add(new Uint8Array([1, 2, 3]))).pipe(
        Effect.provide(layerMemory({
          downloadDir: "/x",
          network: swarm.network,
          host: "10.0.0.4",
          store: swarm.store,
          tracker: swarm.tracker,
          resume: new MemoryResume()
        }))
      ))
      expect(error).toBeInstanceOf(MetainfoError)
    }))
})
