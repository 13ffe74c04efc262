/**
 * v2 pieces and blocks checked against their piece hash (src/domain/MerklePiece.ts): the hash a piece is
 * checked against comes from the reference of merkleReference.ts (the piece layer, or the root of a file
 * no longer than a piece), the uncles a block is sent with agree with the reference, and any flipped byte
 * in the piece, the block or its uncles is refused.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { blockUncles, leavesPerPiece, subtreeRoot, verifyBlock, verifyPiece } from "../../src/domain/MerklePiece.js"
import { MerkleTree } from "../../src/domain/MerkleTree.js"
import { fileBytes, hex, LEAF, pieceLength, reference, seed, sha256, zero } from "./merkleReference.js"

const pieceCase = FastCheck.record({
  length: FastCheck.oneof(FastCheck.integer({ min: 1, max: 40 * LEAF }), FastCheck.integer({ min: 1, max: 4 << 20 })),
  piece: pieceLength,
  seed,
  picks: FastCheck.array(FastCheck.nat(), { minLength: 4, maxLength: 4 })
}).map(({ length, piece, seed, picks }) => {
  const [p, b, at, bit] = picks as [number, number, number, number]
  const pieceIndex = p % Math.ceil(length / piece)
  const start = pieceIndex * piece
  const pieceBytes = Math.min(piece, length - start)
  const blockInPiece = b % Math.ceil(pieceBytes / LEAF)
  return { length, piece, seed, pieceIndex, start, pieceBytes, blockInPiece, at, bit: bit % 8 }
})

const flip = (bytes: Uint8Array, at: number, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  copy[at % copy.length] = copy[at % copy.length]! ^ (1 << bit)
  return copy
}

describe("MerklePiece", () => {
  it.prop(
    "a piece and each of its blocks check against the reference's piece hash; a flipped byte does not",
    [pieceCase],
    ([c]) => {
      const bytes = fileBytes(c.length, c.seed)
      const ref = reference(bytes)
      const tree = MerkleTree.fromBytes(bytes)
      const width = leavesPerPiece(c.length, c.piece)
      // The piece's hash: its node in the piece layer, or for a file no longer than a piece, its root.
      const pieceHash = c.length > c.piece ? ref.node(Math.log2(c.piece / LEAF), c.pieceIndex) : ref.node(ref.depth, 0)
      const pieceBytes = bytes.subarray(c.start, c.start + c.pieceBytes)
      expect(verifyPiece(pieceHash, pieceBytes, width)).toBe(true)
      expect(verifyPiece(pieceHash, flip(pieceBytes, c.at, c.bit), width)).toBe(false)
      expect(verifyPiece(pieceHash, pieceBytes.subarray(0, pieceBytes.length - 1), width)).toBe(false)

      const block = pieceBytes.subarray(c.blockInPiece * LEAF, (c.blockInPiece + 1) * LEAF)
      const leaf = c.start / LEAF + c.blockInPiece
      const uncles = blockUncles(tree, leaf, width)
      const expected = Array.from({ length: Math.log2(width) }, (_, k) => {
        const at = Math.floor(leaf / 2 ** k)
        return ref.node(k, at % 2 === 0 ? at + 1 : at - 1)
      })
      expect(hex(uncles)).toBe(hex(Buffer.concat(expected)))
      expect(verifyBlock(pieceHash, block, c.blockInPiece, width, uncles)).toBe(true)
      expect(verifyBlock(pieceHash, flip(block, c.at, c.bit), c.blockInPiece, width, uncles)).toBe(false)
      if (uncles.length > 0) {
        expect(verifyBlock(pieceHash, block, c.blockInPiece, width, flip(uncles, c.at, c.bit))).toBe(false)
        expect(verifyBlock(pieceHash, block, c.blockInPiece ^ 1, width, uncles)).toBe(false)
      }
      expect(verifyBlock(pieceHash, block, c.blockInPiece, width * 2, uncles)).toBe(false)
    },
    { fastCheck: { numRuns: 80 } }
  )

  it("the leaves under a piece hash: a piece's blocks, or a short file's leaves padded to a power of two", () => {
    expect(leavesPerPiece(10 * LEAF, 4 * LEAF)).toBe(4)
    expect(leavesPerPiece(4 * LEAF, 4 * LEAF)).toBe(4)
    expect(leavesPerPiece(3 * LEAF, 16 * LEAF)).toBe(4)
    expect(leavesPerPiece(LEAF, 16 * LEAF)).toBe(1)
    expect(leavesPerPiece(1, 16 * LEAF)).toBe(1)
  })

  it("subtreeRoot pads with zero leaves; leaves that do not fit are refused", () => {
    const a = sha256(Buffer.from("a"))
    expect(hex(subtreeRoot(a, 1))).toBe(hex(a))
    expect(hex(subtreeRoot(a, 2))).toBe(hex(sha256(a, zero)))
    expect(hex(subtreeRoot(a, 4))).toBe(hex(sha256(sha256(a, zero), sha256(zero, zero))))
    expect(hex(subtreeRoot(new Uint8Array(0), 2))).toBe(hex(sha256(zero, zero)))
    expect(subtreeRoot(Buffer.concat([a, a]), 1)).toBeUndefined()
    expect(subtreeRoot(a, 3)).toBeUndefined()
    expect(subtreeRoot(new Uint8Array(31), 1)).toBeUndefined()
  })

  it("hostile inputs give false, never a throw", () => {
    const h = new Uint8Array(32)
    expect(verifyPiece(h, new Uint8Array(0), 1)).toBe(false)
    expect(verifyPiece(h, new Uint8Array(LEAF + 1), 1)).toBe(false)
    expect(verifyPiece(h, new Uint8Array(10), 3)).toBe(false)
    expect(verifyPiece(new Uint8Array(5), new Uint8Array(10), 1)).toBe(false)
    for (const [block, index, width, uncles] of [
      [new Uint8Array(0), 0, 1, 0],
      [new Uint8Array(LEAF + 1), 0, 1, 0],
      [new Uint8Array(1), -1, 2, 1],
      [new Uint8Array(1), 2, 2, 1],
      [new Uint8Array(1), 0.5, 2, 1],
      [new Uint8Array(1), 0, 2, 2],
      [new Uint8Array(1), 0, 3, 1],
      [new Uint8Array(1), 0, 2 ** 70, 70],
      [new Uint8Array(1), Number.NaN, 2, 1]
    ] as const) {
      expect(verifyBlock(h, block, index, width, new Uint8Array(32 * uncles))).toBe(false)
    }
  })
})
