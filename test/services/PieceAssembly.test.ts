import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Layout from "../../src/domain/Layout.js"
import { PieceAssembly } from "../../src/services/PieceAssembly.js"
import { randomBytes } from "../support/torrents.js"

const pieceLength = 4 * Layout.BLOCK_SIZE
const data = randomBytes(pieceLength * 2 + 1000, 5)
const layout = Layout.make(pieceLength, [{ length: data.length }])
const hashes = [0, 1, 2].map((i) => createHash("sha1").update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest())
const block = (piece: number, b: number) => {
  const at = piece * pieceLength + b * Layout.BLOCK_SIZE
  return data.subarray(at, Math.min(at + Layout.BLOCK_SIZE, (piece + 1) * pieceLength, data.length))
}
const corrupt = (bytes: Uint8Array) => {
  const c = Uint8Array.from(bytes)
  c[7] = c[7]! ^ 0xff
  return c
}

describe("PieceAssembly", () => {
  it("verifies a piece gathered from blocks in any order, and hands out its bytes", () => {
    const a = new PieceAssembly(layout, (i) => hashes[i]!)
    for (const b of [3, 0, 2, 1]) a.addBlock(1, b * Layout.BLOCK_SIZE, block(1, b), "A")
    expect(a.bufferedBytes).toBe(pieceLength)
    const v = a.verify(1)
    expect(v.ok && Buffer.compare(v.data, data.subarray(pieceLength, 2 * pieceLength))).toBe(0)
    expect(a.bufferedBytes).toBe(0)
  })

  it("verifies the short last piece", () => {
    const a = new PieceAssembly(layout, (i) => hashes[i]!)
    a.addBlock(2, 0, block(2, 0), "A")
    expect(a.verify(2).ok).toBe(true)
  })

  it("names its senders when a piece fails, and the liar once the piece passes (smart ban)", () => {
    const a = new PieceAssembly(layout, (i) => hashes[i]!)
    a.addBlock(0, 0, block(0, 0), "honest")
    a.addBlock(0, Layout.BLOCK_SIZE, corrupt(block(0, 1)), "liar")
    a.addBlock(0, 2 * Layout.BLOCK_SIZE, block(0, 2), "honest")
    a.addBlock(0, 3 * Layout.BLOCK_SIZE, block(0, 3), "other")
    const failed = a.verify(0)
    expect(failed.ok ? [] : [...failed.senders].sort()).toEqual(["honest", "liar", "other"])
    for (let b = 0; b < 4; b++) a.addBlock(0, b * Layout.BLOCK_SIZE, block(0, b), "honest")
    const passed = a.verify(0)
    expect(passed.ok && passed.liars).toEqual(["liar"])
  })

  it("reuses a stored piece's buffer for the next piece", () => {
    const a = new PieceAssembly(layout, (i) => hashes[i]!)
    for (let b = 0; b < 4; b++) a.addBlock(0, b * Layout.BLOCK_SIZE, block(0, b), "A")
    const v = a.verify(0)
    if (!v.ok) throw new Error("expected to verify")
    a.release(v.data)
    for (let b = 0; b < 4; b++) a.addBlock(1, b * Layout.BLOCK_SIZE, block(1, b), "A")
    const w = a.verify(1)
    expect(w.ok && w.data.buffer).toBe(v.data.buffer)
  })
})
