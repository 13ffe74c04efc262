import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { type PeerView, Status, type SessionSettings, type SessionStats, type TorrentView } from "../../src/domain/SessionView.js"
import {
  type Fields,
  type Maindata,
  maindataOf,
  maindataUpdate,
  nextRid,
  peerIdClient,
  peerInfo,
  peerKey,
  type PeersData,
  peersOf,
  peersUpdate,
  serverState
} from "../../src/protocol/QbtSync.js"
import { defaultSettings } from "../../src/services/session/MemoryControl.js"

/**
 * What a client (VueTorrent, Flood) does with an answer of sync/maindata: a full one replaces its state;
 * an incremental one merges each torrent's and category's keys, adds tags and trackers, drops what is
 * named removed. Written here apart from the engine, as the client's own rule.
 */
const applyUpdate = (state: Maindata | undefined, update: Fields): Maindata => {
  if (update["full_update"] === true || state === undefined) {
    expect(update["full_update"]).toBe(true)
    return {
      torrents: update["torrents"] as Maindata["torrents"],
      categories: update["categories"] as Maindata["categories"],
      tags: update["tags"] as Maindata["tags"],
      trackers: update["trackers"] as Maindata["trackers"],
      server_state: update["server_state"] as Fields
    }
  }
  expect(Object.hasOwn(update, "full_update")).toBe(false)
  const merged = <T>(old: { readonly [k: string]: T }, changed: unknown, removed: unknown, merge: (a: T | undefined, b: T) => T) => {
    const out: Record<string, T> = { ...old }
    for (const [k, v] of Object.entries((changed ?? {}) as Record<string, T>)) out[k] = merge(out[k], v)
    for (const k of (removed ?? []) as Array<string>) delete out[k]
    return out
  }
  const removedTags = (update["tags_removed"] ?? []) as Array<string>
  return {
    torrents: merged(state.torrents, update["torrents"], update["torrents_removed"], (a, b) => ({ ...a, ...b })),
    categories: merged(state.categories, update["categories"], update["categories_removed"], (a, b) => ({ ...a, ...b })),
    tags: [...state.tags, ...((update["tags"] ?? []) as Array<string>)].filter((t) => !removedTags.includes(t)),
    trackers: merged(state.trackers, update["trackers"], update["trackers_removed"], (_a, b) => b),
    server_state: { ...state.server_state, ...((update["server_state"] ?? {}) as Fields) }
  }
}

/** Tags and a tracker's torrents are sets (their order is the server's hash order in qBittorrent). */
const normal = (m: Maindata) => ({
  ...m,
  tags: [...m.tags].sort(),
  trackers: Object.fromEntries(Object.entries(m.trackers).map(([url, hashes]) => [url, [...hashes].sort()]))
})

const hashes = ["a", "b", "c", "d", "e"].map((c) => c.repeat(40))
const subset = <T>(pool: ReadonlyArray<T>) => FastCheck.subarray([...pool])
const record = <T>(keys: ReadonlyArray<string>, value: FastCheck.Arbitrary<T>) =>
  FastCheck.tuple(subset(keys), FastCheck.array(value, { minLength: keys.length, maxLength: keys.length })).map(([ks, vs]) =>
    Object.fromEntries(ks.map((k, i) => [k, vs[i]!]))
  )

const torrentArb: FastCheck.Arbitrary<Fields> = FastCheck.record({
  name: FastCheck.constantFrom("album", "show", "film"),
  progress: FastCheck.constantFrom(0, 0.25, 0.5, 1),
  state: FastCheck.constantFrom("downloading", "stalledDL", "pausedUP", "uploading"),
  tags: FastCheck.constantFrom("", "alpha", "alpha, beta"),
  category: FastCheck.constantFrom("", "movies", "tv"),
  dlspeed: FastCheck.nat(3)
})

