/**
 * Node's callback API as effects: a call that hands its callback `(error, value)` becomes an effect that
 * succeeds with the value or fails with the raw errno error, which the caller maps to its own error
 * (FileErrors.ts for file calls). The one wrapper of the project's file calls.
 */
import * as Effect from "effect/Effect"

/** The effect of a Node call whose callback gets `(error, value)`. */
export const node = <A>(run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void) =>
  Effect.async<A, NodeJS.ErrnoException>((resume) => {
    run((error, value) => resume(error === null ? Effect.succeed(value) : Effect.fail(error)))
  })

/** The effect of a Node call whose callback gets only `(error)`. */
export const unit = (run: (done: (error: NodeJS.ErrnoException | null) => void) => void) =>
  node<void>((done) => run((error) => done(error, undefined)))
