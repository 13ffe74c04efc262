/**
 * The daemon's small JSON files in its state folder (session.json, settings.json): read and decoded by a
 * Schema, written atomically (AtomicFile.ts).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import type { StorageError } from "../../domain/Errors.js"
import { replaceFile } from "./AtomicFile.js"

/** `file` decoded as JSON by `schema`; `fallback` when it is missing, or (with a warning) unreadable or invalid. */
export const load = <A, I>(file: string, schema: Schema.Schema<A, I>, fallback: A): Effect.Effect<A> =>
  Effect.promise(() => fs.promises.readFile(file, "utf8").then((text) => text, () => undefined)).pipe(
    Effect.flatMap((text) => {
      if (text === undefined) return Effect.succeed(fallback)
      return Either.match(Schema.decodeUnknownEither(Schema.parseJson(schema))(text), {
        onLeft: (e) => Effect.as(Effect.logWarning(`ignoring ${file}: ${e.message.split("\n")[0]}`), fallback),
        onRight: (value) => Effect.succeed(value)
      })
    })
  )

/** Replaces `file` with `value` as JSON, one space of indent (readable, and small). */
export const save = (file: string, value: unknown): Effect.Effect<void, StorageError> =>
  replaceFile(file, Buffer.from(JSON.stringify(value, null, 1)))
