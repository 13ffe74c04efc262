/**
 * The list's order: by one column, ascending or descending, ties by id (so that equal rows keep still
 * between polls). Pure (the tests run it in Node); sortStore.ts keeps the choice.
 */
import { lacksMetadata, type ListTorrent } from "./torrents.js"

export const sortKeys = ["name", "status", "progress", "size", "down", "up", "eta", "ratio", "uploaded", "added"] as const
export type SortKey = (typeof sortKeys)[number]
export type Direction = "asc" | "desc"

export interface Sort {
  readonly key: SortKey
  readonly dir: Direction
}

export const defaultSort: Sort = { key: "added", dir: "asc" }

const names = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" })

/** Transmission's negative codes (-1 none, -2 infinite or unknown) placed where they belong in an order. */
const etaRank = (t: ListTorrent): number => (t.percentDone >= 1 ? -1 : t.eta >= 0 ? t.eta : Infinity)
const ratioRank = (t: ListTorrent): number => (t.uploadRatio === -2 ? Infinity : t.uploadRatio)
// A magnet still fetching its metadata is behind every torrent at 0%.
const progressRank = (t: ListTorrent): number => (lacksMetadata(t) ? -1 : t.percentDone)

const numeric: Readonly<Record<Exclude<SortKey, "name">, (t: ListTorrent) => number>> = {
  status: (t) => t.status,
  progress: progressRank,
  size: (t) => t.totalSize,
  down: (t) => t.rateDownload,
  up: (t) => t.rateUpload,
  eta: etaRank,
  ratio: ratioRank,
  uploaded: (t) => t.uploadedEver,
  added: (t) => t.addedDate
}

const compareBy = (key: SortKey, a: ListTorrent, b: ListTorrent): number => {
  if (key === "name") return names.compare(a.name, b.name)
  const rank = numeric[key]
  const [x, y] = [rank(a), rank(b)]
  return x === y ? 0 : x < y ? -1 : 1
}

export const comparator = (sort: Sort) => (a: ListTorrent, b: ListTorrent): number => {
  const order = compareBy(sort.key, a, b)
  return order !== 0 ? (sort.dir === "asc" ? order : -order) : a.id - b.id
}

/** A click on a column: the same column turns around; another starts ascending (names, sizes) as people expect. */
export const toggled = (current: Sort, key: SortKey): Sort =>
  current.key === key ? { key, dir: current.dir === "asc" ? "desc" : "asc" } : { key, dir: "asc" }

export const isSortKey = (s: unknown): s is SortKey => (sortKeys as ReadonlyArray<unknown>).includes(s)
