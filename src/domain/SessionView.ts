/**
 * What a front end sees of a session of many torrents: each torrent's view (in Transmission's terms: its
 * status, progress, rates, files, peers, trackers and piece map), the session's settings and its totals.
 * Plain data, cheap to build every second for every torrent; the session builds them, the RPC dialects
 * and the web interface read them.
 */

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
  /** Whether seeds queue at all (off by default, as in Transmission: every complete torrent seeds). */
  readonly seedQueueEnabled: boolean
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
