/**
 * sync/maindata and sync/torrentPeers over a memory session: the first answer whole, with the field names
 * and JSON types of qbittorrent-nox's (notes/qbt-ref/shapes.md, plus what 4.6 added), then only what
 * changed as torrents move, are labelled and removed; each client with its own rids; an unknown or
 * forgotten rid answered in full.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { PeerView } from "../../../src/domain/SessionView.js"
import type { Endpoints, QbtParams } from "../../../src/services/qbittorrent/QbtEndpoint.js"
import * as QbtSync from "../../../src/services/qbittorrent/QbtSync.js"
import * as MemoryControl from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

type Json = { readonly [key: string]: unknown }

const album = makeTorrent({
  name: "album",
  pieceLength: 16384,
  announce: "http://127.0.0.1:9/announce",
  files: [{ path: ["one.flac"], data: randomBytes(40_000) }, { path: ["two.flac"], data: randomBytes(9_000, 2) }]
})
const magnetHash = "cd".repeat(20)
const magnet = `magnet:?xt=urn:btih:${magnetHash}&dn=show&tr=${encodeURIComponent("udp://127.0.0.1:9")}`

const paramsOf = (values: Record<string, string>): QbtParams => ({ text: (name) => values[name], files: () => [] })

/** One call of an endpoint as a client: its status and its JSON body. */
const ask = (endpoints: Endpoints, method: string, control: MemoryControl.MemoryControlHandle, client: string, values: Record<string, string> = {}) =>
  Effect.map(endpoints[method]!.run({ params: paramsOf(values), control, client }), (reply) => ({
    status: reply.status,
    body: (reply.json ? JSON.parse(reply.body) : reply.body) as Json
  }))

/** The catalog's torrent fields (shapes.md, sync_maindata_rid0, `hash` left out as qBittorrent does) with
 *  their JSON types; "number" where a fraction may come (progress, ratios, availability). */
const torrentTypes: Record<string, "integer" | "number" | "string" | "boolean"> = {
  added_on: "integer", amount_left: "integer", auto_tmm: "boolean", availability: "number", category: "string",
  completed: "integer", completion_on: "integer", content_path: "string", dl_limit: "integer", dlspeed: "integer",
  download_path: "string", downloaded: "integer", downloaded_session: "integer", eta: "integer", f_l_piece_prio: "boolean",
  force_start: "boolean", infohash_v1: "string", infohash_v2: "string", last_activity: "integer", magnet_uri: "string",
  max_ratio: "number", max_seeding_time: "integer", name: "string", num_complete: "integer", num_incomplete: "integer",
  num_leechs: "integer", num_seeds: "integer", priority: "integer", progress: "number", ratio: "number",
  ratio_limit: "number", save_path: "string", seeding_time: "integer", seeding_time_limit: "integer",
  seen_complete: "integer", seq_dl: "boolean", size: "integer", state: "string", super_seeding: "boolean",
  tags: "string", time_active: "integer", total_size: "integer", tracker: "string", trackers_count: "integer",
  up_limit: "integer", uploaded: "integer", uploaded_session: "integer", upspeed: "integer"
}
/** What qBittorrent 4.6 added to a torrent's object (serialize_torrent.h, release-4.6.7). */
const torrentTypes46 = { inactive_seeding_time_limit: "integer", max_inactive_seeding_time: "integer" } as const

/** The catalog's server_state, and use_subcategories (4.6). */
const serverStateTypes: Record<string, string> = {
  alltime_dl: "integer", alltime_ul: "integer", average_time_queue: "integer", connection_status: "string",
  dht_nodes: "integer", dl_info_data: "integer", dl_info_speed: "integer", dl_rate_limit: "integer",
  free_space_on_disk: "integer", global_ratio: "string", queued_io_jobs: "integer", queueing: "boolean",
  read_cache_hits: "string", read_cache_overload: "string", refresh_interval: "integer", total_buffers_size: "integer",
  total_peer_connections: "integer", total_queued_size: "integer", total_wasted_session: "integer",
  up_info_data: "integer", up_info_speed: "integer", up_rate_limit: "integer", use_alt_speed_limits: "boolean",
  use_subcategories: "boolean", write_cache_overload: "string"
}

/** A JSON value's type as shapes.md names it. */
const typeOf = (v: unknown): string =>
  typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : Array.isArray(v) ? "array" : v === null ? "null" : typeof v
const typesOf = (o: unknown) => Object.fromEntries(Object.entries(o as Json).map(([k, v]) => [k, typeOf(v)]))
/** "integer" fits where the catalog allows a fraction ("number"). */
const fits = (actual: string, expected: string) => actual === expected || (expected === "number" && actual === "integer")

