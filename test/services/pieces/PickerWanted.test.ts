import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import * as SequentialOrder from "../../../src/services/pieces/SequentialOrder.js"
import { BLOCK, bits, layoutOf, range, seeded } from "../../support/picker.js"

// File selection in the picker: only wanted pieces are started; complete when they are verified.
describe("picker with wanted pieces", () => {
  for (const [name, make] of [["rarest first", RarestFirst.make], ["sequential", SequentialOrder.make]] as const) {
    it(`${name}: picks only wanted pieces, is complete when they are verified`, () => {
      const count = 20
      const layout = layoutOf(BLOCK, count)
      const wanted = bits(count, [3, 4, 11, 19])
      const picker = Effect.runSync(seeded(make(layout, bits(count, [4]), wanted)))
      const seed = Bitfield.full(count)
      picker.addPeer("p:1", seed)
      expect(picker.isComplete).toBe(false)
      expect(picker.isInteresting(seed)).toBe(true)
      // A peer with only unwanted pieces is not interesting.
      expect(picker.isInteresting(bits(count, [0, 1, 5]))).toBe(false)
      const picked = new Set<number>()
      for (let round = 0; round < 10; round++) {
        for (const block of picker.pick("p:1", seed, 100)) picked.add(block.piece)
      }
      expect([...picked].sort((a, b) => a - b)).toEqual([3, 11, 19])
      for (const piece of [3, 11]) picker.pieceVerified(piece)
      // An unwanted piece verified (never picked; defensive) does not count towards completion.
      picker.pieceVerified(0)
      expect(picker.isComplete).toBe(false)
      picker.pieceVerified(19)
      expect(picker.isComplete).toBe(true)
      expect(picker.pick("p:1", seed, 100)).toEqual([])
      expect(picker.isInteresting(seed)).toBe(false)
      expect(picker.have.count).toBe(5)
    })
  }

  it("without wanted pieces, every piece is picked", () => {
    const count = 8
    const picker = Effect.runSync(seeded(SequentialOrder.make(layoutOf(BLOCK, count), Bitfield.empty(count))))
    const picked = picker.pick("p:1", Bitfield.full(count), 100).map((b) => b.piece)
    expect(picked).toEqual(range(0, count))
  })

  it("complete at start when every wanted piece is had", () => {
    const count = 8
    const picker = Effect.runSync(seeded(RarestFirst.make(layoutOf(BLOCK, count), bits(count, [2]), bits(count, [2]))))
    expect(picker.isComplete).toBe(true)
  })
})
