/**
 * The strategy port of the picker (PickerState.ts): which fresh piece to start next. RarestFirst.ts and
 * SequentialOrder.ts implement it.
 */
import type { Bitfield } from "../../domain/Bitfield.js"

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
