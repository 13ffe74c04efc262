/**
 * The library's port: a BitTorrent client as a program sees it (`import { Client } from "bt-effect"`). One
 * client holds one peer port shared by its torrents, and runs them until it is closed; `ClientLive` puts it
 * together over the real network and files (`layer`) or over an in-memory network (`layerMemory`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { DownloadError, MagnetError, MetainfoError, NetworkError, StorageError, CreateError, UsageError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import type { PeerInfo } from "../peer/PeerContext.js"
import type { TorrentEvent, TorrentStats } from "../torrent/TorrentHandle.js"

export type { TorrentEvent, TorrentStats } from "../torrent/TorrentHandle.js"
export type { PeerInfo } from "../peer/PeerContext.js"

/** One file of a torrent, in torrent order (pad files left out). */
export interface TorrentFileInfo {
  /** Its number as `bt-effect info` shows it (from 1, in torrent order, pad files counted), which
   *  `AddOptions.files` takes. */
  readonly number: number
  /** Relative to the download folder, with `/` between parts (a multi-file torrent's start with its name). */
  readonly path: string
  readonly length: number
  /** Downloaded: every file when `AddOptions.files` was absent, else one of those it named. */
  readonly selected: boolean
}

/** Bytes of a file to read: from `start` (default 0) to `end` included (default: the last byte), as
 *  Node's `fs.createReadStream` takes them. An `end` past the file is its last byte; a `start` past it
 *  reads nothing. */
export interface ReadRange {
  readonly start?: number
  readonly end?: number
}

/** A file of a torrent a client runs, which can be read as it downloads. */
export interface TorrentFile extends TorrentFileInfo {
  /**
   * The file's bytes in `range`, in order, each given once its piece is verified: the stream waits for
   * pieces not there yet (never zeros), and asks the swarm for those under it first. Pulled a slice at a
   * time; interrupting it drops its wait and its place in the picker. Fails with a `StorageError` when the
   * file is not selected (`AddOptions.files`), when its data cannot be read, or when the torrent is removed
   * or the client closed while it reads. A range that is no range (negative, not whole numbers, `start`
   * after `end`) is a defect (a `RangeError`).
   */
  readonly stream: (range?: ReadRange) => Stream.Stream<Uint8Array, StorageError>
}

/** A torrent a client runs. */
export interface ClientTorrent {
  /** The v1 info hash in lowercase hex. */
  readonly infoHash: string
  readonly name: string
  readonly metainfo: Metainfo
  /** Its files in torrent order (pad files left out), each readable as a `Stream` as it downloads. */
  readonly files: ReadonlyArray<TorrentFile>
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
  /** Succeeds once every piece of the selected files (of every file, without `AddOptions.files`) is
   *  verified and stored (at once for a complete torrent); fails when the torrent cannot go on (its storage
   *  failed). */
  readonly done: Effect.Effect<void, StorageError>
  /** Stops the torrent (a last checkpoint, a `stopped` announce, files closed); its data stays. */
  readonly remove: Effect.Effect<void>
}

/** Why a torrent could not be added: an unreadable or unsupported .torrent, a bad magnet link, no metadata
 *  from peers, its data unreadable, or `AddOptions.files` naming no file of it (a `UsageError`). */
export type AddError = MetainfoError | MagnetError | DownloadError | StorageError | NetworkError | UsageError

/** Why a path could not be seeded: as `AddError`, or the .torrent could not be made from it. */
export type SeedError = AddError | CreateError

export interface AddOptions {
  /** Peers to dial from the start, besides those of its trackers, the DHT and PEX (a magnet's x.pe too). */
  readonly peers?: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /**
   * The files to download, by the numbers `bt-effect info` shows (from 1, in torrent order; as the CLI's
   * `--files`); the others are not created in the download folder (their bytes in pieces shared with a
   * chosen file are kept in the state folder). Absent: a magnet's `so=` if it has one, else every file. A
   * number that is no file of the torrent (or a pad file), or an empty list, fails the add with a
   * `UsageError` saying so in one line. Ignored when the torrent is running already.
   */
  readonly files?: ReadonlyArray<number>
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
