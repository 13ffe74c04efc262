/**
 * qBittorrent's preferences (app/preferences, app/setPreferences) over bt-effect's session settings: the
 * keys that are settings of ours are read from and written to them (the download and incomplete folders,
 * the speed limits and the alternative ones with their schedule, the queue, the seeding goals and what is
 * done when one is reached, PeX, encryption, automatic management); those that describe the daemon as it
 * was started (its port, DHT, the transports) are answered as they are; every other key is kept as a client
 * set it and answered back (the "the rest kept and returned"), else qBittorrent's default. Keys
 * qBittorrent does not know are dropped, as it drops them; a value of the wrong JSON type is ignored.
 * Pure: QbtApp.ts stores what is kept and applies the change.
 */
import type { EncryptionSetting, SessionSettings, SettingsChange, ShareAction } from "../domain/SessionView.js"
import { isPreferenceKey, isPreferenceValue, type QbtPreferenceKey, qbtPreferenceDefaults, type QbtPreferences } from "./QbtPreferenceDefaults.js"

/** What clients set that the settings do not hold, by qBittorrent's key (as stored: checked again when read). */
export type KeptPreferences = { readonly [key: string]: unknown }

/** What a setPreferences asks: the change of our settings, and the keys to keep (merged over those kept). */
export interface PreferencesUpdate {
  readonly change: SettingsChange
  readonly kept: { readonly [key: string]: unknown }
}

/**
 * Keys answered from the daemon as it runs, never kept: the listening port and DHT are made at start
 * (--peer-port, --no-dht; the Transmission RPC refuses to change them too, RpcSessionMethods.ts), so a
 * client's value is accepted and not applied; bt-effect has no LSD and no UPnP, always queues downloads,
 * and has no bound on all torrents at once besides its download and seed queues.
 */
const fixed: ReadonlySet<QbtPreferenceKey> = new Set<QbtPreferenceKey>([
  "listen_port", "random_port", "dht", "lsd", "upnp", "bittorrent_protocol", "queueing_enabled", "max_active_torrents"
])

/** Keys read from and written to our settings. */
const mapped: ReadonlySet<QbtPreferenceKey> = new Set<QbtPreferenceKey>([
  "save_path", "temp_path", "temp_path_enabled", "dl_limit", "up_limit", "alt_dl_limit", "alt_up_limit",
  "scheduler_enabled", "schedule_from_hour", "schedule_from_min", "schedule_to_hour", "schedule_to_min", "scheduler_days",
  "pex", "encryption", "max_active_downloads", "max_active_uploads", "dont_count_slow_torrents", "slow_torrent_inactive_timer",
  "max_ratio_enabled", "max_ratio", "max_seeding_time_enabled", "max_seeding_time", "max_ratio_act", "auto_tmm_enabled"
])

/** qBittorrent's encryption: 0 prefer, 1 force on, 2 force off. */
const encryptions: ReadonlyArray<EncryptionSetting> = ["preferred", "required", "tolerated"]

/** qBittorrent's max_ratio_act: 0 pause, 1 remove, 2 super seeding (not done here), 3 remove with the files. */
const shareActions: { readonly [n: number]: ShareAction } = { 0: "stop", 1: "remove", 3: "removeData" }
const shareActionCodes: Record<ShareAction, number> = { stop: 0, remove: 1, removeData: 3 }

/** qBittorrent's scheduler days (Scheduler::Days 0..9: every day, weekdays, weekend, Monday .. Sunday) as
 *  our days bitmask (bit 0 Sunday, as Transmission's). */
const dayMasks: ReadonlyArray<number> = [127, 62, 65, 2, 4, 8, 16, 32, 64, 1]

/** Alternative limits are whole kB/s here (as the Transmission RPC reads them), bytes/s there; a limit under
 *  1 kB/s is 1, not none. */
const altKilobytes = (bytes: number): number => bytes <= 0 ? 0 : Math.max(1, Math.round(bytes / 1000))
/** Our alternative limit as qBittorrent's: the bytes a client set if they still give it. */
const altBytes = (kilobytes: number, kept: unknown): number =>
  typeof kept === "number" && altKilobytes(kept) === kilobytes ? kept : Math.round(kilobytes * 1000)

/** The kept value of `key` if it has qBittorrent's type. */
const keptValue = (kept: KeptPreferences, key: QbtPreferenceKey): unknown =>
  Object.hasOwn(kept, key) && isPreferenceValue(key, kept[key]) ? kept[key] : undefined

/** Our days as qBittorrent's: the one a client set if it still means them, else the first that does (every
 *  day when none can say them, e.g. Monday and Wednesday set over the Transmission RPC). */
const schedulerDays = (mask: number, kept: unknown): number =>
  typeof kept === "number" && dayMasks[kept] === mask ? kept : Math.max(0, dayMasks.indexOf(mask))

