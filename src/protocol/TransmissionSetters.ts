/**
 * The Transmission RPC's setters as messages: torrent-set, session-set and torrent-set-location decoded,
 * speed limits converted between Transmission's kB/s and bytes/s, and the arguments bt-effect does not carry
 * out found and refused by name. Pure; RpcTorrentMethods and RpcSessionMethods apply them to a session.
 */
import type { FileChange } from "../domain/FileChoices.js"
import { bool, decodeFileChange, decodeLabels, ErrorCode, failure, fileChangeKeys, num, type Outcome, str } from "./TransmissionRpc.js"

/** Transmission's speeds are in kB/s of 1000 bytes (its `units.speed-bytes`). */
export const speedUnit = 1000
export const kilobytesToBytes = (kB: number): number => Math.round(kB * speedUnit)
export const bytesToKilobytes = (bytes: number): number => Math.round(bytes / speedUnit)

/** A limit in kB/s and whether it is honoured, either or both given. */
export interface LimitChange {
  readonly limit?: number
  readonly limited?: boolean
}

/**
 * A limit after a change, where Transmission keeps a limit's value apart from whether it is on and the
 * session holds one number (0: unlimited): `remembered` is the value (kB/s) kept while the limit is
 * off. Undefined `bytes` means no change.
 */
export const applyLimit = (
  currentBytes: number,
  remembered: number,
  change: LimitChange
): { readonly bytes: number | undefined; readonly remembered: number } => {
  const value = change.limit ?? (currentBytes > 0 ? bytesToKilobytes(currentBytes) : remembered)
  if (change.limit === undefined && change.limited === undefined) return { bytes: undefined, remembered: value }
  const on = change.limited ?? currentBytes > 0
  return { bytes: on ? kilobytesToBytes(value) : 0, remembered: value }
}

const limitChange = (args: { readonly [key: string]: unknown }, limit: string, limited: string): LimitChange => ({
  ...(num(args[limit]) === undefined ? {} : { limit: num(args[limit])! }),
  ...(bool(args[limited]) === undefined ? {} : { limited: bool(args[limited])! })
})

/**
 * The arguments of a setter that bt-effect does not carry out (`ids` aside), spelled as in Transmission's
 * docs (`seed-ratio-limit`): a setter naming one is refused whole, rather than answering "success" and
 * changing nothing. An argument that asks for what bt-effect always is (`lpd-enabled: false`, a front end
 * sending back every setting it read) changes nothing and is no refusal.
 */
export const unsupportedArguments = (
  args: { readonly [key: string]: unknown },
  known: ReadonlySet<string>,
  alwaysSo: { readonly [key: string]: unknown } = {}
): ReadonlyArray<string> => {
  const alreadySo = (key: string) =>
    key in alwaysSo && (args[key] === alwaysSo[key] || (typeof alwaysSo[key] === "boolean" && bool(args[key]) === alwaysSo[key]))
  return Object.keys(args).filter((key) => key !== "ids" && !known.has(key) && !alreadySo(key)).map((key) => key.replace(/_/g, "-"))
}

/** What torrent-set carries out. */
export const torrentSetArguments: ReadonlySet<string> = new Set([
  "download_limit", "download_limited", "upload_limit", "upload_limited", "queue_position",
  "seed_ratio_limit", "seed_ratio_mode", "seed_idle_limit", "seed_idle_mode", "labels", ...fileChangeKeys
])

/** What every torrent of bt-effect is: asking for it is no change. */
export const torrentAlwaysSo: { readonly [key: string]: unknown } = { honors_session_limits: true, bandwidth_priority: 0 }

/** What session-set carries out. */
export const sessionSetArguments: ReadonlySet<string> = new Set([
  "speed_limit_down", "speed_limit_down_enabled", "speed_limit_up", "speed_limit_up_enabled", "download_dir",
  "download_queue_size", "seed_queue_size", "seed_queue_enabled", "dht_enabled", "pex_enabled", "encryption",
  "alt_speed_down", "alt_speed_up", "alt_speed_enabled",
  "alt_speed_time_enabled", "alt_speed_time_begin", "alt_speed_time_end", "alt_speed_time_day",
  "seed_ratio_limit", "seed_ratio_limited", "idle_seeding_limit", "idle_seeding_limit_enabled",
  "queue_stalled_enabled", "queue_stalled_minutes", "incomplete_dir", "incomplete_dir_enabled"
])

/** What the bt-effect daemon always is (session-get says so): asking for it is no change. */
export const sessionAlwaysSo: { readonly [key: string]: unknown } = {
  download_queue_enabled: true, lpd_enabled: false, port_forwarding_enabled: false,
  blocklist_enabled: false, rename_partial_files: false, start_added_torrents: true,
  trash_original_torrent_files: false, peer_port_random_on_start: false, script_torrent_added_enabled: false,
  script_torrent_done_enabled: false, script_torrent_done_seeding_enabled: false,
  anti_brute_force_enabled: false, sequential_download: false
}

/** The refusal of a setter that names arguments bt-effect does not carry out. */
export const refuseUnsupported = (names: ReadonlyArray<string>): Outcome =>
  failure(ErrorCode.InvalidParams, `not supported: ${names.join(", ")} (nothing was changed)`)

