/**
 * A torrent as the qBittorrent API shows it: torrents/info's object, properties, files, trackers and the
 * piece lists have the field names and JSON types of qbittorrent-nox 4.5.2's answers (notes/qbt-ref/shapes.md,
 * written out below) plus what 4.6.7 added; the state names follow TorrentImpl::updateState; the special
 * values (eta 8640000, limits -2 / -1, availability -1, sizes -1 before the metadata) are the catalog's; and
 * torrents/info's list filters, sorts and pages as infoAction does.
 */
import { describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import { type SessionSettings, Status, type TorrentView } from "../../src/domain/SessionView.js"
import * as Details from "../../src/protocol/QbtTorrentDetails.js"
import { torrentList } from "../../src/protocol/QbtTorrentList.js"
import { maxEta, torrentInfo, torrentState } from "../../src/protocol/QbtTorrents.js"
import * as MemoryControl from "../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

type Kind = "integer" | "number" | "string" | "boolean" | "array"

/** shapes.md's torrents_info (49 fields); "number" where a fraction may come (the catalog's values were whole). */
const infoTypes452: Record<string, Kind> = {
  added_on: "integer", amount_left: "integer", auto_tmm: "boolean", availability: "number", category: "string",
  completed: "integer", completion_on: "integer", content_path: "string", dl_limit: "integer", dlspeed: "integer",
  download_path: "string", downloaded: "integer", downloaded_session: "integer", eta: "integer", f_l_piece_prio: "boolean",
  force_start: "boolean", hash: "string", infohash_v1: "string", infohash_v2: "string", last_activity: "integer",
  magnet_uri: "string", max_ratio: "number", max_seeding_time: "integer", name: "string", num_complete: "integer",
  num_incomplete: "integer", num_leechs: "integer", num_seeds: "integer", priority: "integer", progress: "number",
  ratio: "number", ratio_limit: "number", save_path: "string", seeding_time: "integer", seeding_time_limit: "integer",
  seen_complete: "integer", seq_dl: "boolean", size: "integer", state: "string", super_seeding: "boolean",
  tags: "string", time_active: "integer", total_size: "integer", tracker: "string", trackers_count: "integer",
  up_limit: "integer", uploaded: "integer", uploaded_session: "integer", upspeed: "integer"
}
/** serialize_torrent.h at release-4.6.7 beyond 4.5.2. */
const infoTypes46: Record<string, Kind> = { inactive_seeding_time_limit: "integer", max_inactive_seeding_time: "integer" }

/** shapes.md's torrents_properties_* (39 fields; the same in 4.6.7's propertiesAction). */
const propertiesTypes: Record<string, Kind> = {
  addition_date: "integer", comment: "string", completion_date: "integer", created_by: "string", creation_date: "integer",
  dl_limit: "integer", dl_speed: "integer", dl_speed_avg: "integer", download_path: "string", eta: "integer", hash: "string",
  infohash_v1: "string", infohash_v2: "string", is_private: "boolean", last_seen: "integer", name: "string",
  nb_connections: "integer", nb_connections_limit: "integer", peers: "integer", peers_total: "integer", piece_size: "integer",
  pieces_have: "integer", pieces_num: "integer", reannounce: "integer", save_path: "string", seeding_time: "integer",
  seeds: "integer", seeds_total: "integer", share_ratio: "number", time_elapsed: "integer", total_downloaded: "integer",
  total_downloaded_session: "integer", total_size: "integer", total_uploaded: "integer", total_uploaded_session: "integer",
  total_wasted: "integer", up_limit: "integer", up_speed: "integer", up_speed_avg: "integer"
}
/** shapes.md's torrents_files_* (is_seed on the first only). */
const fileTypes: Record<string, Kind> = {
  availability: "number", index: "integer", is_seed: "boolean", name: "string", piece_range: "array", priority: "integer",
  progress: "number", size: "integer"
}
/** shapes.md's torrents_trackers_*. */
const trackerTypes: Record<string, Kind> = {
  msg: "string", num_downloaded: "integer", num_leeches: "integer", num_peers: "integer", num_seeds: "integer",
  status: "integer", tier: "integer", url: "string"
}

const kindOf = (v: unknown): string =>
  typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : Array.isArray(v) ? "array" : v === null ? "null" : typeof v

/** The object's fields are exactly `expected`'s, each of its type ("integer" fits where a fraction may be). */
const expectShape = (value: unknown, expected: Record<string, Kind>) => {
  const o = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  expect(Object.keys(o).sort()).toEqual(Object.keys(expected).sort())
  for (const [k, kind] of Object.entries(expected)) {
    const actual = kindOf(o[k])
    expect([k, actual === kind || (kind === "number" && actual === "integer")]).toEqual([k, true])
  }
}

const album = makeTorrent({
  name: "album",
  pieceLength: 16384,
  announce: "http://127.0.0.1:9/announce",
  files: [{ path: ["a.bin"], data: randomBytes(100_000) }, { path: ["c.txt"], data: randomBytes(18, 2) }, { path: ["sub", "b.bin"], data: randomBytes(50_000, 3) }]
})
const single = makeTorrent({ name: "one.iso", pieceLength: 16384, files: [{ path: ["one.iso"], data: randomBytes(40_000, 4) }], private: true })
const magnetHash = "cd".repeat(20)
const magnet = `magnet:?xt=urn:btih:${magnetHash}&dn=lonely`
const now = 1_796_676_900

const settings: SessionSettings = { ...MemoryControl.defaultSettings, dhtEnabled: true, pexEnabled: false }
const context = { settings, now }

/** The views of a memory session holding the album (half done), the single file (a seed) and a magnet. */
const fixture = Effect.runSync(Effect.gen(function*() {
  const control = yield* MemoryControl.make({ now: () => now - 100 })
  const a = yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, {})
  const s = yield* control.add({ _tag: "Metainfo", bytes: single.bytes }, {})
  const m = yield* control.add({ _tag: "Magnet", uri: magnet }, { paused: true })
  yield* control.setProgress(a.id, 0.5)
  yield* control.setProgress(s.id, 1)
  const [albumView, seedView, magnetView] = yield* control.torrents([a.id, s.id, m.id])
  return { album: albumView!, seed: seedView!, magnet: magnetView! }
}))

