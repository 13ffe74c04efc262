/**
 * One torrent's detail answers in the qBittorrent WebUI API (4.6's torrentscontroller.cpp): properties,
 * files, trackers (the DHT / PeX / LSD pseudo rows first), webseeds, pieceStates and pieceHashes, from the
 * session's view of it. Field names, JSON types and special values as qbittorrent-nox answers (notes/qbt-ref):
 * on properties the limits are -1 when unlimited and sizes -1 before a magnet's metadata; a file's
 * availability is -1 on a seed and `is_seed` is on the file of index 0 only.
 * Pure, beside QbtTorrents.ts (torrents/info's object), whose figures these share.
 */
import { type SessionSettings, Status, type TorrentView } from "../domain/SessionView.js"
import { downloadPath, infoHashes, pieceBits, type QbtContext, shareRatio, torrentEta } from "./QbtTorrents.js"

/** torrents/properties' object (its 39 fields in 4.5.2 and 4.6.7). */
export const properties = (v: TorrentView, context: QbtContext) => {
  const hashes = infoHashes(v)
  const running = v.status !== Status.Stopped
  const activeTime = v.secondsDownloading + v.secondsSeeding
  const downloadTime = activeTime - v.secondsSeeding
  const leechs = Math.max(0, v.peersConnected - v.seeds)
  const seedsTotal = Math.max(-1, ...v.trackers.map((t) => t.seeders))
  const leechsTotal = Math.max(-1, ...v.trackers.map((t) => t.leechers))
  const next = v.trackers.map((t) => t.nextAnnounceTime).filter((t) => t > 0)
  return {
    infohash_v1: hashes.v1,
    infohash_v2: hashes.v2,
    name: v.name,
    hash: v.hashString,
    time_elapsed: activeTime,
    seeding_time: v.secondsSeeding,
    eta: torrentEta(v, context),
    nb_connections: v.peersConnected,
    nb_connections_limit: v.maxPeers,
    total_downloaded: v.downloadedEver,
    total_downloaded_session: v.downloadedSession,
    total_uploaded: v.uploadedEver,
    total_uploaded_session: v.uploadedSession,
    dl_speed: running ? v.rateDownload : 0,
    // C++ integer division, by -1 when the torrent never ran (as qBittorrent does).
    dl_speed_avg: Math.trunc(v.downloadedEver / (downloadTime === 0 ? -1 : downloadTime)) || 0,
    up_speed: running ? v.rateUpload : 0,
    up_speed_avg: Math.trunc(v.uploadedEver / (activeTime === 0 ? -1 : activeTime)) || 0,
    dl_limit: v.downloadLimit <= 0 ? -1 : v.downloadLimit,
    up_limit: v.uploadLimit <= 0 ? -1 : v.uploadLimit,
    total_wasted: v.corruptEver,
    seeds: v.seeds,
    seeds_total: seedsTotal >= 0 ? seedsTotal : v.seeds,
    peers: leechs,
    peers_total: leechsTotal >= 0 ? leechsTotal : leechs,
    share_ratio: shareRatio(v),
    reannounce: next.length === 0 ? 0 : Math.max(0, Math.min(...next) - context.now),
    total_size: v.hasMetadata ? v.totalSize : -1,
    pieces_num: v.hasMetadata ? v.pieceCount : -1,
    piece_size: v.hasMetadata ? v.pieceSize : -1,
    pieces_have: v.hasMetadata ? pieceBits(v.pieces, v.pieceCount).filter((b) => b === 1).length : 0,
    created_by: v.creator,
    is_private: v.isPrivate,
    addition_date: v.addedDate,
    last_seen: v.hasMetadata && v.peers.some((p) => p.progress >= 1) ? context.now : -1,
    completion_date: v.hasMetadata && v.doneDate > 0 ? v.doneDate : -1,
    creation_date: v.hasMetadata && v.dateCreated > 0 ? v.dateCreated : -1,
    save_path: v.savePath,
    download_path: downloadPath(v),
    comment: v.comment
  }
}

