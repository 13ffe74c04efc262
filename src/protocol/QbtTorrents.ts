/**
 * A torrent as the qBittorrent WebUI API (4.6, web API 2.9.x) shows it, from the session's view of it:
 * torrents/info's object (serialize_torrent.cpp at release-4.6.7: the 4.5.2 fields plus
 * `inactive_seeding_time_limit` and `max_inactive_seeding_time`), its state name (TorrentImpl::updateState)
 * and the figures the detail answers (QbtTorrentDetails.ts) share: info hashes, share limits, ratio, ETA,
 * availability, paths. Field names, JSON types and special values are those qbittorrent-nox answers (the
 * catalog in notes/qbt-ref): eta 8640000 for "never", -1 / -2 for "no limit" / "the session's", availability
 * -1 for a seed, total_size -1 before a magnet's metadata.
 * Pure: the API's endpoints and sync/maindata build their answers from these.
 */
import * as path from "node:path"
import { LimitMode } from "../domain/SeedGoals.js"
import { type SessionSettings, Status, type TorrentView } from "../domain/SessionView.js"

/** What a torrent's answer needs besides its view: the session's goals and switches, and the time. */
export interface QbtContext {
  readonly settings: SessionSettings
  /** Seconds since the epoch. */
  readonly now: number
  /** Each unfinished torrent's place in qBittorrent's queue (`queueRanks`), by hash; without it, the view's
   *  queue position (over every torrent, as Transmission numbers them) + 1. */
  readonly queueRanks?: ReadonlyMap<string, number>
}

/** qBittorrent's "infinite" ETA (MAX_ETA, 100 days). */
export const maxEta = 8640000
/** qBittorrent's ratio ceiling (Torrent::MAX_RATIO). */
const maxRatio = 9999

/** torrents/info's object for one torrent: every field qBittorrent 4.6.7's serialize() writes (a type, not an
 *  interface, so that it passes as a plain record of fields). */
export type QbtTorrentInfo = {
  readonly hash: string
  readonly infohash_v1: string
  readonly infohash_v2: string
  readonly name: string
  readonly magnet_uri: string
  readonly size: number
  readonly progress: number
  readonly dlspeed: number
  readonly upspeed: number
  readonly priority: number
  readonly num_seeds: number
  readonly num_complete: number
  readonly num_leechs: number
  readonly num_incomplete: number
  readonly state: QbtState
  readonly eta: number
  readonly seq_dl: boolean
  readonly f_l_piece_prio: boolean
  readonly category: string
  readonly tags: string
  readonly super_seeding: boolean
  readonly force_start: boolean
  readonly save_path: string
  readonly download_path: string
  readonly content_path: string
  readonly added_on: number
  readonly completion_on: number
  readonly tracker: string
  readonly trackers_count: number
  readonly dl_limit: number
  readonly up_limit: number
  readonly downloaded: number
  readonly uploaded: number
  readonly downloaded_session: number
  readonly uploaded_session: number
  readonly amount_left: number
  readonly completed: number
  readonly max_ratio: number
  readonly max_seeding_time: number
  readonly max_inactive_seeding_time: number
  readonly ratio: number
  readonly ratio_limit: number
  readonly seeding_time_limit: number
  readonly inactive_seeding_time_limit: number
  readonly seen_complete: number
  readonly auto_tmm: boolean
  readonly time_active: number
  readonly seeding_time: number
  readonly last_activity: number
  readonly availability: number
  readonly total_size: number
}

/** qBittorrent 4.x's state names (serialize_torrent.cpp's torrentStateToString). */
export type QbtState =
  | "error" | "missingFiles" | "uploading" | "pausedUP" | "queuedUP" | "stalledUP" | "checkingUP" | "forcedUP"
  | "downloading" | "metaDL" | "forcedMetaDL" | "pausedDL" | "queuedDL" | "stalledDL" | "checkingDL" | "forcedDL"
  | "checkingResumeData" | "moving"

// --- what the view says, in qBittorrent's terms ---

