/**
 * What a front end sees of a session of many torrents: each torrent's view (in Transmission's terms: its
 * status, progress, rates, files, peers, trackers and piece map), the session's settings and its totals.
 * Plain data, cheap to build every second for every torrent; the session builds them, the RPC dialects
 * and the web interface read them.
 */
import type { FilePriority } from "./FileSelection.js"
import type { LimitMode, ShareAction } from "./SeedGoals.js"

export type { LimitMode, ShareAction } from "./SeedGoals.js"

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
  /** Bytes of the file inside verified pieces (FileProgress.ts). */
  readonly bytesCompleted: number
  /** Whether it is to be downloaded (FileChoices.ts), and its priority (-1 low, 0 normal, 1 high). */
  readonly wanted: boolean
  readonly priority: FilePriority
  /** The first and last piece holding its bytes (qBittorrent's piece_range; [0, 0] for an empty file). */
  readonly pieceRange: readonly [number, number]
}

export interface PeerView {
  readonly address: string
  readonly port: number
  readonly clientName: string
  /** Its peer id, base64 (as Transmission 4.1 shows it). */
  readonly peerId: string
  readonly rateToClient: number
  readonly rateToPeer: number
  /** Bytes of payload it sent us and we sent it, this connection. */
  readonly bytesToClient: number
  readonly bytesToPeer: number
  /** The share of the pieces it has, 0..1. */
  readonly progress: number
  readonly isDownloadingFrom: boolean
  readonly isUploadingTo: boolean
  readonly isIncoming: boolean
  /** The connection is encrypted (MSE with RC4); absent: plaintext. */
  readonly isEncrypted?: boolean
  /** Over uTP rather than TCP. */
  readonly isUtp?: boolean
}

