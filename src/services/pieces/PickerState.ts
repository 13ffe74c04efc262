/**
 * The piece picker's state machine: which blocks to ask which peer for. Synchronous, called per block.
 *
 * A piece we do not have is either fresh (no block of it requested or received yet), held by a `FreshOrder`
 * (the strategy: which new piece to start; FreshOrder.ts), or in progress (PiecesInProgress.ts): it then
 * has a `PieceProgress` with the state of each block (unrequested / requested, by whom / received), and is
 * in `partial` while one of its blocks is unrequested. Pieces in progress are offered before fresh ones, so
 * that started pieces finish first and few pieces are held half-done in memory. A verified piece leaves
 * both; a failed one starts over in progress with every block unrequested, so it is picked again first.
 * When no block is unrequested anywhere (endgame), blocks already requested are offered to other peers
 * too, `maxRequesters` at most. The peers' counted availability and request sets are in PickerPeers.ts.
 *
 * Costs, for P pieces with unrequested blocks (those in progress are few: started pieces finish first):
 * - pick: O(P) per piece in progress it takes blocks from, plus the order's `next` per new piece; in
 *   endgame, O(blocks of the pieces in progress);
 * - blockReceived and release O(1) per block (endgame: `maxRequesters` peers per block at most);
 * - pieceVerified and pieceFailed O(blocks of the piece);
 * - addPeer and removePeer: a walk of the bitfield, O(N / 8) for N pieces, plus one O(1) availability
 *   change per piece the peer has, plus its requested blocks; peerHas O(1).
 * Memory: a copy of each peer's counted bitfield (N / 8 bytes), the block state of the pieces in progress,
 * and the order's own (`PiecePicker.ts`).
 */
import type { Bitfield } from "../../domain/Bitfield.js"
import { type BlockRequest, type PeerKey } from "../../domain/Block.js"
import * as Layout from "../../domain/Layout.js"
import { Deadlines } from "./Deadlines.js"
import { PickerPeers } from "./PickerPeers.js"
import { PiecesInProgress } from "./PiecesInProgress.js"
import type { Picker } from "./PiecePicker.js"
import { REQUESTED } from "./PieceProgress.js"
import { type MakeOrder, PriorityOrder } from "./PriorityOrder.js"

const rejected = { accepted: false, cancel: [], pieceComplete: false } as const

/** The block's index in its piece, or -1 when it is not exactly one block of the layout. */
const blockIndex = (layout: Layout.Layout, block: BlockRequest): number => {
  const { length, offset, piece } = block
  if (!Layout.isValidBlock(layout, piece, offset, length) || offset % Layout.BLOCK_SIZE !== 0) return -1
  return length === Math.min(Layout.BLOCK_SIZE, Layout.pieceSize(layout, piece) - offset)
    ? offset / Layout.BLOCK_SIZE
    : -1
}

/**
 * A picker for `layout`, starting from the verified pieces in `have` (copied: the picker owns its `have`),
 * starting new pieces in the order `makeOrder` makes (the strategy: rarest first, sequential), one per
 * file priority (PriorityOrder.ts). With `wanted` (file selection), only those pieces are ever started, and
 * the picker is complete when they are verified. Pieces with deadlines (Deadlines.ts) come before all
 * others. Throws a `RangeError` when `have`, `wanted` or `priorities` does not fit the layout.
 */
