/**
 * The session's announces take turns: a burst at once, then a steady rate, so that a daemon starting
 * 1,000 torrents does not send 1,000 announces in one second.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as AnnouncePacer from "../../../src/services/tracker/AnnouncePacer.js"

describe("AnnouncePacer", () => {
  it.effect("100 announces asked at once: the burst goes at once, the rest at the rate", () =>
    Effect.gen(function* () {
      const pacer = yield* AnnouncePacer.make({ perSecond: 20, burst: 20 })
      const times: Array<number> = []
      const fibers = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), () =>
        Effect.fork(Effect.zipRight(pacer.take, Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => times.push(now))))))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.joinAll(fibers)
      expect(times.length).toBe(100)
      expect(times.filter((t) => t === 0).length).toBeGreaterThanOrEqual(20)
      expect(times.filter((t) => t === 0).length).toBeLessThanOrEqual(21)
      // No second holds more than the rate after the burst.
      const perSecond = new Map<number, number>()
      for (const t of times.filter((t) => t > 0)) perSecond.set(Math.floor((t - 1) / 1000), (perSecond.get(Math.floor((t - 1) / 1000)) ?? 0) + 1)
      for (const count of perSecond.values()) expect(count).toBeLessThanOrEqual(20)
      expect(Math.max(...times)).toBeGreaterThanOrEqual(3_900)
      expect(Math.max(...times)).toBeLessThanOrEqual(4_000)
    }))

  it.effect("a torrent alone announces at once, and again at once after a quiet while", () =>
    Effect.gen(function* () {
      const pacer = yield* AnnouncePacer.make({ perSecond: 20, burst: 20 })
      yield* pacer.take
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* TestClock.adjust("30 minutes")
      const before = yield* Clock.currentTimeMillis
      yield* pacer.take
      expect(yield* Clock.currentTimeMillis).toBe(before)
    }))
})
