/**
 * BEP 52's hash request answers (src/domain/MerkleProof.ts) against the reference of merkleReference.ts:
 * the nodes and uncles a seeder sends agree with the BEP's definition, they prove the nodes against the
 * root (or against the node their uncles stop at), any single flipped byte is refused, and hostile numbers
 * and lengths give false, never a throw.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import {
  answer,
  checkRange,
  MAX_BASE_HASHES,
  MAX_UNCLE_HASHES,
  provenNode,
  provesNode,
  uncleCount,
  verifyAnswer
} from "../../src/domain/MerkleProof.js"
import { MerkleTree } from "../../src/domain/MerkleTree.js"
import { fileBytes, hex, LEAF, reference, referenceHashes, referenceUncles, seed } from "./merkleReference.js"

/** A file of at least two leaves (so that its tree has a layer below the root) and a valid request in it. */
const requestCase = FastCheck.record({
  length: FastCheck.oneof(FastCheck.integer({ min: LEAF + 1, max: 40 * LEAF }), FastCheck.integer({ min: LEAF + 1, max: 3 << 20 })),
  seed,
  picks: FastCheck.array(FastCheck.nat(), { minLength: 4, maxLength: 4 })
}).map(({ length, seed, picks }) => {
  const [a, b, c, d] = picks as [number, number, number, number]
  let depth = 0
  while (2 ** depth < Math.ceil(length / LEAF)) depth++
  const baseLayer = a % depth
  const lengthLog = b % (depth - baseLayer + 1)
  const count = 2 ** lengthLog
  const index = (c % (2 ** (depth - baseLayer) / count)) * count
  const proofLayers = d % (depth - baseLayer)
  return { fileLength: length, seed, depth, range: { baseLayer, index, length: count, proofLayers } }
})

const flip = (bytes: Uint8Array, at: number, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  copy[at] = copy[at]! ^ (1 << bit)
  return copy
}

