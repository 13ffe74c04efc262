/**
 * The sequential strategy of the piece picker: the lowest piece index first. Deterministic, for tests, and
 * for streaming, where what is played next is what is needed first.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { Layout } from "../../domain/Layout.js"
import type { FreshOrder } from "./FreshOrder.js"
import { makePicker } from "./PickerState.js"
import { PiecePicker } from "./PiecePicker.js"

/** Lowest index first: a flag per fresh piece and a cursor (and the peer's memo) to start from; `next` is
 *  O(pieces looked at that the peer lacks). */
const sequentialOrder = (have: Bitfield): FreshOrder => {
  const pieceCount = have.pieceCount
  const fresh = new Uint8Array(pieceCount)
  let size = 0
  let first = 0
  for (let piece = 0; piece < pieceCount; piece++) {
    if (have.has(piece)) continue
    fresh[piece] = 1
    size++
  }
  return {
    size: () => size,
    remove: (piece) => {
      if (fresh[piece] === 0) return
      fresh[piece] = 0
      size--
    },
    increment: () => {},
    decrement: () => {},
    next: (has, memo) => {
      while (first < pieceCount && fresh[first] === 0) first++
      for (let piece = Math.max(first, memo?.skip ?? 0); piece < pieceCount; piece++) {
        if (fresh[piece] === 1 && has.has(piece)) {
          if (memo !== undefined) memo.skip = piece
          return piece
        }
      }
      if (memo !== undefined) memo.skip = pieceCount
      return -1
    },
    gained: (memo, piece) => {
      memo.skip = Math.min(memo.skip, piece)
    },
    dropped: () => {},
    rank: (piece) => piece
  }
}


/** A picker that starts the lowest piece index first. Dies when `have` does not fit the layout. */
export const make = Effect.fn("SequentialOrder.make")(function* (layout: Layout, have: Bitfield, wanted?: Bitfield, priorities?: Int8Array) {
  return makePicker(layout, have, sequentialOrder, wanted, priorities)
})


export const layer: Layer.Layer<PiecePicker> = Layer.succeed(
  PiecePicker,
  PiecePicker.of({ make })
)

