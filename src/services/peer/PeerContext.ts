/**
 * The contract between a peer session and its torrent: what the torrent can ask of a session
 * (`PeerLink`), what a session reports (`PeerInfo`), what a session may ask of the torrent
 * (`SwarmContext`). The limits every session keeps are in PeerLimits.ts.
 */
import type * as Effect from "effect/Effect"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { PeerErrorReason, StorageError } from "../../domain/Errors.js"
import type { FileHashes } from "../../domain/FileHashes.js"
import type * as InfoHash from "../../domain/InfoHash.js"
import * as Layout from "../../domain/Layout.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import type { Throttle } from "../../domain/TokenBucket.js"
import type { ExtensionContext, PeerExtensions } from "./PeerExtensions.js"
import type { Picker } from "../pieces/PiecePicker.js"
import { type BlockRequest } from "../../domain/Block.js"

/** How the torrent reaches a session. */
export interface PeerLink {
  readonly key: string
  readonly host: string
  /** The peer dialled us (else we dialled it). */
  readonly inbound: boolean
  /** A piece we now have: tell the peer, and reconsider interest. */
  readonly have: (piece: number) => void
  /** Another peer delivered this block first (endgame): cancel our request. */
  readonly cancel: (block: BlockRequest) => void
  /** Blocks went back to the pool (a failed piece, a peer gone): look for work now. */
  readonly wake: () => void
  /** The choker's decision: choke (true) or unchoke (false) the peer. */
  readonly choke: (choke: boolean) => void
  /** Whether we unchoke the peer now. */
  readonly unchoked: () => boolean
  /** What the session reports of itself (rates at `now`), for stats and the choker. */
  readonly info: (now: number) => PeerInfo
  /** The connection is encrypted (MSE with RC4); absent for plaintext. */
  readonly encrypted?: boolean
  /** The connection is over uTP; absent for TCP. */
  readonly utp?: boolean
  /** Where the peer accepts connections, when known (for PEX). */
  readonly listenAddress: () => PeerAddress | undefined
  /** Our requests to the peer not yet answered. */
  readonly outstanding: () => number
  /** The peer has said which pieces it has (a bitfield, BEP 6's short forms, or a HAVE). */
  readonly told: () => boolean
  /** Ends the session at its next turn (another connection to the same peer is kept instead). */
  readonly end: (reason: PeerErrorReason, detail: string) => void
}

export interface PeerInfo {
  readonly key: string
  readonly client: string
  readonly downloadRate: number
  readonly uploadRate: number
  readonly peerChoking: boolean
  readonly peerInterested: boolean
  readonly amChoking: boolean
  readonly amInterested: boolean
  readonly isSeed: boolean
  readonly outstanding: number
  /** When the connection was set up (ms). */
  readonly connectedAt: number
  /** We want its data and it has sent no block for a minute: it gets no regular unchoke. */
  readonly snubbed: boolean
  /** For display (the daemon's RPC): the pieces it has (live, not to be changed), its peer id, the payload
   *  bytes it sent us and we sent it, and whether it dialled us. */
  readonly pieces: Bitfield
  readonly peerId: Uint8Array
  readonly downloaded: number
  readonly uploaded: number
  readonly incoming: boolean
}

/** What the handshake told of the peer. */
export interface PeerFeatures {
  readonly peerId: Uint8Array
  /** Both sides speak BEP 6. */
  readonly fast: boolean
  /** Both sides speak BEP 10: its extensions. */
  readonly extensions: PeerExtensions | undefined
  /** The peer runs a DHT node (BEP 5): it gets our DHT port. */
  readonly dht: boolean
  /** Where it accepts connections if it does not say through BEP 10: where we dialled it. */
  readonly dialled: PeerAddress | undefined
  /** The peer speaks BEP 52 on this connection (it may send and answer hash requests): it handshook with the
   *  torrent's v2 hash, or with a hybrid's v1 hash and the v2 bit (reserved[7] & 0x10), as libtorrent
   *  decides it. */
  readonly v2: boolean
}

/** What a session needs from its torrent. */
export interface SwarmContext {
  /** The hash we handshake with when we dial (Metainfo.torrentHash). */
  readonly infoHash: InfoHash.InfoHash
  /** A v2 or hybrid torrent's v2 hash, truncated: v2 peers handshake with it (PeerHandshake.ts). */
  readonly infoHashV2?: InfoHash.InfoHash
  readonly peerId: PeerId
  readonly layout: Layout.Layout
  readonly picker: Picker
  /** Whole pieces for serving blocks, pinned until the effect `use` makes has run (PieceReader). */
  readonly withPieces: <A, E>(
    pieces: ReadonlyArray<number>,
    use: (piece: (index: number) => Uint8Array) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | StorageError>
  /** Admits a peer after its handshake, or says why not (ourselves, a duplicate, banned). */
  readonly attach: (link: PeerLink, peerId: Uint8Array) => { readonly reason: PeerErrorReason; readonly detail: string } | undefined
  readonly detach: (key: string) => void
  /** Takes an accepted block (a completed piece goes on to be verified and stored by the torrent). */
  readonly addBlock: (key: string, block: BlockRequest, data: Uint8Array) => void
  /** True while pieces wait for verification beyond the memory bound: request nothing new. */
  readonly backlogged: boolean
  /** Blocks that may still be requested across all peers: what is in flight is bounded by the memory
   *  budget too, or five fast peers at their full depth would start more pieces than the budget holds. */
  readonly requestAllowance: number
  readonly countDownloaded: (bytes: number, now: number) => void
  readonly countUploaded: (bytes: number, now: number) => void
  /** The peer became interested in us (the choker may have a free slot for it). */
  readonly interested: (key: string) => void
  /** We lost interest in the peer: it has nothing more we want (the torrent may look for peers that do). */
  readonly uninteresting: (key: string) => void
  /** The extension protocol: metadata to serve, PEX. */
  readonly extensions: ExtensionContext
  /** Rate limits (the torrent's and the session's); absent: none. */
  readonly throttle?: Throttle
  /** Our DHT node, when it runs: its port goes to peers (PORT), their nodes come to it. */
  readonly dht?: { readonly port: number; readonly addNode: (host: string, port: number) => void }
  /** A v2 or hybrid torrent's hashes per file (BEP 52 hash requests answered, missing piece layers asked
   *  of v2 peers: HashExchange.ts); absent for a v1 torrent. */
  readonly hashes?: FileHashes
}
