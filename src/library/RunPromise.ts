/**
 * An effect run for the Promise face: it rejects with the error itself (a `MetainfoError`, a
 * `StorageError`...), not with the runtime's wrapper around it, so that `instanceof` and `_tag` work.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

export const runToPromise = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) => Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause)))
