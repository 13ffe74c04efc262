/**
 * v2 test torrents without their bytes: files as merkle trees over made-up leaf hashes, and the Metainfo
 * of such files with or without their piece layers (as a .torrent gives them, or as a btmh magnet's info
 * dictionary does). For the tests of FileHashes and of the hash messages between peers.
 */
import { createHash } from "node:crypto"
import { leafCount } from "../../src/domain/Merkle.js"
import { MerkleTree } from "../../src/domain/MerkleTree.js"
import type { Metainfo, TorrentFile } from "../../src/domain/Metainfo.js"

export const LEAF = 16384

/** Leaf hashes standing for a file's 16 KiB blocks. */
export const leavesFor = (length: number, seed: number): Uint8Array => {
  const count = leafCount(length)
  const out = new Uint8Array(count * 32)
  for (let i = 0; i < count; i++) out.set(createHash("sha256").update(`${seed}/${i}`).digest(), i * 32)
  return out
}

export interface V2Case {
  readonly pieceLength: number
  readonly trees: ReadonlyArray<{ readonly length: number; readonly tree: MerkleTree }>
}

/** A case from file lengths. */
export const v2Case = (pieceLength: number, lengths: ReadonlyArray<number>, seed = 0): V2Case => ({
  pieceLength,
  trees: lengths.map((length, i) => ({ length, tree: MerkleTree.fromLeaves(leavesFor(length, seed * 10 + i)) }))
})

/** The Metainfo of a v2 torrent of these files, with their piece layers or without. */
export const v2Metainfo = (c: V2Case, withLayers: boolean): Metainfo => {
  const files: Array<TorrentFile> = c.trees.map(({ length, tree }, i) => {
    const layer = withLayers ? tree.pieceLayer(c.pieceLength) : undefined
    return {
      path: [`f${i}`], rawPath: [new TextEncoder().encode(`f${i}`)], displayPath: `f${i}`, length, pad: false, attr: "",
      piecesRoot: tree.root,
      ...(layer !== undefined ? { pieceLayer: layer } : {})
    }
  })
  const totalLength = c.trees.reduce((n, t) => n + t.length, 0)
  return {
    infoBytes: new Uint8Array(0), version: "v2", name: "t", rawName: new Uint8Array(0), safeName: "t", multiFile: true,
    pieceLength: c.pieceLength, pieces: new Uint8Array(0), pieceCount: Math.ceil(totalLength / c.pieceLength), totalLength,
    files, private: false, announceList: [], urlList: [], warnings: []
  }
}
