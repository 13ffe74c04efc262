/**
 * Streaming in a whole in-memory swarm under TestClock: a reader's pieces get deadlines
 * (torrent/TorrentReader.ts, pieces/ReadWindows.ts), so a read far ahead of what has come is answered in
 * about the time its own pieces take from a slow seeder, not after the pieces before it; without a reader
 * the same leecher takes the whole download's time for the same bytes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import { Throttle, TokenBucket } from "../../src/domain/TokenBucket.js"
import type * as Torrent from "../../src/services/torrent/Torrent.js"
import * as TorrentReader from "../../src/services/torrent/TorrentReader.js"
import { withClock } from "../support/clock.js"
import { all, makeSwarm } from "../support/swarm.js"

const size = 4 * 1024 * 1024
const pieceLength = 32 * 1024
/** The seeder's upload: the whole file takes 32 s. */
const rate = 128 * 1024

const setUp = Effect.gen(function* () {
  const swarm = yield* makeSwarm({ size, pieceLength })
  yield* swarm.member("10.0.0.1", { pieces: all, throttle: new Throttle({ down: [], up: [new TokenBucket(rate, 0)] }) })
  const leecher = yield* swarm.member("10.0.0.2")
  const source = (handle: Torrent.TorrentHandle, withWindow: boolean): TorrentReader.ReadableTorrent => ({
    metainfo: swarm.torrent.metainfo,
    pieces: handle.pieces,
    events: handle.events,
    read: (piece, offset, length) =>
      Effect.sync(() => swarm.contents("10.0.0.2")!.slice(piece * pieceLength + offset, piece * pieceLength + offset + length)),
    ...(withWindow ? { window: handle.window } : {})
  })
  return { swarm, leecher, source }
})

/** Reads `[start, end]` through the reader; the virtual seconds it took and the bytes. */
const timedRead = (source: TorrentReader.ReadableTorrent, start: number, end: number) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const chunks = yield* withClock(Stream.runCollect(TorrentReader.bytes(source, start, end)), { step: "50 millis", maxVirtual: "60 seconds" })
    const bytes = Buffer.concat(Chunk.toReadonlyArray(chunks))
    return { seconds: ((yield* Clock.currentTimeMillis) - started) / 1000, bytes }
  })

describe("streaming: deadlines for the pieces under a read", () => {
  it.scoped("a read near the end comes in seconds from a seeder that needs 32 s for the whole", () =>
    Effect.withRandom(Random.make(4))(Effect.gen(function* () {
      const { leecher, source, swarm } = yield* setUp
      yield* withClock(Effect.sleep("2 seconds"), { step: "50 millis", maxVirtual: "3 seconds" })
      const start = size - 3 * pieceLength + 100
      // (The seed is one where rarest first has not come near either place yet.)
      const had = yield* leecher.pieces
      expect([125, 126, 64].map((piece) => had.has(piece))).toEqual([false, false, false])
      const read = yield* timedRead(source(leecher, true), start, start + 40_000)
      expect(read.bytes.equals(swarm.torrent.payload.subarray(start, start + 40_001))).toBe(true)
      // Two pieces at 128 KiB/s behind half a second of requests at most; the seeder's limit pays out once a
      // second, so answers come on whole seconds.
      expect(read.seconds).toBeLessThanOrEqual(2)
      expect((yield* leecher.stats).complete).toBe(false)
      // A second seek, back to the middle, the first reader gone.
      const middle = size / 2
      const again = yield* timedRead(source(leecher, true), middle, middle + pieceLength - 1)
      expect(again.seconds).toBeLessThanOrEqual(2)
      expect(again.bytes.equals(swarm.torrent.payload.subarray(middle, middle + pieceLength))).toBe(true)
    })), 60_000)

  it.scoped("without deadlines the same read waits for rarest first to get there", () =>
    Effect.withRandom(Random.make(7))(Effect.gen(function* () {
      const { leecher, source } = yield* setUp
      yield* withClock(Effect.sleep("2 seconds"), { step: "50 millis", maxVirtual: "3 seconds" })
      const start = size - 3 * pieceLength + 100
      const read = yield* timedRead(source(leecher, false), start, start + 40_000)
      // Pieces in random order (a seeded one, where the end comes late): long past the read above.
      expect(read.seconds).toBeGreaterThan(4)
    })), 60_000)
})