/** The v1 and v2 info hashes: the view's hash is the v1 one unless its link names the torrent by v2 only
 *  (`urn:btmh:1220<sha-256>`), and the v2 one is read from that link ("" for a v1-only torrent). */
export const infoHashes = (view: TorrentView): { readonly v1: string; readonly v2: string } => {
  const link = view.magnetLink.toLowerCase()
  const v2 = /xt=urn:btmh:1220([0-9a-f]{64})/.exec(link)?.[1] ?? ""
  const v1 = v2 !== "" && !link.includes("xt=urn:btih:") ? "" : view.hashString
  return { v1, v2 }
}

/** qBittorrent's queue numbers only the torrents not finished (1 first; a seed shows 0): each one's place
 *  among them, in the session's queue order. */
export const queueRanks = (views: ReadonlyArray<TorrentView>): ReadonlyMap<string, number> =>
  new Map(
    views.filter((v) => !finished(v)).sort((a, b) => a.queuePosition - b.queuePosition).map((v, i) => [v.hashString, i + 1])
  )

/** libtorrent's finished: every wanted piece is had (qBittorrent's isFinished, its "UP" states). */
const finished = (v: TorrentView): boolean => v.hasMetadata && v.percentDone >= 1

/** libtorrent's is_seed: every piece is had (no picker: availability -1). */
const isSeed = (v: TorrentView): boolean => v.hasMetadata && v.totalSize > 0 && v.haveValid >= v.totalSize

/** A run stopped by an error on its files: deleted or replaced under it (FileStorage's stamps), or gone. */
const missingFiles = (v: TorrentView): boolean =>
  /(deleted|replaced) while the torrent was using it|no such file/i.test(v.errorString)

const running = (v: TorrentView): boolean => v.status !== Status.Stopped

/** The torrent's state, as TorrentImpl::updateState decides it. Transmission's CheckWait (a torrent starting,
 *  waiting for its turn to look at its data) is qBittorrent's checkingResumeData; a check is checkingUP/DL. */
export const torrentState = (v: TorrentView): QbtState => {
  if (v.error !== 0) return missingFiles(v) ? "missingFiles" : "error"
  if (v.status === Status.CheckWait && v.hasMetadata) return "checkingResumeData"
  if (v.moving) return "moving"
  const paused = !running(v)
  const queued = v.status === Status.DownloadWait || v.status === Status.SeedWait || v.status === Status.CheckWait
  const forced = v.forced && !paused
  if (!v.hasMetadata) return paused ? "pausedDL" : queued ? "queuedDL" : forced ? "forcedMetaDL" : "metaDL"
  if (v.status === Status.Check) return finished(v) ? "checkingUP" : "checkingDL"
  if (finished(v)) {
    return paused ? "pausedUP" : queued ? "queuedUP" : forced ? "forcedUP" : v.rateUpload > 0 ? "uploading" : "stalledUP"
  }
  return paused ? "pausedDL" : queued ? "queuedDL" : forced ? "forcedDL" : v.rateDownload > 0 ? "downloading" : "stalledDL"
}

/** A torrent's own limit in qBittorrent's numbers: -2 the session's, -1 none, else its value. */
const ownLimit = (mode: LimitMode, value: number): number =>
  mode === LimitMode.Global ? -2 : mode === LimitMode.Unlimited ? -1 : value

/** The limit in force (-1 none): its own, or the session's when it follows the session. */
const limitInForce = (own: number, sessionOn: boolean, sessionValue: number): number =>
  own === -2 ? (sessionOn ? sessionValue : -1) : own