/** Our stalled minutes as qBittorrent's seconds: the seconds a client set if they still round to them. */
const inactiveSeconds = (minutes: number, kept: unknown): number =>
  typeof kept === "number" && Math.ceil(kept / 60) === minutes ? kept : minutes * 60

/** The keys answered from the settings and the daemon. */
const fromSettings = (s: SessionSettings, kept: KeptPreferences): Partial<QbtPreferences> => ({
  save_path: s.downloadDir,
  temp_path_enabled: s.incompleteDirEnabled,
  temp_path: s.incompleteDir,
  auto_tmm_enabled: s.autoManageByDefault,
  listen_port: s.peerPort,
  random_port: false,
  upnp: false,
  dht: s.dhtEnabled,
  pex: s.pexEnabled,
  lsd: false,
  encryption: encryptions.indexOf(s.encryption),
  bittorrent_protocol: s.tcpEnabled && s.utpEnabled ? 0 : s.tcpEnabled ? 1 : 2,
  dl_limit: s.speedLimitDown,
  up_limit: s.speedLimitUp,
  alt_dl_limit: altBytes(s.altSpeedDown, keptValue(kept, "alt_dl_limit")),
  alt_up_limit: altBytes(s.altSpeedUp, keptValue(kept, "alt_up_limit")),
  scheduler_enabled: s.altSpeedTimeEnabled,
  schedule_from_hour: Math.floor(s.altSpeedTimeBegin / 60),
  schedule_from_min: s.altSpeedTimeBegin % 60,
  schedule_to_hour: Math.floor(s.altSpeedTimeEnd / 60),
  schedule_to_min: s.altSpeedTimeEnd % 60,
  scheduler_days: schedulerDays(s.altSpeedTimeDay, keptValue(kept, "scheduler_days")),
  queueing_enabled: true,
  max_active_downloads: s.downloadQueueSize,
  // Seeds queue only when the seed queue is on; -1 is qBittorrent's "no limit".
  max_active_uploads: s.seedQueueEnabled ? s.seedQueueSize : -1,
  max_active_torrents: s.seedQueueEnabled ? s.downloadQueueSize + s.seedQueueSize : -1,
  dont_count_slow_torrents: s.queueStalledEnabled,
  slow_torrent_inactive_timer: inactiveSeconds(s.queueStalledMinutes, keptValue(kept, "slow_torrent_inactive_timer")),
  // qBittorrent's global ratio and seeding time are -1 when off.
  max_ratio_enabled: s.seedRatioLimited,
  max_ratio: s.seedRatioLimited ? s.seedRatioLimit : -1,
  max_seeding_time_enabled: s.seedTimeLimited,
  max_seeding_time: s.seedTimeLimited ? s.seedTimeLimit : -1,
  max_ratio_act: shareActionCodes[s.shareLimitAction]
})

/**
 * app/preferences: every key of qBittorrent 4.5.2. Ours from the settings; `extras` what the API knows of
 * itself (its address and port, the user name); the rest as kept, else qBittorrent's default.
 */
export const preferences = (settings: SessionSettings, kept: KeptPreferences, extras: Partial<QbtPreferences> = {}): QbtPreferences => {
  const out: Record<string, unknown> = { ...qbtPreferenceDefaults }
  for (const [key, value] of Object.entries(kept)) {
    if (isPreferenceKey(key) && isPreferenceValue(key, value)) out[key] = value
  }
  return { ...(out as QbtPreferences), ...extras, ...fromSettings(settings, kept) }
}

/** The values of known keys with qBittorrent's types, from a setPreferences' JSON. */
const validEntries = (json: unknown): Partial<Record<QbtPreferenceKey, unknown>> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return {}
  const given: Partial<Record<QbtPreferenceKey, unknown>> = {}
  for (const [key, value] of Object.entries(json)) {
    if (isPreferenceKey(key) && isPreferenceValue(key, value)) given[key] = value
  }
  return given
}

type Given = Partial<Record<QbtPreferenceKey, unknown>>
const num = (g: Given, key: QbtPreferenceKey): number | undefined => typeof g[key] === "number" ? g[key] : undefined
const bool = (g: Given, key: QbtPreferenceKey): boolean | undefined => typeof g[key] === "boolean" ? g[key] : undefined
const str = (g: Given, key: QbtPreferenceKey): string | undefined => typeof g[key] === "string" ? g[key] : undefined
/** Only the keys whose value is defined (exactOptionalPropertyTypes). */
const defined = (o: { readonly [key: string]: unknown }): SettingsChange =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SettingsChange

/** A limit in bytes/s: qBittorrent's -1 and 0 are "unlimited", ours 0. */
const limit = (n: number | undefined): number | undefined => n === undefined ? undefined : Math.max(0, n)
/** An absolute folder (a relative one would depend on the daemon's working folder: ignored). */
const folder = (p: string | undefined): string | undefined => p !== undefined && p.startsWith("/") ? p : undefined