describe("MerkleProof", () => {
  it.prop(
    "answers agree with the reference and prove their nodes; a full proof reaches the root",
    [requestCase],
    ([{ fileLength, seed, depth, range }]) => {
      const bytes = fileBytes(fileLength, seed)
      const ref = reference(bytes)
      const tree = MerkleTree.fromBytes(bytes)
      expect(tree.depth).toBe(depth)
      expect(checkRange(depth, range)).toBeUndefined()
      const a = answer(tree, range)
      if (a === undefined) throw new Error("a valid range was not answered")
      const { baseLayer, index, length, proofLayers } = range
      expect(hex(a.hashes)).toBe(hex(referenceHashes(ref, baseLayer, index, length)))
      expect(hex(a.uncles)).toBe(hex(referenceUncles(ref, baseLayer, index, length, proofLayers)))
      expect(a.uncles.length / 32).toBe(uncleCount(length, proofLayers))
      // The node the uncles stop at, as the reference has it.
      const top = provenNode(baseLayer, index, a.hashes, a.uncles)
      if (top === undefined) throw new Error("a well-formed answer was refused")
      const reached = Math.max(baseLayer + Math.log2(length), baseLayer + proofLayers + 1)
      expect(top.layer).toBe(reached)
      expect(hex(top.hash)).toBe(hex(ref.node(top.layer, top.index)))
      expect(provesNode(top, baseLayer, index, a.hashes, a.uncles)).toBe(true)
      expect(verifyAnswer(tree.root, depth, baseLayer, index, a.hashes, a.uncles)).toBe(reached === depth)
      // The full proof of the same nodes reaches the root.
      const full = answer(tree, { ...range, proofLayers: depth - baseLayer - 1 })!
      expect(verifyAnswer(tree.root, depth, baseLayer, index, full.hashes, full.uncles)).toBe(true)
      expect(verifyAnswer(tree.root, depth + 1, baseLayer, index, full.hashes, full.uncles)).toBe(false)
    },
    { fastCheck: { numRuns: 80 } }
  )

  it.prop(
    "any single flipped byte in the hashes or the uncles is refused",
    [requestCase, FastCheck.nat(), FastCheck.integer({ min: 0, max: 7 })],
    ([{ fileLength, seed, depth, range }, at, bit]) => {
      const tree = MerkleTree.fromBytes(fileBytes(fileLength, seed))
      const full = answer(tree, { ...range, proofLayers: depth - range.baseLayer - 1 })!
      const all = full.hashes.length + full.uncles.length
      const where = at % all
      const hashes = where < full.hashes.length ? flip(full.hashes, where, bit) : full.hashes
      const uncles = where < full.hashes.length ? full.uncles : flip(full.uncles, where - full.hashes.length, bit)
      expect(verifyAnswer(tree.root, depth, range.baseLayer, range.index, hashes, uncles)).toBe(false)
      // A wrong index for the same bytes too, when they hold a node of the file (runs of padding are alike
      // wherever they are) and there is another place for them.
      const other = range.index + range.length
      const real = Math.ceil(tree.leafCount / 2 ** range.baseLayer)
      if (range.index < real && other < 2 ** (depth - range.baseLayer)) {
        expect(verifyAnswer(tree.root, depth, range.baseLayer, other, full.hashes, full.uncles)).toBe(false)
      }
    },
    { fastCheck: { numRuns: 80 } }
  )

  it("ranges a tree cannot answer are refused with a reason", () => {
    const tree = MerkleTree.fromBytes(fileBytes(5 * LEAF, 1)) // 5 leaves: depth 3, 8 padded leaves
    const ok = { baseLayer: 0, index: 4, length: 4, proofLayers: 2 }
    expect(checkRange(3, ok)).toBeUndefined()
    const bad = [
      { ...ok, length: 3 },
      { ...ok, length: 0 },
      { ...ok, length: MAX_BASE_HASHES * 2 },
      { ...ok, index: 2 },
      { ...ok, index: 8 },
      { ...ok, index: -4 },
      { ...ok, baseLayer: 3 },
      { ...ok, baseLayer: 1, length: 8, index: 0 },
      { ...ok, proofLayers: 3 },
      { ...ok, baseLayer: 2, length: 1, index: 0, proofLayers: 1 },
      { ...ok, proofLayers: -1 },
      { ...ok, index: 1.5 }
    ]
    for (const range of bad) {
      expect(checkRange(3, range), JSON.stringify(range)).toBeTypeOf("string")
      expect(answer(tree, range)).toBeUndefined()
    }
    // A one-leaf file's tree is its root: nothing below it to ask for.
    expect(checkRange(0, { baseLayer: 0, index: 0, length: 1, proofLayers: 0 })).toBeTypeOf("string")
    // Padding past the end may be asked for, as the padded tree has it.
    const padding = answer(tree, { baseLayer: 0, index: 6, length: 2, proofLayers: 2 })!
    expect(hex(padding.hashes)).toBe("00".repeat(64))
    expect(verifyAnswer(tree.root, 3, 0, 6, padding.hashes, padding.uncles)).toBe(true)
  })

  it.prop(
    "hostile lengths and numbers give false, never a throw, with bounded work",
    [
      FastCheck.uint8Array({ maxLength: 32 }),
      FastCheck.oneof(FastCheck.integer({ min: 0, max: 40 }), FastCheck.integer()),
      FastCheck.oneof(FastCheck.integer({ min: 0, max: 40 }), FastCheck.integer(), FastCheck.double()),
      FastCheck.oneof(FastCheck.integer({ min: 0, max: 300 }).map((n) => new Uint8Array(n)), FastCheck.uint8Array({ maxLength: 200 })),
      FastCheck.oneof(FastCheck.integer({ min: 0, max: 100 }).map((n) => new Uint8Array(n * 32)), FastCheck.uint8Array({ maxLength: 100 })),
      FastCheck.oneof(FastCheck.integer({ min: 0, max: 70 }), FastCheck.integer(), FastCheck.double())
    ],
    ([root, depth, index, hashes, uncles, baseLayer]) => {
      expect(typeof verifyAnswer(root, depth, baseLayer, index, hashes, uncles)).toBe("boolean")
      const top = provenNode(baseLayer, index, hashes, uncles)
      if (top !== undefined) {
        expect(hashes.length % 32).toBe(0)
        expect(uncles.length / 32).toBeLessThanOrEqual(MAX_UNCLE_HASHES)
      }
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("the bounds: more base hashes or uncles than allowed are refused without hashing them", () => {
    const tooMany = new Uint8Array(32 * MAX_BASE_HASHES * 2)
    expect(provenNode(0, 0, tooMany, new Uint8Array(0))).toBeUndefined()
    expect(provenNode(0, 0, new Uint8Array(32), new Uint8Array(32 * (MAX_UNCLE_HASHES + 1)))).toBeUndefined()
    expect(provenNode(0, 0, new Uint8Array(32 * 3), new Uint8Array(0))).toBeUndefined()
    expect(provenNode(0, 1, new Uint8Array(64), new Uint8Array(0))).toBeUndefined()
    expect(provenNode(0, 0, new Uint8Array(33), new Uint8Array(0))).toBeUndefined()
    expect(provenNode(0, 0, new Uint8Array(32 * MAX_BASE_HASHES), new Uint8Array(32 * MAX_UNCLE_HASHES))).toBeDefined()
  })

  it("uncleCount follows the BEP: one per layer from the top of the base subtree to base + proof layers", () => {
    expect(uncleCount(1, 0)).toBe(1)
    expect(uncleCount(2, 0)).toBe(0)
    expect(uncleCount(2, 1)).toBe(1)
    expect(uncleCount(512, 8)).toBe(0)
    expect(uncleCount(512, 9)).toBe(1)
    expect(uncleCount(512, 20)).toBe(12)
  })
})
