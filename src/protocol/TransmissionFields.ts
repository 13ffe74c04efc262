/**
 * What the Transmission RPC reports of torrents: torrent-get's fields from a TorrentView (the session's are
 * in TransmissionSession.ts). Pure; every name snake_case (TransmissionRpc renames results for classic
 * clients).
 *
 * Every value is the torrent's or the session's own, computed as Transmission computes it (eta, isStalled,
 * isFinished, the seeding goals: domain/SeedGoals.ts). Transmission clients expect every key they ask for,
 * so what bt-effect does not have is reported as Transmission reports it when off or empty (blocklist,
 * scripts, labels, bandwidth groups, web seeds sending) rather than left out: a missing key
 * breaks some front ends, and "off" is the truth. Numbers have the JSON type Transmission gives them
 * (test/interop/transmission-rpc-types.test.ts compares with transmission-daemon): a client such as
 * transmission-remote 3.00 refuses a fraction where it reads an integer.
 */
import { type Json, type JsonObject, toSnake } from "./TransmissionRpc.js"
import { bytesToKilobytes } from "./TransmissionSetters.js"
import { type Activity, idleGoal, idleSeconds, isStalled, ratioBytes, ratioGoal, type SessionGoals, type StallRule } from "../domain/SeedGoals.js"
import { type FileView, type PeerView, type TorrentView, type TrackerView, Status } from "../domain/SessionView.js"
import { primaryMimeType } from "../domain/MimeTypes.js"
import { labelsOf } from "../domain/Categories.js"

/** What a torrent's fields need besides its view: the time, and the session's goals and stall rule. */
export interface TorrentContext {
  /** Seconds since the epoch. */
  readonly now: number
  readonly session: SessionGoals & StallRule
}

/** Transmission's ETA_NOT_AVAIL and ETA_UNKNOWN. */
const notAvailable = -1
const unknown = -2

const leftUntilDone = (v: TorrentView): number => (v.hasMetadata ? v.leftUntilDone : 0)

/** Downloading or seeding (tr_torrentGetActivity's DOWNLOAD and SEED). */
const transferring = (v: TorrentView): boolean => v.status === Status.Download || v.status === Status.Seed

const activityOf = (v: TorrentView): Activity => ({ active: transferring(v), startDate: v.startDate, activityDate: v.activityDate })

const transferOf = (v: TorrentView) => ({ downloadedEver: v.downloadedEver, uploadedEver: v.uploadedEver, sizeWhenDone: v.sizeWhenDone })

/** The verified pieces, from the view's base64 bitfield. */
const haveBits = (v: TorrentView): Uint8Array => Buffer.from(v.pieces, "base64")

const bitSet = (bits: Uint8Array, i: number): boolean => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0

const pieceBytes = (v: TorrentView, piece: number): number =>
  piece === v.pieceCount - 1 ? v.totalSize - piece * v.pieceSize : v.pieceSize

/** tr_peerMgrGetDesiredAvailable: the bytes of wanted pieces still missing that the connected peers have. */
const desiredAvailable = (v: TorrentView): number => {
  if (v.peersConnected === 0 || !v.hasMetadata) return 0
  const have = haveBits(v)
  const wanted = Buffer.from(v.wantedPieces, "base64")
  const availability = v.availability
  let bytes = 0
  for (let i = 0; i < v.pieceCount; i++) {
    if (bitSet(wanted, i) && !bitSet(have, i) && (availability[i] ?? 0) > 0) bytes += pieceBytes(v, i)
  }
  return bytes
}

/**
 * tr_torrentStat's eta: downloading, the time to the end at the current rate (-1 when the peers do not
 * have what is left, -2 without a rate); seeding, the time to the ratio goal at the upload rate (-1 without
 * one, -2 without a rate); else -1.
 */
const eta = (v: TorrentView, c: TorrentContext): number => {
  if (v.status === Status.Download) {
    const left = leftUntilDone(v)
    if (left > desiredAvailable(v)) return notAvailable
    return v.rateDownload >= 1 ? Math.floor(left / v.rateDownload) : unknown
  }
  if (v.status === Status.Seed) {
    const ratio = ratioGoal(v, c.session)
    if (ratio === undefined) return notAvailable
    return v.rateUpload >= 1 ? Math.floor(ratioBytes(ratio, transferOf(v)).left / v.rateUpload) : unknown
  }
  return notAvailable
}

