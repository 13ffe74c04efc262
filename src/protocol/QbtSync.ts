/**
 * `sync/maindata` and `sync/torrentPeers` of the qBittorrent WebUI API, the two calls VueTorrent and Flood
 * poll every second or two, answered as qBittorrent 4.6's SyncController (src/webui/api/synccontroller.cpp)
 * answers them: the first answer is the whole state (`full_update: true`), each later one only what changed
 * since the answer the client names by its `rid` —
 * - a torrent, category or server_state: only its keys whose value changed; a new one whole;
 * - `torrents_removed`, `categories_removed`, `trackers_removed`, `tags_removed`: names gone;
 * - `tags`: the new tags only; `trackers` (`{url: [hash...]}`): a tracker whose torrents changed, whole;
 * - nothing changed: `{rid}` alone. No `full_update` key on an incremental answer.
 * A client that applies each answer in turn to the first holds the latest full state (the tests check it).
 *
 * Pure: the state is built from the session's views here, and compared here; the service
 * (services/qbittorrent/QbtSync.ts) remembers what each client was sent.
 */
import type { Category } from "../domain/Categories.js"
import { effectiveLimits, type PeerView, type SessionSettings, type SessionStats, type TorrentView } from "../domain/SessionView.js"

/** A JSON object of qBittorrent's (a torrent's, a category's, a peer's, server_state). */
export type Fields = { readonly [key: string]: unknown }

// A type, not an interface, so that it is a Fields too (an interface has no index signature).
export type QbtCategory = {
  readonly name: string
  readonly savePath: string
}

/** One full state of sync/maindata: what a client holds once it applied every answer it got. */
export interface Maindata {
  /** By info hash; each torrents/info's object without its `hash`, as qBittorrent sends them. */
  readonly torrents: { readonly [hash: string]: Fields }
  readonly categories: { readonly [name: string]: QbtCategory }
  readonly tags: ReadonlyArray<string>
  /** Each tracker's URL and the torrents that have it. */
  readonly trackers: { readonly [url: string]: ReadonlyArray<string> }
  readonly server_state: Fields
}

/** One full state of sync/torrentPeers: a torrent's peers by "ip:port" ("[ip]:port" for IPv6). */
export interface PeersData {
  readonly show_flags: boolean
  readonly peers: { readonly [key: string]: Fields }
}

/** The rid after `last`: 1, 2, ... 1000000, then 1 again (qBittorrent's cycle). */
export const nextRid = (last: number): number => (Math.max(0, Math.trunc(last)) % 1_000_000) + 1

/** Same JSON value (objects by their keys, arrays in order). */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Fields)[k], (b as Fields)[k]))
}

/** The keys of `current` whose value is not the one in `previous` (qBittorrent's processMap). */
export const changedFields = (previous: Fields, current: Fields): Fields => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(current)) {
    if (!Object.hasOwn(previous, key) || !sameValue(previous[key], value)) out[key] = value
  }
  return out
}

/** A keyed collection's changes: new items whole, changed ones by their changed keys, and the keys gone. */
export const collectionChanges = (
  previous: { readonly [key: string]: Fields },
  current: { readonly [key: string]: Fields }
): { readonly changed: { readonly [key: string]: Fields }; readonly removed: ReadonlyArray<string> } => {
  const changed: Record<string, Fields> = {}
  for (const [key, item] of Object.entries(current)) {
    const before = previous[key]
    if (before === undefined) changed[key] = item
    else {
      const diff = changedFields(before, item)
      if (Object.keys(diff).length > 0) changed[key] = diff
    }
  }
  return { changed, removed: Object.keys(previous).filter((key) => !Object.hasOwn(current, key)) }
}

/** The same strings, whatever their order (a tracker's torrents). */
const sameSet = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  const set = new Set(a)
  return a.length === b.length && b.every((x) => set.has(x))
}

const isEmpty = (o: object): boolean => Object.keys(o).length === 0

