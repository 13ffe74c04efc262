/**
 * The qBittorrent API's torrent reads (GET and POST alike, as qbittorrent-nox answers them): info (with its
 * filters, sort and paging), properties, trackers, webseeds, files, pieceStates, pieceHashes, the per-torrent
 * downloadLimit / uploadLimit, categories and tags. A single `hash` missing is 400, one that names no torrent
 * 404 (either case of hex, as qBittorrent reads it); the JSON is shaped in protocol/QbtTorrents.ts,
 * QbtTorrentDetails.ts and QbtTorrentList.ts.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { TorrentView } from "../../domain/SessionView.js"
import * as Details from "../../protocol/QbtTorrentDetails.js"
import { torrentList } from "../../protocol/QbtTorrentList.js"
import type { QbtContext } from "../../protocol/QbtTorrents.js"
import type { SessionControlService } from "../session/SessionControl.js"
import { type Endpoint, type Endpoints, failure, json, missing, type QbtCall, type QbtReply } from "./QbtEndpoint.js"

/** The session's goals and the time, for the fields that need them. */
const contextOf = (control: SessionControlService): Effect.Effect<QbtContext> =>
  Effect.gen(function*() {
    const settings = yield* control.settings
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    return { settings, now }
  })

/** A read endpoint: GET and POST alike. */
const read = (run: (call: QbtCall) => Effect.Effect<QbtReply>): Endpoint => ({ post: false, run })

/** An endpoint on one torrent named by `hash`: 400 without it, 404 when no torrent has it. */
const onTorrent = (run: (view: TorrentView, call: QbtCall) => Effect.Effect<QbtReply>): Endpoint =>
  read((call) =>
    Effect.gen(function*() {
      const hash = call.params.text("hash")
      if (hash === undefined) return missing
      const wanted = hash.trim().toLowerCase()
      const view = (yield* call.control.torrents("all")).find((v) => v.hashString === wanted)
      return view === undefined ? failure(404) : yield* run(view, call)
    })
  )

/** `indexes=0|2`: the file indexes, or the 409 qBittorrent gives for a bad one (checked before the metadata:
 *  a torrent without it has no files, so every index is out of bounds). */
export const fileIndexes = (text: string | undefined, count: number): ReadonlyArray<number> | QbtReply => {
  if (text === undefined) return Array.from({ length: count }, (_, i) => i)
  const indexes: Array<number> = []
  for (const part of text.split("|")) {
    const trimmed = part.trim()
    if (!/^[+-]?\d+$/.test(trimmed) || Number(trimmed) < 0) return failure(409, `"${part}" is not a valid file index.`)
    const index = Number(trimmed)
    if (index >= count) return failure(409, `Index ${part} is out of bounds.`)
    indexes.push(index)
  }
  return indexes
}

/** downloadLimit / uploadLimit: `{hash: bytes/s}` (0 unlimited, -1 for a hash that names no torrent). `all`
 *  answers for every torrent (qbittorrent-nox answers `{"all": -1}`, of no use to anyone). */
const limits = (pick: (v: TorrentView) => number): Endpoint =>
  read(({ control, params }) =>
    Effect.gen(function*() {
      const given = params.text("hashes")
      if (given === undefined) return missing
      const views = yield* control.torrents("all")
      if (given.trim() === "all") return json(Object.fromEntries(views.map((v) => [v.hashString, pick(v)])))
      const byHash = new Map(views.map((v) => [v.hashString, v]))
      return json(Object.fromEntries(given.split("|").map((h) => {
        const v = byHash.get(h.trim().toLowerCase())
        return [h, v === undefined ? -1 : pick(v)]
      })))
    })
  )

export const torrentViewEndpoints: Endpoints = {
  info: read(({ control, params }) =>
    Effect.gen(function*() {
      const views = yield* control.torrents("all")
      const result = torrentList(views, {
        filter: params.text("filter"),
        category: params.text("category"),
        tag: params.text("tag"),
        hashes: params.text("hashes"),
        sort: params.text("sort"),
        reverse: params.text("reverse"),
        limit: params.text("limit"),
        offset: params.text("offset")
      }, yield* contextOf(control))
      return result._tag === "Ok" ? json(result.torrents) : failure(400, result.message)
    })
  ),
  properties: onTorrent((view, { control }) => Effect.map(contextOf(control), (context) => json(Details.properties(view, context)))),
  trackers: onTorrent((view, { control }) => Effect.map(control.settings, (settings) => json(Details.trackers(view, settings)))),
  webseeds: onTorrent((view) => Effect.succeed(json(Details.webseeds(view)))),
  files: onTorrent((view, { params }) => {
    const indexes = fileIndexes(params.text("indexes"), view.hasMetadata ? view.files.length : 0)
    return Effect.succeed("status" in indexes ? indexes : json(Details.files(view, indexes)))
  }),
  pieceStates: onTorrent((view) => Effect.succeed(json(Details.pieceStates(view)))),
  pieceHashes: onTorrent((view) => Effect.succeed(json(Details.pieceHashes(view)))),
  downloadLimit: limits((v) => v.downloadLimit),
  uploadLimit: limits((v) => v.uploadLimit),
  categories: read(({ control }) =>
    Effect.map(control.categories, (categories) => json(Object.fromEntries(categories.map((c) => [c.name, { name: c.name, savePath: c.savePath }]))))
  ),
  tags: read(({ control }) => Effect.map(control.tags, (tags) => json(tags)))
}
