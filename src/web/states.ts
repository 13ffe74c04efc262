/**
 * The state filters of the list (as Transmission's and qBittorrent's web interfaces have them): which
 * torrents each one keeps, and how many each would keep. The places in a queue count with what they wait
 * for (a queued download is downloading), as in Transmission; "active" is what moves data or is checked,
 * the daemon's own "recently-active".
 */
import type { ListTorrent } from "./torrents.js"

export const filterIds = ["all", "downloading", "seeding", "stopped", "checking", "error", "active"] as const
export type FilterId = (typeof filterIds)[number]

export const filterLabels: Readonly<Record<FilterId, string>> = {
  all: "All",
  downloading: "Downloading",
  seeding: "Seeding",
  stopped: "Stopped",
  checking: "Checking",
  error: "Error",
  active: "Active"
}

type Facts = Pick<ListTorrent, "status" | "error" | "rateDownload" | "rateUpload">

const keeps: Readonly<Record<FilterId, (t: Facts) => boolean>> = {
  all: () => true,
  downloading: (t) => t.status === 3 || t.status === 4,
  seeding: (t) => t.status === 5 || t.status === 6,
  stopped: (t) => t.status === 0,
  checking: (t) => t.status === 1 || t.status === 2,
  error: (t) => t.error !== 0,
  active: (t) => t.rateDownload > 0 || t.rateUpload > 0 || t.status === 2
}

export const isFilterId = (s: string | undefined): s is FilterId => (filterIds as ReadonlyArray<string | undefined>).includes(s)

export const inFilter = (filter: FilterId, t: Facts): boolean => keeps[filter](t)

/** How many torrents each filter keeps. */
export const filterCounts = (torrents: ReadonlyArray<Facts>): Record<FilterId, number> => {
  const counts = { all: 0, downloading: 0, seeding: 0, stopped: 0, checking: 0, error: 0, active: 0 }
  for (const t of torrents) for (const id of filterIds) if (keeps[id](t)) counts[id]++
  return counts
}

/** The name search: names holding the query, case aside (an empty or blank query keeps all). */
export const nameMatcher = (query: string): (name: string) => boolean => {
  const wanted = query.trim().toLowerCase()
  return wanted === "" ? () => true : (name) => name.toLowerCase().includes(wanted)
}
