/**
 * A torrent's v2 hashes per file (src/domain/FileHashes.ts): answers made from the piece layers alone are
 * those the whole tree gives (MerkleProof.answer) for every range at or above the piece layer; a torrent
 * without its piece layers, fed answers from whole trees to the requests it makes, ends complete with the
 * same layers; tampered answers are refused and change nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { FileHashes, PIECE_HASHES_PER_REQUEST, REQUEST_INTERVAL_MS } from "../../src/domain/FileHashes.js"
import * as InfoHash from "../../src/domain/InfoHash.js"
import { treeDepth } from "../../src/domain/Merkle.js"
import * as MerkleProof from "../../src/domain/MerkleProof.js"
import { MerkleTree } from "../../src/domain/MerkleTree.js"
import { LEAF, leavesFor, v2Case, type V2Case as Case, v2Metainfo } from "../support/v2Files.js"

/** Files of one to 3000 leaves (some longer than one piece, some not), piece lengths of 1 to 8 leaves. */
const caseArb: FastCheck.Arbitrary<Case> = FastCheck.record({
  height: FastCheck.integer({ min: 0, max: 3 }),
  lengths: FastCheck.array(
    FastCheck.oneof(FastCheck.integer({ min: 1, max: 20 * LEAF }), FastCheck.integer({ min: 1, max: 3000 * LEAF })),
    { minLength: 1, maxLength: 4 }
  ),
  seed: FastCheck.nat()
}).map(({ height, lengths, seed }) => v2Case(LEAF * 2 ** height, lengths, seed))

const metainfoOf = v2Metainfo

/** Every valid range of a tree of `depth` layers from `lowest` up, or a sample when there are too many. */
const rangesFrom = (depth: number, lowest: number): Array<MerkleProof.HashRange> => {
  const out: Array<MerkleProof.HashRange> = []
  for (let baseLayer = lowest; baseLayer < depth; baseLayer++) {
    const width = 2 ** (depth - baseLayer)
    for (let length = 1; length <= Math.min(width, MerkleProof.MAX_BASE_HASHES); length *= 2) {
      const step = Math.max(length, Math.floor(width / 8 / length) * length)
      for (let index = 0; index + length <= width; index += step) {
        for (let proofLayers = 0; proofLayers < depth - baseLayer; proofLayers += 1 + Math.floor(depth / 4)) {
          out.push({ baseLayer, index, length, proofLayers })
        }
      }
    }
  }
  return out
}

const hex = InfoHash.toHex