/** The share limits as qBittorrent names them: ratio, seeding minutes, inactive seeding minutes. */
export const shareLimits = (v: TorrentView, s: SessionSettings) => {
  const ratioLimit = ownLimit(v.seedRatioMode, v.seedRatioLimit)
  const seedingTimeLimit = ownLimit(v.seedTimeMode, v.seedTimeLimit)
  const inactiveLimit = ownLimit(v.seedIdleMode, v.seedIdleLimit)
  return {
    ratio_limit: ratioLimit,
    seeding_time_limit: seedingTimeLimit,
    inactive_seeding_time_limit: inactiveLimit,
    max_ratio: limitInForce(ratioLimit, s.seedRatioLimited, s.seedRatioLimit),
    max_seeding_time: limitInForce(seedingTimeLimit, s.seedTimeLimited, s.seedTimeLimit),
    max_inactive_seeding_time: limitInForce(inactiveLimit, s.idleSeedingLimitEnabled, s.idleSeedingLimit)
  }
}

/** TorrentImpl::realRatio: uploaded over downloaded (over what it has, for a torrent mostly not downloaded
 *  by us); -1 past the ceiling, as serialize's adjustRatio. */
export const shareRatio = (v: TorrentView): number => {
  const download = v.downloadedEver < v.haveValid * 0.01 ? v.haveValid : v.downloadedEver
  const ratio = download === 0 ? (v.uploadedEver === 0 ? 0 : maxRatio) : Math.min(v.uploadedEver / download, maxRatio)
  return ratio > maxRatio ? -1 : ratio
}

/** Seconds since the torrent last moved data (-1 never, or not running). */
const timeSinceActivity = (v: TorrentView, now: number): number =>
  v.activityDate === 0 ? -1 : Math.max(0, now - v.activityDate)

/** TorrentImpl::eta: a seed's time to its nearest share goal, a download's time to completion at its rate;
 *  8640000 when stopped or never. */
export const torrentEta = (v: TorrentView, context: QbtContext): number => {
  if (!running(v)) return maxEta
  if (finished(v)) {
    const limits = shareLimits(v, context.settings)
    if (limits.max_ratio < 0 && limits.max_seeding_time < 0 && limits.max_inactive_seeding_time < 0) return maxEta
    let ratioEta = maxEta
    if (v.rateUpload > 0 && limits.max_ratio >= 0) {
      const downloaded = v.downloadedEver > 0 ? v.downloadedEver : v.sizeWhenDone
      ratioEta = Math.trunc((downloaded * limits.max_ratio - v.uploadedEver) / v.rateUpload)
    }
    const seedingEta = limits.max_seeding_time >= 0 ? Math.max(0, limits.max_seeding_time * 60 - v.secondsSeeding) : maxEta
    const idle = timeSinceActivity(v, context.now)
    const inactiveEta = limits.max_inactive_seeding_time >= 0 ? Math.max(0, limits.max_inactive_seeding_time * 60 - idle) : maxEta
    return Math.min(ratioEta, seedingEta, inactiveEta, maxEta)
  }
  if (v.rateDownload <= 0) return maxEta
  return Math.min(maxEta, Math.trunc(v.leftUntilDone / v.rateDownload))
}

/** libtorrent's distributed_copies: the fewest copies of any piece among the peers and us, plus the share of
 *  pieces with more (in thousandths); -1 for a seed. */
export const distributedCopies = (v: TorrentView): number => {
  if (isSeed(v)) return -1
  if (!v.hasMetadata || v.pieceCount === 0) return 0
  const have = pieceBits(v.pieces, v.pieceCount)
  let least = Number.POSITIVE_INFINITY
  let more = 0
  let atLeast = 0
  for (let i = 0; i < v.pieceCount; i++) {
    const copies = (v.availability[i] ?? 0) + (have[i] === 1 ? 1 : 0)
    if (copies < least) {
      more += atLeast
      atLeast = 1
      least = copies
    } else if (copies === least) atLeast++
    else more++
  }
  return least + Math.floor((more * 1000) / v.pieceCount) / 1000
}

/** Each piece as 0 (missing) or 1 (had), from a BEP 3 bitfield in base64. */
export const pieceBits = (base64: string, count: number): Array<0 | 1> => {
  const bytes = Buffer.from(base64, "base64")
  return Array.from({ length: count }, (_, i) => (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) as 0 | 1)
}

