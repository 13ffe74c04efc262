/**
 * What the Transmission RPC reports, from what a session shows: torrent-get's fields from a TorrentView,
 * session-get's from SessionSettings, session-stats' from SessionStats. Pure; every name snake_case
 * (TransmissionRpc renames results for classic clients).
 *
 * Transmission clients expect every key they ask for, so features bt-effect does not have are reported
 * as off or empty (alt speeds, blocklist, scripts, seeding goals, file priorities) rather than left out:
 * a missing key breaks some front ends, and "off" is the truth.
 */
import { bytesToKilobytes, type Json, type JsonObject, speedUnit, toSnake } from "./TransmissionRpc.js"
import { type FileView, type PeerView, type SessionSettings, type SessionStats, type TorrentView, type TrackerView, Status } from "../domain/SessionView.js"

export const rpcVersion = 17
export const rpcVersionMinimum = 14
export const rpcVersionSemver = "5.3.0"

/** What a torrent's fields need besides its view. */
export interface TorrentContext {
  /** Seconds since the epoch. */
  readonly now: number
  /** The limits kept while a torrent's limit is off (kB/s), as Transmission shows them. */
  readonly rememberedDownloadLimit: number
  readonly rememberedUploadLimit: number
}

// Transmission's eta: -1 not available (done), -2 unknown (and so for a magnet without its metadata).
// TorrentView's: -1 unknown, -2 complete.
const eta = (v: TorrentView): number =>
  !v.hasMetadata ? -2 : leftUntilDone(v) === 0 ? -1 : v.eta >= 0 ? v.eta : -2

const leftUntilDone = (v: TorrentView): number => (v.hasMetadata ? Math.max(0, v.totalSize - v.haveValid) : 0)

const isActive = (v: TorrentView): boolean =>
  v.status === Status.Download || v.status === Status.Seed || v.status === Status.Check

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

/** "tracker.example.org" → "example": the site name Transmission 4 shows. */
const siteName = (url: string): string => {
  const parts = hostOf(url).replace(/:\d+$/, "").split(".")
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
  leecher_count: -1,
  next_announce_time: 0,
  next_scrape_time: 0,
  scrape_state: 0,
  seeder_count: -1
})

/**
 * A rate as Transmission sends it: whole bytes per second. Our meters give fractions, and clients parse
 * these fields as integers: transmission-remote 3.00 left a torrent out of `-l` (every row needs its
 * rates as integers) for as long as it moved data.
 */
const wholeRate = (bytesPerSecond: number): number => Math.round(bytesPerSecond)