const view = (base: TorrentView, patch: Partial<TorrentView>): TorrentView => ({ ...base, ...patch })

describe("torrentInfo", () => {
  it("has the catalog's fields and types, plus 4.6's, for a download, a seed and a magnet", () => {
    for (const v of [fixture.album, fixture.seed, fixture.magnet]) expectShape(torrentInfo(v, context), { ...infoTypes452, ...infoTypes46 })
  })

  it("shows a torrent in qBittorrent's numbers", () => {
    const v = view(fixture.album, { tags: ["alpha", "beta"], category: "tv", downloadDir: "/downloads/incomplete", savePath: "/tv", queuePosition: 2 })
    const info = torrentInfo(v, context)
    expect(info).toMatchObject({
      hash: v.hashString, infohash_v1: v.hashString, infohash_v2: "", name: "album", tags: "alpha, beta", category: "tv",
      save_path: "/tv", download_path: "/downloads/incomplete", content_path: "/downloads/incomplete/album",
      progress: v.percentDone, size: 150_018, total_size: 150_018, eta: maxEta, priority: 3, state: "stalledDL",
      ratio_limit: -2, max_ratio: -1, seeding_time_limit: -2, max_seeding_time: -1, inactive_seeding_time_limit: -2,
      max_inactive_seeding_time: -1, trackers_count: 1, tracker: "", magnet_uri: v.magnetLink, added_on: now - 100,
      last_activity: now - 100, f_l_piece_prio: false, super_seeding: false
    })
    expect(info.amount_left + info.completed).toBe(info.size)
    // No peer: the fewest copies is 0, and 4 of the 10 pieces (ours) have more.
    expect(info.availability).toBe(0.4)
  })

  it("a seed: availability -1, priority 0, content path of its one file, no download path", () => {
    const info = torrentInfo(fixture.seed, context)
    expect(info).toMatchObject({ availability: -1, priority: 0, progress: 1, state: "stalledUP", content_path: "/downloads/one.iso", download_path: "", amount_left: 0, completed: 40_000 })
  })

  it("a magnet without metadata: total size -1, size 0, no content path", () => {
    const info = torrentInfo(fixture.magnet, context)
    expect(info).toMatchObject({ total_size: -1, size: 0, content_path: "", availability: 0, state: "pausedDL", hash: magnetHash, infohash_v1: magnetHash, eta: maxEta })
  })

  it("a v2-only torrent's hashes come from its link", () => {
    const v2 = "ab".repeat(32)
    const info = torrentInfo(view(fixture.album, { hashString: v2.slice(0, 40), magnetLink: `magnet:?xt=urn:btmh:1220${v2}&dn=x` }), context)
    expect([info.hash, info.infohash_v1, info.infohash_v2]).toEqual([v2.slice(0, 40), "", v2])
    const hybrid = torrentInfo(view(fixture.album, { magnetLink: `magnet:?xt=urn:btih:${fixture.album.hashString}&xt=urn:btmh:1220${v2}` }), context)
    expect([hybrid.infohash_v1, hybrid.infohash_v2]).toEqual([fixture.album.hashString, v2])
  })

  it("share limits: the torrent's own, none, or the session's in force", () => {
    const own = torrentInfo(view(fixture.seed, { seedRatioMode: 1, seedRatioLimit: 1.5, seedTimeMode: 1, seedTimeLimit: 60, seedIdleMode: 2 }), context)
    expect(own).toMatchObject({ ratio_limit: 1.5, max_ratio: 1.5, seeding_time_limit: 60, max_seeding_time: 60, inactive_seeding_time_limit: -1, max_inactive_seeding_time: -1 })
    const none = torrentInfo(view(fixture.seed, { seedRatioMode: 2, seedTimeMode: 2 }), context)
    expect(none).toMatchObject({ ratio_limit: -1, max_ratio: -1, seeding_time_limit: -1, max_seeding_time: -1 })
    const session = { ...settings, seedRatioLimited: true, seedRatioLimit: 2, seedTimeLimited: true, seedTimeLimit: 120, idleSeedingLimitEnabled: true, idleSeedingLimit: 30 }
    const global = torrentInfo(fixture.seed, { settings: session, now })
    expect(global).toMatchObject({ ratio_limit: -2, max_ratio: 2, seeding_time_limit: -2, max_seeding_time: 120, inactive_seeding_time_limit: -2, max_inactive_seeding_time: 30 })
    // A seed's ETA is its nearest goal: 120 minutes of seeding, 600 s of it done.
    expect(torrentInfo(view(fixture.seed, { secondsSeeding: 600 }), { settings: { ...settings, seedTimeLimited: true, seedTimeLimit: 120 }, now }).eta).toBe(7200 - 600)
  })

  it("a download's ETA and rates; a stopped one shows no rate and no ETA", () => {
    const moving = torrentInfo(view(fixture.album, { rateDownload: 1000, rateUpload: 10 }), context)
    expect(moving).toMatchObject({ state: "downloading", dlspeed: 1000, upspeed: 10, eta: Math.trunc(fixture.album.leftUntilDone / 1000) })
    const stopped = torrentInfo(view(fixture.album, { status: Status.Stopped, rateDownload: 1000 }), context)
    expect(stopped).toMatchObject({ state: "pausedDL", dlspeed: 0, eta: maxEta })
  })

  it("ratio: uploaded over downloaded, over what it has when it downloaded (almost) nothing", () => {
    expect(torrentInfo(view(fixture.seed, { downloadedEver: 40_000, uploadedEver: 60_000 }), context).ratio).toBe(1.5)
    expect(torrentInfo(view(fixture.seed, { downloadedEver: 0, uploadedEver: 20_000 }), context).ratio).toBe(0.5)
    expect(torrentInfo(view(fixture.magnet, { uploadedEver: 0 }), context).ratio).toBe(0)
  })

  it("bytes over the torrent's life, and since the session started (*_session)", () => {
    const info = torrentInfo(view(fixture.seed, { downloadedEver: 40_000, uploadedEver: 60_000, downloadedSession: 1000, uploadedSession: 2000 }), context)
    expect([info.downloaded, info.uploaded, info.downloaded_session, info.uploaded_session]).toEqual([40_000, 60_000, 1000, 2000])
  })

  it("availability: the fewest copies of a piece (ours counted) plus the share of pieces with more", () => {
    const pieces = fixture.album.pieceCount
    const info = torrentInfo(view(fixture.album, { availability: new Array<number>(pieces).fill(1) }), context)
    // Half the pieces are ours: those have two copies, the rest one.
    const had = Details.pieceStates(fixture.album).filter((s) => s === 2).length
    expect(info.availability).toBe(1 + Math.floor((had * 1000) / pieces) / 1000)
  })
})

