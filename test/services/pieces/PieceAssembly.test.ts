import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Layout from "../../../src/domain/Layout.js"
import * as DirectIo from "../../../src/services/storage/DirectIo.js"
import { PieceAssembly } from "../../../src/services/pieces/PieceAssembly.js"
import { randomBytes } from "../../support/torrents.js"

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
    // Counted until stored and released.
    expect(a.bufferedBytes).toBe(pieceLength)
    if (v.ok) a.release(v.data)
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

describe("PieceAssembly buffers", () => {
  const big = Layout.make(4 * Layout.BLOCK_SIZE, [{ length: 16 * Layout.BLOCK_SIZE }])
  const payload = randomBytes(16 * Layout.BLOCK_SIZE, 6)
  const hashOf = (piece: number) => createHash("sha1").update(payload.subarray(piece * 65536, (piece + 1) * 65536)).digest()
  const fill = (a: PieceAssembly, piece: number, order: ReadonlyArray<number>) => {
    for (const b of order) {
      const at = piece * 65536 + b * Layout.BLOCK_SIZE
      a.addBlock(piece, b * Layout.BLOCK_SIZE, payload.subarray(at, at + Layout.BLOCK_SIZE), "A")
    }
  }

  it("cuts piece buffers from page-aligned memory, up to its spares, so storage can write them directly", () => {
    const a = new PieceAssembly(big, hashOf, 2 * 65536)
    fill(a, 0, [0, 1, 2, 3])
    fill(a, 1, [3, 2, 1, 0])
    fill(a, 2, [1, 0, 3, 2])
    const verdicts = [0, 1, 2].map((piece) => a.verify(piece))
    const data = verdicts.map((v) => (v.ok ? v.data : undefined))
    expect(data.every((d) => d !== undefined)).toBe(true)
    // Two spares: two aligned buffers; the third piece had an ordinary one.
    expect(data.map((d) => DirectIo.isAligned(d!, 0))).toEqual([true, true, false])
    // Counted until released, and the aligned ones come back first.
    expect(a.bufferedBytes).toBe(3 * 65536)
    data.forEach((d) => a.release(d!))
    expect(a.bufferedBytes).toBe(0)
    fill(a, 3, [0, 1, 2, 3])
    const again = a.verify(3)
    expect(again.ok && DirectIo.isAligned(again.data, 0)).toBe(true)
  })
})

describe("PieceAssembly for hashing threads", () => {
  const big = Layout.make(4 * Layout.BLOCK_SIZE, [{ length: 16 * Layout.BLOCK_SIZE + 100 }])
  const payload = randomBytes(16 * Layout.BLOCK_SIZE + 100, 7)
  const bytesOf = (piece: number) => payload.subarray(piece * 65536, Math.min((piece + 1) * 65536, payload.length))
  const hashOf = (piece: number) => createHash("sha1").update(bytesOf(piece)).digest()
  const fill = (a: PieceAssembly, piece: number) => {
    const bytes = bytesOf(piece)
    for (let at = 0; at < bytes.length; at += Layout.BLOCK_SIZE) a.addBlock(piece, at, bytes.subarray(at, at + Layout.BLOCK_SIZE), "A")
  }

  it("gathers whole pieces in shared memory, for a thread to hash, and judges them by the digest it is given", () => {
    const a = new PieceAssembly(big, hashOf, 2 * 65536, true)
    fill(a, 0)
    fill(a, 1)
    const bytes = a.offThread(0)
    expect(bytes?.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(Buffer.compare(bytes!, bytesOf(0))).toBe(0)
    const good = a.verify(0, createHash("sha1").update(bytes!).digest())
    expect(good.ok && DirectIo.isAligned(good.data, 0)).toBe(true)
    // The digest decides, not the bytes: a wrong one fails the piece.
    const bad = a.verify(1, new Uint8Array(20))
    expect(bad).toEqual({ ok: false, senders: ["A"] })
  })

  it("hashes here a piece outside the shared memory (past its spares, or the short last one)", () => {
    const a = new PieceAssembly(big, hashOf, 65536, true)
    fill(a, 0) // the one shared buffer
    fill(a, 1) // an ordinary one
    fill(a, 4) // the last piece, 100 bytes
    expect(a.offThread(1)).toBeUndefined()
    expect(a.offThread(4)).toBeUndefined()
    expect([a.verify(1).ok, a.verify(4).ok]).toEqual([true, true])
  })
})
