/**
 * The torrent reads of the qBittorrent API over a memory session: GET and POST alike; torrents/info with
 * its filters, sort and paging (the 400 of an unknown sort field); the single-torrent reads with their 400
 * (no hash) and 404 (unknown hash) and the catalog's field names and types; files' 409 for a bad index; the
 * per-torrent limits (-1 for an unknown hash, every torrent for `all`), categories and tags.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { Endpoints, QbtParams } from "../../../src/services/qbittorrent/QbtEndpoint.js"
import { torrentViewEndpoints } from "../../../src/services/qbittorrent/QbtTorrentViews.js"
import * as MemoryControl from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

type Json = { readonly [key: string]: unknown }

const album = makeTorrent({
  name: "album",
  pieceLength: 16384,
  announce: "http://127.0.0.1:9/announce",
  files: [{ path: ["a.bin"], data: randomBytes(100_000) }, { path: ["c.txt"], data: randomBytes(18, 2) }, { path: ["sub", "b.bin"], data: randomBytes(50_000, 3) }]
})
const show = makeTorrent({ name: "show.mkv", pieceLength: 16384, files: [{ path: ["show.mkv"], data: randomBytes(70_000, 5) }] })
const magnetHash = "cd".repeat(20)
const magnet = `magnet:?xt=urn:btih:${magnetHash}&dn=lonely`

const paramsOf = (values: Record<string, string>): QbtParams => ({ text: (name) => values[name], files: () => [] })

const ask = (endpoints: Endpoints, method: string, control: MemoryControl.MemoryControlHandle, values: Record<string, string> = {}) =>
  Effect.map(endpoints[method]!.run({ params: paramsOf(values), control, client: "c1" }), (reply) => ({
    status: reply.status,
    json: reply.json,
    body: (reply.json ? JSON.parse(reply.body) : reply.body) as unknown
  }))

const kindOf = (v: unknown): string =>
  typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : Array.isArray(v) ? "array" : v === null ? "null" : typeof v

/** shapes.md's torrents_info fields (4.5.2) and 4.6.7's additions; "number" where a fraction may come. */
const infoTypes: Record<string, string> = {
  added_on: "integer", amount_left: "integer", auto_tmm: "boolean", availability: "number", category: "string",
  completed: "integer", completion_on: "integer", content_path: "string", dl_limit: "integer", dlspeed: "integer",
  download_path: "string", downloaded: "integer", downloaded_session: "integer", eta: "integer", f_l_piece_prio: "boolean",
  force_start: "boolean", hash: "string", infohash_v1: "string", infohash_v2: "string", last_activity: "integer",
  magnet_uri: "string", max_ratio: "number", max_seeding_time: "integer", name: "string", num_complete: "integer",
  num_incomplete: "integer", num_leechs: "integer", num_seeds: "integer", priority: "integer", progress: "number",
  ratio: "number", ratio_limit: "number", save_path: "string", seeding_time: "integer", seeding_time_limit: "integer",
  seen_complete: "integer", seq_dl: "boolean", size: "integer", state: "string", super_seeding: "boolean",
  tags: "string", time_active: "integer", total_size: "integer", tracker: "string", trackers_count: "integer",
  up_limit: "integer", uploaded: "integer", uploaded_session: "integer", upspeed: "integer",
  inactive_seeding_time_limit: "integer", max_inactive_seeding_time: "integer"
}
const expectTypes = (o: Json, expected: Record<string, string>) => {
  expect(Object.keys(o).sort()).toEqual(Object.keys(expected).sort())
  for (const [k, kind] of Object.entries(expected)) {
    const actual = kindOf(o[k])
    expect([k, actual === kind || (kind === "number" && actual === "integer")]).toEqual([k, true])
  }
}

/** A session with the album (seeding, tagged, in tv), the show (half done, in movies) and a paused magnet. */
const session = Effect.gen(function*() {
  const control = yield* MemoryControl.make()
  yield* control.createCategory({ name: "tv", savePath: "/media/tv" })
  yield* control.createCategory({ name: "movies", savePath: "" })
  const a = yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, { category: "tv", tags: ["alpha", "beta"] })
  const s = yield* control.add({ _tag: "Metainfo", bytes: show.bytes }, { category: "movies" })
  const m = yield* control.add({ _tag: "Magnet", uri: magnet }, { paused: true })
  yield* control.setProgress(a.id, 1)
  yield* control.setProgress(s.id, 0.5)
  yield* control.update(a.id, { uploadLimit: 51_200, webseeds: ["http://ws.example/album/"] })
  yield* control.update(s.id, { downloadLimit: 204_800 })
  return { control, a, s, m }
})

