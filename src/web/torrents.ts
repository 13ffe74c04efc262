/**
 * What the page asks the daemon about its torrents, and the types of what comes back: torrent-get's
 * fields in Transmission's names, which for most fields are the session's own view (domain/SessionView.ts);
 * uploadRatio, metadataPercentComplete and trackerStats are Transmission's. The list polls only the fields
 * its table shows; the detail view's heavy ones (files, peers, trackers, pieces) are asked for the one
 * torrent that is open. Both ask for the torrent's category and tags (bt-effect's own fields, beside
 * Transmission's `labels`, which mixes the two).
 */
import type { FileView, PeerView, TorrentView } from "../domain/SessionView.js"

export const listFields = [
  "id", "name", "status", "percentDone", "rateDownload", "rateUpload", "peersConnected", "eta", "totalSize", "error",
  "errorString", "uploadRatio", "uploadedEver", "addedDate", "metadataPercentComplete", "category", "tags"
] as const

export const detailFields = [
  "id", "name", "hashString", "status", "totalSize", "percentDone", "downloadDir", "error", "errorString", "pieceCount",
  "pieceSize", "pieces", "files", "peers", "trackerStats", "uploadRatio", "uploadedEver", "downloadedEver", "addedDate",
  "metadataPercentComplete", "magnetLink", "fileStats", "category", "tags"
] as const

/** What Transmission adds to a torrent's view: its ratio (-1 none, -2 infinite) and the metadata fetched (0..1). */
interface Derived {
  readonly uploadRatio: number
  readonly metadataPercentComplete: number
}

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

type ViewField<F extends string> = Exclude<F, keyof Derived | "files" | "fileStats" | "peers" | "trackerStats">

export type ListTorrent = Pick<TorrentView, ViewField<(typeof listFields)[number]>> & Derived

export type DetailTorrent =
  & Pick<TorrentView, ViewField<(typeof detailFields)[number]>>
  & Derived
  & {
    /** Transmission's `files` and `fileStats`: what each file is, and whether it is wanted and at what priority. */
    readonly files: ReadonlyArray<Pick<FileView, "name" | "length" | "bytesCompleted">>
    readonly fileStats: ReadonlyArray<Pick<FileView, "bytesCompleted" | "wanted" | "priority">>
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

/** A magnet whose info dictionary is not in yet: its size, progress and ETA mean nothing so far. */
export const lacksMetadata = (t: Pick<Derived, "metadataPercentComplete">): boolean => t.metadataPercentComplete < 1

/** What a torrent without its metadata is doing about it, with the part fetched when the daemon tells. */
export const metadataWord = (t: Pick<TorrentView, "status"> & Pick<Derived, "metadataPercentComplete">): string => {
  if (t.status === 0) return "no metadata yet"
  const part = t.metadataPercentComplete
  return part > 0 && part < 1 ? `fetching metadata ${Math.floor(part * 100)}%` : "fetching metadata"
}
