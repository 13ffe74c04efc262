/**
 * A v2 piece checked against its hash in the piece layer: whole (its leaves hashed and padded up to the
 * piece's subtree), or one 16 KiB block at a time with the uncles within the piece, so that a block can be
 * checked as it arrives instead of when its piece is complete.
 *
 * Under a piece-layer node lie `pieceLength / 16 KiB` leaves; the last piece of a file is padded with zero
 * leaves up to that. A file no longer than one piece has no piece layer: its one piece's hash is its
 * `pieces root`, over its leaves padded only to the next power of two. `leavesPerPiece` says which.
 */
import { createHash } from "node:crypto"
import { HASH_SIZE, hashPair, isPowerOfTwo, LEAF_SIZE, leafCount, padHash, treeDepth } from "./Merkle.js"
import { provesNode, sameHash } from "./MerkleProof.js"
import { leafHashes, type MerkleTree } from "./MerkleTree.js"

/** The leaves under one piece's hash: a piece's blocks, or a short file's leaves padded to a power of two. */
export const leavesPerPiece = (fileLength: number, pieceLength: number): number =>
  fileLength > pieceLength ? pieceLength / LEAF_SIZE : 2 ** treeDepth(leafCount(fileLength))

/**
 * The root of a subtree of `width` leaves (a power of two) whose first leaves are `leaves` (concatenated
 * hashes) and the rest zero leaves; undefined when they do not fit.
 */
export const subtreeRoot = (leaves: Uint8Array, width: number): Uint8Array | undefined => {
  if (leaves.length % HASH_SIZE !== 0 || !isPowerOfTwo(width) || leaves.length / HASH_SIZE > width) return undefined
  let level: Array<Uint8Array> = []
  for (let at = 0; at < leaves.length; at += HASH_SIZE) level.push(leaves.subarray(at, at + HASH_SIZE))
  let layer = 0
  for (let w = width; w > 1; w /= 2, layer++) {
    const next: Array<Uint8Array> = []
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1] ?? padHash(layer)))
    level = next
  }
  return level[0] ?? padHash(layer)
}

/** Whether a whole piece's bytes hash to its piece hash under a subtree of `width` leaves. */
export const verifyPiece = (pieceHash: Uint8Array, bytes: Uint8Array, width: number): boolean => {
  if (bytes.length === 0 || !isPowerOfTwo(width) || bytes.length > width * LEAF_SIZE) return false
  const root = subtreeRoot(leafHashes(bytes), width)
  return root !== undefined && sameHash(root, pieceHash)
}

/**
 * The uncles of leaf `block` (counted from the file's start) within its piece's subtree of `width` leaves,
 * lowest first: what a seeder with the whole tree sends beside the block.
 */
export const blockUncles = (tree: MerkleTree, block: number, width: number): Uint8Array => {
  const height = Math.log2(width)
  const out = new Uint8Array(height * HASH_SIZE)
  for (let k = 0; k < height; k++) {
    const at = Math.floor(block / 2 ** k)
    out.set(tree.node(k, at % 2 === 0 ? at + 1 : at - 1), k * HASH_SIZE)
  }
  return out
}

/**
 * Whether one block (at most 16 KiB: the last of a file may be shorter), the `index`th of its piece, hashes
 * with `uncles` (log2(width) of them, lowest first) to its piece's hash.
 */
export const verifyBlock = (
  pieceHash: Uint8Array,
  block: Uint8Array,
  index: number,
  width: number,
  uncles: Uint8Array
): boolean => {
  if (block.length === 0 || block.length > LEAF_SIZE || !isPowerOfTwo(width)) return false
  if (!Number.isSafeInteger(index) || index < 0 || index >= width) return false
  if (uncles.length !== Math.log2(width) * HASH_SIZE) return false
  const leaf = createHash("sha256").update(block).digest()
  return provesNode({ layer: Math.log2(width), index: 0, hash: pieceHash }, 0, index, leaf, uncles)
}
