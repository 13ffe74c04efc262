/**
 * File priorities in the picker (libtorrent's, in the Transmission RPC's three steps: high, normal, low):
 * a `FreshOrder` over one order of the strategy (rarest first, sequential) per priority, the fresh pieces
 * of each in its own, so that a peer is asked for a piece of a lower priority only when it has none of a
 * higher one left. Within a priority the strategy's order stands. Pieces in progress rank by priority first
 * (`rank`), so that a started high piece finishes before a started low one.
 *
 * With every piece of one priority (the usual case) it is the strategy's order itself, behind one call.
 * A change of priorities makes the orders again for the pieces still fresh and counts every peer's pieces
 * in them again: O(peers × N / 8) for N pieces, once per change (a user's click), nothing per block.
 */
import type { Bitfield } from "../../domain/Bitfield.js"
import type { FreshOrder, Memo } from "./FreshOrder.js"

/** Makes a strategy's order with the pieces of `skipped` left out (never fresh). */
export type MakeOrder = (skipped: Bitfield) => FreshOrder

/** Ranks of a lower priority come after every rank of a higher one (ranks are availabilities or piece
 *  indices, below 2^22). */
const rankStep = 2 ** 22

export class PriorityOrder implements FreshOrder {
  /** The orders, highest priority first, and the priority of each. */
  private orders: Array<FreshOrder>
  private levels: Array<number> = [0]
  /** Each peer's memo in each order but the first (the peer's own memo serves the first). */
  private memos = new WeakMap<Memo, Array<Memo>>()
  /** Each piece's priority; undefined while every piece is normal. */
  private priorityOf: Int8Array | undefined

  constructor(private readonly makeOrder: MakeOrder, skipped: Bitfield) {
    this.orders = [makeOrder(skipped)]
  }

  /**
   * New priorities (one per piece; undefined: all normal): the orders are made again for the pieces not in
   * `notFresh` (those we have, have begun or do not want), and `countAgain` gives each peer's counted
   * pieces to `increment` once more. The peers' memos must be reset to 0 by the caller.
   */
  reset(priorities: Int8Array | undefined, notFresh: Bitfield, countAgain: (increment: (piece: number) => void) => void): void {
    const levels = priorities === undefined ? [0] : [...new Set(priorities)].sort((a, b) => b - a)
    this.priorityOf = levels.length > 1 ? priorities : undefined
    this.levels = levels.length > 1 ? levels : [0]
    this.orders = this.levels.map((level) => {
      if (this.priorityOf === undefined) return this.makeOrder(notFresh)
      const skipped = notFresh.copy()
      for (let piece = 0; piece < skipped.pieceCount; piece++) if (this.priorityOf[piece] !== level) skipped.set(piece)
      return this.makeOrder(skipped)
    })
    this.memos = new WeakMap()
    countAgain(this.increment)
  }

  readonly size = (): number => {
    let size = 0
    for (const order of this.orders) size += order.size()
    return size
  }

  readonly remove = (piece: number): void => {
    for (const order of this.orders) order.remove(piece)
  }

  readonly increment = (piece: number): void => {
    for (const order of this.orders) order.increment(piece)
  }

  readonly decrement = (piece: number): void => {
    for (const order of this.orders) order.decrement(piece)
  }

  private memo(memo: Memo, i: number): Memo {
    if (i === 0) return memo
    let more = this.memos.get(memo)
    if (more === undefined) {
      more = this.orders.slice(1).map(() => ({ skip: 0 }))
      this.memos.set(memo, more)
    }
    return more[i - 1]!
  }

  readonly next = (has: Bitfield, memo: Memo | undefined, owned: number): number => {
    for (let i = 0; i < this.orders.length; i++) {
      const piece = this.orders[i]!.next(has, memo === undefined ? undefined : this.memo(memo, i), owned)
      if (piece >= 0) return piece
    }
    return -1
  }

  readonly gained = (memo: Memo, piece: number): void => {
    for (let i = 0; i < this.orders.length; i++) this.orders[i]!.gained(this.memo(memo, i), piece)
  }

  readonly dropped = (memo: Memo): void => {
    for (let i = 0; i < this.orders.length; i++) this.orders[i]!.dropped(this.memo(memo, i))
  }

  readonly rank = (piece: number): number => {
    const first = this.orders[0]!
    if (this.priorityOf === undefined) return first.rank(piece)
    // Every order counts every piece's availability (or knows its index): the first one ranks any piece.
    return (1 - this.priorityOf[piece]!) * rankStep + first.rank(piece)
  }
}
