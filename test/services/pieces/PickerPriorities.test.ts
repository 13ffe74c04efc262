import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as FileSelection from "../../../src/domain/FileSelection.js"
import * as Layout from "../../../src/domain/Layout.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import * as SequentialOrder from "../../../src/services/pieces/SequentialOrder.js"
import { BLOCK, seeded } from "../../support/picker.js"

// File priorities: a peer is asked for a lower priority's piece only when it has none of a higher one.
describe("picker priorities", () => {
  // Three files of 10 pieces each, a piece a block.
  const layout = Layout.make(BLOCK, [{ length: 10 * BLOCK }, { length: 10 * BLOCK }, { length: 10 * BLOCK }])
  const count = layout.pieceCount

  it("a piece's priority is the highest of its files'", () => {
    const shared = Layout.make(BLOCK, [{ length: BLOCK + 10 }, { length: BLOCK }])
    expect([...FileSelection.piecePriorities(shared, [-1, 1])]).toEqual([-1, 1, 1])
    expect([...FileSelection.piecePriorities(shared, [-1])]).toEqual([-1, 0, 0])
  })

  for (const [name, make] of [["rarest first", RarestFirst.make], ["sequential", SequentialOrder.make]] as const) {
    it(`${name}: high first, low last, at make and after a change`, () => {
      const priorities = FileSelection.piecePriorities(layout, [-1, 0, 1])
      const picker = Effect.runSync(seeded(make(layout, Bitfield.empty(count), undefined, priorities)))
      const seed = Bitfield.full(count)
      picker.addPeer("p:1", seed)
      const fileOf = (piece: number) => Math.floor(piece / 10)
      const first = picker.pick("p:1", seed, 10).map((b) => fileOf(b.piece))
      expect(first).toEqual(Array(10).fill(2))
      const next = picker.pick("p:1", seed, 5).map((b) => fileOf(b.piece))
      expect(next).toEqual(Array(5).fill(1))
      // Now the first file is high: its pieces come before the rest of the second.
      picker.setPriorities(FileSelection.piecePriorities(layout, [1, 0, 0]))
      const after = picker.pick("p:1", seed, 10).map((b) => fileOf(b.piece))
      expect(after).toEqual(Array(10).fill(0))
      expect(picker.pick("p:1", seed, 100).map((b) => fileOf(b.piece))).toEqual(Array(5).fill(1))
      // All normal again: one order.
      picker.setPriorities(undefined)
      expect(picker.pick("p:1", seed, 100)).toEqual([])
    })
  }

  it("rarest first within a priority still follows availability after a change", () => {
    const picker = Effect.runSync(seeded(RarestFirst.make(layout, Bitfield.empty(count))))
    const seed = Bitfield.full(count)
    const partial = Bitfield.empty(count)
    for (let piece = 0; piece < count; piece++) if (piece !== 25) partial.set(piece)
    picker.addPeer("a:1", seed)
    picker.addPeer("b:1", partial)
    for (let i = 0; i < 4; i++) picker.pick("a:1", seed, 1) // past the random first pieces
    picker.setPriorities(FileSelection.piecePriorities(layout, [0, 0, 1]))
    // Piece 25 is the rarest of the high file (only a:1 has it): a:1 gets it first.
    expect(picker.pick("a:1", seed, 1).map((b) => b.piece)).toEqual([25])
  })
})