/** Where the data is: a single file's path, or the torrent's folder (TorrentImpl::contentPath); "" before
 *  the metadata. It is under the folder the data is in now (the incomplete folder while it downloads there). */
export const contentPath = (v: TorrentView): string => {
  const first = v.files[0]
  if (!v.hasMetadata || first === undefined) return ""
  if (v.files.length === 1) return path.join(v.downloadDir, first.name)
  const root = first.name.split("/")[0] ?? ""
  return root === "" ? v.downloadDir : path.join(v.downloadDir, root)
}

/** The incomplete folder while the torrent downloads there, else "" (qBittorrent's download_path). */
export const downloadPath = (v: TorrentView): string => (v.downloadDir !== v.savePath ? v.downloadDir : "")

/** Seeds and leechers in the swarm: the trackers' counts when any knows, else the connected ones. */
const swarm = (v: TorrentView) => {
  const seeders = Math.max(-1, ...v.trackers.map((t) => t.seeders))
  const leechers = Math.max(-1, ...v.trackers.map((t) => t.leechers))
  const leechs = Math.max(0, v.peersConnected - v.seeds)
  return { seeds: v.seeds, leechs, complete: seeders >= 0 ? seeders : v.seeds, incomplete: leechers >= 0 ? leechers : leechs }
}

/** The tracker it last heard from ("" none). */
const currentTracker = (v: TorrentView): string => v.trackers.find((t) => t.state === "working")?.announce ?? ""

/** Wanted bytes had (libtorrent's total_wanted_done). */
const completedBytes = (v: TorrentView): number => Math.max(0, v.sizeWhenDone - v.leftUntilDone)

/** torrents/info's object (and sync/maindata's, without `hash`). */
export const torrentInfo = (v: TorrentView, context: QbtContext): QbtTorrentInfo => {
  const hashes = infoHashes(v)
  const peers = swarm(v)
  const paused = !running(v)
  return {
    hash: v.hashString,
    infohash_v1: hashes.v1,
    infohash_v2: hashes.v2,
    name: v.name,
    magnet_uri: v.magnetLink,
    size: v.hasMetadata ? v.sizeWhenDone : 0,
    progress: v.status === Status.Check ? v.recheckProgress : v.percentDone,
    dlspeed: paused ? 0 : v.rateDownload,
    upspeed: paused ? 0 : v.rateUpload,
    priority: finished(v) ? 0 : context.queueRanks?.get(v.hashString) ?? v.queuePosition + 1,
    num_seeds: peers.seeds,
    num_complete: peers.complete,
    num_leechs: peers.leechs,
    num_incomplete: peers.incomplete,
    state: torrentState(v),
    eta: torrentEta(v, context),
    seq_dl: v.sequential,
    f_l_piece_prio: false,
    category: v.category,
    tags: v.tags.join(", "),
    super_seeding: false,
    force_start: v.forced && !paused,
    save_path: v.savePath,
    download_path: downloadPath(v),
    content_path: contentPath(v),
    added_on: v.addedDate,
    completion_on: v.doneDate,
    tracker: currentTracker(v),
    trackers_count: v.trackers.length,
    dl_limit: v.downloadLimit,
    up_limit: v.uploadLimit,
    downloaded: v.downloadedEver,
    uploaded: v.uploadedEver,
    downloaded_session: v.downloadedSession,
    uploaded_session: v.uploadedSession,
    amount_left: v.leftUntilDone,
    completed: completedBytes(v),
    ...shareLimits(v, context.settings),
    ratio: shareRatio(v),
    seen_complete: v.peers.some((p) => p.progress >= 1) ? context.now : 0,
    auto_tmm: v.autoManaged,
    time_active: v.secondsDownloading + v.secondsSeeding,
    seeding_time: v.secondsSeeding,
    last_activity: v.activityDate === 0 ? v.addedDate : v.activityDate,
    availability: distributedCopies(v),
    total_size: v.hasMetadata ? v.totalSize : -1
  }
}
