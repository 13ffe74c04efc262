/**
 * Rate limits in a whole in-memory swarm under TestClock: a download limit holds a leecher to its rate,
 * an upload limit holds a seeder to its, and without limits the same swarm is done at once.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Throttle, TokenBucket } from "../../src/domain/TokenBucket.js"
import { withClock } from "../support/clock.js"
import { all, makeSwarm } from "../support/swarm.js"

const size = 1024 * 1024
const limit = 128 * 1024

/** Virtual seconds for a leecher to complete, with these throttles on the leecher and on the seeder. */
const completion = (throttles: { readonly leecher?: "down"; readonly seeder?: "up" }) =>
  Effect.gen(function* () {
    const swarm = yield* makeSwarm({ size, pieceLength: 65536 })
    const bucket = () => new TokenBucket(limit, 0)
    yield* swarm.member("10.0.0.1", {
      pieces: all,
      ...(throttles.seeder !== undefined ? { throttle: new Throttle({ down: [], up: [bucket()] }) } : {})
    })
    const started = yield* Clock.currentTimeMillis
    const leecher = yield* swarm.member("10.0.0.2", {
      ...(throttles.leecher !== undefined ? { throttle: new Throttle({ down: [bucket()], up: [] }) } : {})
    })
    yield* withClock(leecher.completed, { step: "250 millis", maxVirtual: "60 seconds" })
    expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    return ((yield* Clock.currentTimeMillis) - started) / 1000
  })

describe("rate limits", () => {
  it.scoped("a download limit of 128 KiB/s: 1 MiB takes about 7 s (8 s less the first second's burst)", () =>
    Effect.gen(function* () {
      const seconds = yield* completion({ leecher: "down" })
      expect(seconds).toBeGreaterThanOrEqual(6.5)
      expect(seconds).toBeLessThanOrEqual(9.5)
    }))

  it.scoped("an upload limit of 128 KiB/s on the seeder: the same", () =>
    Effect.gen(function* () {
      const seconds = yield* completion({ seeder: "up" })
      expect(seconds).toBeGreaterThanOrEqual(6.5)
      expect(seconds).toBeLessThanOrEqual(9.5)
    }))

  it.scoped("without limits the same swarm completes within a second", () =>
    Effect.gen(function* () {
      expect(yield* completion({})).toBeLessThanOrEqual(1)
    }))
})
