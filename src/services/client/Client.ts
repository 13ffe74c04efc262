/**
 * The library's port: a BitTorrent client as a program sees it (`import { Client } from "bt-effect"`). One
 * client holds one peer port shared by its torrents, and runs them until it is closed; `ClientLive` puts it
 * together over the real network and files (`layer`) or over an in-memory network (`layerMemory`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { DownloadError, MagnetError, MetainfoError, NetworkError, StorageError, CreateError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import type { PeerInfo } from "../peer/PeerContext.js"
import type { TorrentEvent, TorrentStats } from "../torrent/TorrentHandle.js"

export type { TorrentEvent, TorrentStats } from "../torrent/TorrentHandle.js"
export type { PeerInfo } from "../peer/PeerContext.js"

/** One file of a torrent, in torrent order (pad files left out). */
export interface TorrentFileInfo {
  /** Relative to the download folder, with `/` between parts (a multi-file torrent's start with its name). */
  readonly path: string
  readonly length: number
}

/** A torrent a client runs. */
export interface ClientTorrent {
  /** The v1 info hash in lowercase hex. */
  readonly infoHash: string
  readonly name: string
  readonly metainfo: Metainfo
  readonly files: ReadonlyArray<TorrentFileInfo>
  /** Where its files are (the client's download folder, or the folder seeded). */
  readonly root: string
  /** Its figures now. */
  readonly stats: Effect.Effect<TorrentStats>
  /** Its figures now and then every `interval` (default 1 s), until the torrent is removed. */
  readonly statsEvery: (interval?: number) => Stream.Stream<TorrentStats>
  /** What happens to it from now on: verified and failed pieces, bans, completion. */
  readonly events: Stream.Stream<TorrentEvent>
  /** The peers connected now. */
  readonly peers: Effect.Effect<ReadonlyArray<PeerInfo>>
  /** Succeeds once every piece is verified and stored (at once for a complete torrent); fails when the
   *  torrent cannot go on (its storage failed). */
  readonly done: Effect.Effect<void, StorageError>
  /** Stops the torrent (a last checkpoint, a `stopped` announce, files closed); its data stays. */
  readonly remove: Effect.Effect<void>
}

/** Why a torrent could not be added: an unreadable or unsupported .torrent, a bad magnet link, no metadata
 *  from peers, or its data unreadable. */
export type AddError = MetainfoError | MagnetError | DownloadError | StorageError | NetworkError

/** Why a path could not be seeded: as `AddError`, or the .torrent could not be made from it. */
export type SeedError = AddError | CreateError

export interface AddOptions {
  /** Peers to dial from the start, besides those of its trackers, the DHT and PEX (a magnet's x.pe too). */
  readonly peers?: ReadonlyArray<{ readonly host: string; readonly port: number }>
}

export interface SeedOptions {
  /** Seed this torrent's data found in `path` (a folder) instead of making a torrent from `path`. */
  readonly torrent?: string | Uint8Array
  /** Trackers to put in the torrent made from `path`. */
  readonly announce?: ReadonlyArray<string>
  /** Piece length of the torrent made from `path` (a power of two); chosen from the size when absent. */
  readonly pieceLength?: number
}

export interface ClientService {
  /** The peer port (the one chosen when the client was asked for port 0). */
  readonly port: number
  /**
   * Adds a torrent and starts it: a .torrent file's path, its bytes, or a magnet link (whose metadata is
   * fetched from its peers, trackers or the DHT first). Data already in the download folder is checked
   * and kept. Adding a torrent the client runs already gives the one it runs.
   */
  readonly add: (source: string | Uint8Array, options?: AddOptions) => Effect.Effect<ClientTorrent, AddError>
  /**
   * Seeds `path`: makes a .torrent of the file or folder (hashing it) and offers its data to peers; with
   * `options.torrent`, seeds that torrent's data found in the folder `path` instead.
   */
  readonly seed: (path: string, options?: SeedOptions) => Effect.Effect<ClientTorrent, SeedError>
  /** The torrents it runs, in the order they were added. */
  readonly torrents: Effect.Effect<ReadonlyArray<ClientTorrent>>
  /** Stops every torrent and closes the port; the client is of no use afterwards. */
  readonly close: Effect.Effect<void>
}

export class Client extends Context.Tag("bt-effect/Client")<Client, ClientService>() {}
