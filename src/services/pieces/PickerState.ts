/**
 * The piece picker's state machine: which blocks to ask which peer for. Synchronous, called per block.
 *
 * A piece we do not have is either fresh (no block of it requested or received yet), held by a `FreshOrder`
 * (the strategy: which new piece to start), or in progress: it then has a `Progress` with the state of
 * each block (unrequested / requested, by whom / received), and is in `partial` while one of its blocks is
 * unrequested. Pieces in progress are offered before fresh ones, so that started pieces finish first and
 * few pieces are held half-done in memory. A verified piece leaves both; a failed one starts over in
 * progress with every block unrequested, so it is picked again first. When no block is unrequested
 * anywhere (endgame), blocks already requested are offered to other peers too, `maxRequesters` at most.
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
import { Bitfield } from "../../domain/Bitfield.js"
import * as Layout from "../../domain/Layout.js"
import type { Picker } from "./PiecePicker.js"
import { type BlockRequest, type PeerKey } from "../../domain/Block.js"

/** In endgame a block may be requested from this many peers at once: the first one and 2 more. */
export const maxRequesters = 3

/**
 * Where a counted peer's fresh pieces start, in the order's own terms (an availability for rarest first, a
 * piece index for sequential): the peer has no fresh piece before `skip`, so `next` does not look there
 * again. It only has to move back when the peer gains a piece (`gained`) or availabilities drop (`dropped`);
 * pieces leaving the fresh set, or gaining availability, keep it true.
 */
export interface Memo {
  skip: number
}

/** The fresh pieces (none of their blocks requested or received yet), and which of them to start next.
 *  Made with every piece we do not have fresh and nobody counted. */
export interface FreshOrder {
  readonly size: () => number
  /** The piece is started or verified: no longer fresh. */
  readonly remove: (piece: number) => void
  /** One more peer has `piece` (whether or not it is fresh). */
  readonly increment: (piece: number) => void
  /** One peer fewer has `piece`. */
  readonly decrement: (piece: number) => void
  /** A fresh piece the peer has, or -1. `memo` is given (and updated) when the peer's pieces are counted
   *  (addPeer / peerHas). `owned`: how many pieces we have or have begun. */
  readonly next: (has: Bitfield, memo: Memo | undefined, owned: number) => number
  /** The peer of `memo` has a new piece, already counted. */
  readonly gained: (memo: Memo, piece: number) => void
  /** Availabilities dropped, each by one at most (a peer left). */
  readonly dropped: (memo: Memo) => void
  /** Lower ranks first, among pieces in progress. */
  readonly rank: (piece: number) => number
}

const UNREQUESTED = 0
const REQUESTED = 1
const RECEIVED = 2

/** The blocks of a piece in progress. */
interface Progress {
  readonly piece: number
  readonly size: number
  /** UNREQUESTED / REQUESTED / RECEIVED per block. */
  readonly state: Uint8Array
  /** The first peer a requested block was asked from. */
  readonly owner: Array<PeerKey | undefined>
  /** Endgame only: the other peers a block was asked from. */
  extra: Map<number, Array<PeerKey>> | undefined
  unrequested: number
  received: number
  /** No block below this one is unrequested. */
  hint: number
  /** When the piece was started, to finish older pieces first among equals. */
  started: number
}

interface PeerState extends Memo {
  /** The pieces counted in the availability for this peer (our copy), if any were. */
  counted: Bitfield | undefined
  /** Its requested blocks, as `piece * blocksPerPiece + block`. */
  readonly requested: Set<number>
}

const noPeers: ReadonlyArray<PeerKey> = []
const rejected = { accepted: false, cancel: noPeers, pieceComplete: false } as const

/**
 * A picker for `layout`, starting from the verified pieces in `have` (copied: the picker owns its `have`),
 * starting new pieces in the order of `order` (made for the same `have`). Throws a `RangeError` when `have`
 * does not fit the layout.
 */