/** The client's rule (VueTorrent's): merge each answer into the state it holds. */
const merge = (held: Json, update: Json): Json => {
  if (update["full_update"] === true) {
    const { full_update: _f, rid: _r, ...state } = update
    return state
  }
  const keyed = (name: string, join: (a: unknown, b: unknown) => unknown) => {
    const out: Record<string, unknown> = { ...(held[name] as Json) }
    for (const [k, v] of Object.entries((update[name] ?? {}) as Json)) out[k] = join(out[k], v)
    for (const k of (update[`${name}_removed`] ?? []) as Array<string>) delete out[k]
    return out
  }
  const removedTags = (update["tags_removed"] ?? []) as Array<string>
  return {
    torrents: keyed("torrents", (a, b) => ({ ...(a as Json), ...(b as Json) })),
    categories: keyed("categories", (a, b) => ({ ...(a as Json), ...(b as Json) })),
    tags: [...(held["tags"] as Array<string>), ...((update["tags"] ?? []) as Array<string>)].filter((t) => !removedTags.includes(t)),
    trackers: keyed("trackers", (_a, b) => b),
    server_state: { ...(held["server_state"] as Json), ...((update["server_state"] ?? {}) as Json) }
  }
}

const peer: PeerView = {
  address: "10.0.0.2", port: 6881, clientName: "aria2/1.37.0", peerId: Buffer.from("A2-1-37-0-abcdefghij", "latin1").toString("base64"),
  rateToClient: 4000, rateToPeer: 0, bytesToClient: 16384, bytesToPeer: 0, progress: 1,
  isDownloadingFrom: true, isUploadingTo: false, isIncoming: false
}

describe("sync/maindata", () => {
  it.effect("full, then what changed as torrents move, are labelled and removed", () =>
    Effect.gen(function*() {
      const control = yield* MemoryControl.make({ freeSpace: { sizeBytes: 80_000_000, totalSize: 1e9 } })
      const sync = QbtSync.make()
      yield* control.createCategory({ name: "tv", savePath: "/tv" })
      yield* control.createTags(["alpha"])
      const a = yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, { tags: ["alpha"] })
      const b = yield* control.add({ _tag: "Magnet", uri: magnet }, { paused: true })

      const first = yield* ask(sync, "maindata", control, "c1")
      expect(first.status).toBe(200)
      const full = first.body
      expect(Object.keys(full)).toEqual(["categories", "full_update", "rid", "server_state", "tags", "torrents", "trackers"])
      expect(full).toMatchObject({ full_update: true, rid: 1, tags: ["alpha"], categories: { tv: { name: "tv", savePath: "/tv" } } })
      expect(full["trackers"]).toEqual({ "http://127.0.0.1:9/announce": [a.hashString], "udp://127.0.0.1:9": [magnetHash] })
      expect(typesOf(full["server_state"])).toEqual(serverStateTypes)
      expect(full["server_state"]).toMatchObject({ free_space_on_disk: 80_000_000, refresh_interval: 1500, connection_status: "firewalled", global_ratio: "-" })
      const torrents = full["torrents"] as Record<string, Json>
      expect(Object.keys(torrents).sort()).toEqual([a.hashString, b.hashString].sort())
      for (const t of Object.values(torrents)) {
        const types = typesOf(t)
        expect(Object.keys(types).sort()).toEqual(Object.keys({ ...torrentTypes, ...torrentTypes46 }).sort())
        for (const [k, expected] of Object.entries({ ...torrentTypes, ...torrentTypes46 })) expect([k, fits(types[k]!, expected)]).toEqual([k, true])
      }
      let held = merge({}, full)

      /** The next answer to c1, merged, must give what a new client is sent in full now. */
      const step = (rid: number) =>
        Effect.gen(function*() {
          const { body } = yield* ask(sync, "maindata", control, "c1", { rid: String(rid) })
          expect(body["full_update"]).toBeUndefined()
          held = merge(held, body)
          const now = yield* ask(sync, "maindata", control, `fresh-${rid}`)
          expect(merge({}, now.body)).toEqual(held)
          return body
        })

      yield* control.setProgress(a.id, 0.5)
      yield* control.setRates(a.id, 1000, 0)
      const moved = yield* step(1)
      expect(moved["rid"]).toBe(2)
      const changed = (moved["torrents"] as Record<string, Json>)[a.hashString]!
      expect(changed).toMatchObject({ progress: expect.closeTo(0.5, 1), dlspeed: 1000, state: "downloading" })
      expect(changed["name"]).toBeUndefined()
      expect(Object.keys(moved["torrents"] as Json)).toEqual([a.hashString])
      // Half the data downloaded: the session's totals moved too.
      const { downloadedBytes } = yield* control.stats
      expect(downloadedBytes).toBeGreaterThan(0)
      expect(moved["server_state"]).toEqual({ alltime_dl: downloadedBytes, dl_info_data: downloadedBytes, dl_info_speed: 1000 })

      expect((yield* step(2))).toEqual({ rid: 3 })

      yield* control.set([a.id], { category: "tv", addTags: ["beta"] })
      const labelled = yield* step(3)
      expect(labelled).toEqual({ rid: 4, tags: ["beta"], torrents: { [a.hashString]: { category: "tv", tags: "alpha, beta" } } })

      yield* control.remove([b.id], false)
      const removed = yield* step(4)
      expect(removed).toMatchObject({ rid: 5, torrents_removed: [b.hashString], trackers_removed: ["udp://127.0.0.1:9"] })
      expect((yield* step(5))).toEqual({ rid: 6 })

      yield* control.removeCategories(["tv"])
      yield* control.deleteTags(["alpha"])
      const unlabelled = yield* step(6)
      expect(unlabelled).toEqual({
        rid: 7,
        categories_removed: ["tv"],
        tags_removed: ["alpha"],
        torrents: { [a.hashString]: { category: "", tags: "beta" } }
      })
    }))

  it.effect("each client its own rids; an unknown or forgotten rid gets everything", () =>
    Effect.gen(function*() {
      const control = yield* MemoryControl.make()
      const sync = QbtSync.make({ keep: 2, maxClients: 2 })
      const a = yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, {})
      const rids = (client: string, rid?: number) =>
        Effect.map(ask(sync, "maindata", control, client, rid === undefined ? {} : { rid: String(rid) }), (r) => [r.body["rid"], r.body["full_update"] ?? false])

      expect(yield* rids("one")).toEqual([1, true])
      expect(yield* rids("one", 1)).toEqual([2, false])
      expect(yield* rids("one", 2)).toEqual([3, false])
      // Another client has its own counter: one's rid 3 is nothing it was sent.
      expect(yield* rids("two", 3)).toEqual([1, true])
      expect(yield* rids("two", 1)).toEqual([2, false])
      // One goes on from where it was; an older rid it still holds is answered from that state.
      expect(yield* rids("one", 2)).toEqual([4, false])
      // Kept: the last two states sent (3 and 4); rid 2 is forgotten.
      expect(yield* rids("one", 2)).toEqual([5, true])
      expect(yield* rids("one", 999999)).toEqual([6, true])
      expect(yield* rids("one", 0)).toEqual([7, true])
      expect(yield* rids("one", "abc" as unknown as number)).toEqual([8, true])
      // A third client pushes out the one heard from least recently (two).
      expect(yield* rids("three")).toEqual([1, true])
      expect(yield* rids("two", 2)).toEqual([1, true])
      yield* control.setRates(a.id, 5, 0)
      expect(yield* rids("three", 1)).toEqual([2, false])
    }))
})

