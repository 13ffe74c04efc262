/**
 * A torrent's progress as Transmission counts it once some files are not wanted: each file's bytes in
 * verified pieces, the size when done (the wanted pieces, and what is had of the others), what is left,
 * and the wanted bytes the peers can give. Counted by pieces, as Transmission counts them: a piece shared
 * by a wanted and an unwanted file is wanted whole; pad files (BEP 47) count for nothing. Pure.
 */
import type { Bitfield } from "./Bitfield.js"
import * as Layout from "./Layout.js"

/** The bytes of file `index` inside verified pieces (a piece counts only once verified). */
export const fileBytesCompleted = (layout: Layout.Layout, index: number, have: Bitfield): number =>
  Layout.fileBytesIn(layout, index, (piece) => have.has(piece))

/** tr_cpSizeWhenDone: bytes of the wanted pieces, and of the verified pieces not wanted. `wanted`
 *  undefined: every piece. */
export const sizeWhenDone = (layout: Layout.Layout, wanted: Bitfield | undefined, have: Bitfield): number => {
  if (wanted === undefined) return Layout.dataLength(layout)
  let bytes = 0
  for (let piece = 0; piece < layout.pieceCount; piece++) {
    if (wanted.has(piece) || have.has(piece)) bytes += Layout.dataBytes(layout, piece)
  }
  return bytes
}

/** tr_cpLeftUntilDone: bytes of the wanted pieces not verified yet. */
export const leftUntilDone = (layout: Layout.Layout, wanted: Bitfield | undefined, have: Bitfield): number => {
  let bytes = 0
  for (let piece = 0; piece < layout.pieceCount; piece++) {
    if ((wanted === undefined || wanted.has(piece)) && !have.has(piece)) bytes += Layout.dataBytes(layout, piece)
  }
  return bytes
}

/** Every wanted piece verified. */
export const wantedComplete = (wanted: Bitfield | undefined, have: Bitfield): boolean => {
  if (wanted === undefined) return have.isComplete
  let complete = true
  wanted.forEachSet((piece) => {
    if (!have.has(piece)) complete = false
  })
  return complete
}
