/** Helpers shared by the piece picker's tests. */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { Bitfield } from "../../src/domain/Bitfield.js"
import * as Layout from "../../src/domain/Layout.js"
import { type BlockRequest } from "../../src/domain/Block.js"

export const BLOCK = Layout.BLOCK_SIZE

export const seeded = <A>(effect: Effect.Effect<A>, seed: number = 42): Effect.Effect<A> =>
  Effect.withRandom(effect, Random.make(seed))

/** `count` pieces of `pieceLength` bytes, the last one `last` bytes. */
export const layoutOf = (pieceLength: number, count: number, last: number = pieceLength): Layout.Layout =>
  Layout.make(pieceLength, [{ length: count === 0 ? 0 : (count - 1) * pieceLength + last }])

export const bits = (pieceCount: number, pieces: Iterable<number>): Bitfield => {
  const b = Bitfield.empty(pieceCount)
  for (const piece of pieces) b.set(piece)
  return b
}

export const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)

export const keyOf = (b: BlockRequest): string => `${b.piece}:${b.offset}:${b.length}`