export interface TrackerView {
  readonly announce: string
  readonly tier: number
  /** "working", "failed", "waiting" or "idle" */
  readonly state: string
  readonly lastError: string
  readonly peers: number
  /** Seeders and leechers in its last answer (-1 unknown), and when it is announced to next (seconds, 0 unknown). */
  readonly seeders: number
  readonly leechers: number
  readonly nextAnnounceTime: number
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
  /** Bytes verified (of every file, wanted or not). */
  readonly haveValid: number
  /** Transmission's sizeWhenDone and leftUntilDone (FileProgress.ts): the bytes of the wanted pieces (and of
   *  those had besides), and the wanted bytes not verified yet. Without unwanted files: the total size and
   *  what is left of it. */
  readonly sizeWhenDone: number
  readonly leftUntilDone: number
  /** 0..1 of sizeWhenDone verified: 1 when every wanted file is. */
  readonly percentDone: number
  readonly rateDownload: number
  readonly rateUpload: number
  /** Bytes over the torrent's life (every run, from its resume data on). */
  readonly downloadedEver: number
  readonly uploadedEver: number
  /** Bytes since this session (process) started: qBittorrent's `*_session`, Transmission's current stats. */
  readonly downloadedSession: number
  readonly uploadedSession: number
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
  /** The pieces being downloaded now (a block asked for or received; none verified). */
  readonly piecesInProgress: ReadonlyArray<number>
  /** The pieces wanted (a byte of a wanted file), in the same form; "" before a magnet's metadata. */
  readonly wantedPieces: string
  readonly files: ReadonlyArray<FileView>
  readonly peers: ReadonlyArray<PeerView>
  readonly trackers: ReadonlyArray<TrackerView>
  /** Bytes per second; 0: unlimited. */
  readonly downloadLimit: number
  readonly uploadLimit: number
  /** The limits' values kept while they are off (kB/s), as Transmission keeps a limit apart from its switch. */
  readonly rememberedDownloadLimit: number
  readonly rememberedUploadLimit: number
  /** Position in the queue of waiting torrents (0 first). */
  readonly queuePosition: number
  /** 0..1 of the data checked, while it is checked; else 0. */
  readonly recheckProgress: number
  /** When it was last started (seconds since the epoch, 0 not in this run) and last moved data (0 never). */
  readonly startDate: number
  readonly activityDate: number
  /** Seconds it has run downloading and seeding, over its whole life. */
  readonly secondsDownloading: number
  readonly secondsSeeding: number
  /** Bytes of pieces that failed their check, over its whole life. */
  readonly corruptEver: number
  /** From the metainfo ("" or 0 when absent, or before a magnet's metadata). */
  readonly comment: string
  readonly creator: string
  readonly dateCreated: number
  readonly source: string
  readonly webseeds: ReadonlyArray<string>
  /** Where the daemon keeps its .torrent ("" before a magnet's metadata). */
  readonly torrentFile: string
  /** The seeding goals (SeedGoals.ts): which ratio and idle limit apply, and the torrent's own. */
  readonly seedRatioMode: LimitMode
  readonly seedRatioLimit: number
  readonly seedIdleMode: LimitMode
  /** Minutes. */
  readonly seedIdleLimit: number
  /** Its seeding time goal (minutes seeding over its life), and the mode that says which limit applies. */
  readonly seedTimeMode: LimitMode
  readonly seedTimeLimit: number
  /** Stopped by its idle goal (finished), until started again. */
  readonly idleLimitReached: boolean
  /** Its category ("" none) and tags (sorted), domain/Categories.ts. */
  readonly category: string
  readonly tags: ReadonlyArray<string>
  /** Where its data goes once complete (qBittorrent's save_path): its download folder unless it downloads
   *  in the incomplete folder and moves when done. */
  readonly savePath: string
  /** Its folder follows its category's (qBittorrent's automatic torrent management). */
  readonly autoManaged: boolean
  /** Pieces asked for in order (for players reading it as it comes). */
  readonly sequential: boolean
  /** Runs whatever the queue says (qBittorrent's force start, Transmission's start-now). */
  readonly forced: boolean
  /** Its data is being moved to another folder (qBittorrent's `moving` state). */
  readonly moving: boolean
  /** Peers it connects to at most. */
  readonly maxPeers: number
  /** 0..1 of a magnet's metadata fetched; 1 once known. */
  readonly metadataPercentComplete: number
  /** How many connected peers have each piece. */
  readonly availability: ReadonlyArray<number>
  /** Each piece's SHA-1 (hex) from the metainfo; a v2-only torrent's piece-layer hashes; [] before a magnet's metadata. */
  readonly pieceHashes: ReadonlyArray<string>
}

export type EncryptionSetting = "tolerated" | "preferred" | "required"