const maindataArb: FastCheck.Arbitrary<Maindata> = FastCheck.record({
  torrents: record(hashes, torrentArb),
  categories: FastCheck.subarray(["movies", "tv", "tv/hd"]).chain((names) =>
    FastCheck.tuple(...names.map((name) => FastCheck.constantFrom("", `/data/${name}`, "/elsewhere").map((savePath) => [name, { name, savePath }] as const)))
      .map((entries) => Object.fromEntries(entries))
  ),
  tags: FastCheck.subarray(["alpha", "beta", "gamma", "delta"]),
  trackers: record(["http://t1/announce", "udp://t2:80", "http://t3/a"], FastCheck.subarray(hashes, { minLength: 1 })),
  server_state: FastCheck.record({
    dl_info_speed: FastCheck.nat(3),
    free_space_on_disk: FastCheck.constantFrom(100, 200),
    connection_status: FastCheck.constantFrom("firewalled", "connected"),
    use_alt_speed_limits: FastCheck.boolean()
  })
})

const empty: Maindata = { torrents: {}, categories: {}, tags: [], trackers: {}, server_state: {} }

describe("QbtSync maindata", () => {
  it("applying every update in turn to the first full one gives the latest full state", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(FastCheck.tuple(maindataArb, FastCheck.boolean()), { minLength: 1, maxLength: 12 }), (steps) => {
        let held: Maindata | undefined
        let sent: Maindata | undefined
        let rid = 0
        for (const [state, forgotten] of steps) {
          rid = nextRid(rid)
          // Now and then the server knows no base for the client (rid 0, unknown, forgotten): a full update.
          const update = maindataUpdate(forgotten ? undefined : sent, state, rid)
          expect(update["rid"]).toBe(rid)
          held = applyUpdate(held, update)
          sent = state
          expect(normal(held)).toEqual(normal(state))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("sends only what changed, and a removed torrent once", () => {
    const a = hashes[0]!
    const b = hashes[1]!
    const first: Maindata = {
      torrents: { [a]: { name: "album", progress: 0.5, category: "" }, [b]: { name: "show", progress: 1, category: "tv" } },
      categories: { tv: { name: "tv", savePath: "" } },
      tags: ["alpha"],
      trackers: { "http://t/announce": [a, b] },
      server_state: { dl_info_speed: 10, queueing: true }
    }
    const full = maindataUpdate(undefined, first, 1)
    expect(full).toEqual({ ...first, full_update: true, rid: 1 })
    // Qt's order of keys.
    expect(Object.keys(full)).toEqual(["categories", "full_update", "rid", "server_state", "tags", "torrents", "trackers"])

    const second: Maindata = {
      ...first,
      torrents: { [a]: { name: "album", progress: 0.75, category: "tv" } },
      categories: { tv: { name: "tv", savePath: "/tv" }, movies: { name: "movies", savePath: "" } },
      tags: ["beta"],
      trackers: { "http://t/announce": [a], "udp://u:1": [a] }
    }
    expect(maindataUpdate(first, second, 2)).toEqual({
      rid: 2,
      torrents: { [a]: { progress: 0.75, category: "tv" } },
      torrents_removed: [b],
      categories: { tv: { savePath: "/tv" }, movies: { name: "movies", savePath: "" } },
      tags: ["beta"],
      tags_removed: ["alpha"],
      trackers: { "http://t/announce": [a], "udp://u:1": [a] }
    })
    // Nothing changed since: rid alone, the removed torrent not named again.
    expect(maindataUpdate(second, second, 3)).toEqual({ rid: 3 })
    const third: Maindata = { ...second, categories: { movies: { name: "movies", savePath: "" } }, trackers: { "udp://u:1": [a] }, server_state: { dl_info_speed: 0, queueing: true } }
    expect(maindataUpdate(second, third, 4)).toEqual({
      rid: 4,
      categories_removed: ["tv"],
      trackers_removed: ["http://t/announce"],
      server_state: { dl_info_speed: 0 }
    })
    // A new torrent comes whole; an empty state's full update keeps its empty sections.
    expect(maindataUpdate(empty, first, 5)["torrents"]).toEqual(first.torrents)
    expect(maindataUpdate(undefined, empty, 1)).toEqual({ categories: {}, full_update: true, rid: 1, server_state: {}, tags: [], torrents: {}, trackers: {} })
  })

  it("counts rid from 1 to 1000000 and round again", () => {
    expect([0, 1, 41, 999_999, 1_000_000].map(nextRid)).toEqual([1, 2, 42, 1_000_000, 1])
  })
})

const stats: SessionStats = {
  activeTorrentCount: 1,
  pausedTorrentCount: 0,
  torrentCount: 1,
  downloadSpeed: 2048,
  uploadSpeed: 512,
  downloadedBytes: 3000,
  uploadedBytes: 4999,
  downloadedSession: 1000,
  uploadedSession: 999,
  secondsActive: 60
}

/** The catalog's server_state (qbittorrent-nox 4.5.2, shapes.md) and use_subcategories, which 4.6 added. */
const serverStateTypes: Record<string, "integer" | "string" | "boolean"> = {
  alltime_dl: "integer",
  alltime_ul: "integer",
  average_time_queue: "integer",
  connection_status: "string",
  dht_nodes: "integer",
  dl_info_data: "integer",
  dl_info_speed: "integer",
  dl_rate_limit: "integer",
  free_space_on_disk: "integer",
  global_ratio: "string",
  queued_io_jobs: "integer",
  queueing: "boolean",
  read_cache_hits: "string",
  read_cache_overload: "string",
  refresh_interval: "integer",
  total_buffers_size: "integer",
  total_peer_connections: "integer",
  total_queued_size: "integer",
  total_wasted_session: "integer",
  up_info_data: "integer",
  up_info_speed: "integer",
  up_rate_limit: "integer",
  use_alt_speed_limits: "boolean",
  use_subcategories: "boolean",
  write_cache_overload: "string"
}

const typeOf = (v: unknown): string => (typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v)

describe("QbtSync server_state", () => {
  it("has the catalog's fields and types, the limits in force and qBittorrent's ratio text", () => {
    const settings: SessionSettings = { ...defaultSettings, speedLimitDown: 100_000, altSpeedEnabled: false }
    const state = serverState(stats, settings, { freeSpaceOnDisk: 123, peerConnections: 3, dhtNodes: 7 })
    expect(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, typeOf(v)]))).toEqual(serverStateTypes)
    expect(state).toMatchObject({
      dl_info_speed: 2048,
      up_info_speed: 512,
      dl_rate_limit: 100_000,
      up_rate_limit: 0,
      free_space_on_disk: 123,
      total_peer_connections: 3,
      dht_nodes: 7,
      refresh_interval: 1500,
      // 4999 / 3000 = 1.6663: cut, not rounded, as Utils::String::fromDouble.
      global_ratio: "1.66",
      connection_status: "firewalled",
      read_cache_hits: "0"
    })
    const alt = serverState({ ...stats, downloadedBytes: 0 }, { ...settings, altSpeedEnabled: true, altSpeedDown: 50 }, { incoming: true })
    expect(alt).toMatchObject({ global_ratio: "-", dl_rate_limit: 50_000, use_alt_speed_limits: true, connection_status: "connected", free_space_on_disk: 0 })
  })
})

