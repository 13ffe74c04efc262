/**
 * The qBittorrent preferences bt-effect keeps rather than acts on (protocol/QbtPreferences.ts: keys that are
 * no setting of ours, and the exact values of those our settings hold less finely), in the state folder as
 * `qbittorrent-preferences.json`, replaced atomically (JsonFile.ts), so that a tool reads back what it set,
 * also after a restart. Read on each use: the file is small and read only when a client asks.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import type { KeptPreferences } from "../../protocol/QbtPreferences.js"
import * as JsonFile from "../files/JsonFile.js"

/** Where the kept preferences live. */
export const preferencesFile = (configDir: string): string => path.join(configDir, "qbittorrent-preferences.json")

const KeptFile = Schema.Struct({
  version: Schema.Literal(1),
  preferences: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/** The kept preferences: none when the file is missing; a file that does not decode is a warning and none. */
export const loadKept = (configDir: string): Effect.Effect<KeptPreferences> =>
  Effect.map(JsonFile.load(preferencesFile(configDir), KeptFile, { version: 1 as const, preferences: {} }), (f) => f.preferences)

/** One change at a time reads, merges and writes the file (two clients setting at once lose nothing). */
const writing = Effect.unsafeMakeSemaphore(1)

/** Merges `kept` over the file's; a file that cannot be written is a warning (the next change tries again). */
export const keep = (configDir: string, kept: KeptPreferences): Effect.Effect<void> =>
  Object.keys(kept).length === 0
    ? Effect.void
    : writing.withPermits(1)(
      Effect.flatMap(loadKept(configDir), (before) =>
        JsonFile.save(preferencesFile(configDir), { version: 1, preferences: { ...before, ...kept } }).pipe(
          Effect.catchAll((e) => Effect.logWarning(`qBittorrent preferences not saved: ${e.message}`))
        ))
    )
