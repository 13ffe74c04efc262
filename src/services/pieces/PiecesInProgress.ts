/**
 * The pieces in progress of a picker (PickerState.ts): a `PieceProgress` for each piece begun and not yet
 * verified, and `partial`, those of them with a block still unrequested, which are offered before fresh
 * pieces are started. Keeps the peers' request sets (PickerPeers.ts) in step with the blocks' requesters.
 *
 * Costs, for the few pieces in progress (started pieces finish first): `best` O(partial); `take` O(blocks
 * taken) past the piece's hint; a block's request added, released or received O(1) (endgame:
 * `maxRequesters` peers per block at most); `verified` and `failed` O(blocks of the piece);
 * `takeDuplicates` O(blocks of the pieces in progress).
 */
import type { Bitfield } from "../../domain/Bitfield.js"
import { type BlockRequest, type PeerKey } from "../../domain/Block.js"
import * as Layout from "../../domain/Layout.js"
import type { FreshOrder } from "./FreshOrder.js"
import type { PickerPeers } from "./PickerPeers.js"
import { PieceProgress, REQUESTED, UNREQUESTED } from "./PieceProgress.js"

/** In endgame a block may be requested from this many peers at once: the first one and 2 more. */
export const maxRequesters = 3

const noPeers: ReadonlyArray<PeerKey> = []

export class PiecesInProgress {
  private readonly active = new Map<number, PieceProgress>()
  private readonly partial = new Set<number>()
  private started = 0

  constructor(
    private readonly layout: Layout.Layout,
    /** Blocks of a full piece: a block's id in the peers' request sets is `piece * blocksPerPiece + block`. */
    private readonly blocksPerPiece: number,
    private readonly order: FreshOrder,
    private readonly peers: PickerPeers
  ) {}

  get size(): number {
    return this.active.size
  }

  /** Whether a block is still unrequested in some piece in progress (else, with no fresh piece: endgame). */
  get hasUnrequested(): boolean {
    return this.partial.size > 0
  }

  has(piece: number): boolean {
    return this.active.has(piece)
  }

  /** The pieces in progress. */
  indexes(): Array<number> {
    return Array.from(this.active.keys())
  }

  get(piece: number): PieceProgress | undefined {
    return this.active.get(piece)
  }

  /** The piece with unrequested blocks that the peer has, of the lowest rank in the order, the oldest
   *  among equals; undefined when there is none. */
  best(has: Bitfield): PieceProgress | undefined {
    let best: PieceProgress | undefined
    for (const piece of this.partial) {
      if (!has.has(piece)) continue
      const progress = this.active.get(piece)!
      if (best === undefined) best = progress
      else {
        const byRank = this.order.rank(piece) - this.order.rank(best.piece)
        if (byRank < 0 || (byRank === 0 && progress.started < best.started)) best = progress
      }
    }
    return best
  }

  /** A fresh piece begins: no longer fresh, every block unrequested. */
  start(piece: number): PieceProgress {
    this.order.remove(piece)
    const progress = new PieceProgress(
      piece,
      Layout.pieceSize(this.layout, piece),
      Layout.blockCount(this.layout, piece),
      this.started++
    )
    for (const block of Layout.padBlocks(this.layout, piece)) progress.prefill(block)
    this.active.set(piece, progress)
    this.partial.add(piece)
    return progress
  }

  /** Asks `peer` for the piece's unrequested blocks, lowest first, until `out` holds `max`. Called with
   *  room in `out` and a block unrequested. */
  take(progress: PieceProgress, peer: PeerKey, max: number, out: Array<BlockRequest>): void {
    const requested = this.peers.of(peer).requested
    const first = progress.piece * this.blocksPerPiece
    const state = progress.state
    let block = progress.hint
    for (; block < state.length && out.length < max && progress.unrequested > 0; block++) {
      if (state[block] !== UNREQUESTED) continue
      progress.addRequester(block, peer)
      requested.add(first + block)
      out.push(progress.request(block))
    }
    progress.hint = block
    if (progress.unrequested === 0) this.partial.delete(progress.piece)
  }

