/**
 * Driving TestClock for swarm tests: the swarm moves data without the clock, but timeouts, ticks and
 * latency need virtual time. `withClock` runs an effect and, between real turns of the event loop,
 * advances the clock by `step`, so that timers fire only when the swarm has had time to work.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/** One real turn of the event loop (where in-memory data moves), as opposed to virtual time. */
export const realTurn = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

export const withClock = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly step: Duration.DurationInput; readonly maxVirtual: Duration.DurationInput }
): Effect.Effect<A, E | string, R> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    const steps = Math.ceil(Duration.toMillis(options.maxVirtual) / Duration.toMillis(options.step))
    for (let i = 0; i < steps; i++) {
      for (let turn = 0; turn < 3; turn++) yield* realTurn
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* TestClock.adjust(options.step)
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.fail(`not done after ${Duration.format(options.maxVirtual)} of virtual time`)
  })