describe("sync/torrentPeers", () => {
  it.effect("404 without a known hash; full then the peers' changes", () =>
    Effect.gen(function*() {
      const control = yield* MemoryControl.make()
      const sync = QbtSync.make()
      const a = yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, {})
      expect((yield* ask(sync, "torrentPeers", control, "c")).status).toBe(404)
      expect((yield* ask(sync, "torrentPeers", control, "c", { hash: "01".repeat(20) })).status).toBe(404)
      expect((yield* ask(sync, "torrentPeers", control, "c", { hash: "nothex" })).status).toBe(404)

      const none = yield* ask(sync, "torrentPeers", control, "c", { hash: a.hashString, rid: "0" })
      // As the catalog's sync_torrentPeers: no peers.
      expect(none).toEqual({ status: 200, body: { full_update: true, peers: {}, rid: 1, show_flags: false } })

      yield* control.update(a.id, { peers: [peer], peersConnected: 1 })
      const one = yield* ask(sync, "torrentPeers", control, "c", { hash: a.hashString.toUpperCase(), rid: "1" })
      expect(one.body).toEqual({
        rid: 2,
        peers: {
          "10.0.0.2:6881": {
            ip: "10.0.0.2", port: 6881, client: "aria2/1.37.0", peer_id_client: "A2-1-37-", progress: 1, dl_speed: 4000,
            up_speed: 0, downloaded: 16384, uploaded: 0, connection: "BT", flags: "D", flags_desc: "D = Interested (local) and unchoked (peer)",
            relevance: 1, files: ""
          }
        }
      })
      yield* control.update(a.id, { peers: [{ ...peer, rateToClient: 0 }] })
      expect((yield* ask(sync, "torrentPeers", control, "c", { hash: a.hashString, rid: "2" })).body).toEqual({ rid: 3, peers: { "10.0.0.2:6881": { dl_speed: 0 } } })
      yield* control.update(a.id, { peers: [] })
      expect((yield* ask(sync, "torrentPeers", control, "c", { hash: a.hashString, rid: "3" })).body).toEqual({ rid: 4, peers_removed: ["10.0.0.2:6881"] })

      // A rid of another torrent's peers: everything of this one.
      const b = yield* control.add({ _tag: "Magnet", uri: magnet }, {})
      expect((yield* ask(sync, "torrentPeers", control, "c", { hash: b.hashString, rid: "4" })).body).toEqual({ full_update: true, peers: {}, rid: 5, show_flags: false })
    }))
})