export const makePicker = (layout: Layout.Layout, have0: Bitfield, order: FreshOrder): Picker => {
  const pieceCount = layout.pieceCount
  if (have0.pieceCount !== pieceCount) {
    throw new RangeError(`have has ${have0.pieceCount} pieces, the layout ${pieceCount}`)
  }
  const have = have0.copy()
  const blocksPerPiece = Math.ceil(layout.pieceLength / Layout.BLOCK_SIZE)
  const active = new Map<number, Progress>()
  const partial = new Set<number>()
  const peers = new Map<PeerKey, PeerState>()
  let started = 0

  const isPiece = (piece: number): boolean => Number.isInteger(piece) && piece >= 0 && piece < pieceCount

  const peerState = (peer: PeerKey): PeerState => {
    let state = peers.get(peer)
    if (state === undefined) {
      state = { counted: undefined, requested: new Set(), skip: 0 }
      peers.set(peer, state)
    }
    return state
  }

  /** The block's index in its piece, or -1 when it is not exactly one block of the layout. */
  const blockIndex = (block: BlockRequest): number => {
    const { length, offset, piece } = block
    if (!Layout.isValidBlock(layout, piece, offset, length) || offset % Layout.BLOCK_SIZE !== 0) return -1
    return length === Math.min(Layout.BLOCK_SIZE, Layout.pieceSize(layout, piece) - offset)
      ? offset / Layout.BLOCK_SIZE
      : -1
  }

  const request = (progress: Progress, block: number): BlockRequest => {
    const offset = block * Layout.BLOCK_SIZE
    return { piece: progress.piece, offset, length: Math.min(Layout.BLOCK_SIZE, progress.size - offset) }
  }

  const isRequester = (progress: Progress, block: number, peer: PeerKey): boolean =>
    progress.owner[block] === peer || (progress.extra?.get(block)?.includes(peer) ?? false)

  const requesterCount = (progress: Progress, block: number): number =>
    (progress.owner[block] === undefined ? 0 : 1) + (progress.extra?.get(block)?.length ?? 0)

  const addRequester = (progress: Progress, block: number, peer: PeerKey): void => {
    if (progress.state[block] === UNREQUESTED) {
      progress.state[block] = REQUESTED
      progress.owner[block] = peer
      progress.unrequested--
    } else {
      progress.extra ??= new Map()
      const more = progress.extra.get(block)
      if (more === undefined) progress.extra.set(block, [peer])
      else more.push(peer)
    }
    peerState(peer).requested.add(progress.piece * blocksPerPiece + block)
  }

  /** Forgets that `peer` was asked for a requested block; with no requester left, it is unrequested. */
  const removeRequester = (progress: Progress, block: number, peer: PeerKey): void => {
    const more = progress.extra?.get(block)
    if (progress.owner[block] === peer) {
      progress.owner[block] = more?.shift()
    } else {
      const at = more?.indexOf(peer) ?? -1
      if (more === undefined || at < 0) return
      more.splice(at, 1)
    }
    if (more !== undefined && more.length === 0) progress.extra?.delete(block)
    peers.get(peer)?.requested.delete(progress.piece * blocksPerPiece + block)
    if (progress.owner[block] === undefined) {
      progress.state[block] = UNREQUESTED
      progress.unrequested++
      if (block < progress.hint) progress.hint = block
      partial.add(progress.piece)
    }
  }

  /** Drops every request of a block, from the block and from the peers' request sets. */
  const dropRequests = (progress: Progress, block: number): void => {
    const id = progress.piece * blocksPerPiece + block
    const owner = progress.owner[block]
    progress.owner[block] = undefined
    if (owner !== undefined) peers.get(owner)?.requested.delete(id)
    const more = progress.extra?.get(block)
    if (more === undefined) return
    progress.extra?.delete(block)
    for (const peer of more) peers.get(peer)?.requested.delete(id)
  }

  const dropAllRequests = (progress: Progress): void => {
    for (let block = 0; block < progress.state.length; block++) {
      if (progress.state[block] === REQUESTED) dropRequests(progress, block)
    }
    progress.extra = undefined
  }

  const start = (piece: number): Progress => {
    order.remove(piece)
    const size = Layout.pieceSize(layout, piece)
    const count = Layout.blockCount(layout, piece)
    const progress: Progress = {
      piece,
      size,
      state: new Uint8Array(count),
      owner: new Array<PeerKey | undefined>(count).fill(undefined),
      extra: undefined,
      unrequested: count,
      received: 0,
      hint: 0,
      started: started++
    }
    active.set(piece, progress)
    partial.add(piece)
    return progress
  }

  /** Asks `peer` for the piece's unrequested blocks, lowest first, until `out` holds `max`. */
  const take = (progress: Progress, peer: PeerKey, max: number, out: Array<BlockRequest>): void => {
    const state = progress.state
    let block = progress.hint
    for (; block < state.length && out.length < max && progress.unrequested > 0; block++) {
      if (state[block] !== UNREQUESTED) continue
      addRequester(progress, block, peer)
      out.push(request(progress, block))
    }
    progress.hint = block
    if (progress.unrequested === 0) partial.delete(progress.piece)
  }

  const inEndgame = (): boolean => !have.isComplete && order.size() === 0 && partial.size === 0

  /** Blocks already asked from others: those with the fewest requesters first. */
  const takeDuplicates = (peer: PeerKey, has: Bitfield, max: number, out: Array<BlockRequest>): void => {
    for (let want = 1; want < maxRequesters && out.length < max; want++) {
      for (const progress of active.values()) {
        if (!has.has(progress.piece) || progress.received === progress.state.length) continue
        for (let block = 0; block < progress.state.length && out.length < max; block++) {
          if (
            progress.state[block] === REQUESTED &&
            requesterCount(progress, block) === want &&
            !isRequester(progress, block, peer)
          ) {
            addRequester(progress, block, peer)
            out.push(request(progress, block))
          }
        }
        if (out.length >= max) return
      }
    }
  }

  const pick = (peer: PeerKey, has: Bitfield, max: number): ReadonlyArray<BlockRequest> => {
    const out: Array<BlockRequest> = []
    if (!(max >= 1) || has.pieceCount !== pieceCount || have.isComplete) return out
    while (out.length < max) {
      let best: Progress | undefined
      for (const piece of partial) {
        if (!has.has(piece)) continue
        const progress = active.get(piece)!
        if (best === undefined) best = progress
        else {
          const byRank = order.rank(piece) - order.rank(best.piece)
          if (byRank < 0 || (byRank === 0 && progress.started < best.started)) best = progress
        }
      }
      if (best === undefined) break
      const before = out.length
      take(best, peer, max, out)
      if (out.length === before) break // cannot happen; never loop on it
    }
    const state = peers.get(peer)
    const memo = state?.counted === undefined ? undefined : state
    while (out.length < max) {
      // Random start counts pieces begun, not only verified: one first pick can start many pieces.
      const piece = order.next(has, memo, have.count + active.size)
      if (piece < 0 || active.has(piece) || have.has(piece)) break
      take(start(piece), peer, max, out)
    }
    if (out.length < max && inEndgame()) takeDuplicates(peer, has, max, out)
    return out
  }

  const blockReceived = (peer: PeerKey, block: BlockRequest) => {
    const index = blockIndex(block)
    if (index < 0) return rejected
    const progress = active.get(block.piece)
    if (progress === undefined || progress.state[index] !== REQUESTED || !isRequester(progress, index, peer)) {
      return rejected
    }
    // Other requesters only in endgame: no allocation otherwise.
    const more = progress.extra?.get(index)
    const cancel = more === undefined ? noPeers : [progress.owner[index]!, ...more].filter((other) => other !== peer)
    dropRequests(progress, index)
    progress.state[index] = RECEIVED
    progress.received++
    return {
      accepted: true,
      cancel,
      pieceComplete: progress.received === progress.state.length
    }
  }

  const release = (peer: PeerKey, blocks: ReadonlyArray<BlockRequest>): void => {
    for (const block of blocks) {
      const index = blockIndex(block)
      if (index < 0) continue
      const progress = active.get(block.piece)
      if (progress !== undefined && progress.state[index] === REQUESTED) removeRequester(progress, index, peer)
    }
  }

  const addPeer = (peer: PeerKey, has: Bitfield): void => {
    if (has.pieceCount !== pieceCount) return
    const state = peerState(peer)
    if (state.counted !== undefined) {
      state.counted.forEachSet(order.decrement)
      for (const other of peers.values()) order.dropped(other)
    }
    state.counted = has.copy()
    state.skip = 0
    has.forEachSet(order.increment)
  }

  const removePeer = (peer: PeerKey): void => {
    const state = peers.get(peer)
    if (state === undefined) return
    peers.delete(peer)
    for (const id of state.requested) {
      const piece = Math.floor(id / blocksPerPiece)
      const progress = active.get(piece)
      const block = id - piece * blocksPerPiece
      if (progress !== undefined && progress.state[block] === REQUESTED) removeRequester(progress, block, peer)
    }
    if (state.counted === undefined) return
    state.counted.forEachSet(order.decrement)
    for (const other of peers.values()) order.dropped(other)
  }

  const peerHas = (peer: PeerKey, piece: number): void => {
    if (!isPiece(piece)) return
    const state = peerState(peer)
    if (state.counted === undefined) {
      state.counted = Bitfield.empty(pieceCount)
      state.skip = 0
    }
    if (!state.counted.set(piece)) return
    order.increment(piece)
    order.gained(state, piece)
  }

  const isInteresting = (has: Bitfield): boolean => {
    if (has.pieceCount !== pieceCount || have.isComplete || has.isEmpty) return false
    // More pieces than ours: one of them is not ours.
    if (has.count > have.count) return true
    for (const piece of has) if (!have.has(piece)) return true
    return false
  }

  const pieceVerified = (piece: number): void => {
    if (!isPiece(piece) || !have.set(piece)) return
    const progress = active.get(piece)
    if (progress === undefined) return order.remove(piece)
    dropAllRequests(progress)
    active.delete(piece)
    partial.delete(piece)
  }

  const pieceFailed = (piece: number): void => {
    if (!isPiece(piece) || have.has(piece)) return
    const progress = active.get(piece)
    if (progress === undefined) return
    dropAllRequests(progress)
    progress.state.fill(UNREQUESTED)
    progress.unrequested = progress.state.length
    progress.received = 0
    progress.hint = 0
    partial.add(piece)
  }

  return {
    addPeer,
    removePeer,
    peerHas,
    isInteresting,
    pick,
    blockReceived,
    release,
    pieceVerified,
    pieceFailed,
    have,
    get isComplete() {
      return have.isComplete
    },
    get inEndgame() {
      return inEndgame()
    }
  }
}
