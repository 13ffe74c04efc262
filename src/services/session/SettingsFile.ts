/**
 * The daemon's settings between runs: `<state>/settings.json` (as Transmission keeps its own), written
 * whenever a setting changes (session-set, the web interface) and read at start, so that limits, queue
 * sizes, the download folder, the alternative limits and their schedule, the seeding goals and what is done
 * when one is reached, the incomplete folder, and the limits' values kept while they are off hold after a
 * restart. What the command line says for this
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
  pexEnabled: Schema.optional(Schema.Boolean),
  encryption: Schema.optional(Schema.Literal("tolerated", "preferred", "required")),
  /** kB/s: the limits' values kept while off, and the alternative limits. */
  rememberedLimitDown: Schema.optional(Schema.NonNegative),
  rememberedLimitUp: Schema.optional(Schema.NonNegative),
  altSpeedDown: Schema.optional(Schema.NonNegative),
  altSpeedUp: Schema.optional(Schema.NonNegative),
  altSpeedEnabled: Schema.optional(Schema.Boolean),
  altSpeedTimeEnabled: Schema.optional(Schema.Boolean),
  /** Minutes after local midnight, and the days (bit 0 Sunday). */
  altSpeedTimeBegin: Schema.optional(Schema.Int.pipe(Schema.between(0, 1439))),
  altSpeedTimeEnd: Schema.optional(Schema.Int.pipe(Schema.between(0, 1439))),
  altSpeedTimeDay: Schema.optional(Schema.Int.pipe(Schema.between(0, 127))),
  seedRatioLimit: Schema.optional(Schema.NonNegative),
  seedRatioLimited: Schema.optional(Schema.Boolean),
  /** Minutes. */
  idleSeedingLimit: Schema.optional(Schema.NonNegativeInt),
  idleSeedingLimitEnabled: Schema.optional(Schema.Boolean),
  queueStalledEnabled: Schema.optional(Schema.Boolean),
  queueStalledMinutes: Schema.optional(Schema.NonNegativeInt),
  /** Minutes. */
  seedTimeLimit: Schema.optional(Schema.NonNegativeInt),
  seedTimeLimited: Schema.optional(Schema.Boolean),
  shareLimitAction: Schema.optional(Schema.Literal("stop", "remove", "removeData")),
  incompleteDir: Schema.optional(Schema.String),
  incompleteDirEnabled: Schema.optional(Schema.Boolean),
  autoManageByDefault: Schema.optional(Schema.Boolean)
})
/** The settings a file holds: those a user can change while the daemon runs. */
export type SavedSettings = typeof SavedSettings.Type

const SettingsJson = Schema.Struct({ version: Schema.Literal(1), settings: SavedSettings })

export const load = (file: string): Effect.Effect<SavedSettings> =>
  Effect.map(JsonFile.load(file, SettingsJson, { version: 1 as const, settings: {} }), (saved) => saved.settings)

/** The settings the file has (a key missing from it is absent, not undefined). */
export const given = (saved: SavedSettings): Partial<SessionSettings> =>
  Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined))

/** Writes the settings a user can change; one that cannot be written is a warning (the next change tries again). */
export const save = (file: string, settings: SessionSettings): Effect.Effect<void> => {
  const saved: SavedSettings = {
    downloadDir: settings.downloadDir,
    speedLimitDown: settings.speedLimitDown,
    speedLimitUp: settings.speedLimitUp,
    downloadQueueSize: settings.downloadQueueSize,
    seedQueueSize: settings.seedQueueSize,
    seedQueueEnabled: settings.seedQueueEnabled,
    pexEnabled: settings.pexEnabled,
    encryption: settings.encryption,
    rememberedLimitDown: settings.rememberedLimitDown,
    rememberedLimitUp: settings.rememberedLimitUp,
    altSpeedDown: settings.altSpeedDown,
    altSpeedUp: settings.altSpeedUp,
    altSpeedEnabled: settings.altSpeedEnabled,
    altSpeedTimeEnabled: settings.altSpeedTimeEnabled,
    altSpeedTimeBegin: settings.altSpeedTimeBegin,
    altSpeedTimeEnd: settings.altSpeedTimeEnd,
    altSpeedTimeDay: settings.altSpeedTimeDay,
    seedRatioLimit: settings.seedRatioLimit,
    seedRatioLimited: settings.seedRatioLimited,
    idleSeedingLimit: settings.idleSeedingLimit,
    idleSeedingLimitEnabled: settings.idleSeedingLimitEnabled,
    queueStalledEnabled: settings.queueStalledEnabled,
    queueStalledMinutes: settings.queueStalledMinutes,
    seedTimeLimit: settings.seedTimeLimit,
    seedTimeLimited: settings.seedTimeLimited,
    shareLimitAction: settings.shareLimitAction,
    incompleteDir: settings.incompleteDir,
    incompleteDirEnabled: settings.incompleteDirEnabled,
    autoManageByDefault: settings.autoManageByDefault
  }
  return JsonFile.save(file, { version: 1, settings: saved }).pipe(
    Effect.catchAll((e) => Effect.logWarning(`settings not saved: ${e.message}`))
  )
}
