/**
 * What a torrent is to whoever runs it (a command, the daemon's session, a test): the options it starts
 * with, the handle it gives back, its figures and its events.
 */
import type * as Effect from "effect/Effect"
import type * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import type { FilePriority } from "../../domain/FileSelection.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import type { Throttle } from "../../domain/TokenBucket.js"
import type { Policy } from "../../protocol/Mse.js"
import type { DhtService } from "../dht/Dht.js"
import type { PeerInfo } from "../peer/PeerContext.js"
import type { HashThreads } from "../pieces/HashThreads.js"
import type { ReadCache } from "../pieces/ReadCache.js"
import type { TrackerStatus } from "../tracker/Announcer.js"
import type { SharedListener } from "../wire/PeerRouter.js"
import type { WebSeedSettings } from "./WebSeedSettings.js"

export interface TorrentOptions {
  readonly metainfo: Metainfo
  /** The download folder (--out). */
  readonly root: string
  readonly peerId: PeerId
  /** The listening port (0 picks one) and host (absent: the network's own, TcpNetwork: --bind's addresses, else
   *  every address of both families). */
  readonly port: number
  readonly listenHost?: string
  /** Our address as trackers should give it to others (in-memory swarms; real trackers see it). */
  readonly announceIp?: string
  readonly maxPeers?: number
  /** Connections being opened at once. */
  readonly halfOpen?: number
  /** Peers to dial from the start, besides the trackers'. */
  readonly peers?: ReadonlyArray<PeerAddress>
  /** Pieces whose data under `root` is known good (checked before, or a seeder's in tests): not checked. */
  readonly trusted?: Bitfield
  /** Regular unchoke slots of the choker (one more goes to the optimistic unchoke). */
  readonly uploadSlots?: number
  /** Between checkpoints of the resume data (Checkpoint.ts); default 30 s. */
  readonly checkpointIntervalMs?: number
  /** Bytes downloaded and uploaded in earlier runs (from the resume data), carried into its totals. */
  readonly previous?: { readonly downloaded: number; readonly uploaded: number }
  /** The resume data on disk already holds `trusted` and `previous` (Resume's `current`): no checkpoint is
   *  taken at start. */
  readonly checkpointCurrent?: boolean
  /** Our DHT node: the torrent is looked up and announced there (never for private torrents). */
  readonly dht?: DhtService
  /** Peer exchange (BEP 11); default on, always off for private torrents. */
  readonly pex?: boolean
  /** Message Stream Encryption (MSE/PE), asked for each connection (the daemon's setting may change):
   *  `off` plaintext only, `prefer` MSE dialled first with one plaintext retry and both accepted,
   *  `require` MSE only. Absent: the program's EncryptionPolicy (wire/Encryption.ts), else plaintext.
   *  With a shared `listener`, its own rule decides inbound connections. */
  readonly encryption?: () => Policy
  /** A port shared with other torrents (the daemon's); `port` and `listenHost` are then unused. */
  readonly listener?: SharedListener
  /** Waits for a turn before each announce (the daemon's AnnouncePacer, shared by its torrents). */
  readonly announcePace?: Effect.Effect<void>
  /** Rate limits (the daemon's, per torrent and for the session). */
  readonly throttle?: Throttle
  /** Threads that hash downloaded pieces (the process's); without them, on the calling thread. */
  readonly hashThreads?: HashThreads
  /** The cache of pieces read for peers, shared with other torrents (the daemon's); absent: its own. */
  readonly readCache?: ReadCache
  /** A tracker failing (once per reason) or working again after a failure (the daemon logs it). */
  readonly onTrackerChange?: (url: string, failure: string | undefined) => Effect.Effect<void>
  /** The files to download (0-based indices, torrent order); absent: all. The others are not created:
   *  their bytes in pieces shared with a selected file go to the state folder's part file. */
  readonly selection?: ReadonlyArray<number>
  /** Web seeds (BEP 19; WebSeeds.ts), fetched over the HttpClient of the context; default on. */
  readonly webSeeds?: WebSeedSettings
  /** Each file's priority (torrent order; absent or short: normal): the pieces of higher ones first. */
  readonly filePriorities?: ReadonlyArray<FilePriority>
}

export interface TorrentStats {
  readonly name: string
  readonly totalLength: number
  readonly pieceCount: number
  readonly piecesDone: number
  readonly verifiedBytes: number
  readonly downloadedBytes: number
  readonly uploadedBytes: number
  readonly downloadRate: number
  readonly uploadRate: number
  readonly peers: number
  readonly seeds: number
  readonly knownPeers: number
  readonly hashFailures: number
  readonly banned: ReadonlyArray<string>
  readonly trackers: ReadonlyArray<TrackerStatus>
  /** Every wanted piece verified (every piece, without a selection). */
  readonly complete: boolean
  /** With a file selection: the selected files' bytes, and those of them verified. */
  readonly selectedLength?: number
  readonly selectedVerifiedBytes?: number
}

export type TorrentEvent =
  | { readonly _tag: "PieceVerified"; readonly piece: number }
  | { readonly _tag: "PieceFailed"; readonly piece: number; readonly senders: ReadonlyArray<string> }
  | { readonly _tag: "PeerBanned"; readonly host: string; readonly reason: string }
  | { readonly _tag: "Completed" }

/** A reader's deadlines (TorrentReader.ts): the pieces under `[position, end]` (torrent byte offsets) are
 *  wanted first, the nearest first, until the window moves again or its scope closes. */
export interface ReadWindow {
  readonly moveTo: (position: number, end: number) => void
}

/** A connected peer as a front end shows it: what its session reports, and whether its connection is
 *  encrypted (MSE with RC4; the daemon's RPC tells it as `isEncrypted`). */
export interface PeerStatus extends PeerInfo {
  readonly encrypted: boolean
  /** Over uTP (RPC: `isUTP`, flag T). */
  readonly utp: boolean
}

export interface TorrentHandle {
  readonly port: number
  readonly stats: Effect.Effect<TorrentStats>
  /** Completes when every piece (every selected one) is verified and stored; fails when the torrent cannot go on. */
  readonly completed: Effect.Effect<void, StorageError>
  /** What happens to the torrent, as it happens (subscribe before it does). */
  readonly events: PubSub.PubSub<TorrentEvent>
  /** The peers connected now (keys "host:port"), for tests and display. */
  readonly peers: Effect.Effect<ReadonlyArray<PeerStatus>>
  /** The verified pieces now (a copy). */
  readonly pieces: Effect.Effect<Bitfield>
  /** The pieces being downloaded now (a block asked for or received). */
  readonly piecesInProgress: Effect.Effect<ReadonlyArray<number>>
  /** Streaming: a reader's window of deadlines in the picker (TorrentReader.ts), dropped with the scope. */
  readonly window: Effect.Effect<ReadWindow, never, Scope.Scope>
  /** Each file's priority from now on (torrent order; absent or short: normal). */
  readonly setFilePriorities: (priorities: ReadonlyArray<FilePriority>) => Effect.Effect<void>
  /** Payload bytes moved this run, read at once: a daemon reads every torrent's each second (its activity). */
  readonly transferred: () => { readonly downloaded: number; readonly uploaded: number }
  /** Announces to its trackers now. */
  readonly reannounce: Effect.Effect<void>
}