/** Keys in Qt's order (QJsonObject sorts them), so that our answers read like qBittorrent's. */
const sorted = (o: Record<string, unknown>): Fields => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/** sync/maindata's answer `rid` to a client that holds `previous` (undefined: it holds nothing we know of). */
export const maindataUpdate = (previous: Maindata | undefined, current: Maindata, rid: number): Fields => {
  if (previous === undefined) {
    // Every section, empty ones too: qbittorrent-nox 4.5 sends `torrents: {}` and `trackers: {}` with none.
    return sorted({ ...current, full_update: true, rid })
  }
  const out: Record<string, unknown> = { rid }
  const torrents = collectionChanges(previous.torrents, current.torrents)
  const categories = collectionChanges(previous.categories, current.categories)
  const put = (key: string, value: object) => {
    if (!isEmpty(value)) out[key] = value
  }
  put("torrents", torrents.changed)
  put("torrents_removed", torrents.removed)
  put("categories", categories.changed)
  put("categories_removed", categories.removed)
  put("tags", current.tags.filter((t) => !previous.tags.includes(t)))
  put("tags_removed", previous.tags.filter((t) => !current.tags.includes(t)))
  const trackers: Record<string, ReadonlyArray<string>> = {}
  for (const [url, hashes] of Object.entries(current.trackers)) {
    const before = previous.trackers[url]
    if (before === undefined || !sameSet(before, hashes)) trackers[url] = hashes
  }
  put("trackers", trackers)
  put("trackers_removed", Object.keys(previous.trackers).filter((url) => !Object.hasOwn(current.trackers, url)))
  put("server_state", changedFields(previous.server_state, current.server_state))
  return sorted(out)
}

/** sync/torrentPeers' answer `rid` to a client that holds `previous` of the same torrent (undefined: a full one). */
export const peersUpdate = (previous: PeersData | undefined, current: PeersData, rid: number): Fields => {
  if (previous === undefined) return sorted({ ...current, full_update: true, rid })
  const out: Record<string, unknown> = { rid }
  const peers = collectionChanges(previous.peers, current.peers)
  if (!isEmpty(peers.changed)) out["peers"] = peers.changed
  if (peers.removed.length > 0) out["peers_removed"] = peers.removed
  if (previous.show_flags !== current.show_flags) out["show_flags"] = current.show_flags
  return sorted(out)
}

/** What sync/maindata is made of: the torrents with their torrents/info objects, categories, tags, server_state. */
export interface MaindataSources {
  readonly torrents: ReadonlyArray<TorrentView>
  /** A torrent's object as torrents/info shows it (its `hash` is dropped here, as qBittorrent does). */
  readonly torrentFields: (view: TorrentView) => Fields
  readonly categories: ReadonlyArray<Category>
  readonly tags: ReadonlyArray<string>
  readonly serverState: Fields
}

/** The full state of sync/maindata now. */
export const maindataOf = (s: MaindataSources): Maindata => {
  const torrents: Record<string, Fields> = {}
  const trackers: Record<string, Array<string>> = {}
  for (const view of s.torrents) {
    const { hash: _hash, ...fields } = s.torrentFields(view)
    torrents[view.hashString] = fields
    for (const url of new Set(view.trackers.map((t) => t.announce))) (trackers[url] ??= []).push(view.hashString)
  }
  const categories: Record<string, QbtCategory> = {}
  for (const c of s.categories) categories[c.name] = { name: c.name, savePath: c.savePath }
  return { torrents, categories, tags: [...s.tags], trackers, server_state: s.serverState }
}

/** What server_state needs beyond the session's stats and settings (each 0 / false when unknown). */
export interface ServerFigures {
  /** Free bytes where torrents are saved. */
  readonly freeSpaceOnDisk?: number
  readonly dhtNodes?: number
  readonly peerConnections?: number
  /** Bytes of failed pieces. */
  readonly wasted?: number
  /** A peer has connected to us (our port is reachable from outside). */
  readonly incoming?: boolean
}

/** The figures the torrents' views hold: peers connected, bytes of failed pieces, an incoming peer. */
export const figuresOf = (views: ReadonlyArray<TorrentView>): Required<Pick<ServerFigures, "peerConnections" | "wasted" | "incoming">> => ({
  peerConnections: views.reduce((sum, v) => sum + v.peersConnected, 0),
  wasted: views.reduce((sum, v) => sum + v.corruptEver, 0),
  incoming: views.some((v) => v.peers.some((p) => p.isIncoming))
})

/** qBittorrent's Utils::String::fromDouble: cut (not rounded) to `precision` digits, C locale. */
const fromDouble = (n: number, precision: number): string => {
  const scale = 10 ** precision
  return (Math.floor(n * scale) / scale).toFixed(precision)
}

/**
 * sync/maindata's server_state: transfer/info's fields, the statistics' and the sync's own (queueing,
 * refresh_interval, use_alt_speed_limits, and use_subcategories, which 4.6 added). `alltime_*` are the
 * torrents' lifetime bytes and `*_info_data` theirs since the session started (of the torrents in it now:
 * we keep no count for torrents removed).
 * The disk cache figures bt-effect does not have are what qBittorrent shows when they are nothing: "0" and 0.
 * connection_status: qBittorrent says "connected" once an incoming connection came on its listening port,
 * "firewalled" before (what it says when it cannot tell, as the reference shows on a quiet network).
 */