const views = torrentViewEndpoints

describe("qBittorrent torrent reads", () => {
  it("answer GET and POST alike", () => {
    for (const [name, endpoint] of Object.entries(views)) expect([name, endpoint.post]).toEqual([name, false])
    expect(Object.keys(views).sort()).toEqual(
      ["categories", "downloadLimit", "files", "info", "pieceHashes", "pieceStates", "properties", "tags", "trackers", "uploadLimit", "webseeds"]
    )
  })

  it.effect("torrents/info: every torrent with the catalog's fields, filtered, sorted and paged", () =>
    Effect.gen(function*() {
      const { a, control, s } = yield* session
      const all = yield* ask(views, "info", control)
      expect(all.status).toBe(200)
      expect(all.json).toBe(true)
      const list = all.body as Array<Json>
      expect(list.map((t) => t["name"])).toEqual(["album", "show.mkv", "lonely"])
      for (const t of list) expectTypes(t, infoTypes)
      expect(list[0]).toMatchObject({ hash: a.hashString, state: "stalledUP", tags: "alpha, beta", category: "tv", up_limit: 51_200, priority: 0, availability: -1 })
      expect(list[1]).toMatchObject({ hash: s.hashString, state: "stalledDL", category: "movies", dl_limit: 204_800, progress: 0.5, priority: 1 })
      expect(list[2]).toMatchObject({ hash: magnetHash, state: "pausedDL", total_size: -1, priority: 2 })

      const names = (values: Record<string, string>) => Effect.map(ask(views, "info", control, values), (r) => (r.body as Array<Json>).map((t) => t["name"]))
      expect(yield* names({ filter: "seeding" })).toEqual(["album"])
      expect(yield* names({ filter: "downloading" })).toEqual(["show.mkv", "lonely"])
      expect(yield* names({ filter: "paused" })).toEqual(["lonely"])
      expect(yield* names({ filter: "nosuch" })).toEqual(["album", "show.mkv", "lonely"])
      expect(yield* names({ category: "tv" })).toEqual(["album"])
      expect(yield* names({ category: "" })).toEqual(["lonely"])
      expect(yield* names({ tag: "beta" })).toEqual(["album"])
      expect(yield* names({ tag: "" })).toEqual(["show.mkv", "lonely"])
      expect(yield* names({ hashes: `${s.hashString}|${magnetHash}` })).toEqual(["show.mkv", "lonely"])
      // qbittorrent-nox 4.5.2 takes an upper-case hash (notes/qbt-ref torrents_info_hashes_upper.json lists it).
      expect(yield* names({ hashes: s.hashString.toUpperCase() })).toEqual(yield* names({ hashes: s.hashString }))
      expect(yield* names({ sort: "size", reverse: "true" })).toEqual(["album", "show.mkv", "lonely"])
      expect(yield* names({ sort: "name", limit: "2", offset: "1" })).toEqual(["lonely", "show.mkv"])
      expect(yield* names({ offset: "-1" })).toEqual(["lonely"])
      const bad = yield* ask(views, "info", control, { sort: "nosuch" })
      expect([bad.status, bad.json, bad.body]).toEqual([400, false, "'sort' parameter is invalid"])
    }))

  it.effect("one torrent's reads: 400 without hash, 404 for an unknown one, either case of hex", () =>
    Effect.gen(function*() {
      const { a, control } = yield* session
      for (const method of ["properties", "trackers", "webseeds", "files", "pieceStates", "pieceHashes"]) {
        expect([method, (yield* ask(views, method, control)).status]).toEqual([method, 400])
        expect([method, (yield* ask(views, method, control, { hash: "ef".repeat(20) })).status]).toEqual([method, 404])
        expect([method, (yield* ask(views, method, control, { hash: "xyz" })).status]).toEqual([method, 404])
        expect([method, (yield* ask(views, method, control, { hash: a.hashString.toUpperCase() })).status]).toEqual([method, 200])
      }
      const missing = yield* ask(views, "properties", control)
      expect(missing.body).toBe("Bad Request")
      expect((yield* ask(views, "properties", control, { hash: "ef".repeat(20) })).body).toBe("Not Found")
    }))

  it.effect("properties, trackers, webseeds, files, pieces of a torrent and of a magnet", () =>
    Effect.gen(function*() {
      const { a, control } = yield* session
      const props = (yield* ask(views, "properties", control, { hash: a.hashString })).body as Json
      expect(Object.keys(props)).toHaveLength(39)
      expect(props).toMatchObject({ hash: a.hashString, name: "album", up_limit: 51_200, dl_limit: -1, pieces_num: 10, pieces_have: 10, total_size: 150_018, save_path: "/downloads" })
      const magnetProps = (yield* ask(views, "properties", control, { hash: magnetHash })).body as Json
      expect(magnetProps).toMatchObject({ total_size: -1, pieces_num: -1, piece_size: -1 })

      const trackers = (yield* ask(views, "trackers", control, { hash: a.hashString })).body as Array<Json>
      expect(trackers.map((t) => t["url"])).toEqual(["** [DHT] **", "** [PeX] **", "** [LSD] **", "http://127.0.0.1:9/announce"])
      expect(trackers.map((t) => t["status"])).toEqual([2, 2, 0, 1])

      expect((yield* ask(views, "webseeds", control, { hash: a.hashString })).body).toEqual([{ url: "http://ws.example/album/" }])
      expect((yield* ask(views, "webseeds", control, { hash: magnetHash })).body).toEqual([])

      const files = (yield* ask(views, "files", control, { hash: a.hashString })).body as Array<Json>
      expect(files.map((f) => [f["index"], f["name"], f["is_seed"]])).toEqual([[0, "album/a.bin", true], [1, "album/c.txt", undefined], [2, "album/sub/b.bin", undefined]])
      const picked = (yield* ask(views, "files", control, { hash: a.hashString, indexes: "0|2" })).body as Array<Json>
      expect(picked.map((f) => f["index"])).toEqual([0, 2])
      expect(yield* ask(views, "files", control, { hash: a.hashString, indexes: "3" })).toMatchObject({ status: 409, body: "Index 3 is out of bounds." })
      expect(yield* ask(views, "files", control, { hash: a.hashString, indexes: "x" })).toMatchObject({ status: 409, body: "\"x\" is not a valid file index." })
      expect((yield* ask(views, "files", control, { hash: magnetHash })).body).toEqual([])
      expect((yield* ask(views, "files", control, { hash: magnetHash, indexes: "0" })).status).toBe(409)

      expect((yield* ask(views, "pieceStates", control, { hash: a.hashString })).body).toEqual(new Array(10).fill(2))
      expect((yield* ask(views, "pieceStates", control, { hash: magnetHash })).body).toEqual([])
      const hashes = (yield* ask(views, "pieceHashes", control, { hash: a.hashString })).body as Array<string>
      expect(hashes).toHaveLength(10)
      expect(hashes[0]).toMatch(/^[0-9a-f]{40}$/)
      expect((yield* ask(views, "pieceHashes", control, { hash: magnetHash })).body).toEqual([])
    }))

  it.effect("downloadLimit / uploadLimit: {hash: bytes/s}, -1 for an unknown hash, every torrent for all, 400 without hashes", () =>
    Effect.gen(function*() {
      const { a, control, s } = yield* session
      const unknown = "ef".repeat(20)
      expect((yield* ask(views, "uploadLimit", control, { hashes: `${a.hashString}|${unknown}` })).body).toEqual({ [a.hashString]: 51_200, [unknown]: -1 })
      expect((yield* ask(views, "downloadLimit", control, { hashes: "all" })).body).toEqual({ [a.hashString]: 0, [s.hashString]: 204_800, [magnetHash]: 0 })
      expect((yield* ask(views, "downloadLimit", control)).status).toBe(400)
    }))

  it.effect("categories ({name: {name, savePath}}) and tags", () =>
    Effect.gen(function*() {
      const { control } = yield* session
      expect((yield* ask(views, "categories", control)).body).toEqual({ tv: { name: "tv", savePath: "/media/tv" }, movies: { name: "movies", savePath: "" } })
      expect((yield* ask(views, "tags", control)).body).toEqual(["alpha", "beta"])
    }))
})
