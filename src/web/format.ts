/**
 * How the web interface writes sizes, rates, times and percentages (the tests run these in Node).
 *
 * Sizes are the command line's (domain/Units.ts) but for what a page can be sent: nothing, a negative or
 * NaN shows as "0 B", and a count of bytes as a whole number. The ETA and the percentage are the page's
 * own: Transmission's eta codes, and a percentage that never shows 100 before the end.
 */
import * as Units from "../domain/Units.js"

export const formatBytes = (n: number): string =>
  !(n > 0) ? "0 B" : n < 1024 ? `${Math.round(n)} B` : Units.formatBytes(n)

export const formatRate = (n: number): string => `${formatBytes(n)}/s`

/** Transmission's eta: -1 not available (complete, or stopped), -2 unknown (no rate to go by). */
export const formatEta = (seconds: number, percentDone: number): string => {
  if (percentDone >= 1) return "done"
  if (seconds < 0 || !Number.isFinite(seconds)) return "\u221e"
  const s = Math.floor(seconds)
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

/** Rounded down, so that 100% means complete. */
export const formatPercent = (fraction: number): string => {
  const tenths = Math.floor(Math.max(0, Math.min(1, fraction || 0)) * 1000)
  return `${(tenths / 10).toFixed(1)}%`
}

/** Transmission's upload ratio: -1 none yet (nothing to go by), -2 infinite (uploaded, nothing downloaded). */
export const formatRatio = (ratio: number): string =>
  ratio === -2 ? "\u221e" : ratio < 0 || !Number.isFinite(ratio) ? "\u2013" : (Math.floor(ratio * 100) / 100).toFixed(2)

const twoDigits = (n: number): string => String(n).padStart(2, "0")

/** Seconds since the epoch as the local "YYYY-MM-DD HH:MM" (sorts as text, reads the same everywhere); 0 is never. */
export const formatDate = (seconds: number): string => {
  if (!(seconds > 0)) return "\u2013"
  const d = new Date(seconds * 1000)
  return `${d.getFullYear()}-${twoDigits(d.getMonth() + 1)}-${twoDigits(d.getDate())} ${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}`
}

/** Minutes after midnight as "HH:MM" (an <input type="time">'s value), and back (NaN when not a time). */
export const formatMinutes = (minutes: number): string => `${twoDigits(Math.floor(minutes / 60) % 24)}:${twoDigits(minutes % 60)}`

export const parseMinutes = (text: string): number => {
  const match = /^(\d{1,2}):(\d{2})/.exec(text)
  return match === null ? NaN : Number(match[1]) * 60 + Number(match[2])
}