/** Minutes after midnight from an hour and a minute, either one given (the other as it is). */
const clockTime = (hour: number | undefined, minute: number | undefined, current: number): number | undefined => {
  if (hour === undefined && minute === undefined) return undefined
  const h = hour ?? Math.floor(current / 60)
  const m = minute ?? current % 60
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 ? h * 60 + m : undefined
}

const folders = (g: Given): SettingsChange => defined({
  downloadDir: folder(str(g, "save_path")),
  incompleteDir: folder(str(g, "temp_path")),
  incompleteDirEnabled: bool(g, "temp_path_enabled"),
  autoManageByDefault: bool(g, "auto_tmm_enabled"),
  pexEnabled: bool(g, "pex")
})

const speeds = (g: Given, s: SessionSettings): SettingsChange => {
  const days = num(g, "scheduler_days")
  const altDown = limit(num(g, "alt_dl_limit"))
  const altUp = limit(num(g, "alt_up_limit"))
  const encryption = num(g, "encryption")
  return defined({
    speedLimitDown: limit(num(g, "dl_limit")),
    speedLimitUp: limit(num(g, "up_limit")),
    altSpeedDown: altDown === undefined ? undefined : altKilobytes(altDown),
    altSpeedUp: altUp === undefined ? undefined : altKilobytes(altUp),
    altSpeedTimeEnabled: bool(g, "scheduler_enabled"),
    altSpeedTimeBegin: clockTime(num(g, "schedule_from_hour"), num(g, "schedule_from_min"), s.altSpeedTimeBegin),
    altSpeedTimeEnd: clockTime(num(g, "schedule_to_hour"), num(g, "schedule_to_min"), s.altSpeedTimeEnd),
    altSpeedTimeDay: days === undefined ? undefined : dayMasks[days],
    encryption: encryption === undefined ? undefined : encryptions[encryption]
  })
}

const queue = (g: Given): SettingsChange => {
  const downloads = num(g, "max_active_downloads")
  const uploads = num(g, "max_active_uploads")
  const inactive = num(g, "slow_torrent_inactive_timer")
  return defined({
    // qBittorrent's -1 (no limit on downloads) has no equal here: ignored.
    downloadQueueSize: downloads !== undefined && downloads >= 0 ? downloads : undefined,
    seedQueueEnabled: uploads === undefined ? undefined : uploads >= 0,
    seedQueueSize: uploads !== undefined && uploads >= 0 ? uploads : undefined,
    queueStalledEnabled: bool(g, "dont_count_slow_torrents"),
    queueStalledMinutes: inactive !== undefined && inactive > 0 ? Math.ceil(inactive / 60) : undefined
  })
}

/**
 * The goals. qBittorrent reads max_ratio only beside max_ratio_enabled: true; here either is enough
 * (a ratio of -1 turns the goal off, as qBittorrent answers it off). The same for the seeding time.
 */
const goal = (enabled: boolean | undefined, value: number | undefined): { readonly on?: boolean; readonly value?: number } => {
  if (enabled === false) return { on: false }
  if (value === undefined) return enabled === true ? { on: true } : {}
  return value >= 0 ? { on: true, value } : { on: false }
}

const goals = (g: Given): SettingsChange => {
  const ratio = goal(bool(g, "max_ratio_enabled"), num(g, "max_ratio"))
  const time = goal(bool(g, "max_seeding_time_enabled"), num(g, "max_seeding_time"))
  const action = num(g, "max_ratio_act")
  return defined({
    seedRatioLimited: ratio.on,
    seedRatioLimit: ratio.value,
    seedTimeLimited: time.on,
    seedTimeLimit: time.value,
    shareLimitAction: action === undefined ? undefined : shareActions[action]
  })
}

/** app/setPreferences: the change of our settings and the keys kept (those neither mapped nor fixed; and the
 *  exact alternative limits, scheduler days and inactive seconds, which our settings hold less finely). */
export const applyPreferences = (json: unknown, current: SessionSettings): PreferencesUpdate => {
  const given = validEntries(json)
  const change: SettingsChange = { ...folders(given), ...speeds(given, current), ...queue(given), ...goals(given) }
  const kept: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(given) as ReadonlyArray<[QbtPreferenceKey, unknown]>) {
    if (!mapped.has(key) && !fixed.has(key)) kept[key] = value
  }
  if (change.altSpeedDown !== undefined) kept["alt_dl_limit"] = limit(num(given, "alt_dl_limit"))
  if (change.altSpeedUp !== undefined) kept["alt_up_limit"] = limit(num(given, "alt_up_limit"))
  if (change.altSpeedTimeDay !== undefined) kept["scheduler_days"] = given.scheduler_days
  if (change.queueStalledMinutes !== undefined) kept["slow_torrent_inactive_timer"] = given.slow_torrent_inactive_timer
  return { change, kept }
}