const peer = (p: PeerView): JsonObject => ({
  address: p.address,
  client_is_choked: !p.isDownloadingFrom,
  client_is_interested: p.isDownloadingFrom,
  client_name: p.clientName,
  flag_str: (p.isDownloadingFrom ? "D" : "") + (p.isUploadingTo ? "U" : "") + (p.isIncoming ? "I" : ""),
  is_downloading_from: p.isDownloadingFrom,
  is_encrypted: false,
  is_incoming: p.isIncoming,
  is_uploading_to: p.isUploadingTo,
  is_utp: false,
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
  activity_date: (v, c) => (v.rateDownload > 0 || v.rateUpload > 0 ? c.now : Math.max(v.addedDate, v.doneDate)),
  added_date: (v) => v.addedDate,
  availability: (v) => new Array<number>(v.pieceCount).fill(0),
  bandwidth_priority: () => 0,
  comment: () => "",
  corrupt_ever: () => 0,
  creator: () => "",
  date_created: () => 0,
  desired_available: (v) => (v.peersConnected > 0 ? leftUntilDone(v) : 0),
  done_date: (v) => v.doneDate,
  download_dir: (v) => v.downloadDir,
  downloaded_ever: (v) => v.downloadedEver,
  download_limit: (v, c) => (v.downloadLimit > 0 ? bytesToKilobytes(v.downloadLimit) : c.rememberedDownloadLimit),
  download_limited: (v) => v.downloadLimit > 0,
  edit_date: () => 0,
  error: (v) => v.error,
  error_string: (v) => v.errorString,
  eta,
  eta_idle: () => -1,
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
  file_stats: (v) => v.files.map((f) => ({ bytes_completed: f.bytesCompleted, priority: 0, wanted: true })),
  group: () => "",
  hash_string: (v) => v.hashString,
  have_unchecked: () => 0,
  have_valid: (v) => v.haveValid,
  honors_session_limits: () => true,
  id: (v) => v.id,
  is_finished: () => false,
  is_private: (v) => v.isPrivate,
  is_stalled: () => false,
  labels: () => [],
  left_until_done: leftUntilDone,
  magnet_link: (v) => v.magnetLink,
  manual_announce_time: () => -1,
  max_connected_peers: () => 50,
  metadata_percent_complete: (v) => (v.hasMetadata ? 1 : 0),
  name: (v) => v.name,
  peer_limit: () => 50,
  peers: (v) => v.peers.map(peer),
  peers_connected: (v) => v.peersConnected,
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
  percent_complete: (v) => v.percentDone,
  percent_done: (v) => v.percentDone,
  pieces: (v) => v.pieces,
  piece_count: (v) => v.pieceCount,
  piece_size: (v) => v.pieceSize,
  primary_mime_type: () => "application/octet-stream",
  priorities: (v) => v.files.map(() => 0),
  queue_position: (v) => v.queuePosition,
  rate_download: (v) => wholeRate(v.rateDownload),
  rate_upload: (v) => wholeRate(v.rateUpload),
  recheck_progress: (v) => (v.status === Status.Check ? v.percentDone : 0),
  seconds_downloading: () => 0,
  seconds_seeding: () => 0,
  seed_idle_limit: () => 30,
  seed_idle_mode: () => 0,
  seed_ratio_limit: () => 2,
  seed_ratio_mode: () => 2,
  sequential_download: () => false,
  size_when_done: (v) => v.totalSize,
  start_date: (v) => (isActive(v) ? v.addedDate : 0),
  status: (v) => v.status,
  torrent_file: () => "",
  total_size: (v) => v.totalSize,
  trackers: (v) => v.trackers.map(tracker),
  tracker_list: (v) => trackerList(v.trackers),
  tracker_stats: (v) => v.trackers.map(trackerStat),
  uploaded_ever: (v) => v.uploadedEver,
  upload_limit: (v, c) => (v.uploadLimit > 0 ? bytesToKilobytes(v.uploadLimit) : c.rememberedUploadLimit),
  upload_limited: (v) => v.uploadLimit > 0,
  upload_ratio: ratio,
  wanted: (v) => v.files.map(() => 1),
  webseeds: () => [],
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

// ---------------------------------------------------------------------------------------------------------
// Session

export interface SessionContext {
  readonly settings: SessionSettings
  /** The X-Transmission-Session-Id. */
  readonly sessionId: string
  /** The global limits kept while off (kB/s). */
  readonly rememberedDownloadLimit: number
  readonly rememberedUploadLimit: number
  /** Free bytes in the download folder, when known. */
  readonly downloadDirFreeSpace?: number
}

const units: JsonObject = {
  speed_units: ["kB/s", "MB/s", "GB/s", "TB/s"],
  speed_bytes: speedUnit,
  size_units: ["kB", "MB", "GB", "TB"],
  size_bytes: 1000,
  memory_units: ["KiB", "MiB", "GiB", "TiB"],
  memory_bytes: 1024
}

const sessionFields = (c: SessionContext): { readonly [snake: string]: Json } => {
  const s = c.settings
  return {
    alt_speed_down: 50,
    alt_speed_enabled: false,
    alt_speed_time_begin: 540,
    alt_speed_time_day: 127,
    alt_speed_time_enabled: false,
    alt_speed_time_end: 1020,
    alt_speed_up: 50,
    blocklist_enabled: false,
    blocklist_size: 0,
    blocklist_url: "",
    cache_size_mb: 0,
    config_dir: "",
    default_trackers: "",
    dht_enabled: s.dhtEnabled,
    download_dir: s.downloadDir,
    ...(c.downloadDirFreeSpace === undefined ? {} : { download_dir_free_space: c.downloadDirFreeSpace }),
    download_queue_enabled: true,
    download_queue_size: s.downloadQueueSize,
    encryption: "tolerated",
    idle_seeding_limit: 30,
    idle_seeding_limit_enabled: false,
    incomplete_dir: "",
    incomplete_dir_enabled: false,
    lpd_enabled: false,
    peer_limit_global: 200,
    peer_limit_per_torrent: 50,
    peer_port: s.peerPort,
    peer_port_random_on_start: false,
    pex_enabled: s.pexEnabled,
    port_forwarding_enabled: false,
    queue_stalled_enabled: false,
    queue_stalled_minutes: 30,
    rename_partial_files: false,
    rpc_version: rpcVersion,
    rpc_version_minimum: rpcVersionMinimum,
    rpc_version_semver: rpcVersionSemver,
    script_torrent_added_enabled: false,
    script_torrent_added_filename: "",
    script_torrent_done_enabled: false,
    script_torrent_done_filename: "",
    script_torrent_done_seeding_enabled: false,
    script_torrent_done_seeding_filename: "",
    seed_queue_enabled: s.seedQueueEnabled,
    seed_queue_size: s.seedQueueSize,
    seed_ratio_limit: 2,
    seed_ratio_limited: false,
    session_id: c.sessionId,
    speed_limit_down: s.speedLimitDown > 0 ? bytesToKilobytes(s.speedLimitDown) : c.rememberedDownloadLimit,
    speed_limit_down_enabled: s.speedLimitDown > 0,
    speed_limit_up: s.speedLimitUp > 0 ? bytesToKilobytes(s.speedLimitUp) : c.rememberedUploadLimit,
    speed_limit_up_enabled: s.speedLimitUp > 0,
    start_added_torrents: true,
    tcp_enabled: true,
    trash_original_torrent_files: false,
    units,
    utp_enabled: false,
    version: s.version
  }
}

/** session-get: the asked-for keys (unknown ones left out), or all of them when none is asked for. */
export const sessionObject = (c: SessionContext, fields: ReadonlyArray<string>): JsonObject => {
  const all = sessionFields(c)
  if (fields.length === 0) return all
  const out: { [key: string]: Json } = {}
  for (const name of fields) {
    const snake = toSnake(name)
    const value = all[snake]
    if (value !== undefined) out[snake] = value
  }
  return out
}

/** Whether session-get should find the download folder's free space (a deprecated key, asked by old clients). */
export const wantsFreeSpace = (fields: ReadonlyArray<string>): boolean =>
  fields.length === 0 || fields.some((f) => toSnake(f) === "download_dir_free_space")

export const statsObject = (s: SessionStats): JsonObject => {
  // The session counts this run only; the cumulative figures are this run's too (one session).
  const run: JsonObject = {
    uploaded_bytes: s.uploadedBytes,
    downloaded_bytes: s.downloadedBytes,
    files_added: s.torrentCount,
    session_count: 1,
    seconds_active: s.secondsActive
  }
  return {
    active_torrent_count: s.activeTorrentCount,
    download_speed: wholeRate(s.downloadSpeed),
    paused_torrent_count: s.pausedTorrentCount,
    torrent_count: s.torrentCount,
    upload_speed: wholeRate(s.uploadSpeed),
    cumulative_stats: run,
    current_stats: run
  }
}
