/**
 * The piece picker port: per torrent, which blocks to request from which peer.
 *
 * A `Picker` is a synchronous state machine (no Effect per block; `PickerState.ts`, with its costs) made
 * through the service, so that the strategy, which new piece to start, is a Layer: RarestFirst.ts picks
 * rarest first (at random for the first pieces), SequentialOrder.ts the lowest piece index first
 * (deterministic; for tests and `download --sequential`). Either way pieces with deadlines (streaming) come
 * first, pieces in progress are finished before new ones start, a higher file priority before a lower
 * (PriorityOrder.ts), and the last blocks go to several peers (endgame).
 *
 * Peers are untrusted: a piece out of range or a block that is not one of the layout's blocks is ignored
 * (`accepted: false`), never thrown on.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { BlockRequest, PeerKey } from "../../domain/Block.js"
import type { Layout } from "../../domain/Layout.js"

export interface Picker {
  /** Availability from a peer's bitfield (on BITFIELD / HAVE ALL), removed when the peer goes. */
  readonly addPeer: (peer: PeerKey, has: Bitfield) => void
  /** Removes the peer's availability and releases its requested blocks. */
  readonly removePeer: (peer: PeerKey) => void
  /** HAVE (the caller updates the peer's Bitfield). */
  readonly peerHas: (peer: PeerKey, piece: number) => void
  /** Whether the peer has a piece we still need (for interest). */
  readonly isInteresting: (has: Bitfield) => boolean
  /** Up to `max` blocks for this peer (which is unchoking us), marked requested by it. `has` is the peer's
   *  bitfield as counted (addPeer, then a peerHas for each piece set since): the picker remembers where the
   *  peer's pieces are not, and relies on that. */
  readonly pick: (peer: PeerKey, has: Bitfield, max: number) => ReadonlyArray<BlockRequest>
  /** Blocks of the pieces with critical deadlines only (as `pick` gives them first), for a peer whose
   *  pipeline is full: the caller asks for them at once and cancels others to keep them near the front. */
  readonly pickUrgent: (peer: PeerKey, has: Bitfield, max: number) => ReadonlyArray<BlockRequest>
  /** Streaming (Deadlines.ts): the piece is wanted by `deadline` (lower is sooner); ignored for a piece
   *  verified or not wanted. The deadline goes when the piece is verified or cleared. */
  readonly setDeadline: (piece: number, deadline: number) => void
  readonly clearDeadline: (piece: number) => void
  readonly hasDeadline: (piece: number) => boolean
  /** The piece's deadline is near (Deadlines.ts): wanted now, ahead of any other request. */
  readonly isCritical: (piece: number) => boolean
  /** Changes with every deadline set or cleared: a session that saw another value looks for urgent work. */
  readonly deadlineVersion: number
  /** Each piece's priority from now on (FileSelection.piecePriorities; undefined: all normal). */
  readonly setPriorities: (priorities: Int8Array | undefined) => void
  /** A block arrived. `accepted` false when it was not wanted (never requested from this peer, or already
   *  received): the caller then drops it. `cancel` lists the other peers that were asked for it (endgame)
   *  so that the caller sends them CANCEL. `pieceComplete` true when every block of the piece has arrived. */
  readonly blockReceived: (
    peer: PeerKey,
    block: BlockRequest
  ) => { readonly accepted: boolean; readonly cancel: ReadonlyArray<PeerKey>; readonly pieceComplete: boolean }
  /** Requests that will not be answered (choke, reject, timeout): back to the pool. */
  readonly release: (peer: PeerKey, blocks: ReadonlyArray<BlockRequest>) => void
  readonly pieceVerified: (piece: number) => void
  /** The piece failed its hash: every block back to the pool. */
  readonly pieceFailed: (piece: number) => void
  /** Verified pieces (read only for callers). */
  readonly have: Bitfield
  /** Pieces in progress: a block asked for or received, the piece not verified yet. */
  readonly started: () => ReadonlyArray<number>
  /** Every wanted piece verified (every piece, without a file selection). */
  readonly isComplete: boolean
  readonly inEndgame: boolean
}

export interface PiecePickerService {
  /** `wanted`: the pieces to fetch (file selection); the others are never picked. Absent: all.
   *  `priorities`: each piece's (FileSelection.piecePriorities); absent: all normal. */
  readonly make: (layout: Layout, have: Bitfield, wanted?: Bitfield, priorities?: Int8Array) => Effect.Effect<Picker>
}

export class PiecePicker extends Context.Tag("bt-effect/PiecePicker")<PiecePicker, PiecePickerService>() {}
