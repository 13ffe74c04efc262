/**
 * Driving TestClock for in-memory swarms: the swarm moves data on real turns of the event loop (no clock),
 * but timeouts, ticks and latency need virtual time. `withTestClock` runs an effect and, between real
 * turns, advances the clock by `step`, so that timers fire only once the swarm has had time to work.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const realTurn = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

/** Runs `effect` under TestClock, `step` of virtual time after each few real turns, failing with a sentence
 *  when it is not done after `maxVirtual` (defaults: 20 ms steps, 60 s). */
export const withTestClock = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly step?: Duration.DurationInput; readonly maxVirtual?: Duration.DurationInput } = {}
): Effect.Effect<A, E | string, R> =>
  Effect.gen(function* () {
    const step = Duration.toMillis(options.step ?? "20 millis")
    const fiber = yield* Effect.fork(effect)
    const max = Duration.decode(options.maxVirtual ?? "60 seconds")
    const steps = Math.ceil(Duration.toMillis(max) / step)
    for (let i = 0; i < steps; i++) {
      for (let turn = 0; turn < 3; turn++) yield* realTurn
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.fail(`not done after ${Duration.format(max)} of virtual time`)
  })