export interface SessionSettings {
  readonly downloadDir: string
  readonly peerPort: number
  /** Bytes per second for the whole session; 0: unlimited. */
  readonly speedLimitDown: number
  readonly speedLimitUp: number
  /** Downloads and seeds running at once; more wait in the queue. */
  readonly downloadQueueSize: number
  readonly seedQueueSize: number
  /** Whether seeds queue at all (off by default, as in Transmission: every complete torrent seeds). */
  readonly seedQueueEnabled: boolean
  readonly dhtEnabled: boolean
  /** The transports to peers, chosen at start (--no-utp, --no-tcp). */
  readonly utpEnabled: boolean
  readonly tcpEnabled: boolean
  readonly pexEnabled: boolean
  /** Peer encryption (MSE) in Transmission's words: tolerated (bt-effect's `off`: plaintext only),
   *  preferred (MSE first, plaintext accepted), required (MSE only). */
  readonly encryption: EncryptionSetting
  readonly version: string
  /** The state folder (Transmission's config-dir). */
  readonly configDir: string
  /** The read cache of pieces served to peers, MiB. */
  readonly cacheSizeMb: number
  /** The speed limits' values kept while they are off (kB/s). */
  readonly rememberedLimitDown: number
  readonly rememberedLimitUp: number
  /** The alternative speed limits (kB/s), and whether they are on instead of the usual ones. */
  readonly altSpeedDown: number
  readonly altSpeedUp: number
  readonly altSpeedEnabled: boolean
  /** Their schedule (AltSpeedSchedule.ts): minutes after local midnight, days as a bitmask (1 Sunday). */
  readonly altSpeedTimeEnabled: boolean
  readonly altSpeedTimeBegin: number
  readonly altSpeedTimeEnd: number
  readonly altSpeedTimeDay: number
  /** The seeding goals of torrents that follow the session's (SeedGoals.ts). */
  readonly seedRatioLimit: number
  readonly seedRatioLimited: boolean
  /** Minutes. */
  readonly idleSeedingLimit: number
  readonly idleSeedingLimitEnabled: boolean
  /** A torrent idle this long no longer holds a slot of the queue. */
  readonly queueStalledEnabled: boolean
  readonly queueStalledMinutes: number
  /** qBittorrent's seeding time limit for torrents that follow the session's (minutes). */
  readonly seedTimeLimit: number
  readonly seedTimeLimited: boolean
  /** What is done to a torrent that reaches its ratio, idle or seeding time goal. */
  readonly shareLimitAction: ShareAction
  /** Torrents download into this folder and move to their own when complete (Transmission's incomplete-dir,
   *  qBittorrent's temp_path); the folder is absolute. */
  readonly incompleteDir: string
  readonly incompleteDirEnabled: boolean
  /** A torrent added without saying follows its category's folder (qBittorrent's auto_tmm_enabled). */
  readonly autoManageByDefault: boolean
}

/** What a front end may change of the settings: all but what the command line and the machine decide. */
export type SettingsChange = Partial<Omit<SessionSettings, "version" | "peerPort" | "configDir" | "cacheSizeMb" | "utpEnabled" | "tcpEnabled">>

/** Transmission's defaults for the settings a user can change (its settings.json's), but the download folder. */
export const settingDefaults = {
  speedLimitDown: 0,
  speedLimitUp: 0,
  downloadQueueSize: 5,
  seedQueueSize: 10,
  seedQueueEnabled: false,
  pexEnabled: true,
  encryption: "preferred" as EncryptionSetting,
  rememberedLimitDown: 100,
  rememberedLimitUp: 100,
  altSpeedDown: 50,
  altSpeedUp: 50,
  altSpeedEnabled: false,
  altSpeedTimeEnabled: false,
  altSpeedTimeBegin: 540,
  altSpeedTimeEnd: 1020,
  altSpeedTimeDay: 127,
  seedRatioLimit: 2,
  seedRatioLimited: false,
  idleSeedingLimit: 30,
  idleSeedingLimitEnabled: false,
  queueStalledEnabled: true,
  queueStalledMinutes: 30,
  seedTimeLimit: 1440,
  seedTimeLimited: false,
  shareLimitAction: "stop" as ShareAction,
  incompleteDirEnabled: false,
  autoManageByDefault: false
} as const satisfies SettingsChange

/** The session limits in force (bytes per second, 0 none): the alternative ones while they are on. */
export const effectiveLimits = (s: SessionSettings): { readonly down: number; readonly up: number } =>
  s.altSpeedEnabled
    ? { down: s.altSpeedDown * 1000, up: s.altSpeedUp * 1000 }
    : { down: s.speedLimitDown, up: s.speedLimitUp }

export interface SessionStats {
  readonly activeTorrentCount: number
  readonly pausedTorrentCount: number
  readonly torrentCount: number
  readonly downloadSpeed: number
  readonly uploadSpeed: number
  /** Summed over the torrents in the session now, every run of each (their lifetime totals). */
  readonly downloadedBytes: number
  readonly uploadedBytes: number
  /** Summed over the torrents in the session now, since the session started. */
  readonly downloadedSession: number
  readonly uploadedSession: number
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
  downloadedSession: views.reduce((sum, v) => sum + v.downloadedSession, 0),
  uploadedSession: views.reduce((sum, v) => sum + v.uploadedSession, 0),
  secondsActive
})