const peer: PeerView = {
  address: "10.0.0.2",
  port: 51413,
  clientName: "Transmission 4.0.5",
  peerId: Buffer.from("-TR4050-abcdefghijkl", "latin1").toString("base64"),
  rateToClient: 1000,
  rateToPeer: 200,
  bytesToClient: 50_000,
  bytesToPeer: 7000,
  progress: 0.5,
  isDownloadingFrom: true,
  isUploadingTo: false,
  isIncoming: true,
  isEncrypted: true,
  isUtp: true
}

const torrent = { hashString: hashes[0]!, hasMetadata: true, haveValid: 10, totalSize: 100, peers: [peer], status: Status.Download } as unknown as TorrentView

describe("QbtSync torrentPeers", () => {
  it("shows a peer with qBittorrent's fields", () => {
    const info = peerInfo(peer, torrent)
    expect(info).toEqual({
      ip: "10.0.0.2",
      port: 51413,
      client: "Transmission 4.0.5",
      peer_id_client: "-TR4050-",
      progress: 0.5,
      dl_speed: 1000,
      up_speed: 200,
      downloaded: 50_000,
      uploaded: 7000,
      connection: "μTP",
      flags: "D I E P",
      flags_desc: "D = Interested (local) and unchoked (peer)\nI = Incoming connection\nE = Encrypted traffic\nP = μTP",
      relevance: 0.5,
      files: ""
    })
    expect(peerInfo({ ...peer, isUtp: false, isIncoming: false, isEncrypted: false, isDownloadingFrom: false }, { ...torrent, haveValid: 100 })).toMatchObject({
      connection: "BT",
      flags: "",
      flags_desc: "",
      relevance: 0
    })
    // No metadata: no files key (qBittorrent adds it only with the metadata).
    expect(Object.hasOwn(peerInfo(peer, { ...torrent, hasMetadata: false }), "files")).toBe(false)
    expect(peerKey(peer)).toBe("10.0.0.2:51413")
    expect(peerKey({ ...peer, address: "::1" })).toBe("[::1]:51413")
    expect(peerIdClient(Buffer.alloc(20).toString("base64"))).toBe("")
    expect(peerIdClient(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]).toString("base64"))).toBe("Unknown")
  })

  it("sends new peers whole, changed keys, and the peers gone", () => {
    const first = peersOf(torrent)
    expect(peersUpdate(undefined, first, 1)).toEqual({ full_update: true, peers: { "10.0.0.2:51413": peerInfo(peer, torrent) }, rid: 1, show_flags: false })
    const other: PeerView = { ...peer, address: "10.0.0.3" }
    const second: PeersData = peersOf({ ...torrent, peers: [{ ...peer, rateToClient: 5 }, other] })
    expect(peersUpdate(first, second, 2)).toEqual({ rid: 2, peers: { "10.0.0.2:51413": { dl_speed: 5 }, "10.0.0.3:51413": peerInfo(other, torrent) } })
    expect(peersUpdate(second, peersOf({ ...torrent, peers: [other] }), 3)).toEqual({ rid: 3, peers_removed: ["10.0.0.2:51413"] })
    expect(peersUpdate(second, second, 4)).toEqual({ rid: 4 })
  })
})

describe("QbtSync maindataOf", () => {
  it("keys torrents by hash without their hash field, and trackers by URL", () => {
    const t1 = { ...torrent, trackers: [{ announce: "http://t/a" }, { announce: "http://t/a" }] } as unknown as TorrentView
    const t2 = { ...torrent, hashString: hashes[1]!, trackers: [{ announce: "http://t/a" }, { announce: "udp://u:1" }] } as unknown as TorrentView
    const data = maindataOf({
      torrents: [t1, t2],
      torrentFields: (v) => ({ hash: v.hashString, name: "x" }),
      categories: [{ name: "tv", savePath: "" }],
      tags: ["alpha"],
      serverState: { queueing: true }
    })
    expect(data).toEqual({
      torrents: { [hashes[0]!]: { name: "x" }, [hashes[1]!]: { name: "x" } },
      categories: { tv: { name: "tv", savePath: "" } },
      tags: ["alpha"],
      trackers: { "http://t/a": [hashes[0], hashes[1]], "udp://u:1": [hashes[1]] },
      server_state: { queueing: true }
    })
  })
})
