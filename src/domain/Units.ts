/**
 * Human-readable sizes, rates and durations for progress lines and summaries (binary units, as the
 * other clients show them).
 */

const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const

export const formatBytes = (n: number): string => {
  let value = n
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`
}

export const formatRate = (bytesPerSecond: number): string => `${formatBytes(Math.round(bytesPerSecond))}/s`

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`
  return `${sec}s`
}

/**
 * A rate as `--download-limit` takes it: bytes per second, or with K, M or G (1024-based, as aria2c's
 * limits; a trailing B, iB or /s is allowed): `500K`, `2M`, `1.5MiB/s`. 0 is no limit. Left: why not.
 */
export const parseRate = (text: string): { readonly ok: true; readonly rate: number } | { readonly ok: false; readonly why: string } => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg])?(?:i?b)?(?:\/s)?\s*$/i.exec(text)
  if (match === null) return { ok: false, why: `a rate like 500K, 2M or 1048576 (bytes per second), not '${text}'` }
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? "").toLowerCase() as "k" | "m" | "g"] ?? 1
  const rate = Math.round(Number(match[1]) * scale)
  return rate > 2 ** 40 ? { ok: false, why: `at most 1024G, not '${text}'` } : { ok: true, rate }
}