describe("torrentState", () => {
  const { album: dl, seed, magnet: meta } = fixture
  const cases: ReadonlyArray<readonly [string, TorrentView]> = [
    ["error", view(dl, { status: Status.Stopped, error: 3, errorString: "/d/album/a.bin: cannot write: no space left" })],
    ["missingFiles", view(dl, { status: Status.Stopped, error: 3, errorString: "/d/album/a.bin: deleted while the torrent was using it" })],
    ["pausedUP", view(seed, { status: Status.Stopped })],
    ["pausedDL", view(dl, { status: Status.Stopped })],
    ["queuedUP", view(seed, { status: Status.SeedWait })],
    ["queuedDL", view(dl, { status: Status.DownloadWait })],
    ["checkingResumeData", view(dl, { status: Status.CheckWait })],
    ["checkingUP", view(seed, { status: Status.Check })],
    ["checkingDL", view(dl, { status: Status.Check })],
    ["metaDL", view(meta, { status: Status.Download })],
    ["forcedMetaDL", view(meta, { status: Status.Download, forced: true })],
    ["queuedDL", view(meta, { status: Status.DownloadWait })],
    ["pausedDL", meta],
    ["forcedUP", view(seed, { forced: true })],
    ["forcedDL", view(dl, { forced: true })],
    ["uploading", view(seed, { rateUpload: 5 })],
    ["stalledUP", seed],
    ["downloading", view(dl, { rateDownload: 5 })],
    ["stalledDL", dl]
  ]
  for (const [state, v] of cases) it(`${state}`, () => expect(torrentState(v)).toBe(state))
  it("a forced torrent that is stopped is paused, not forced", () => {
    expect(torrentState(view(seed, { forced: true, status: Status.Stopped }))).toBe("pausedUP")
    expect(torrentInfo(view(seed, { forced: true, status: Status.Stopped }), context).force_start).toBe(false)
  })
})

