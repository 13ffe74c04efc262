/**
 * The files of a torrent as a front end chooses them (domain/FileChoices.ts) and the progress that follows
 * (domain/FileProgress.ts): Transmission's reading of a change (an empty list is every file, an index past
 * the last ignored, wanted before unwanted), the numbering without pad files, and sizeWhenDone /
 * leftUntilDone counted by pieces.
 */
import { describe, expect, it } from "vitest"
import { Bitfield } from "../../src/domain/Bitfield.js"
import { allWanted, applyFileChange, layoutPriorities, selectionOf, visibleFiles, wantedPiecesOf } from "../../src/domain/FileChoices.js"
import { fileBytesCompleted, leftUntilDone, sizeWhenDone, wantedComplete } from "../../src/domain/FileProgress.js"
import * as Layout from "../../src/domain/Layout.js"

// Pieces of 100 bytes: a is bytes 0-149 (pieces 0-1), a pad file 150-199, b 200-449 (pieces 2-4), c 450-519 (4-5).
const layout = Layout.make(100, [
  { length: 150 },
  { length: 50, pad: true },
  { length: 250 },
  { length: 70 }
])

const bits = (count: number, set: ReadonlyArray<number>) => {
  const b = Bitfield.empty(count)
  for (const i of set) b.set(i)
  return b
}

describe("FileChoices", () => {
  it("reads a change as Transmission does", () => {
    const one = applyFileChange(allWanted, { unwanted: [1, 9], high: [0], low: "all" }, 3)
    // Low for all comes after high: every file low.
    expect(one).toEqual({ unwanted: [1], priorities: [-1, -1, -1] })
    expect(applyFileChange(one, { wanted: "all", unwanted: [2], normal: "all" }, 3)).toEqual({ unwanted: [2], priorities: [] })
    expect(applyFileChange(one, { unwanted: "all" }, 3).unwanted).toEqual([0, 1, 2])
    expect(applyFileChange(allWanted, { high: [1, -1, 1.5] }, 3)).toEqual({ unwanted: [], priorities: [0, 1, 0] })
  })

  it("numbers files as the RPC shows them, without pad files, and gives the torrent its selection and priorities", () => {
    expect(visibleFiles(layout)).toEqual([0, 2, 3])
    const choices = { unwanted: [1], priorities: [1, 0, -1] as const }
    expect(selectionOf(layout, choices)).toEqual([0, 3])
    expect(selectionOf(layout, allWanted)).toBeUndefined()
    expect(layoutPriorities(layout, choices)).toEqual([1, 0, 0, -1])
    expect(layoutPriorities(layout, allWanted)).toBeUndefined()
    // a's pieces 0-1, c's 4-5.
    expect(wantedPiecesOf(layout, choices)?.toBytes()).toEqual(bits(6, [0, 1, 4, 5]).toBytes())
  })
})

describe("FileProgress", () => {
  it("counts a file's bytes in verified pieces, and what is left of the pieces wanted", () => {
    const wanted = wantedPiecesOf(layout, { unwanted: [1], priorities: [] })!
    const have = bits(6, [1, 2, 4])
    expect(fileBytesCompleted(layout, 0, have)).toBe(50)
    expect(fileBytesCompleted(layout, 2, have)).toBe(150)
    expect(fileBytesCompleted(layout, 3, have)).toBe(50)
    // Wanted: 0, 1, 4, 5 (100 + 100 + 100 + 20), and piece 2 had besides; the pad's 50 bytes in piece 1
    // count for nothing.
    expect(sizeWhenDone(layout, wanted, have)).toBe(370)
    expect(leftUntilDone(layout, wanted, have)).toBe(120)
    expect(wantedComplete(wanted, have)).toBe(false)
    expect(wantedComplete(wanted, bits(6, [0, 1, 4, 5]))).toBe(true)
    expect([sizeWhenDone(layout, undefined, have), leftUntilDone(layout, undefined, have), wantedComplete(undefined, have)]).toEqual([470, 220, false])
  })
})