export const makePicker = (
  layout: Layout.Layout,
  have0: Bitfield,
  makeOrder: MakeOrder,
  wanted?: Bitfield,
  priorities?: Int8Array
): Picker => {
  const pieceCount = layout.pieceCount
  if (have0.pieceCount !== pieceCount || (wanted !== undefined && wanted.pieceCount !== pieceCount)) {
    throw new RangeError(`have has ${have0.pieceCount} pieces, the layout ${pieceCount}`)
  }
  const have = have0.copy()
  // Wanted pieces not yet verified: the picker is complete at 0.
  let missing = 0
  for (let piece = 0; piece < pieceCount; piece++) if (!have.has(piece) && (wanted === undefined || wanted.has(piece))) missing++
  const isWanted = (piece: number): boolean => wanted === undefined || wanted.has(piece)
  const order = new PriorityOrder(makeOrder, skipped(have, wanted))
  const peers = new PickerPeers(order, pieceCount)
  const pieces = new PiecesInProgress(layout, Math.ceil(layout.pieceLength / Layout.BLOCK_SIZE), order, peers)
  const deadlines = new Deadlines()

  const setPriorities = (next: Int8Array | undefined): void => {
    if (next !== undefined && next.length !== pieceCount) throw new RangeError(`${next.length} priorities for ${pieceCount} pieces`)
    order.reset(next, notFresh(have, wanted, pieces), (increment) => peers.countAgain(increment))
  }
  if (priorities !== undefined) setPriorities(priorities)

  const isPiece = (piece: number): boolean => Number.isInteger(piece) && piece >= 0 && piece < pieceCount
  const inEndgame = (): boolean => missing > 0 && order.size() === 0 && !pieces.hasUnrequested

  const takeDeadlines = (peer: PeerKey, has: Bitfield, max: number, out: Array<BlockRequest>, criticalOnly: boolean): void =>
    takeDeadlineBlocks({ deadlines, pieces, have, isWanted }, peer, has, max, out, criticalOnly)

  const pick = (peer: PeerKey, has: Bitfield, max: number): ReadonlyArray<BlockRequest> => {
    const out: Array<BlockRequest> = []
    if (!(max >= 1) || has.pieceCount !== pieceCount || missing === 0) return out
    if (deadlines.size > 0) takeDeadlines(peer, has, max, out, false)
    while (out.length < max) {
      const best = pieces.best(has)
      if (best === undefined) break
      const before = out.length
      pieces.take(best, peer, max, out)
      if (out.length === before) break // cannot happen; never loop on it
    }
    const memo = peers.memoOf(peer)
    while (out.length < max) {
      // Random start counts pieces begun, not only verified: one first pick can start many pieces.
      const piece = order.next(has, memo, have.count + pieces.size)
      if (piece < 0 || pieces.has(piece) || have.has(piece)) break
      pieces.take(pieces.start(piece), peer, max, out)
    }
    if (out.length < max && inEndgame()) pieces.takeDuplicates(peer, has, max, out)
    return out
  }

  const blockReceived = (peer: PeerKey, block: BlockRequest) => receiveBlock(layout, pieces, peer, block)
  const release = (peer: PeerKey, blocks: ReadonlyArray<BlockRequest>): void => releaseBlocks(layout, pieces, peer, blocks)

  const removePeer = (peer: PeerKey): void => {
    const gone = peers.remove(peer)
    if (gone === undefined) return
    pieces.releaseAll(peer, gone.requested)
    peers.uncount(gone)
  }

  const isInteresting = (has: Bitfield): boolean => {
    if (has.pieceCount !== pieceCount || missing === 0 || has.isEmpty) return false
    // More pieces than ours: one of them is not ours.
    if (wanted === undefined && has.count > have.count) return true
    for (const piece of has) if (!have.has(piece) && isWanted(piece)) return true
    return false
  }

  return {
    addPeer: (peer, has) => {
      if (has.pieceCount === pieceCount) peers.count(peer, has)
    },
    removePeer,
    peerHas: (peer, piece) => {
      if (isPiece(piece)) peers.gain(peer, piece)
    },
    isInteresting,
    pick,
    pickUrgent: (peer, has, max) => {
      const out: Array<BlockRequest> = []
      if (max >= 1 && has.pieceCount === pieceCount && missing > 0 && deadlines.size > 0) takeDeadlines(peer, has, max, out, true)
      return out
    },
    setDeadline: (piece, deadline) => {
      if (isPiece(piece) && !have.has(piece) && isWanted(piece)) deadlines.set(piece, deadline)
    },
    clearDeadline: (piece) => deadlines.delete(piece),
    hasDeadline: (piece) => deadlines.has(piece),
    isCritical: (piece) => deadlines.isCritical(piece),
    get deadlineVersion() {
      return deadlines.version
    },
    setPriorities,
    blockReceived,
    release,
    pieceVerified: (piece) => {
      if (!isPiece(piece) || !have.set(piece)) return
      pieces.verified(piece)
      deadlines.delete(piece)
      if (isWanted(piece)) missing--
    },
    pieceFailed: (piece) => {
      if (isPiece(piece) && !have.has(piece)) pieces.failed(piece)
    },
    have,
    started: () => pieces.indexes(),
    get isComplete() {
      return missing === 0
    },
    get inEndgame() {
      return inEndgame()
    }
  }
}