describe("FileHashes", () => {
  it.prop("answers from the piece layers equal the whole tree's, at and above the piece layer", [caseArb], ([c]) => {
    const hashes = FileHashes.fromMetainfo(metainfoOf(c, true))!
    expect(hashes.complete).toBe(true)
    const height = Math.log2(c.pieceLength / LEAF)
    for (const { tree } of c.trees) {
      for (const range of rangesFrom(tree.depth, height)) {
        const ours = hashes.answer(tree.root, range)
        const whole = MerkleProof.answer(tree, range)
        if (tree.depth <= height) {
          expect(ours).toBeUndefined()
          continue
        }
        expect(ours).toBeDefined()
        expect(hex(ours!.hashes)).toBe(hex(whole!.hashes))
        expect(hex(ours!.uncles)).toBe(hex(whole!.uncles))
      }
      // Below the piece layer, past the tree, an unknown root: rejects.
      if (height > 0 && tree.depth > 0) expect(hashes.answer(tree.root, { baseLayer: 0, index: 0, length: 1, proofLayers: 0 })).toBeUndefined()
      expect(hashes.answer(tree.root, { baseLayer: tree.depth, index: 0, length: 1, proofLayers: 0 })).toBeUndefined()
      expect(hashes.answer(new Uint8Array(32).fill(7), { baseLayer: height, index: 0, length: 1, proofLayers: 0 })).toBeUndefined()
    }
  }, { fastCheck: { numRuns: 40 } })

  it.prop("a torrent without piece layers, answered from whole trees, ends with the same layers", [caseArb], ([c]) => {
    const hashes = FileHashes.fromMetainfo(metainfoOf(c, false))!
    const height = Math.log2(c.pieceLength / LEAF)
    const needing = c.trees.filter(({ tree }) => tree.depth > height)
    expect(hashes.complete).toBe(needing.length === 0)
    const byRoot = new Map(c.trees.map(({ tree }) => [hex(tree.root), tree]))
    let now = 0
    let asked = 0
    for (let request = hashes.nextRequest(now); request !== undefined; request = hashes.nextRequest(now)) {
      asked++
      const tree = byRoot.get(hex(request.piecesRoot))!
      // Shaped as libtorrent shapes them: the piece layer, up to 512, aligned, proofs to the root.
      expect(request.baseLayer).toBe(height)
      expect(request.length).toBeLessThanOrEqual(PIECE_HASHES_PER_REQUEST)
      expect(request.index % PIECE_HASHES_PER_REQUEST).toBe(0)
      expect(request.proofLayers).toBe(tree.depth - height - 1)
      expect(MerkleProof.checkRange(tree.depth, request)).toBeUndefined()
      const a = MerkleProof.answer(tree, request)!
      expect(hashes.accept(request.piecesRoot, request, a.hashes, a.uncles)).toBe(true)
      now += 1
    }
    expect(hashes.complete).toBe(true)
    expect(asked).toBe(needing.reduce((n, { length }) => n + Math.ceil(Math.ceil(length / c.pieceLength) / PIECE_HASHES_PER_REQUEST), 0))
    const filled = hashes.metainfo
    filled.files.forEach((file, i) => {
      const layer = c.trees[i]!.tree.pieceLayer(c.pieceLength)
      expect(file.pieceLayer === undefined ? undefined : hex(file.pieceLayer)).toBe(layer === undefined ? undefined : hex(layer))
    })
    // And what was gathered answers as the .torrent's layers would.
    for (const { tree } of needing) {
      const range = { baseLayer: height, index: 0, length: 1, proofLayers: tree.depth - height - 1 }
      expect(hex(hashes.answer(tree.root, range)!.uncles)).toBe(hex(MerkleProof.answer(tree, range)!.uncles))
    }
  })

  it.prop("tampered answers are refused and fill nothing", [caseArb, FastCheck.nat(), FastCheck.integer({ min: 0, max: 7 })], ([c, at, bit]) => {
    const hashes = FileHashes.fromMetainfo(metainfoOf(c, false))!
    const request = hashes.nextRequest(0)
    if (request === undefined) return
    const tree = c.trees.find(({ tree }) => hex(tree.root) === hex(request.piecesRoot))!.tree
    const a = MerkleProof.answer(tree, request)!
    const both = new Uint8Array([...a.hashes, ...a.uncles])
    const where = at % both.length
    both[where] = both[where]! ^ (1 << bit)
    const split = a.hashes.length
    expect(hashes.accept(request.piecesRoot, request, both.subarray(0, split), both.subarray(split))).toBe(false)
    // Too few uncles, the nodes at the wrong index, another file's root: refused too.
    if (a.uncles.length > 0) expect(hashes.accept(request.piecesRoot, request, a.hashes, a.uncles.subarray(32))).toBe(false)
    if (2 ** (tree.depth - request.baseLayer) > request.length) {
      expect(hashes.accept(request.piecesRoot, { ...request, index: request.index + request.length }, a.hashes, a.uncles)).toBe(false)
    }
    expect(hashes.accept(new Uint8Array(32), request, a.hashes, a.uncles)).toBe(false)
    expect(hashes.missing().length).toBe(c.trees.filter(({ tree }) => tree.depth > Math.log2(c.pieceLength / LEAF)).length)
    // The chunk was asked for: not again until the interval passes, at once after a reject.
    const next = hashes.nextRequest(1)
    expect(next === undefined ? "none" : hex(next.piecesRoot) + next.index).not.toBe(hex(request.piecesRoot) + request.index)
    hashes.rejected(request.piecesRoot, request)
    const again = hashes.nextRequest(2)
    expect(again === undefined ? undefined : hex(again.piecesRoot) + again.index).toBe(hex(request.piecesRoot) + request.index)
    expect(hashes.nextRequest(2 + REQUEST_INTERVAL_MS)).toBeDefined()
  })

  it("a v1 torrent has none; a file no longer than one piece needs no layer", () => {
    const one = { length: 3 * LEAF, tree: MerkleTree.fromLeaves(leavesFor(3 * LEAF, 1)) }
    const c: Case = { pieceLength: 4 * LEAF, trees: [one] }
    const v1 = metainfoOf(c, false)
    expect(FileHashes.fromMetainfo({ ...v1, files: v1.files.map(({ piecesRoot: _, ...f }) => f) })).toBeUndefined()
    const hashes = FileHashes.fromMetainfo(v1)!
    expect(hashes.complete).toBe(true)
    expect(hashes.nextRequest(0)).toBeUndefined()
    expect(hashes.file(one.tree.root)?.depth).toBe(treeDepth(3))
    expect(hashes.metainfo.files[0]!.pieceLayer).toBeUndefined()
  })

  it("locates a torrent piece in its file, files starting on piece boundaries after pad files", () => {
    const c = v2Case(2 * LEAF, [3 * 2 * LEAF - 5, 2 * 2 * LEAF, LEAF], 4)
    const plain = v2Metainfo(c, true)
    const pad = (length: number) => ({ ...plain.files[0]!, path: [".pad", `${length}`], displayPath: ".pad", length, pad: true, piecesRoot: undefined })
    const [a, b, small] = plain.files
    const hashes = FileHashes.fromMetainfo({ ...plain, files: [a!, pad(5), b!, small!] })!
    const at = (piece: number) => {
      const found = hashes.locate(piece)
      return found === undefined ? undefined : [InfoHash.toHex(found.tree.root), found.index]
    }
    const [ra, rb, rs] = c.trees.map((t) => InfoHash.toHex(t.tree.root))
    expect([0, 1, 2, 3, 4, 5, 6].map(at)).toEqual([[ra, 0], [ra, 1], [ra, 2], [rb, 0], [rb, 1], [rs, 0], undefined])
    expect(hashes.locate(3)!.tree).toBe(hashes.file(c.trees[1]!.tree.root))
    expect(hashes.locate(5)!.tree.pieceLayer).toBeUndefined()
  })
})