/** 0 the session's limit, 1 the torrent's own, 2 none (tr_ratiolimit, tr_idlelimit). */
const mode = (v: unknown): 0 | 1 | 2 | undefined => (v === 0 || v === 1 || v === 2 ? v : undefined)
const int = (v: unknown): number | undefined => {
  const n = num(v)
  return n === undefined ? undefined : Math.floor(n)
}
/** Minutes after midnight. */
const minuteOfDay = (v: unknown): number | undefined => {
  const n = int(v)
  return n !== undefined && n < 24 * 60 ? n : undefined
}
/** Only the keys given: `{ a: undefined }` is no key at all under exactOptionalPropertyTypes. */
const given = <T extends object>(fields: { readonly [K in keyof T]: T[K] | undefined }): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>

export interface TorrentSetRequest {
  readonly download: LimitChange
  readonly upload: LimitChange
  readonly queuePosition?: number
  readonly seedRatioLimit?: number
  readonly seedRatioMode?: 0 | 1 | 2
  /** Minutes; 0 is ignored, as Transmission does. */
  readonly seedIdleLimit?: number
  readonly seedIdleMode?: 0 | 1 | 2
  /** files-wanted, files-unwanted and the priorities (an empty list: every file). */
  readonly files?: FileChange
  /** Its labels, all of them (the category's name among them keeps it in its category). */
  readonly labels?: ReadonlyArray<string>
}

export const decodeTorrentSet = (args: { readonly [key: string]: unknown }): TorrentSetRequest => {
  const idle = int(args["seed_idle_limit"])
  return {
    download: limitChange(args, "download_limit", "download_limited"),
    upload: limitChange(args, "upload_limit", "upload_limited"),
    ...given<Omit<TorrentSetRequest, "download" | "upload">>({
      queuePosition: int(args["queue_position"]),
      seedRatioLimit: num(args["seed_ratio_limit"]),
      seedRatioMode: mode(args["seed_ratio_mode"]),
      seedIdleLimit: idle === 0 ? undefined : idle,
      seedIdleMode: mode(args["seed_idle_mode"]),
      files: decodeFileChange(args),
      labels: decodeLabels(args["labels"])
    })
  }
}

/** torrent-set-location: the new folder and whether the data moves there. */
export const decodeSetLocation = (args: { readonly [key: string]: unknown }): { readonly location: string; readonly move: boolean } | string => {
  const location = str(args["location"])
  if (location === undefined || location === "") return "no location"
  return { location, move: bool(args["move"]) ?? false }
}

export interface SessionSetRequest {
  readonly download: LimitChange
  readonly upload: LimitChange
  readonly downloadDir?: string
  readonly downloadQueueSize?: number
  readonly seedQueueSize?: number
  readonly seedQueueEnabled?: boolean
  readonly dhtEnabled?: boolean
  readonly pexEnabled?: boolean
  readonly encryption?: "tolerated" | "preferred" | "required"
  /** kB/s */
  readonly altSpeedDown?: number
  readonly altSpeedUp?: number
  readonly altSpeedEnabled?: boolean
  readonly altSpeedTimeEnabled?: boolean
  /** Minutes after midnight. */
  readonly altSpeedTimeBegin?: number
  readonly altSpeedTimeEnd?: number
  /** Bit 0 Sunday ... bit 6 Saturday. */
  readonly altSpeedTimeDay?: number
  readonly seedRatioLimit?: number
  readonly seedRatioLimited?: boolean
  /** Minutes. */
  readonly idleSeedingLimit?: number
  readonly idleSeedingLimitEnabled?: boolean
  readonly queueStalledEnabled?: boolean
  readonly queueStalledMinutes?: number
  readonly incompleteDir?: string
  readonly incompleteDirEnabled?: boolean
}

const encryptionSetting = (v: unknown) => (v === "tolerated" || v === "preferred" || v === "required" ? v : undefined)

export const decodeSessionSet = (args: { readonly [key: string]: unknown }): SessionSetRequest => {
  const dir = str(args["download_dir"])
  const days = int(args["alt_speed_time_day"])
  return {
    download: limitChange(args, "speed_limit_down", "speed_limit_down_enabled"),
    upload: limitChange(args, "speed_limit_up", "speed_limit_up_enabled"),
    ...given<Omit<SessionSetRequest, "download" | "upload">>({
      downloadDir: dir === "" ? undefined : dir,
      downloadQueueSize: int(args["download_queue_size"]),
      seedQueueSize: int(args["seed_queue_size"]),
      seedQueueEnabled: bool(args["seed_queue_enabled"]),
      dhtEnabled: bool(args["dht_enabled"]),
      pexEnabled: bool(args["pex_enabled"]),
      encryption: encryptionSetting(args["encryption"]),
      altSpeedDown: int(args["alt_speed_down"]),
      altSpeedUp: int(args["alt_speed_up"]),
      altSpeedEnabled: bool(args["alt_speed_enabled"]),
      altSpeedTimeEnabled: bool(args["alt_speed_time_enabled"]),
      altSpeedTimeBegin: minuteOfDay(args["alt_speed_time_begin"]),
      altSpeedTimeEnd: minuteOfDay(args["alt_speed_time_end"]),
      altSpeedTimeDay: days !== undefined && days <= 127 ? days : undefined,
      seedRatioLimit: num(args["seed_ratio_limit"]),
      seedRatioLimited: bool(args["seed_ratio_limited"]),
      idleSeedingLimit: int(args["idle_seeding_limit"]),
      idleSeedingLimitEnabled: bool(args["idle_seeding_limit_enabled"]),
      queueStalledEnabled: bool(args["queue_stalled_enabled"]),
      queueStalledMinutes: int(args["queue_stalled_minutes"]),
      incompleteDir: str(args["incomplete_dir"]) === "" ? undefined : str(args["incomplete_dir"]),
      incompleteDirEnabled: bool(args["incomplete_dir_enabled"])
    })
  }
}
