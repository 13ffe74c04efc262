/**
 * When a seeding torrent has seeded enough, and when a running torrent counts as stalled, as Transmission
 * decides both (libtransmission/torrent.c): a ratio goal (uploaded over downloaded, or over the torrent's
 * size for a torrent we only seeded) and an idle goal (minutes without any transfer), each taken from the
 * torrent's own setting, from the session's, or not at all. qBittorrent's seeding time limit (minutes
 * seeding, over the torrent's life) is a third goal of the same shape, and what is done when a goal is
 * reached (stop, remove, remove with the data) is the session's `ShareAction`. Pure: the session stops a torrent that reaches
 * a goal, the RPC reports the goals, the ETAs they give and whether a torrent is finished or stalled.
 */

/** tr_ratiolimit and tr_idlelimit: the session's limit, the torrent's own, or none. */
export const LimitMode = { Global: 0, Single: 1, Unlimited: 2 } as const
export type LimitMode = (typeof LimitMode)[keyof typeof LimitMode]

export const isLimitMode = (n: number): n is LimitMode => n === 0 || n === 1 || n === 2

/** A torrent's own goals. */
export interface TorrentGoals {
  readonly seedRatioMode: LimitMode
  readonly seedRatioLimit: number
  readonly seedIdleMode: LimitMode
  /** Minutes. */
  readonly seedIdleLimit: number
  /** Minutes seeding, over its life (qBittorrent's seeding_time_limit). */
  readonly seedTimeMode: LimitMode
  readonly seedTimeLimit: number
}

/** What the session does to a torrent that reached a goal (qBittorrent's max_ratio_act, but super seeding). */
export type ShareAction = "stop" | "remove" | "removeData"

/** The session's goals, for torrents that follow them. */
export interface SessionGoals {
  readonly seedRatioLimited: boolean
  readonly seedRatioLimit: number
  readonly idleSeedingLimitEnabled: boolean
  /** Minutes. */
  readonly idleSeedingLimit: number
  readonly seedTimeLimited: boolean
  /** Minutes. */
  readonly seedTimeLimit: number
}

/** What the goals are measured on. */
export interface Transfer {
  readonly downloadedEver: number
  readonly uploadedEver: number
  /** Bytes of the torrent wanted (its size: bt-effect wants every file). */
  readonly sizeWhenDone: number
}

/** The ratio a torrent seeds to, if any (tr_torrentGetSeedRatio). */
export const ratioGoal = (t: TorrentGoals, s: SessionGoals): number | undefined =>
  t.seedRatioMode === LimitMode.Single ? t.seedRatioLimit
  : t.seedRatioMode === LimitMode.Global && s.seedRatioLimited ? s.seedRatioLimit
  : undefined

/** The idle minutes after which a seed stops, if any (tr_torrentGetSeedIdle). */
export const idleGoal = (t: TorrentGoals, s: SessionGoals): number | undefined =>
  t.seedIdleMode === LimitMode.Single ? t.seedIdleLimit
  : t.seedIdleMode === LimitMode.Global && s.idleSeedingLimitEnabled ? s.idleSeedingLimit
  : undefined

/** The minutes of seeding after which a seed stops, if any. */
export const seedTimeGoal = (t: TorrentGoals, s: SessionGoals): number | undefined =>
  t.seedTimeMode === LimitMode.Single ? t.seedTimeLimit
  : t.seedTimeMode === LimitMode.Global && s.seedTimeLimited ? s.seedTimeLimit
  : undefined

/** A complete torrent that has seeded its time (`secondsSeeding` over its life). */
export const seedTimeDone = (t: TorrentGoals, s: SessionGoals, secondsSeeding: number, complete: boolean): boolean => {
  const minutes = seedTimeGoal(t, s)
  return complete && minutes !== undefined && secondsSeeding >= minutes * 60
}

/** Bytes still to upload to reach `ratio`, and the goal in bytes (tr_torrentGetSeedRatioBytes). */
export const ratioBytes = (ratio: number, x: Transfer): { readonly left: number; readonly goal: number } => {
  const baseline = x.downloadedEver !== 0 ? x.downloadedEver : x.sizeWhenDone
  const goal = Math.floor(baseline * ratio)
  return { left: Math.max(0, goal - x.uploadedEver), goal }
}

/** A complete torrent that has uploaded its ratio's worth. */
export const ratioDone = (t: TorrentGoals, s: SessionGoals, x: Transfer, complete: boolean): boolean => {
  const ratio = ratioGoal(t, s)
  return complete && ratio !== undefined && ratioBytes(ratio, x).left === 0
}

/** What idleness is measured on: when the torrent started and last moved data (seconds, 0 never). */
export interface Activity {
  /** Downloading or seeding now (not stopped, queued or checking). */
  readonly active: boolean
  readonly startDate: number
  readonly activityDate: number
}

/** Seconds since the torrent started or last moved data, whichever is later; -1 when not active. */
export const idleSeconds = (a: Activity, now: number): number =>
  a.active && a.startDate !== 0 ? Math.max(0, now - Math.max(a.startDate, a.activityDate)) : -1

/** A seed idle for its idle goal (tr_torrentIsSeedIdleLimitDone). */
export const idleDone = (t: TorrentGoals, s: SessionGoals, a: Activity, complete: boolean, now: number): boolean => {
  const minutes = idleGoal(t, s)
  return complete && minutes !== undefined && a.active && a.startDate !== 0 && now - Math.max(a.startDate, a.activityDate) >= minutes * 60
}

/** Transmission's queue-stalled-*: a torrent idle longer than this no longer holds its place in the queue. */
export interface StallRule {
  readonly queueStalledEnabled: boolean
  readonly queueStalledMinutes: number
}

export const isStalled = (rule: StallRule, a: Activity, now: number): boolean =>
  rule.queueStalledEnabled && idleSeconds(a, now) > rule.queueStalledMinutes * 60