/** Seconds until a seed with no upload reaches its idle goal; else -1. */
const etaIdle = (v: TorrentView, c: TorrentContext): number => {
  const minutes = idleGoal(v, c.session)
  if (v.status !== Status.Seed || v.rateUpload >= 1 || minutes === undefined) return notAvailable
  return minutes * 60 - idleSeconds(activityOf(v), c.now)
}

/** Stopped by a goal: idle, or a ratio reached (tr_stat.finished). */
const isFinished = (v: TorrentView, c: TorrentContext): boolean => {
  if (v.idleLimitReached) return true
  const ratio = ratioGoal(v, c.session)
  return ratio !== undefined && leftUntilDone(v) === 0 && v.hasMetadata && ratioBytes(ratio, transferOf(v)).left === 0 && v.haveValid !== 0
}

/** tr_getRatio: uploaded over downloaded (or over what we have, for a torrent we only seed); -1 none, -2 infinite. */
const ratio = (v: TorrentView): number => {
  const base = v.downloadedEver > 0 ? v.downloadedEver : v.haveValid
  return base > 0 ? v.uploadedEver / base : v.uploadedEver > 0 ? -2 : -1
}

const pieceSpan = (v: TorrentView) => {
  let offset = 0
  return v.files.map((f: FileView) => {
    const begin = v.pieceSize > 0 ? Math.floor(offset / v.pieceSize) : 0
    offset += f.length
    const end = v.pieceSize > 0 ? Math.max(begin, Math.ceil(offset / v.pieceSize)) : 0
    return { begin, end }
  })
}

/** Hosts of the tracker URLs seen, remembered: every torrent of a list names its trackers' hosts twice,
 *  and a URL parse is the dearest part of a torrent's tracker stats. Bounded. */
const hosts = new Map<string, string>()

const hostOf = (url: string): string => {
  const known = hosts.get(url)
  if (known !== undefined) return known
  let host = ""
  try {
    host = new URL(url).host
  } catch {
    // not a URL: no host
  }
  if (hosts.size < 4096) hosts.set(url, host)
  return host
}

/** "tracker.example.org" → "example": the site name Transmission 4 shows; an address is its own. */
const siteName = (url: string): string => {
  const host = hostOf(url).replace(/:\d+$/, "")
  if (/^[\d.]+$/.test(host) || host.startsWith("[")) return host
  const parts = host.split(".")
  return parts.length >= 2 ? parts[parts.length - 2]! : parts[0] ?? ""
}

const scrapeUrl = (announce: string): string => {
  const at = announce.lastIndexOf("/")
  return at >= 0 && announce.slice(at + 1).startsWith("announce") ? announce.slice(0, at + 1) + "scrape" + announce.slice(at + 9) : ""
}

// tr_tracker_state: 0 inactive, 1 waiting, 2 queued, 3 active
const announceState = (t: TrackerView): number => (t.state === "working" ? 3 : t.state === "waiting" ? 1 : 0)

const tracker = (t: TrackerView, id: number): JsonObject => ({
  announce: t.announce,
  id,
  scrape: scrapeUrl(t.announce),
  sitename: siteName(t.announce),
  tier: t.tier
})

// One literal, no spread of `tracker`: a spread makes V8 build each of these 28-key objects the slow way,
// and a list of 1,000 torrents builds 1,000 of them (a third of its time).
const trackerStat = (t: TrackerView, id: number): JsonObject => ({
  announce: t.announce,
  id,
  scrape: scrapeUrl(t.announce),
  sitename: siteName(t.announce),
  tier: t.tier,
  announce_state: announceState(t),
  download_count: -1,
  downloader_count: -1,
  has_announced: t.state === "working" || t.state === "failed",
  has_scraped: false,
  host: hostOf(t.announce),
  is_backup: false,
  last_announce_peer_count: t.peers,
  last_announce_result: t.state === "failed" ? t.lastError : t.state === "working" ? "Success" : "",
  last_announce_start_time: 0,
  last_announce_succeeded: t.state === "working",
  last_announce_time: 0,
  last_announce_timed_out: false,
  last_scrape_result: "",
  last_scrape_start_time: 0,
  last_scrape_succeeded: false,
  last_scrape_time: 0,
  last_scrape_timed_out: false,
  leecher_count: t.leechers,
  next_announce_time: t.nextAnnounceTime,
  next_scrape_time: 0,
  scrape_state: 0,
  seeder_count: t.seeders
})

