/**
 * The daemon's settings as session-get gives them to a classic client (kebab-case names, but for the two
 * seedRatio ones), the ones the page shows and sets. Speeds are kB/s (1000 bytes), as in Transmission;
 * times of day are minutes after midnight; the schedule's days are Transmission's bits (Sunday 1 ...
 * Saturday 64). A key the daemon leaves out is a setting it does not have: the page does not offer it.
 */

export const settingKeys = [
  "speed-limit-down", "speed-limit-down-enabled", "speed-limit-up", "speed-limit-up-enabled",
  "alt-speed-down", "alt-speed-up", "alt-speed-enabled",
  "alt-speed-time-enabled", "alt-speed-time-begin", "alt-speed-time-end", "alt-speed-time-day",
  "download-dir", "peer-port", "dht-enabled", "pex-enabled",
  "download-queue-size", "download-queue-enabled", "seed-queue-size", "seed-queue-enabled",
  "seedRatioLimit", "seedRatioLimited", "idle-seeding-limit", "idle-seeding-limit-enabled"
] as const
export type SettingKey = (typeof settingKeys)[number]

export type SettingValue = number | boolean | string

/** What the daemon said of each setting: only those it reported. */
export type Settings = Partial<Record<SettingKey, SettingValue>>

/** session-get's reply, kept to the settings known here with the types they must have. */
export const settingsFrom = (reply: { readonly [key: string]: unknown }): Settings => {
  const out: Settings = {}
  for (const key of settingKeys) {
    const value = reply[key]
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") out[key] = value
  }
  return out
}

export const numberOf = (s: Settings, key: SettingKey): number | undefined => {
  const value = s[key]
  return typeof value === "number" ? value : undefined
}

export const isOn = (s: Settings, key: SettingKey): boolean => s[key] === true
