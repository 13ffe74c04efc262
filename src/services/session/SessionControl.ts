/**
 * What a front end (the Transmission RPC, the web interface, the `add`/`list`/... commands) can ask of a
 * session of many torrents, and what it sees of them. The daemon's Session implements it; tests use
 * MemoryControl.ts, a session without any network, whose torrents move only when told.
 *
 * Ids are small integers given in the order torrents are added, never reused in one session (as
 * Transmission's). Views are plain data, cheap to build every second for every torrent.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Category } from "../../domain/Categories.js"
import type { ControlError } from "../../domain/Errors.js"
import type { FileChange } from "../../domain/FileChoices.js"
import type { LimitMode, SessionSettings, SessionStats, SettingsChange, TorrentView } from "../../domain/SessionView.js"
import type { StreamSource } from "../stream/StreamServer.js"

/** What to add: the bytes of a .torrent, a magnet link, or the URL of a .torrent (fetched by the session). */
export type AddSource =
  | { readonly _tag: "Metainfo"; readonly bytes: Uint8Array }
  | { readonly _tag: "Magnet"; readonly uri: string }
  | { readonly _tag: "Url"; readonly url: string }

export interface AddOptions {
  readonly downloadDir?: string
  /** Added stopped. */
  readonly paused?: boolean
  /** Its files wanted and their priorities (numbered as the RPC numbers them); a magnet's apply once its
   *  metadata is in. */
  readonly files?: FileChange
  /** A category of the session ("" or absent: none), and tags (created in the session if new). */
  readonly category?: string
  readonly tags?: ReadonlyArray<string>
  /** Its folder follows its category's (absent: the session's autoManageByDefault); a folder given wins. */
  readonly autoManaged?: boolean
  /** Its data taken as whole at its first start, without a check (qBittorrent's skip_checking). */
  readonly skipCheck?: boolean
  /** Its own settings from the start (limits, goals, sequential, a name to show). */
  readonly settings?: TorrentSettings
}

export interface Added {
  readonly id: number
  readonly hashString: string
  readonly name: string
  /** The torrent was already in the session (nothing was added). */
  readonly duplicate: boolean
}

/** Which torrents a request is about: all of them, or these ids / info hashes (hex). */
export type Selection = "all" | ReadonlyArray<number | string>

export interface TorrentSettings {
  /** Bytes per second, 0 none. */
  readonly downloadLimit?: number
  readonly uploadLimit?: number
  /** The limits' values kept while they are off (kB/s). */
  readonly rememberedDownloadLimit?: number
  readonly rememberedUploadLimit?: number
  readonly queuePosition?: number
  /** Its seeding goals (domain/SeedGoals.ts). */
  readonly seedRatioMode?: LimitMode
  readonly seedRatioLimit?: number
  readonly seedIdleMode?: LimitMode
  /** Minutes. */
  readonly seedIdleLimit?: number
  /** Files wanted or not and their priorities (domain/FileChoices.ts). A running torrent takes a new
   *  priority at once; a change of the files wanted restarts its run (the files parked or moved into place). */
  readonly files?: FileChange
  /** The seeding time goal (minutes seeding) and which limit applies. */
  readonly seedTimeMode?: LimitMode
  readonly seedTimeLimit?: number
  /** A category of the session, "" none (its folder followed if the torrent's folder follows it). */
  readonly category?: string
  /** Its tags, all of them (replaced; those new are created in the session). */
  readonly tags?: ReadonlyArray<string>
  /** Tags given and taken (those given are created in the session). */
  readonly addTags?: ReadonlyArray<string>
  readonly removeTags?: ReadonlyArray<string>
  /** Its folder follows its category's from now on (moved there now), or no longer. */
  readonly autoManaged?: boolean
  /** Pieces in order (a change restarts its run). */
  readonly sequential?: boolean
  /** Runs whatever the queue's limits. */
  readonly forced?: boolean
  /** The name shown (the data keeps its own). */
  readonly name?: string
}

export interface SessionControlService {
  readonly add: (source: AddSource, options: AddOptions) => Effect.Effect<Added, ControlError>
  readonly start: (which: Selection) => Effect.Effect<void, ControlError>
  readonly stop: (which: Selection) => Effect.Effect<void, ControlError>
  readonly remove: (which: Selection, deleteData: boolean) => Effect.Effect<void, ControlError>
  /** Hashes the data again (the torrent goes through Check and then on as before). */
  readonly verify: (which: Selection) => Effect.Effect<void, ControlError>
  readonly set: (which: Selection, settings: TorrentSettings) => Effect.Effect<void, ControlError>
  /** Announces the running torrents named to their trackers now. */
  readonly reannounce: (which: Selection) => Effect.Effect<void, ControlError>
  /**
   * A new folder for the torrents' data (an absolute path). With `move`, their files go there and each goes
   * on from there as it was; without, the data is looked for there (the torrent is checked again).
   */
  readonly setLocation: (which: Selection, folder: string, move: boolean) => Effect.Effect<void, ControlError>
  readonly torrents: (which: Selection) => Effect.Effect<ReadonlyArray<TorrentView>>
  readonly settings: Effect.Effect<SessionSettings>
  readonly updateSettings: (settings: SettingsChange) => Effect.Effect<void, ControlError>
  readonly stats: Effect.Effect<SessionStats>
  /** Categories and tags (TorrentLabels.ts): a name in use is a Conflict, a bad one Invalid. */
  readonly categories: Effect.Effect<ReadonlyArray<Category>>
  readonly createCategory: (category: Category) => Effect.Effect<void, ControlError>
  readonly editCategory: (category: Category) => Effect.Effect<void, ControlError>
  readonly removeCategories: (names: ReadonlyArray<string>) => Effect.Effect<void, ControlError>
  readonly tags: Effect.Effect<ReadonlyArray<string>>
  readonly createTags: (tags: ReadonlyArray<string>) => Effect.Effect<void, ControlError>
  readonly deleteTags: (tags: ReadonlyArray<string>) => Effect.Effect<void, ControlError>
  /** Free bytes on the file system holding `path`. */
  readonly freeSpace: (path: string) => Effect.Effect<{ readonly path: string; readonly sizeBytes: number; readonly totalSize: number }, ControlError>
  /** A running torrent's files to serve over HTTP (`/stream/<hash>/<n>`), read through its own view of
   *  them until the scope closes; undefined when no torrent of that info hash (hex) runs. */
  readonly streamSource: (hash: string) => Effect.Effect<StreamSource | undefined, never, Scope.Scope>
}

export class SessionControl extends Context.Tag("bt-effect/SessionControl")<SessionControl, SessionControlService>() {}