/**
 * A rate as Transmission sends it: whole bytes per second. Our meters give fractions, and clients parse
 * these fields as integers: transmission-remote 3.00 left a torrent out of `-l` (every row needs its
 * rates as integers) for as long as it moved data.
 */
export const wholeRate = (bytesPerSecond: number): number => Math.round(bytesPerSecond)

const peer = (p: PeerView): JsonObject => ({
  address: p.address,
  bytes_to_client: p.bytesToClient,
  bytes_to_peer: p.bytesToPeer,
  client_is_choked: !p.isDownloadingFrom,
  client_is_interested: p.isDownloadingFrom,
  client_name: p.clientName,
  // Transmission's letters in its order: E (encrypted) comes before I (incoming).
  // T (uTP) last.
  flag_str: (p.isDownloadingFrom ? "D" : "") + (p.isUploadingTo ? "U" : "") + (p.isEncrypted === true ? "E" : "") + (p.isIncoming ? "I" : "") +
    (p.isUtp === true ? "T" : ""),
  is_downloading_from: p.isDownloadingFrom,
  is_encrypted: p.isEncrypted === true,
  is_incoming: p.isIncoming,
  is_uploading_to: p.isUploadingTo,
  is_utp: p.isUtp === true,
  peer_id: p.peerId,
  peer_is_choked: !p.isUploadingTo,
  peer_is_interested: p.isUploadingTo,
  port: p.port,
  progress: p.progress,
  rate_to_client: wholeRate(p.rateToClient),
  rate_to_peer: wholeRate(p.rateToPeer)
})

const trackerList = (trackers: ReadonlyArray<TrackerView>): string => {
  const lines: Array<string> = []
  let tier: number | undefined
  for (const t of trackers) {
    if (tier !== undefined && t.tier !== tier) lines.push("")
    lines.push(t.announce)
    tier = t.tier
  }
  return lines.join("\n")
}

type Field = (v: TorrentView, c: TorrentContext) => Json

