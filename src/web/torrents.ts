/**
 * What the page asks the daemon about its torrents, and the types of what comes back: torrent-get's
 * fields in Transmission's names, which for these fields are the session's own view (domain/SessionView.ts)
 * but for trackerStats, Transmission's own. The list polls only the fields it shows; the detail view's
 * heavy ones (files, peers, trackers, pieces) are asked for the one torrent that is open.
 */
import type { FileView, PeerView, TorrentView } from "../domain/SessionView.js"

export const listFields = [
  "id", "name", "status", "percentDone", "rateDownload", "rateUpload", "peersConnected", "eta", "totalSize", "error", "errorString"
] as const

export const detailFields = [
  "id", "name", "hashString", "status", "totalSize", "percentDone", "downloadDir", "error", "errorString", "pieceCount",
  "pieceSize", "pieces", "files", "peers", "trackerStats"
] as const

/** A tracker as Transmission's trackerStats shows it (the fields the page reads). */
export interface TrackerStat {
  readonly announce: string
  /** tr_tracker_state: 0 inactive, 1 waiting, 2 queued, 3 active. */
  readonly announceState: number
  readonly hasAnnounced: boolean
  readonly lastAnnounceSucceeded: boolean
  readonly lastAnnounceResult: string
  readonly lastAnnouncePeerCount: number
}

export type ListTorrent = Pick<TorrentView, (typeof listFields)[number]>

export type DetailTorrent =
  & Pick<TorrentView, Exclude<(typeof detailFields)[number], "files" | "peers" | "trackerStats">>
  & {
    readonly files: ReadonlyArray<FileView>
    readonly peers: ReadonlyArray<Pick<PeerView, "address" | "port" | "clientName" | "rateToClient" | "rateToPeer" | "progress">>
    readonly trackerStats: ReadonlyArray<TrackerStat>
  }

/** torrent-get's reply. */
export interface Torrents<T> {
  readonly torrents: ReadonlyArray<T>
}

/** torrent-add's reply: the torrent added, or the one already there. */
export interface Added {
  readonly "torrent-added"?: { readonly name: string }
  readonly "torrent-duplicate"?: { readonly name: string }
}

// Transmission's tr_torrent_activity: the three waits are all a place in a queue.
const statusWords = ["Stopped", "Queued", "Checking", "Queued", "Downloading", "Queued", "Seeding"] as const

export const statusWord = (t: Pick<TorrentView, "status">): string => statusWords[t.status] ?? "Unknown"
