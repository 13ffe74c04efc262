/**
 * Progress for scripts (`download --json`, `seed --json`): one JSON object per line, each with an `event`
 * ("checking", "message", "tracker", "progress", "done", "stopped", "seeded"), numbers in bytes, bytes per
 * second and seconds, never formatted for people, so that `jq` or a program reads them as they come.
 */
import type { CheckProgress } from "../storage/DataCheck.js"
import type { TrackerStatus } from "../tracker/Announcer.js"
import type { TorrentStats } from "../torrent/TorrentHandle.js"

export type JsonEvent = { readonly event: string } & { readonly [key: string]: unknown }

/** The object as one line. */
export const line = (event: JsonEvent): string => `${JSON.stringify(event)}\n`

export const message = (text: string): JsonEvent => ({ event: "message", text })

export const checking = (c: CheckProgress): JsonEvent => ({
  event: "checking",
  checkedBytes: c.checkedBytes,
  totalBytes: c.totalBytes,
  rate: Math.round(c.rate)
})

export const tracker = (t: TrackerStatus): JsonEvent => ({
  event: "tracker",
  url: t.url,
  state: t.state,
  peers: t.peers,
  ...(t.seeders !== undefined ? { seeders: t.seeders } : {}),
  ...(t.leechers !== undefined ? { leechers: t.leechers } : {}),
  ...(t.error !== undefined ? { error: t.error } : {}),
  ...(t.warning !== undefined ? { warning: t.warning } : {})
})

/** The bytes to download: the selected files' (--files, --only, so=), else the torrent's. */
export const wantedSize = (s: TorrentStats): number => s.selectedLength ?? s.totalLength
/** Of those, the bytes verified. */
export const wantedDone = (s: TorrentStats): number => s.selectedVerifiedBytes ?? s.verifiedBytes

/** The figures every torrent event carries (of the selected files, with a selection). */
const figures = (s: TorrentStats) => ({
  name: s.name,
  totalBytes: wantedSize(s),
  verifiedBytes: wantedDone(s),
  ...(s.selectedLength !== undefined ? { torrentBytes: s.totalLength } : {}),
  percent: wantedSize(s) === 0 ? 100 : Math.floor((10_000 * wantedDone(s)) / wantedSize(s)) / 100,
  downloadedBytes: s.downloadedBytes,
  uploadedBytes: s.uploadedBytes,
  hashFailures: s.hashFailures
})

export const progress = (s: TorrentStats): JsonEvent => {
  const left = wantedSize(s) - wantedDone(s)
  return {
    event: "progress",
    ...figures(s),
    downloadRate: Math.round(s.downloadRate),
    uploadRate: Math.round(s.uploadRate),
    peers: s.peers,
    seeds: s.seeds,
    complete: s.complete,
    // Seconds; null while nothing arrives (and 0 once complete).
    eta: s.complete ? 0 : s.downloadRate > 0 ? Math.round(left / s.downloadRate) : null
  }
}

/** The end of a run: "done" (complete), "stopped" (interrupted before), "seeded" (a seeding goal met or
 *  seeding stopped); `seconds` is this run's time. */
export const ended = (event: "done" | "stopped" | "seeded", s: TorrentStats, elapsedMs: number, extra: Record<string, unknown> = {}): JsonEvent => ({
  event,
  ...figures(s),
  seconds: Math.round(elapsedMs) / 1000,
  averageRate: elapsedMs > 0 ? Math.round((s.downloadedBytes * 1000) / elapsedMs) : 0,
  ...extra
})