const torrentFields: { readonly [snake: string]: Field } = {
  activity_date: (v) => v.activityDate,
  added_date: (v) => v.addedDate,
  availability: (v) => v.availability,
  // bt-effect gives every torrent the same share: Transmission's normal priority.
  bandwidth_priority: () => 0,
  bytes_completed: (v) => v.files.map((f) => f.bytesCompleted),
  comment: (v) => v.comment,
  corrupt_ever: (v) => v.corruptEver,
  creator: (v) => v.creator,
  date_created: (v) => v.dateCreated,
  desired_available: desiredAvailable,
  done_date: (v) => v.doneDate,
  download_dir: (v) => v.downloadDir,
  downloaded_ever: (v) => v.downloadedEver,
  download_limit: (v) => (v.downloadLimit > 0 ? bytesToKilobytes(v.downloadLimit) : v.rememberedDownloadLimit),
  download_limited: (v) => v.downloadLimit > 0,
  // Transmission changes it when trackers or the name are edited, which bt-effect does not do.
  edit_date: () => 0,
  error: (v) => v.error,
  error_string: (v) => v.errorString,
  eta,
  eta_idle: etaIdle,
  file_count: (v) => v.files.length,
  files: (v) => {
    const spans = pieceSpan(v)
    return v.files.map((f, i) => ({
      begin_piece: spans[i]!.begin,
      bytes_completed: f.bytesCompleted,
      end_piece: spans[i]!.end,
      length: f.length,
      name: f.name
    }))
  },
  file_stats: (v) => v.files.map((f) => ({ bytes_completed: f.bytesCompleted, priority: f.priority, wanted: f.wanted })),
  group: () => "",
  hash_string: (v) => v.hashString,
  // Blocks are kept in memory until their piece is verified, never on disk unchecked.
  have_unchecked: () => 0,
  have_valid: (v) => v.haveValid,
  honors_session_limits: () => true,
  id: (v) => v.id,
  is_finished: isFinished,
  is_private: (v) => v.isPrivate,
  is_stalled: (v, c) => isStalled(c.session, activityOf(v), c.now),
  labels: (v) => labelsOf(v.category, v.tags),
  // bt-effect's own, not Transmission's: `labels` mixes the category and the tags, the web interface tells them apart.
  category: (v) => v.category,
  tags: (v) => [...v.tags],
  left_until_done: leftUntilDone,
  magnet_link: (v) => v.magnetLink,
  // A manual announce (torrent-reannounce) is allowed at any time.
  manual_announce_time: () => 0,
  max_connected_peers: (v) => v.maxPeers,
  metadata_percent_complete: (v) => v.metadataPercentComplete,
  name: (v) => v.name,
  peer_limit: (v) => v.maxPeers,
  peers: (v) => v.peers.map(peer),
  peers_connected: (v) => v.peersConnected,
  // Where each address came from is not kept: the peers that dialled us are counted as such, the others
  // under the trackers, the one source every torrent has.
  peers_from: (v) => {
    const incoming = v.peers.filter((p) => p.isIncoming).length
    return {
      from_cache: 0,
      from_dht: 0,
      from_incoming: incoming,
      from_lpd: 0,
      from_ltep: 0,
      from_pex: 0,
      from_tracker: v.peersConnected - incoming
    }
  },
  peers_getting_from_us: (v) => v.peers.filter((p) => p.isUploadingTo).length,
  peers_sending_to_us: (v) => v.peers.filter((p) => p.isDownloadingFrom).length,
  // tr_cpPercentComplete: of every file, wanted or not (percent_done is of the wanted ones).
  percent_complete: (v) => (v.totalSize > 0 ? v.haveValid / v.totalSize : v.hasMetadata ? 1 : 0),
  percent_done: (v) => v.percentDone,
  pieces: (v) => v.pieces,
  piece_count: (v) => v.pieceCount,
  piece_size: (v) => v.pieceSize,
  primary_mime_type: (v) => primaryMimeType(v.files),
  priorities: (v) => v.files.map((f) => f.priority),
  queue_position: (v) => v.queuePosition,
  rate_download: (v) => wholeRate(v.rateDownload),
  rate_upload: (v) => wholeRate(v.rateUpload),
  recheck_progress: (v) => v.recheckProgress,
  seconds_downloading: (v) => v.secondsDownloading,
  seconds_seeding: (v) => v.secondsSeeding,
  seed_idle_limit: (v) => v.seedIdleLimit,
  seed_idle_mode: (v) => v.seedIdleMode,
  seed_ratio_limit: (v) => v.seedRatioLimit,
  seed_ratio_mode: (v) => v.seedRatioMode,
  // Rarest first, always.
  sequential_download: () => false,
  sequential_download_from_piece: () => 0,
  size_when_done: (v) => v.sizeWhenDone,
  source: (v) => v.source,
  start_date: (v) => v.startDate,
  status: (v) => v.status,
  torrent_file: (v) => v.torrentFile,
  total_size: (v) => v.totalSize,
  trackers: (v) => v.trackers.map(tracker),
  tracker_list: (v) => trackerList(v.trackers),
  tracker_stats: (v) => v.trackers.map(trackerStat),
  uploaded_ever: (v) => v.uploadedEver,
  upload_limit: (v) => (v.uploadLimit > 0 ? bytesToKilobytes(v.uploadLimit) : v.rememberedUploadLimit),
  upload_limited: (v) => v.uploadLimit > 0,
  upload_ratio: ratio,
  // Integers 1 and 0, as Transmission 3.00 sends them (fileStats' `wanted` is a boolean).
  wanted: (v) => v.files.map((f) => (f.wanted ? 1 : 0)),
  webseeds: (v) => v.webseeds,
  // Web seeds are listed but not downloaded from.
  webseeds_sending_to_us: () => 0
}

/** The fields bt-effect answers, in snake_case. */
export const torrentFieldNames: ReadonlyArray<string> = Object.keys(torrentFields)

/** One torrent with the asked-for fields under the names asked; unknown names are left out. */
export const torrentObject = (v: TorrentView, fields: ReadonlyArray<string>, c: TorrentContext): JsonObject => {
  const out: { [key: string]: Json } = {}
  for (const name of fields) {
    const field = torrentFields[toSnake(name)]
    if (field !== undefined) out[name] = field(v, c)
  }
  return out
}

/** The "table" format: the known field names, then one row of values per torrent. */
export const torrentTable = (views: ReadonlyArray<TorrentView>, fields: ReadonlyArray<string>, c: TorrentContext): ReadonlyArray<Json> => {
  const known = fields.filter((f) => torrentFields[toSnake(f)] !== undefined)
  return [known, ...views.map((v) => known.map((f) => torrentFields[toSnake(f)]!(v, c)))]
}
