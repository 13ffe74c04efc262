/**
 * Per-block blame (BEP 52): a v2 piece gathered from two senders fails its merkle check; its block hashes,
 * asked for as BlockHashes shapes the request and answered from the file's whole tree (as a peer holding
 * the file answers), prove against the piece hash, and PieceAssembly names the sender of the bad block
 * alone. A forged answer is refused; rejects and silence lead to asking again, then giving up.
 */
import { describe, expect, it } from "@effect/vitest"
import { BlockHashes, maxTries, REQUEST_INTERVAL_MS } from "../../../src/domain/BlockHashes.js"
import { FileHashes } from "../../../src/domain/FileHashes.js"
import * as Layout from "../../../src/domain/Layout.js"
import * as MerkleProof from "../../../src/domain/MerkleProof.js"
import { MerkleTree } from "../../../src/domain/MerkleTree.js"
import { layoutOf } from "../../../src/domain/Metainfo.js"
import { V2Pieces } from "../../../src/domain/V2Pieces.js"
import { PieceAssembly } from "../../../src/services/pieces/PieceAssembly.js"
import { randomBytes } from "../../support/torrents.js"
import { makeV2Torrent } from "../../support/v2Torrents.js"

const pieceLength = 4 * Layout.BLOCK_SIZE
// Two files: the first three pieces and a bit (its last piece padded), the second short.
const big = randomBytes(3 * pieceLength + 5000, 11)
const small = randomBytes(20000, 12)
const torrent = makeV2Torrent({
  name: "blame",
  pieceLength,
  version: "v2",
  files: [{ path: ["a.bin"], data: big }, { path: ["b.bin"], data: small }]
})
const m = torrent.metainfo
const layout = layoutOf(m)
const v2 = V2Pieces.of(m)!
const tree = MerkleTree.fromBytes(big)

const block = (piece: number, b: number) => {
  const at = piece * pieceLength + b * Layout.BLOCK_SIZE
  return torrent.payload.subarray(at, at + Layout.blockSize(layout, piece, b))
}
const corrupt = (bytes: Uint8Array) => {
  const c = Uint8Array.from(bytes)
  c[100] = c[100]! ^ 0x01
  return c
}

const wantOf = (piece: number) => {
  const check = v2.piece(piece)!
  return { piece, piecesRoot: check.piecesRoot, indexInFile: check.indexInFile, width: check.width, pieceHash: check.hash }
}

