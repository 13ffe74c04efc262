/**
 * torrents/info's list as qBittorrent 4.6 makes it (TorrentsController::infoAction, TorrentFilter): the
 * torrents that pass `filter` (a state group; unknown names mean all), `category` (exact; "" the
 * uncategorized), `tag` ("" the untagged) and `hashes` (a|b, hex in either case, as qbittorrent-nox 4.5.2
 * reads them), sorted by any field of the info object (`sort`, `reverse`; an unknown field is a 400 when the list is not
 * empty), then cut by `offset` (negative: from the end) and `limit`. qBittorrent 5.0's names `stopped` and
 * `running` are taken for `paused` and `resumed`. Pure: the endpoint gives the views and the parameters.
 */
import type { TorrentView } from "../domain/SessionView.js"
import { type QbtContext, type QbtState, type QbtTorrentInfo, queueRanks, torrentInfo } from "./QbtTorrents.js"

/** torrents/info's parameters, as given (undefined: absent). */
export interface QbtListQuery {
  readonly filter?: string | undefined
  readonly category?: string | undefined
  readonly tag?: string | undefined
  readonly hashes?: string | undefined
  readonly sort?: string | undefined
  readonly reverse?: string | undefined
  readonly limit?: string | undefined
  readonly offset?: string | undefined
}

export type QbtListResult =
  | { readonly _tag: "Ok"; readonly torrents: ReadonlyArray<QbtTorrentInfo> }
  | { readonly _tag: "BadSort"; readonly message: string }

const downloading: ReadonlySet<QbtState> = new Set<QbtState>([
  "downloading", "metaDL", "forcedMetaDL", "stalledDL", "checkingDL", "pausedDL", "queuedDL", "forcedDL"
])
const uploading: ReadonlySet<QbtState> = new Set<QbtState>(["uploading", "stalledUP", "checkingUP", "queuedUP", "forcedUP"])
const activeStates: ReadonlySet<QbtState> = new Set<QbtState>(["metaDL", "forcedMetaDL", "downloading", "forcedDL", "uploading", "forcedUP", "moving"])

/** TorrentImpl::isActive: moving data now (a stalled download counts while it uploads). */
const isActive = (t: QbtTorrentInfo): boolean => activeStates.has(t.state) || (t.state === "stalledDL" && t.upspeed > 0)

const all = (): boolean => true

/** TorrentFilter's state groups by name. */
export const stateFilters: { readonly [name: string]: (t: QbtTorrentInfo) => boolean } = {
  all,
  downloading: (t) => downloading.has(t.state),
  seeding: (t) => uploading.has(t.state),
  completed: (t) => uploading.has(t.state) || t.state === "pausedUP",
  paused: (t) => t.state === "pausedUP" || t.state === "pausedDL",
  stopped: (t) => t.state === "pausedUP" || t.state === "pausedDL",
  resumed: (t) => t.state !== "pausedUP" && t.state !== "pausedDL",
  running: (t) => t.state !== "pausedUP" && t.state !== "pausedDL",
  active: isActive,
  inactive: (t) => !isActive(t),
  stalled: (t) => t.state === "stalledUP" || t.state === "stalledDL",
  stalled_uploading: (t) => t.state === "stalledUP",
  stalled_downloading: (t) => t.state === "stalledDL",
  checking: (t) => t.state === "checkingUP" || t.state === "checkingDL" || t.state === "checkingResumeData",
  moving: (t) => t.state === "moving",
  errored: (t) => t.state === "error" || t.state === "missingFiles"
}

/** QString::toInt: a whole decimal number, else 0. */
const intOf = (text: string | undefined): number => {
  const trimmed = text?.trim() ?? ""
  return /^[+-]?\d+$/.test(trimmed) ? Number.parseInt(trimmed, 10) : 0
}

/** The order of two values of one field, as infoAction's lessThan (numbers, strings by code unit, booleans). */
const compare = (a: unknown, b: unknown): number => {
  if (typeof a === "number" && typeof b === "number") return a - b
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b)
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0
  return 0
}

/** torrents/info's answer for the session's torrents `views` (in the session's order). */
export const torrentList = (views: ReadonlyArray<TorrentView>, query: QbtListQuery, context: QbtContext): QbtListResult => {
  const filter = query.filter ?? "all"
  // Own keys only: `constructor` or `toString` is no filter name but an unknown one (all).
  const byState = Object.hasOwn(stateFilters, filter) ? stateFilters[filter] ?? all : all
  const hashes = query.hashes?.split("|").map((h) => h.toLowerCase()).filter((h) => h !== "")
  const ranked = { ...context, queueRanks: context.queueRanks ?? queueRanks(views) }
  const picked = views
    .filter((v) => hashes === undefined || hashes.length === 0 || hashes.includes(v.hashString))
    .filter((v) => query.category === undefined || v.category === query.category)
    .filter((v) => query.tag === undefined || (query.tag === "" ? v.tags.length === 0 : v.tags.includes(query.tag)))
    .map((v) => torrentInfo(v, ranked))
    .filter(byState)
  if (picked.length === 0) return { _tag: "Ok", torrents: [] }
  const sort = query.sort ?? ""
  let list = picked
  if (sort !== "") {
    if (!Object.hasOwn(picked[0]!, sort)) return { _tag: "BadSort", message: "'sort' parameter is invalid" }
    const key = sort as keyof QbtTorrentInfo
    const reverse = query.reverse?.trim().toLowerCase() === "true"
    list = [...picked].sort((a, b) => (reverse ? compare(b[key], a[key]) : compare(a[key], b[key])))
  }
  const size = list.length
  let offset = intOf(query.offset)
  let limit = intOf(query.limit)
  if (offset < 0) offset = size + offset
  if (offset >= size || offset < 0) offset = 0
  if (limit <= 0) limit = -1
  return { _tag: "Ok", torrents: limit > 0 || offset > 0 ? list.slice(offset, limit > 0 ? offset + limit : undefined) : list }
}