  /** Endgame: blocks already asked from others, those with the fewest requesters first. */
  takeDuplicates(peer: PeerKey, has: Bitfield, max: number, out: Array<BlockRequest>): void {
    let requested: Set<number> | undefined
    for (let want = 1; want < maxRequesters && out.length < max; want++) {
      for (const progress of this.active.values()) {
        if (!has.has(progress.piece) || progress.isComplete) continue
        requested ??= this.peers.of(peer).requested
        this.duplicate(progress, peer, requested, want, max, out)
        if (out.length >= max) return
      }
    }
  }

  /** A piece with a deadline near (Deadlines.ts), every block requested: its blocks asked of `peer` too,
   *  those with the fewest requesters first, `maxRequesters` at most each. */
  takeDuplicatesOf(progress: PieceProgress, peer: PeerKey, max: number, out: Array<BlockRequest>): void {
    const requested = this.peers.of(peer).requested
    for (let want = 1; want < maxRequesters && out.length < max; want++) this.duplicate(progress, peer, requested, want, max, out)
  }

  /** Asks `peer` too for the piece's requested blocks that have `want` requesters, until `out` holds `max`. */
  private duplicate(
    progress: PieceProgress,
    peer: PeerKey,
    requested: Set<number>,
    want: number,
    max: number,
    out: Array<BlockRequest>
  ): void {
    const first = progress.piece * this.blocksPerPiece
    for (let block = 0; block < progress.state.length && out.length < max; block++) {
      if (progress.state[block] === REQUESTED && progress.requesterCount(block) === want && !progress.isRequester(block, peer)) {
        progress.addRequester(block, peer)
        requested.add(first + block)
        out.push(progress.request(block))
      }
    }
  }

  /** A requested block arrived from one of its requesters: received, its requests dropped. Returns the
   *  other peers that were asked for it (endgame), to cancel. */
  receive(progress: PieceProgress, block: number, peer: PeerKey): ReadonlyArray<PeerKey> {
    // Other requesters only in endgame: no allocation otherwise.
    const more = progress.extra?.get(block)
    const cancel = more === undefined ? noPeers : [progress.owner[block]!, ...more].filter((other) => other !== peer)
    this.dropRequests(progress, block)
    progress.receive(block)
    return cancel
  }

  /** `peer` will not answer its request of a block (if it had one): with no requester left, the block is
   *  unrequested again. */
  release(progress: PieceProgress, block: number, peer: PeerKey): void {
    if (progress.state[block] !== REQUESTED || !progress.removeRequester(block, peer)) return
    this.peers.get(peer)?.requested.delete(progress.piece * this.blocksPerPiece + block)
    if (progress.owner[block] === undefined) this.partial.add(progress.piece)
  }

  /** Releases every block of `requested` (a peer's request set, as ids) that `peer` was asked for. */
  releaseAll(peer: PeerKey, requested: Iterable<number>): void {
    for (const id of requested) {
      const piece = Math.floor(id / this.blocksPerPiece)
      const progress = this.active.get(piece)
      if (progress !== undefined) this.release(progress, id - piece * this.blocksPerPiece, peer)
    }
  }

  /** The piece is verified: no longer fresh nor in progress, its requests dropped. */
  verified(piece: number): void {
    const progress = this.active.get(piece)
    if (progress === undefined) return this.order.remove(piece)
    this.dropAllRequests(progress)
    this.active.delete(piece)
    this.partial.delete(piece)
  }

  /** The piece failed its hash: it starts over in progress, every block unrequested, so it is picked
   *  again first. */
  failed(piece: number): void {
    const progress = this.active.get(piece)
    if (progress === undefined) return
    this.dropAllRequests(progress)
    progress.reset()
    for (const block of Layout.padBlocks(this.layout, piece)) progress.prefill(block)
    this.partial.add(piece)
  }

  /** Drops every request of a block, from the block and from the peers' request sets. */
  private dropRequests(progress: PieceProgress, block: number): void {
    const id = progress.piece * this.blocksPerPiece + block
    const owner = progress.owner[block]
    progress.owner[block] = undefined
    if (owner !== undefined) this.peers.get(owner)?.requested.delete(id)
    const more = progress.extra?.get(block)
    if (more === undefined) return
    progress.extra?.delete(block)
    for (const peer of more) this.peers.get(peer)?.requested.delete(id)
  }

  private dropAllRequests(progress: PieceProgress): void {
    for (let block = 0; block < progress.state.length; block++) {
      if (progress.state[block] === REQUESTED) this.dropRequests(progress, block)
    }
    progress.extra = undefined
  }
}
