/**
 * What the Transmission RPC reports of the session: session-get's keys from SessionSettings, session-stats'
 * from SessionStats. Pure; every name snake_case (TransmissionRpc renames results for classic clients).
 * Each value is the session's own; what bt-effect does not have is shown as Transmission shows it off.
 */
import type { SessionSettings, SessionStats } from "../domain/SessionView.js"
import { wholeRate } from "./TransmissionFields.js"
import { type Json, type JsonObject, toSnake } from "./TransmissionRpc.js"
import { bytesToKilobytes, speedUnit } from "./TransmissionSetters.js"

export const rpcVersion = 17
export const rpcVersionMinimum = 14
export const rpcVersionSemver = "5.3.0"

export interface SessionContext {
  readonly settings: SessionSettings
  /** The X-Transmission-Session-Id. */
  readonly sessionId: string
  /** Peers a torrent connects to at most, and the requests a peer may queue with us (BEP 10's reqq). */
  readonly peersPerTorrent: number
  readonly reqq: number
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
    alt_speed_down: s.altSpeedDown,
    alt_speed_enabled: s.altSpeedEnabled,
    alt_speed_time_begin: s.altSpeedTimeBegin,
    alt_speed_time_day: s.altSpeedTimeDay,
    alt_speed_time_enabled: s.altSpeedTimeEnabled,
    alt_speed_time_end: s.altSpeedTimeEnd,
    alt_speed_up: s.altSpeedUp,
    // No brute-force guard on the RPC's credentials: off, at Transmission's default threshold.
    anti_brute_force_enabled: false,
    anti_brute_force_threshold: 100,
    blocklist_enabled: false,
    blocklist_size: 0,
    blocklist_url: "",
    cache_size_mb: s.cacheSizeMb,
    config_dir: s.configDir,
    default_trackers: "",
    dht_enabled: s.dhtEnabled,
    download_dir: s.downloadDir,
    ...(c.downloadDirFreeSpace === undefined ? {} : { download_dir_free_space: c.downloadDirFreeSpace }),
    download_queue_enabled: true,
    download_queue_size: s.downloadQueueSize,
    encryption: s.encryption,
    idle_seeding_limit: s.idleSeedingLimit,
    idle_seeding_limit_enabled: s.idleSeedingLimitEnabled,
    incomplete_dir: s.incompleteDir,
    incomplete_dir_enabled: s.incompleteDirEnabled,
    lpd_enabled: false,
    // No limit over all torrents is kept: Transmission's default is shown.
    peer_limit_global: 200,
    peer_limit_per_torrent: c.peersPerTorrent,
    peer_port: s.peerPort,
    peer_port_random_on_start: false,
    pex_enabled: s.pexEnabled,
    port_forwarding_enabled: false,
    preferred_transports: ["tcp"],
    queue_stalled_enabled: s.queueStalledEnabled,
    queue_stalled_minutes: s.queueStalledMinutes,
    rename_partial_files: false,
    reqq: c.reqq,
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
    seed_ratio_limit: s.seedRatioLimit,
    seed_ratio_limited: s.seedRatioLimited,
    sequential_download: false,
    session_id: c.sessionId,
    speed_limit_down: s.speedLimitDown > 0 ? bytesToKilobytes(s.speedLimitDown) : s.rememberedLimitDown,
    speed_limit_down_enabled: s.speedLimitDown > 0,
    speed_limit_up: s.speedLimitUp > 0 ? bytesToKilobytes(s.speedLimitUp) : s.rememberedLimitUp,
    speed_limit_up_enabled: s.speedLimitUp > 0,
    start_added_torrents: true,
    tcp_enabled: s.tcpEnabled,
    trash_original_torrent_files: false,
    units,
    utp_enabled: s.utpEnabled,
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
  // Current: since this session started. Cumulative: the torrents' lifetime bytes (of those in the
  // session now: a removed torrent's are gone), over what this session knows of (one session).
  const run: JsonObject = {
    uploaded_bytes: s.uploadedSession,
    downloaded_bytes: s.downloadedSession,
    files_added: s.torrentCount,
    session_count: 1,
    seconds_active: s.secondsActive
  }
  const cumulative: JsonObject = { ...run, uploaded_bytes: s.uploadedBytes, downloaded_bytes: s.downloadedBytes }
  return {
    active_torrent_count: s.activeTorrentCount,
    download_speed: wholeRate(s.downloadSpeed),
    paused_torrent_count: s.pausedTorrentCount,
    torrent_count: s.torrentCount,
    upload_speed: wholeRate(s.uploadSpeed),
    cumulative_stats: cumulative,
    current_stats: run
  }
}
