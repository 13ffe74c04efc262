/**
 * The blocks of one piece in progress (PickerState.ts): each block unrequested, requested (from whom) or
 * received, with counts and where the first unrequested block may be. Only this piece's own state: the
 * peers' request sets and the list of pieces with unrequested blocks are kept by PiecesInProgress.ts.
 */
import { type BlockRequest, type PeerKey } from "../../domain/Block.js"
import * as Layout from "../../domain/Layout.js"

export const UNREQUESTED = 0
export const REQUESTED = 1
export const RECEIVED = 2

export class PieceProgress {
  /** UNREQUESTED / REQUESTED / RECEIVED per block. */
  readonly state: Uint8Array
  /** The first peer a requested block was asked from. */
  readonly owner: Array<PeerKey | undefined>
  /** Endgame only: the other peers a block was asked from. */
  extra: Map<number, Array<PeerKey>> | undefined = undefined
  unrequested: number
  received = 0
  /** No block below this one is unrequested. */
  hint = 0

  constructor(
    readonly piece: number,
    /** The piece's length in bytes. */
    readonly size: number,
    blockCount: number,
    /** When the piece was started, to finish older pieces first among equals. */
    readonly started: number
  ) {
    this.state = new Uint8Array(blockCount)
    this.owner = new Array<PeerKey | undefined>(blockCount).fill(undefined)
    this.unrequested = blockCount
  }

  /** A block that needs no peer (a pad file's zeros): received from the start. */
  prefill(block: number): void {
    if (this.state[block] !== UNREQUESTED) return
    this.state[block] = RECEIVED
    this.unrequested--
    this.received++
  }

  get isComplete(): boolean {
    return this.received === this.state.length
  }

  /** The request for one of the piece's blocks. */
  request(block: number): BlockRequest {
    const offset = block * Layout.BLOCK_SIZE
    return { piece: this.piece, offset, length: Math.min(Layout.BLOCK_SIZE, this.size - offset) }
  }

  isRequester(block: number, peer: PeerKey): boolean {
    return this.owner[block] === peer || (this.extra?.get(block)?.includes(peer) ?? false)
  }

  requesterCount(block: number): number {
    return (this.owner[block] === undefined ? 0 : 1) + (this.extra?.get(block)?.length ?? 0)
  }

  /** `peer` is asked for the block: its first requester when it was unrequested, else one more (endgame). */
  addRequester(block: number, peer: PeerKey): void {
    if (this.state[block] === UNREQUESTED) {
      this.state[block] = REQUESTED
      this.owner[block] = peer
      this.unrequested--
    } else {
      this.extra ??= new Map()
      const more = this.extra.get(block)
      if (more === undefined) this.extra.set(block, [peer])
      else more.push(peer)
    }
  }

  /** Forgets that `peer` was asked for a requested block; with no requester left, it is unrequested.
   *  False when `peer` was not one of its requesters. */
  removeRequester(block: number, peer: PeerKey): boolean {
    const more = this.extra?.get(block)
    if (this.owner[block] === peer) {
      this.owner[block] = more?.shift()
    } else {
      const at = more?.indexOf(peer) ?? -1
      if (more === undefined || at < 0) return false
      more.splice(at, 1)
    }
    if (more !== undefined && more.length === 0) this.extra?.delete(block)
    if (this.owner[block] === undefined) {
      this.state[block] = UNREQUESTED
      this.unrequested++
      if (block < this.hint) this.hint = block
    }
    return true
  }

  /** The block arrived (its requests are already dropped). */
  receive(block: number): void {
    this.state[block] = RECEIVED
    this.received++
  }

  /** The piece failed its hash (its requests are already dropped): every block unrequested again. */
  reset(): void {
    this.state.fill(UNREQUESTED)
    this.unrequested = this.state.length
    this.received = 0
    this.hint = 0
  }
}