describe("per-block blame (v2)", () => {
  it("names the sender of the bad block alone, by block hashes proved against the piece hash", () => {
    const assembly = new PieceAssembly(layout, undefined, 2 * pieceLength, false, v2)
    for (const b of [0, 1]) assembly.addBlock(1, b * Layout.BLOCK_SIZE, block(1, b), "A")
    assembly.addBlock(1, 2 * Layout.BLOCK_SIZE, block(1, 2), "B")
    assembly.addBlock(1, 3 * Layout.BLOCK_SIZE, corrupt(block(1, 3)), "B")
    const verdict = assembly.verify(1)
    expect(verdict.ok).toBe(false)
    expect(verdict.ok ? [] : [...verdict.senders].sort()).toEqual(["A", "B"])

    const blocks = new BlockHashes()
    const told: Array<readonly [number, Uint8Array]> = []
    blocks.onHashes = (piece, leaves) => void told.push([piece, leaves])
    blocks.want(wantOf(1))
    const request = blocks.nextRequest(0)!
    // The piece's four leaves, with no uncle: the piece hash is trusted.
    expect({ ...request, piecesRoot: undefined }).toEqual({ piecesRoot: undefined, baseLayer: 0, index: 4, length: 4, proofLayers: 1 })
    const answer = MerkleProof.answer(tree, request)!
    expect(answer.uncles.length).toBe(0)
    expect(blocks.expects(request.piecesRoot, request)).toBe(true)
    expect(blocks.accept(request.piecesRoot, request, answer.hashes, answer.uncles)).toBe(true)
    expect(told.map(([piece]) => piece)).toEqual([1])
    expect(assembly.blame(1, told[0]![1])).toEqual(["B"])
    // A late second answer to the same want is taken (not a fault of its sender) and changes nothing.
    expect(blocks.accept(request.piecesRoot, request, answer.hashes, answer.uncles)).toBe(true)
    expect(told.length).toBe(1)
  })

  it("blames a file's last piece by its leaves, the pad left out", () => {
    const assembly = new PieceAssembly(layout, undefined, 2 * pieceLength, false, v2)
    // Piece 3 holds a.bin's last 5000 bytes: one block to ask for, the rest pad (never asked for).
    expect(Layout.padBlocks(layout, 3)).toEqual([1, 2, 3])
    assembly.addBlock(3, 0, corrupt(block(3, 0)), "C")
    const verdict = assembly.verify(3)
    expect(verdict.ok ? [] : verdict.senders).toEqual(["C"])
    const blocks = new BlockHashes()
    let leaves: Uint8Array | undefined
    blocks.onHashes = (_, l) => void (leaves = l)
    blocks.want(wantOf(3))
    const request = blocks.nextRequest(0)!
    const answer = MerkleProof.answer(tree, request)!
    expect(blocks.accept(request.piecesRoot, request, answer.hashes, answer.uncles)).toBe(true)
    expect(assembly.blame(3, leaves!)).toEqual(["C"])
  })

  it("refuses block hashes that do not lead up to the piece hash", () => {
    const blocks = new BlockHashes()
    blocks.want(wantOf(0))
    const request = blocks.nextRequest(0)!
    const answer = MerkleProof.answer(tree, request)!
    const forged = Uint8Array.from(answer.hashes)
    forged[0] = forged[0]! ^ 0x80
    expect(blocks.accept(request.piecesRoot, request, forged, answer.uncles)).toBe(false)
    // Another piece's leaves are not this piece's.
    const other = MerkleProof.answer(tree, { ...request, index: 8 })!
    expect(blocks.accept(request.piecesRoot, request, other.hashes, other.uncles)).toBe(false)
    expect(blocks.size).toBe(1)
  })

  it("asks again after a reject at once, after silence in 3 s, and gives up after a few tries", () => {
    const blocks = new BlockHashes()
    blocks.want(wantOf(2))
    const first = blocks.nextRequest(0)!
    expect(blocks.nextRequest(1)).toBeUndefined()
    blocks.rejected(first.piecesRoot, first)
    expect(blocks.nextRequest(2)).toEqual(first)
    expect(blocks.nextRequest(2 + REQUEST_INTERVAL_MS)).toEqual(first)
    let now = 2 + REQUEST_INTERVAL_MS
    for (let tries = 3; tries < maxTries; tries++) expect(blocks.nextRequest((now += REQUEST_INTERVAL_MS))).toEqual(first)
    expect(blocks.nextRequest((now += REQUEST_INTERVAL_MS))).toBeUndefined()
    expect(blocks.size).toBe(0)
  })

  it("answers a request for a verified piece's block hashes from the leaves kept, with uncles up to the root", () => {
    const hashes = FileHashes.fromMetainfo(m)!
    const kept: Array<number> = []
    const assembly = new PieceAssembly(layout, undefined, 2 * pieceLength, false, v2, (check, leaves) => {
      kept.push(check.indexInFile)
      hashes.keepLeaves(check.piecesRoot, check.indexInFile, leaves)
    })
    const root = v2.piece(0)!.piecesRoot
    const range = { baseLayer: 0, index: 3 * 4, length: 4, proofLayers: tree.depth - 1 }
    // Nothing kept yet: refused (we never read the data to answer).
    expect(hashes.canAnswer(root, range)).toBe(false)
    // The file's last piece: one block of data, three zero leaves.
    assembly.addBlock(3, 0, block(3, 0), "A")
    expect(assembly.verify(3).ok).toBe(true)
    expect(kept).toEqual([3])
    expect(hashes.canAnswer(root, range)).toBe(true)
    for (const proofLayers of [1, 2, tree.depth - 1]) {
      const asked = { ...range, proofLayers }
      const ours = hashes.answer(root, asked)!
      expect(ours).toEqual(MerkleProof.answer(tree, asked))
    }
    const full = hashes.answer(root, range)!
    expect(MerkleProof.verifyAnswer(tree.root, tree.depth, 0, range.index, full.hashes, full.uncles)).toBe(true)
    // Another piece's leaves, or a range not one piece's, are not answered.
    expect(hashes.answer(root, { ...range, index: 8 })).toBeUndefined()
    expect(hashes.answer(root, { ...range, index: 12, length: 2 })).toBeUndefined()
  })

  it("never asks for a piece of one block (its sender alone sent it)", () => {
    const blocks = new BlockHashes()
    blocks.want({ ...wantOf(0), width: 1 })
    expect(blocks.nextRequest(0)).toBeUndefined()
  })
})
