/**
 * The peers a picker knows (PickerState.ts): for each, the pieces counted in the availability that the
 * `FreshOrder` keeps (our copy of its bitfield, so that exactly those are taken back when it leaves), its
 * memo for the order, and the blocks it was asked for.
 *
 * Costs: `count` and `uncount` walk the bitfield, O(N / 8) for N pieces, plus one O(1) availability change
 * per piece the peer has (`uncount` also moves back every peer's memo); `gain` O(1).
 */
import { Bitfield } from "../../domain/Bitfield.js"
import type { PeerKey } from "../../domain/Block.js"
import type { FreshOrder, Memo } from "./FreshOrder.js"

export interface PickerPeer extends Memo {
  /** The pieces counted in the availability for this peer (our copy), if any were. */
  counted: Bitfield | undefined
  /** Its requested blocks, as `piece * blocksPerPiece + block`. */
  readonly requested: Set<number>
}

export class PickerPeers {
  private readonly peers = new Map<PeerKey, PickerPeer>()

  constructor(private readonly order: FreshOrder, private readonly pieceCount: number) {}

  get(peer: PeerKey): PickerPeer | undefined {
    return this.peers.get(peer)
  }

  /** The peer's state, made (nothing counted, nothing requested) on first use. */
  of(peer: PeerKey): PickerPeer {
    let state = this.peers.get(peer)
    if (state === undefined) {
      state = { counted: undefined, requested: new Set(), skip: 0 }
      this.peers.set(peer, state)
    }
    return state
  }

  /** The memo to give the order for this peer: only when its pieces are counted. */
  memoOf(peer: PeerKey): Memo | undefined {
    const state = this.peers.get(peer)
    return state?.counted === undefined ? undefined : state
  }

  /** Counts the peer's bitfield (a copy of it), in place of what was counted for it before. */
  count(peer: PeerKey, has: Bitfield): void {
    const state = this.of(peer)
    this.uncount(state)
    state.counted = has.copy()
    state.skip = 0
    has.forEachSet(this.order.increment)
  }

  /** The peer has one more piece (HAVE); counted once. */
  gain(peer: PeerKey, piece: number): void {
    const state = this.of(peer)
    if (state.counted === undefined) {
      state.counted = Bitfield.empty(this.pieceCount)
      state.skip = 0
    }
    if (!state.counted.set(piece)) return
    this.order.increment(piece)
    this.order.gained(state, piece)
  }

  /** Each counted peer's pieces (orders made again: PriorityOrder.ts), and every memo back to the start. */
  countAgain(increment: (piece: number) => void): void {
    for (const state of this.peers.values()) {
      state.skip = 0
      state.counted?.forEachSet(increment)
    }
  }

  /** Forgets the peer, and returns what it was (its requests are the caller's to release); call `uncount`
   *  on it then. */
  remove(peer: PeerKey): PickerPeer | undefined {
    const state = this.peers.get(peer)
    if (state !== undefined) this.peers.delete(peer)
    return state
  }

  /** Takes the peer's counted pieces out of the availability; the memos of the peers still known move
   *  back, since availabilities dropped. */
  uncount(state: PickerPeer): void {
    if (state.counted === undefined) return
    state.counted.forEachSet(this.order.decrement)
    state.counted = undefined
    for (const other of this.peers.values()) this.order.dropped(other)
  }
}