/** qBittorrent's file priorities: 0 not downloaded, 1 normal, 6 high (7, maximum, is never shown: ours has
 *  three levels, and low and normal are both qBittorrent's normal). */
export const filePriority = (wanted: boolean, priority: number): 0 | 1 | 6 => (!wanted ? 0 : priority > 0 ? 6 : 1)

/** A seed (every piece had): libtorrent gives no piece availability then, and files show -1. */
const seed = (v: TorrentView): boolean => v.hasMetadata && v.totalSize > 0 && v.haveValid >= v.totalSize

/** torrents/files: the files at `indexes` (all by default), [] before the metadata. The indexes are checked
 *  by the caller (409 for a bad one, as qBittorrent). */
export const files = (v: TorrentView, indexes?: ReadonlyArray<number>) => {
  if (!v.hasMetadata) return []
  const isSeed = seed(v)
  const finished = v.percentDone >= 1
  return (indexes ?? v.files.map((_, i) => i)).flatMap((index) => {
    const f = v.files[index]
    if (f === undefined) return []
    const [first, last] = f.pieceRange
    let available = 0
    for (let p = first; p <= last; p++) available += (v.availability[p] ?? 0) > 0 ? 1 : 0
    return [{
      index,
      name: f.name,
      size: f.length,
      progress: f.length === 0 ? 1 : f.bytesCompleted / f.length,
      priority: filePriority(f.wanted, f.priority),
      piece_range: [first, last],
      availability: isSeed ? -1 : f.length === 0 ? 1 : available / (last - first + 1),
      ...(index === 0 ? { is_seed: finished } : {})
    }]
  })
}

/** qBittorrent's tracker statuses: 0 disabled, 1 not contacted yet, 2 working, 3 updating, 4 not working. */
export const trackerStatus = (state: string): 0 | 1 | 2 | 3 | 4 => (state === "working" ? 2 : state === "failed" ? 4 : 1)

/** torrents/trackers: the pseudo rows of DHT, PeX and LSD (working when on and the torrent is not private;
 *  bt-effect has no LSD), then the torrent's trackers. */
export const trackers = (v: TorrentView, settings: SessionSettings) => {
  const msg = v.isPrivate ? "This torrent is private" : ""
  const pseudo = (url: string, on: boolean) => ({
    url, tier: -1, msg, status: on && !v.isPrivate ? 2 : 0, num_peers: 0, num_downloaded: 0, num_seeds: 0, num_leeches: 0
  })
  return [
    pseudo("** [DHT] **", settings.dhtEnabled),
    pseudo("** [PeX] **", settings.pexEnabled),
    pseudo("** [LSD] **", false),
    ...v.trackers.map((t) => {
      const answered = t.state === "working"
      return {
        url: t.announce,
        tier: t.tier,
        status: trackerStatus(t.state),
        msg: t.state === "failed" ? t.lastError : "",
        num_peers: answered ? t.peers : -1,
        num_seeds: t.seeders,
        num_leeches: t.leechers,
        num_downloaded: -1
      }
    })
  ]
}

/** torrents/webseeds. */
export const webseeds = (v: TorrentView) => v.webseeds.map((url) => ({ url }))

/** torrents/pieceStates: 2 had, 1 being downloaded, 0 neither ([] before the metadata). */
export const pieceStates = (v: TorrentView): Array<number> => {
  if (!v.hasMetadata) return []
  const states: Array<number> = pieceBits(v.pieces, v.pieceCount).map((b) => b * 2)
  for (const piece of v.piecesInProgress) if (states[piece] === 0) states[piece] = 1
  return states
}

/** torrents/pieceHashes: each piece's hash in hex ([] before the metadata). */
export const pieceHashes = (v: TorrentView): ReadonlyArray<string> => (v.hasMetadata ? v.pieceHashes : [])