/** A block arrived from `peer`: accepted when it is one of the layout's blocks that `peer` was asked for. */
const receiveBlock = (layout: Layout.Layout, pieces: PiecesInProgress, peer: PeerKey, block: BlockRequest) => {
  const index = blockIndex(layout, block)
  if (index < 0) return rejected
  const progress = pieces.get(block.piece)
  if (progress === undefined || progress.state[index] !== REQUESTED || !progress.isRequester(index, peer)) {
    return rejected
  }
  const cancel = pieces.receive(progress, index, peer)
  return { accepted: true, cancel, pieceComplete: progress.isComplete }
}

/** Requests of `peer` that will not be answered: back to the pool. */
const releaseBlocks = (layout: Layout.Layout, pieces: PiecesInProgress, peer: PeerKey, blocks: ReadonlyArray<BlockRequest>): void => {
  for (const block of blocks) {
    const index = blockIndex(layout, block)
    if (index < 0) continue
    const progress = pieces.get(block.piece)
    if (progress !== undefined) pieces.release(progress, index, peer)
  }
}

/** Blocks of the pieces with deadlines that the peer has, soonest first: fresh ones started, unrequested
 *  blocks taken, and the blocks of critical ones asked of this peer too when all are asked of others. */
const takeDeadlineBlocks = (
  picker: {
    readonly deadlines: Deadlines
    readonly pieces: PiecesInProgress
    readonly have: Bitfield
    readonly isWanted: (piece: number) => boolean
  },
  peer: PeerKey,
  has: Bitfield,
  max: number,
  out: Array<BlockRequest>,
  criticalOnly: boolean
): void => {
  const { deadlines, have, isWanted, pieces } = picker
  for (const piece of deadlines.inOrder()) {
    if (out.length >= max) return
    const critical = deadlines.isCritical(piece)
    if (criticalOnly && !critical) return
    if (have.has(piece) || !has.has(piece) || !isWanted(piece)) continue
    const progress = pieces.get(piece) ?? pieces.start(piece)
    if (progress.unrequested > 0) pieces.take(progress, peer, max, out)
    if (out.length < max && progress.unrequested === 0 && critical) pieces.takeDuplicatesOf(progress, peer, max, out)
  }
}

/** Pieces that are not fresh: those we have, do not want or have begun (an order made again leaves them out). */
const notFresh = (have: Bitfield, wanted: Bitfield | undefined, pieces: PiecesInProgress): Bitfield => {
  const out = skipped(have, wanted).copy()
  for (let piece = 0; piece < out.pieceCount; piece++) if (pieces.has(piece)) out.set(piece)
  return out
}

/** What a fresh order is made for: the pieces we have and, with a selection, those not wanted (never fresh). */
export const skipped = (have: Bitfield, wanted: Bitfield | undefined): Bitfield => {
  if (wanted === undefined) return have
  const out = have.copy()
  for (let piece = 0; piece < have.pieceCount; piece++) if (!wanted.has(piece)) out.set(piece)
  return out
}