describe("properties, files, trackers, webseeds, pieces", () => {
  it("properties: the catalog's fields and types; -1 for what a magnet does not know yet and unlimited rates", () => {
    for (const v of [fixture.album, fixture.seed, fixture.magnet]) expectShape(Details.properties(v, context), propertiesTypes)
    expect(Details.properties(fixture.magnet, context)).toMatchObject({
      total_size: -1, pieces_num: -1, piece_size: -1, pieces_have: 0, creation_date: -1, completion_date: -1, last_seen: -1, dl_limit: -1, up_limit: -1
    })
    const p = Details.properties(view(fixture.seed, { uploadLimit: 51_200 }), context)
    expect(p).toMatchObject({ pieces_num: 3, piece_size: 16384, pieces_have: 3, is_private: true, up_limit: 51_200, dl_limit: -1, completion_date: now - 100 })
  })

  it("files: the catalog's fields, is_seed on the first only, priorities 0/1/6, availability -1 on a seed", () => {
    const v = view(fixture.album, { files: fixture.album.files.map((f, i) => ({ ...f, wanted: i !== 1, priority: i === 2 ? 1 : 0 })) })
    const list = Details.files(v)
    expect(list.map((f) => f.name)).toEqual(["album/a.bin", "album/c.txt", "album/sub/b.bin"])
    expectShape(list[0], fileTypes)
    const { is_seed: _s, ...rest } = fileTypes
    expectShape(list[1], rest)
    expect(list.map((f) => f.priority)).toEqual([1, 0, 6])
    expect(list[0]).toMatchObject({ index: 0, is_seed: false, size: 100_000, piece_range: [0, 6] })
    expect(Details.files(v, [2]).map((f) => [f.index, "is_seed" in f])).toEqual([[2, false]])
    expect(Details.files(fixture.seed)).toEqual([{ index: 0, name: "one.iso", size: 40_000, progress: 1, priority: 1, piece_range: [0, 2], availability: -1, is_seed: true }])
    expect(Details.files(fixture.magnet)).toEqual([])
  })

  it("trackers: DHT, PeX and LSD first (working when on), then the torrent's, with qBittorrent's statuses", () => {
    const v = view(fixture.album, {
      trackers: [
        { announce: "http://a/announce", tier: 0, state: "failed", lastError: "Connection refused", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 },
        { announce: "http://b/announce", tier: 1, state: "working", lastError: "", peers: 7, seeders: 3, leechers: 4, nextAnnounceTime: now + 60 },
        { announce: "http://c/announce", tier: 2, state: "waiting", lastError: "", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 }
      ]
    })
    const rows = Details.trackers(v, settings)
    for (const row of rows) expectShape(row, trackerTypes)
    expect(rows.map((r) => [r.url, r.status, r.tier])).toEqual([
      ["** [DHT] **", 2, -1], ["** [PeX] **", 0, -1], ["** [LSD] **", 0, -1],
      ["http://a/announce", 4, 0], ["http://b/announce", 2, 1], ["http://c/announce", 1, 2]
    ])
    expect(rows[3]).toMatchObject({ msg: "Connection refused", num_peers: -1, num_seeds: -1, num_leeches: -1 })
    expect(rows[4]).toMatchObject({ msg: "", num_peers: 7, num_seeds: 3, num_leeches: 4 })
    expect(Details.properties(v, context).reannounce).toBe(60)
    expect(torrentInfo(v, context)).toMatchObject({ tracker: "http://b/announce", num_complete: 3, num_incomplete: 4, trackers_count: 3 })
    const privateRows = Details.trackers(fixture.seed, settings)
    expect(privateRows.slice(0, 3).map((r) => [r.status, r.msg])).toEqual([[0, "This torrent is private"], [0, "This torrent is private"], [0, "This torrent is private"]])
  })

  it("webseeds, pieceStates, pieceHashes", () => {
    expect(Details.webseeds(view(fixture.album, { webseeds: ["http://ws/album/"] }))).toEqual([{ url: "http://ws/album/" }])
    // The memory session's album is verified to inside its fifth piece, which is being downloaded.
    expect(Details.pieceStates(fixture.album)).toEqual([2, 2, 2, 2, 1, 0, 0, 0, 0, 0])
    // Pieces being downloaded are 1; one verified meanwhile stays 2.
    expect(Details.pieceStates(view(fixture.album, { piecesInProgress: [6, 4, 2] }))).toEqual([2, 2, 2, 2, 1, 0, 1, 0, 0, 0])
    expect(Details.pieceStates(fixture.seed)).toEqual([2, 2, 2])
    expect(Details.pieceStates(fixture.magnet)).toEqual([])
    expect(Details.pieceHashes(fixture.seed)).toHaveLength(3)
    expect(Details.pieceHashes(fixture.seed).every((h) => /^[0-9a-f]{40}$/.test(h))).toBe(true)
    expect(Details.pieceHashes(fixture.magnet)).toEqual([])
  })
})

