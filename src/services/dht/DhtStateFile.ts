/**
 * The DHT state file on disk (the codec is protocol/DhtState.ts): loaded at start, saved every few
 * minutes and when the node stops, replaced atomically (files/AtomicFile.ts) so that a crash leaves the
 * old state or the new one. A file that cannot be read or decoded is reported and ignored (the node
 * bootstraps instead); a save that fails is reported and retried at the next save.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import { type DhtState, decodeState, encodeState } from "../../protocol/DhtState.js"
import { replaceFile } from "../files/AtomicFile.js"
import { failure } from "../files/FileErrors.js"
import { node } from "../files/NodeCallback.js"

/** The saved state, or undefined when there is none (or it is damaged: a warning). */
export const loadState = (file: string): Effect.Effect<DhtState | undefined> =>
  node<Buffer>((done) => fs.readFile(file, done)).pipe(
    Effect.matchEffect({
      onFailure: (e) =>
        e.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.as(Effect.logWarning(`ignoring DHT state ${file}: ${failure("read", file)(e).detail}`), undefined),
      onSuccess: (raw) =>
        Either.match(decodeState(raw), {
          onLeft: (why) => Effect.as(Effect.logWarning(`ignoring DHT state ${file}: ${why}`), undefined),
          onRight: (state) => Effect.succeed(state)
        })
    })
  )

/** Replaces the state file atomically; failures are logged, never raised. */
export const saveState = (file: string, state: Omit<DhtState, "savedAt">): Effect.Effect<void> =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((savedAt) => replaceFile(file, encodeState({ ...state, savedAt }))),
    Effect.catchAll((error) => Effect.logWarning(`cannot save the DHT state: ${error.message}`)),
    Effect.withSpan("Dht.saveState")
  )
