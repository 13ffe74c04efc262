/**
 * A file's BEP 52 merkle tree (src/domain/MerkleTree.ts) against the reference of merkleReference.ts,
 * written from the BEP's text: leaves, roots, depths, piece layers, padding, and leaves fed in any chunking.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { LEAF_SIZE, rootOfLayer } from "../../src/domain/Merkle.js"
import { LeafHasher, leafHashes, MerkleTree, piecesRoot } from "../../src/domain/MerkleTree.js"
import { fileBytes, fileLength, hex, pieceLength, reference, referencePieceLayer, seed, sha256, zero } from "./merkleReference.js"


describe("MerkleTree", () => {
  it("known small cases: one block is its own root, two blocks one parent, no piece layer for one piece", () => {
    const one = fileBytes(100, 1)
    expect(hex(piecesRoot(one))).toBe(hex(sha256(one)))
    const two = fileBytes(LEAF_SIZE + 1, 2)
    const expected = sha256(sha256(two.subarray(0, LEAF_SIZE)), sha256(two.subarray(LEAF_SIZE)))
    expect(hex(piecesRoot(two))).toBe(hex(expected))
    expect(MerkleTree.fromBytes(two).pieceLayer(2 * LEAF_SIZE)).toBeUndefined()
    expect(hex(MerkleTree.fromBytes(two).pieceLayer(LEAF_SIZE))).toBe(hex(leafHashes(two)))
    // Three leaves: the fourth is 32 zero bytes, not the hash of anything.
    const three = fileBytes(2 * LEAF_SIZE + 7, 3)
    const [a, b, c] = [0, 1, 2].map((i) => sha256(three.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)))
    expect(hex(piecesRoot(three))).toBe(hex(sha256(sha256(a!, b!), sha256(c!, zero))))
    // An empty file has no pieces root in BEP 52; its tree's root is the zero leaf.
    expect(hex(piecesRoot(new Uint8Array(0)))).toBe(hex(zero))
    expect(MerkleTree.fromBytes(new Uint8Array(0)).pieceLayer(LEAF_SIZE)).toBeUndefined()
  })

  it("a piece length that is not a power of two of leaves has no piece layer", () => {
    const tree = MerkleTree.fromBytes(fileBytes(10 * LEAF_SIZE, 4))
    for (const bad of [0, 1000, 3 * LEAF_SIZE, LEAF_SIZE / 2, -LEAF_SIZE, Number.NaN]) {
      expect(tree.pieceLayer(bad)).toBeUndefined()
    }
    expect(() => MerkleTree.fromLeaves(new Uint8Array(33))).toThrow(RangeError)
  })

  it.prop(
    "roots, depths and piece layers agree with the reference; a piece layer hashes back to the root",
    [fileLength, pieceLength, seed],
    ([length, piece, s]) => {
      const bytes = fileBytes(length, s)
      const ref = reference(bytes)
      const tree = MerkleTree.fromBytes(bytes)
      expect(tree.leafCount).toBe(ref.leaves.length)
      expect(tree.depth).toBe(ref.depth)
      expect(hex(tree.root)).toBe(hex(ref.node(ref.depth, 0)))
      expect(hex(tree.layer(0))).toBe(hex(Buffer.concat(ref.leaves)))
      const layer = tree.pieceLayer(piece)
      expect(hex(layer)).toBe(hex(referencePieceLayer(ref, length, piece)))
      // What FileTree.checkPieceLayers checks a torrent's piece layers with.
      if (layer !== undefined) expect(hex(rootOfLayer(layer, piece / LEAF_SIZE))).toBe(hex(tree.root))
    },
    { fastCheck: { numRuns: 60 } }
  )

  it.prop(
    "any chunking of the bytes gives the same leaves and root",
    [fileLength, seed, FastCheck.array(FastCheck.nat(), { maxLength: 30 }), FastCheck.boolean()],
    ([length, s, cuts, small]) => {
      const bytes = fileBytes(length, s)
      const at = [...new Set(cuts.map((c) => (length === 0 ? 0 : (small ? c % 5000 : c) % length)))].sort((x, y) => x - y)
      const hasher = new LeafHasher()
      let start = 0
      for (const p of [...at, length]) {
        hasher.update(bytes.subarray(start, p))
        start = Math.max(start, p)
      }
      hasher.update(new Uint8Array(0))
      const leaves = hasher.finish()
      expect(hex(leaves)).toBe(hex(leafHashes(bytes)))
      expect(hex(MerkleTree.fromLeaves(leaves).root)).toBe(hex(reference(bytes).node(reference(bytes).depth, 0)))
    },
    { fastCheck: { numRuns: 40 } }
  )

  it("node past the file's end is the padding of its layer", () => {
    const bytes = fileBytes(5 * LEAF_SIZE, 5)
    const ref = reference(bytes)
    const tree = MerkleTree.fromBytes(bytes)
    for (let layer = 0; layer <= tree.depth; layer++) {
      for (let i = 0; i < 2 ** (tree.depth - layer); i++) expect(hex(tree.node(layer, i))).toBe(hex(ref.node(layer, i)))
    }
  })
})
