/**
 * Turns to start: a release hands the turn to the first waiter (in order), a waiter interrupted while
 * waiting leaves the line, and one interrupted after being handed a turn passes it on, so that no turn
 * is ever lost (a lost turn would leave torrents queued to check for ever).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as StartTurns from "../../../src/services/session/StartTurns.js"

/** One turn, taken; two torrents waiting in line for it, recording when they start. */
const twoInLine = Effect.gen(function* () {
  const turns = StartTurns.make(1)
  yield* turns.take
  const started: Array<string> = []
  const first = yield* Effect.fork(Effect.zipRight(turns.take, Effect.sync(() => started.push("first"))))
  const second = yield* Effect.fork(Effect.zipRight(turns.take, Effect.sync(() => started.push("second"))))
  yield* Effect.yieldNow()
  return { turns, started, first, second }
})

describe("StartTurns", () => {
  it.effect("two turns, five torrents: two start, then one more at each release, in the order they asked", () =>
    Effect.gen(function* () {
      const turns = StartTurns.make(2)
      const started: Array<number> = []
      const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => Effect.fork(Effect.zipRight(turns.take, Effect.sync(() => started.push(i)))))
      yield* Effect.yieldNow()
      expect(started).toEqual([0, 1])
      yield* turns.release
      yield* Effect.yieldNow()
      expect(started).toEqual([0, 1, 2])
      yield* turns.release
      yield* turns.release
      yield* Effect.yieldNow()
      expect(started).toEqual([0, 1, 2, 3, 4])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("a waiter interrupted in line leaves it; the turn goes to the next", () =>
    Effect.gen(function* () {
      const { turns, started, first, second } = yield* twoInLine
      yield* Fiber.interrupt(first)
      yield* turns.release
      yield* Fiber.join(second)
      expect(started).toEqual(["second"])
    }))

  it.effect("a waiter handed a turn and interrupted before it runs passes the turn on", () =>
    Effect.gen(function* () {
      const { turns, started, first, second } = yield* twoInLine
      // The release hands the turn to `first`, which is interrupted in the same step, before it resumes.
      yield* Effect.zipRight(turns.release, Fiber.interrupt(first))
      yield* Fiber.join(second)
      expect(started).toEqual(["second"])
    }))
})