describe("torrentList", () => {
  const views = [
    view(fixture.album, { category: "tv", tags: ["alpha"], status: Status.Download }),
    view(fixture.seed, { category: "", tags: ["alpha", "beta"], rateUpload: 100 }),
    view(fixture.magnet, { category: "movies" })
  ]
  const names = (query: Parameters<typeof torrentList>[1]) => {
    const result = torrentList(views, query, context)
    return result._tag === "Ok" ? result.torrents.map((t) => t.name) : result.message
  }

  it("filters by state group, as TorrentFilter (unknown: all; 5.0's stopped/running too)", () => {
    expect(names({})).toEqual(["album", "one.iso", "lonely"])
    expect(names({ filter: "bogus" })).toEqual(["album", "one.iso", "lonely"])
    expect(names({ filter: "hasOwnProperty" })).toEqual(["album", "one.iso", "lonely"])
    expect(names({ filter: "downloading" })).toEqual(["album", "lonely"])
    expect(names({ filter: "seeding" })).toEqual(["one.iso"])
    expect(names({ filter: "completed" })).toEqual(["one.iso"])
    expect(names({ filter: "paused" })).toEqual(["lonely"])
    expect(names({ filter: "stopped" })).toEqual(["lonely"])
    expect(names({ filter: "resumed" })).toEqual(["album", "one.iso"])
    expect(names({ filter: "running" })).toEqual(["album", "one.iso"])
    expect(names({ filter: "active" })).toEqual(["one.iso"])
    expect(names({ filter: "inactive" })).toEqual(["album", "lonely"])
    expect(names({ filter: "stalled" })).toEqual(["album"])
    expect(names({ filter: "stalled_uploading" })).toEqual([])
    expect(names({ filter: "stalled_downloading" })).toEqual(["album"])
    expect(names({ filter: "checking" })).toEqual([])
    expect(names({ filter: "moving" })).toEqual([])
    expect(names({ filter: "errored" })).toEqual([])
  })

  it("category (exact, \"\" uncategorized), tag (\"\" untagged), hashes (either case, |-separated)", () => {
    expect(names({ category: "tv" })).toEqual(["album"])
    expect(names({ category: "" })).toEqual(["one.iso"])
    expect(names({ category: "nosuch" })).toEqual([])
    expect(names({ tag: "beta" })).toEqual(["one.iso"])
    expect(names({ tag: "" })).toEqual(["lonely"])
    expect(names({ hashes: `${fixture.seed.hashString}|${magnetHash}` })).toEqual(["one.iso", "lonely"])
    // qbittorrent-nox 4.5.2 takes an upper-case hash (notes/qbt-ref torrents_info_hashes_upper.json lists it).
    expect(names({ hashes: fixture.seed.hashString.toUpperCase() })).toEqual(names({ hashes: fixture.seed.hashString }))
  })

  it("sort by any field, reverse; an unknown field is 400's message (but not on an empty list)", () => {
    expect(names({ sort: "name" })).toEqual(["album", "lonely", "one.iso"])
    expect(names({ sort: "total_size", reverse: "true" })).toEqual(["album", "one.iso", "lonely"])
    expect(names({ sort: "progress" })).toEqual(["lonely", "album", "one.iso"])
    expect(names({ sort: "nosuch" })).toBe("'sort' parameter is invalid")
    expect(names({ sort: "constructor" })).toBe("'sort' parameter is invalid")
    expect(names({ sort: "nosuch", category: "nosuch" })).toEqual([])
  })

  it("priority: the place among the torrents not finished (qBittorrent's queue), 0 for a seed", () => {
    const result = torrentList(views, {}, context)
    expect(result._tag === "Ok" ? result.torrents.map((t) => [t.name, t.priority]) : []).toEqual([["album", 1], ["one.iso", 0], ["lonely", 2]])
    // Alone, a torrent shows its own queue position + 1.
    expect(torrentInfo(views[2]!, context).priority).toBe(fixture.magnet.queuePosition + 1)
  })

  it("limit and offset (negative: from the end; out of range or not a number: ignored)", () => {
    expect(names({ limit: "1" })).toEqual(["album"])
    expect(names({ limit: "abc" })).toEqual(["album", "one.iso", "lonely"])
    expect(names({ offset: "1" })).toEqual(["one.iso", "lonely"])
    expect(names({ offset: "1", limit: "1" })).toEqual(["one.iso"])
    expect(names({ offset: "-1" })).toEqual(["lonely"])
    expect(names({ offset: "5" })).toEqual(["album", "one.iso", "lonely"])
    expect(names({ offset: "-5" })).toEqual(["album", "one.iso", "lonely"])
  })
})
