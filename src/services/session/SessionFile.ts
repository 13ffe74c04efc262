/**
 * The daemon's list of torrents between runs: `<state>/session.json`, replaced atomically (a temp file
 * written and flushed, renamed over it, the folder flushed). Each torrent's .torrent and resume data live
 * beside it in `<state>/torrents/`; this file says which torrents there are, where their data goes,
 * whether they were stopped, their own rate limits, and the files wanted and their priorities. A file
 * that cannot be read is reported and the session starts empty.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { StorageError } from "../../domain/Errors.js"
import * as JsonFile from "../files/JsonFile.js"
import type { Category } from "../../domain/Categories.js"
import type { Entry } from "./SessionEntry.js"

/** The session's categories and tags, saved with the list. */
export interface Labels {
  readonly categories: ReadonlyArray<Category>
  readonly tags: ReadonlyArray<string>
}

const SavedTorrent = Schema.Struct({
  hash: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/)),
  name: Schema.String,
  magnet: Schema.optional(Schema.String),
  downloadDir: Schema.String,
  paused: Schema.Boolean,
  addedDate: Schema.Number,
  doneDate: Schema.Number,
  /** Its own rate limits, bytes per second; absent: none (files of earlier versions have none). */
  downloadLimit: Schema.optional(Schema.NonNegativeInt),
  uploadLimit: Schema.optional(Schema.NonNegativeInt),
  /** The limits' values kept while off (kB/s). Absent in files of earlier versions, as all that follows. */
  rememberedDownloadLimit: Schema.optional(Schema.NonNegative),
  rememberedUploadLimit: Schema.optional(Schema.NonNegative),
  /** Its seeding goals (domain/SeedGoals.ts): modes 0 the session's, 1 its own, 2 none; idle in minutes. */
  seedRatioMode: Schema.optional(Schema.Literal(0, 1, 2)),
  seedRatioLimit: Schema.optional(Schema.NonNegative),
  seedIdleMode: Schema.optional(Schema.Literal(0, 1, 2)),
  seedIdleLimit: Schema.optional(Schema.NonNegativeInt),
  /** Seconds run downloading and seeding, when it last moved data (seconds since the epoch), bytes that failed their check. */
  secondsDownloading: Schema.optional(Schema.NonNegativeInt),
  secondsSeeding: Schema.optional(Schema.NonNegativeInt),
  activityDate: Schema.optional(Schema.NonNegativeInt),
  corruptEver: Schema.optional(Schema.NonNegativeInt),
  /** The files not wanted (0-based, as the RPC numbers them) and each file's priority; absent: all wanted, normal. */
  unwanted: Schema.optional(Schema.Array(Schema.NonNegativeInt)),
  priorities: Schema.optional(Schema.Array(Schema.Literal(-1, 0, 1))),
  /** Its seeding time goal (minutes), as the other goals. */
  seedTimeMode: Schema.optional(Schema.Literal(0, 1, 2)),
  seedTimeLimit: Schema.optional(Schema.NonNegative),
  /** Where it moves once complete; absent: its download folder. */
  savePath: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String)),
  autoManaged: Schema.optional(Schema.Boolean),
  sequential: Schema.optional(Schema.Boolean),
  forced: Schema.optional(Schema.Boolean)
})
export type SavedTorrent = typeof SavedTorrent.Type

/** The session's categories and tags (domain/Categories.ts), absent in files of earlier versions. */
const SavedCategory = Schema.Struct({ name: Schema.String, savePath: Schema.String })

const SessionJson = Schema.Struct({
  version: Schema.Literal(1),
  torrents: Schema.Array(SavedTorrent),
  categories: Schema.optional(Schema.Array(SavedCategory)),
  tags: Schema.optional(Schema.Array(Schema.String))
})
export type SavedSession = typeof SessionJson.Type

export const load = (file: string): Effect.Effect<SavedSession> =>
  JsonFile.load(file, SessionJson, { version: 1 as const, torrents: [] })

/** Writes the list, in queue order, and the labels, replacing the file atomically (files/AtomicFile.ts). */
export const save = (file: string, entries: ReadonlyArray<Entry>, labels: Labels): Effect.Effect<void, StorageError> =>
  Effect.suspend(() => {
    const torrents: Array<SavedTorrent> = [...entries]
      .sort((a, b) => a.queuePosition - b.queuePosition)
      .map((e) => ({
        hash: e.hash,
        name: e.name,
        ...(e.metainfo === undefined && e.magnet !== undefined ? { magnet: e.magnet } : {}),
        downloadDir: e.downloadDir,
        paused: e.paused,
        addedDate: e.addedDate,
        doneDate: e.doneDate,
        ...(e.downloadLimit > 0 ? { downloadLimit: e.downloadLimit } : {}),
        ...(e.uploadLimit > 0 ? { uploadLimit: e.uploadLimit } : {}),
        rememberedDownloadLimit: e.rememberedDownloadLimit,
        rememberedUploadLimit: e.rememberedUploadLimit,
        ...e.goals,
        secondsDownloading: e.secondsDownloading,
        secondsSeeding: e.secondsSeeding,
        activityDate: e.activityDate,
        // Those of the run going on are added when it stops, and the session saves then.
        corruptEver: e.corruptBefore,
        ...(e.files.unwanted.length > 0 ? { unwanted: e.files.unwanted } : {}),
        ...(e.files.priorities.length > 0 ? { priorities: e.files.priorities } : {}),
        ...(e.savePath !== e.downloadDir ? { savePath: e.savePath } : {}),
        ...(e.category !== "" ? { category: e.category } : {}),
        ...(e.tags.length > 0 ? { tags: e.tags } : {}),
        ...(e.autoManaged ? { autoManaged: true } : {}),
        ...(e.sequential ? { sequential: true } : {}),
        ...(e.forced ? { forced: true } : {})
      }))
    return JsonFile.save(file, { version: 1, torrents, categories: labels.categories, tags: labels.tags })
  })
