/**
 * The daemon's settings between runs: `<state>/settings.json` (as Transmission keeps its own), written
 * whenever a setting changes (session-set, the web interface) and read at start, so that limits, queue
 * sizes and the download folder a user chose hold after a restart. What the command line says for this
 * run wins over the file (`--download-dir`, `--no-pex`).
 *
 * Replaced atomically like session.json. A file that cannot be read or does not decode is reported once
 * and the defaults apply; a setting missing from it keeps its default.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SessionSettings } from "../../domain/SessionView.js"
import * as JsonFile from "../files/JsonFile.js"

const SavedSettings = Schema.Struct({
  downloadDir: Schema.optional(Schema.String),
  /** Bytes per second; 0: unlimited. */
  speedLimitDown: Schema.optional(Schema.NonNegative),
  speedLimitUp: Schema.optional(Schema.NonNegative),
  downloadQueueSize: Schema.optional(Schema.NonNegativeInt),
  seedQueueSize: Schema.optional(Schema.NonNegativeInt),
  seedQueueEnabled: Schema.optional(Schema.Boolean),
  pexEnabled: Schema.optional(Schema.Boolean)
})
/** The settings a file holds: those a user can change while the daemon runs. */
export type SavedSettings = typeof SavedSettings.Type

const SettingsJson = Schema.Struct({ version: Schema.Literal(1), settings: SavedSettings })

export const load = (file: string): Effect.Effect<SavedSettings> =>
  Effect.map(JsonFile.load(file, SettingsJson, { version: 1 as const, settings: {} }), (saved) => saved.settings)

/** Writes the settings a user can change; one that cannot be written is a warning (the next change tries again). */
export const save = (file: string, settings: SessionSettings): Effect.Effect<void> => {
  const saved: SavedSettings = {
    downloadDir: settings.downloadDir,
    speedLimitDown: settings.speedLimitDown,
    speedLimitUp: settings.speedLimitUp,
    downloadQueueSize: settings.downloadQueueSize,
    seedQueueSize: settings.seedQueueSize,
    seedQueueEnabled: settings.seedQueueEnabled,
    pexEnabled: settings.pexEnabled
  }
  return JsonFile.save(file, { version: 1, settings: saved }).pipe(
    Effect.catchAll((e) => Effect.logWarning(`settings not saved: ${e.message}`))
  )
}
