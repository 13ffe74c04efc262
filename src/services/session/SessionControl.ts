/**
 * What a front end (the Transmission RPC, the web interface, the `add`/`list`/... commands) can ask of a
 * session of many torrents, and what it sees of them. The daemon's Session implements it; tests use
 * `layerMemory`, a session without any network, whose torrents move only when told.
 *
 * Ids are small integers given in the order torrents are added, never reused in one session (as
 * Transmission's). Views are plain data, cheap to build every second for every torrent.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** Transmission's torrent status numbers (tr_torrent_activity). */
export const Status = {
  Stopped: 0,
  CheckWait: 1,
  Check: 2,
  DownloadWait: 3,
  Download: 4,
  SeedWait: 5,
  Seed: 6
} as const
export type Status = (typeof Status)[keyof typeof Status]

export interface FileView {
  /** The path as shown, with "/" between components, the torrent's name first for multi-file torrents. */
  readonly name: string
  readonly length: number
  readonly bytesCompleted: number
}

export interface PeerView {
  readonly address: string
  readonly port: number
  readonly clientName: string
  readonly rateToClient: number
  readonly rateToPeer: number
  readonly progress: number
  readonly isDownloadingFrom: boolean
  readonly isUploadingTo: boolean
  readonly isIncoming: boolean
}

export interface TrackerView {
  readonly announce: string
  readonly tier: number
  /** "working", "failed", "waiting" or "idle" */
  readonly state: string
  readonly lastError: string
  readonly peers: number
}

export interface TorrentView {
  readonly id: number
  readonly hashString: string
  /** The torrent's name, or the magnet's display name (or hash) until the metadata is in. */
  readonly name: string
  readonly status: Status
  /** Whether the metadata is known (false while a magnet's is being fetched). */
  readonly hasMetadata: boolean
  readonly totalSize: number
  /** Bytes verified. */
  readonly haveValid: number
  /** 0..1 */
  readonly percentDone: number
  readonly rateDownload: number
  readonly rateUpload: number
  readonly downloadedEver: number
  readonly uploadedEver: number
  readonly peersConnected: number
  readonly seeds: number
  /** Seconds to completion; -1 when not available (complete), -2 when unknown (no rate yet), as Transmission's. */
  readonly eta: number
  /** 0 ok, 3 local error (Transmission's tr_stat_errtype). */
  readonly error: number
  readonly errorString: string
  readonly downloadDir: string
  /** Seconds since the epoch. */
  readonly addedDate: number
  readonly doneDate: number
  readonly magnetLink: string
  readonly isPrivate: boolean
  readonly pieceCount: number
  readonly pieceSize: number
  /** The verified pieces as a bitfield (BEP 3 bit order), base64, as Transmission's `pieces`. */
  readonly pieces: string
  readonly files: ReadonlyArray<FileView>
  readonly peers: ReadonlyArray<PeerView>
  readonly trackers: ReadonlyArray<TrackerView>
  /** Bytes per second; 0: unlimited. */
  readonly downloadLimit: number
  readonly uploadLimit: number
  /** Position in the queue of waiting torrents (0 first). */
  readonly queuePosition: number
}

export interface SessionSettings {
  readonly downloadDir: string
  readonly peerPort: number
  /** Bytes per second for the whole session; 0: unlimited. */
  readonly speedLimitDown: number
  readonly speedLimitUp: number
  /** Downloads and seeds running at once; more wait in the queue. */
  readonly downloadQueueSize: number
  readonly seedQueueSize: number
  readonly dhtEnabled: boolean
  readonly pexEnabled: boolean
  readonly version: string
}

export interface SessionStats {
  readonly activeTorrentCount: number
  readonly pausedTorrentCount: number
  readonly torrentCount: number
  readonly downloadSpeed: number
  readonly uploadSpeed: number
  /** Summed over the torrents in the session now, every run of each (their lifetime totals). */
  readonly downloadedBytes: number
  readonly uploadedBytes: number
  readonly secondsActive: number
}

/** The session's figures from the views of its torrents (one rule for the real session and the memory one). */
export const statsOf = (views: ReadonlyArray<TorrentView>, secondsActive: number): SessionStats => ({
  activeTorrentCount: views.filter((v) => v.status !== Status.Stopped).length,
  pausedTorrentCount: views.filter((v) => v.status === Status.Stopped).length,
  torrentCount: views.length,
  downloadSpeed: views.reduce((sum, v) => sum + v.rateDownload, 0),
  uploadSpeed: views.reduce((sum, v) => sum + v.rateUpload, 0),
  downloadedBytes: views.reduce((sum, v) => sum + v.downloadedEver, 0),
  uploadedBytes: views.reduce((sum, v) => sum + v.uploadedEver, 0),
  secondsActive
})

export const ControlErrorReason = Schema.Literal("NotFound", "Invalid", "Duplicate", "Io")
export type ControlErrorReason = typeof ControlErrorReason.Type

/** A request the session cannot carry out (an unknown id, a bad torrent, a path it cannot use). */
export class ControlError extends Schema.TaggedError<ControlError>()("ControlError", {
  reason: ControlErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** What to add: the bytes of a .torrent, a magnet link, or the URL of a .torrent (fetched by the session). */
export type AddSource =
  | { readonly _tag: "Metainfo"; readonly bytes: Uint8Array }
  | { readonly _tag: "Magnet"; readonly uri: string }
  | { readonly _tag: "Url"; readonly url: string }

export interface AddOptions {
  readonly downloadDir?: string
  /** Added stopped. */
  readonly paused?: boolean
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
  readonly downloadLimit?: number
  readonly uploadLimit?: number
  readonly queuePosition?: number
}

export interface SessionControlService {
  readonly add: (source: AddSource, options: AddOptions) => Effect.Effect<Added, ControlError>
  readonly start: (which: Selection) => Effect.Effect<void, ControlError>
  readonly stop: (which: Selection) => Effect.Effect<void, ControlError>
  readonly remove: (which: Selection, deleteData: boolean) => Effect.Effect<void, ControlError>
  /** Hashes the data again (the torrent goes through Check and then on as before). */
  readonly verify: (which: Selection) => Effect.Effect<void, ControlError>
  readonly set: (which: Selection, settings: TorrentSettings) => Effect.Effect<void, ControlError>
  readonly torrents: (which: Selection) => Effect.Effect<ReadonlyArray<TorrentView>>
  readonly settings: Effect.Effect<SessionSettings>
  readonly updateSettings: (settings: Partial<Omit<SessionSettings, "version" | "peerPort">>) => Effect.Effect<void, ControlError>
  readonly stats: Effect.Effect<SessionStats>
  /** Free bytes on the file system holding `path`. */
  readonly freeSpace: (path: string) => Effect.Effect<{ readonly path: string; readonly sizeBytes: number; readonly totalSize: number }, ControlError>
}

export class SessionControl extends Context.Tag("bt-effect/SessionControl")<SessionControl, SessionControlService>() {}