export const serverState = (stats: SessionStats, settings: SessionSettings, figures: ServerFigures = {}): Fields => {
  const limits = effectiveLimits(settings)
  const down = stats.downloadedBytes
  const up = stats.uploadedBytes
  return {
    alltime_dl: down,
    alltime_ul: up,
    average_time_queue: 0,
    connection_status: figures.incoming === true ? "connected" : "firewalled",
    dht_nodes: figures.dhtNodes ?? 0,
    dl_info_data: stats.downloadedSession,
    dl_info_speed: stats.downloadSpeed,
    dl_rate_limit: limits.down,
    free_space_on_disk: figures.freeSpaceOnDisk ?? 0,
    global_ratio: down > 0 && up > 0 ? fromDouble(up / down, 2) : "-",
    queued_io_jobs: 0,
    // Downloads always queue here (download-queue-size).
    queueing: true,
    read_cache_hits: "0",
    read_cache_overload: "0",
    refresh_interval: 1500,
    total_buffers_size: 0,
    total_peer_connections: figures.peerConnections ?? 0,
    total_queued_size: 0,
    total_wasted_session: figures.wasted ?? 0,
    up_info_data: stats.uploadedSession,
    up_info_speed: stats.uploadSpeed,
    up_rate_limit: limits.up,
    use_alt_speed_limits: settings.altSpeedEnabled,
    use_subcategories: false,
    write_cache_overload: "0"
  }
}

/** A peer's key in `peers`: "ip:port", "[ip]:port" for IPv6 (PeerAddress::toString). */
export const peerKey = (peer: PeerView): string => (peer.address.includes(":") ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`)

/** The first 8 characters of its peer id ("-qB4670-"): "" when unknown (all zeros), "Unknown" when not printable. */
export const peerIdClient = (peerIdBase64: string): string => {
  const id = Buffer.from(peerIdBase64, "base64")
  if (id.length === 0 || id.every((b) => b === 0)) return ""
  const head = id.subarray(0, 8)
  if (head.length < 8 || head.some((b) => b < 32 || b > 126)) return "Unknown"
  return head.toString("latin1")
}

/**
 * qBittorrent's peer flags (PeerInfo::determineFlags), those our view can tell: D downloading from it,
 * U uploading to it, I incoming, E encrypted, P uTP. The interest and choke states it tells apart (d, u, K,
 * ?) and where a peer came from (H, X, L) are not in the view, so they are not claimed.
 */
const peerFlags = (peer: PeerView): { readonly flags: string; readonly desc: string } => {
  const found: Array<readonly [string, string]> = []
  if (peer.isDownloadingFrom) found.push(["D", "Interested (local) and unchoked (peer)"])
  if (peer.isUploadingTo) found.push(["U", "Interested (peer) and unchoked (local)"])
  if (peer.isIncoming) found.push(["I", "Incoming connection"])
  if (peer.isEncrypted === true) found.push(["E", "Encrypted traffic"])
  if (peer.isUtp === true) found.push(["P", "μTP"])
  return { flags: found.map(([f]) => f).join(" "), desc: found.map(([f, d]) => `${f} = ${d}`).join("\n") }
}

/**
 * One peer as sync/torrentPeers shows it (without country fields: qBittorrent adds `country` and
 * `country_code` only when it resolves countries, `show_flags`, which we do not).
 * relevance: the share of the pieces we lack that it has; 0 once we have all. The view holds its share of
 * all pieces, not which, so that share stands for it (exact for a seed). files: the files of the piece we
 * are downloading from it, which the view does not name — "" as qBittorrent shows a peer with none.
 */
export const peerInfo = (peer: PeerView, torrent: TorrentView): Fields => {
  const { desc, flags } = peerFlags(peer)
  const complete = torrent.hasMetadata && torrent.haveValid >= torrent.totalSize
  return {
    ip: peer.address,
    port: peer.port,
    client: peer.clientName,
    peer_id_client: peerIdClient(peer.peerId),
    progress: peer.progress,
    dl_speed: peer.rateToClient,
    up_speed: peer.rateToPeer,
    downloaded: peer.bytesToClient,
    uploaded: peer.bytesToPeer,
    connection: peer.isUtp === true ? "μTP" : "BT",
    flags,
    flags_desc: desc,
    relevance: complete ? 0 : peer.progress,
    ...(torrent.hasMetadata ? { files: "" } : {})
  }
}

/** The full state of sync/torrentPeers for a torrent now. */
export const peersOf = (torrent: TorrentView): PeersData => {
  const peers: Record<string, Fields> = {}
  for (const peer of torrent.peers) peers[peerKey(peer)] = peerInfo(peer, torrent)
  return { show_flags: false, peers }
}
