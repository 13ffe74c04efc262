/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB leaves, padded with zero hashes to a power of two.
 * Used to check that a `piece layers` entry hashes to its file's `pieces root`; the shared pieces of the
 * trees (a parent from two children, the hash of a subtree wholly past a file's end, a tree's depth) for
 * MerkleTree, MerkleProof and MerklePiece.
 */
import { createHash } from "node:crypto"

export const LEAF_SIZE = 16384
const HASH = 32
/** The size of every node of the tree: a SHA-256 digest. */
export const HASH_SIZE = HASH

const sha256 = (a: Uint8Array, b: Uint8Array): Uint8Array =>
  createHash("sha256").update(a).update(b).digest()

/** A parent node from its two children: SHA-256 of the two side by side. */
export const hashPair = sha256

/** padHash(k), computed once each: 0 is the zero leaf. */
const pads: Array<Uint8Array> = [new Uint8Array(HASH)]

/**
 * The node at `layer` (0: the leaves) of a subtree that lies wholly past a file's end: the zero leaf, then
 * the hash of two of the layer below. Shared and cached: callers must not write into it.
 */
export const padHash = (layer: number): Uint8Array => {
  while (pads.length <= layer) {
    const below = pads[pads.length - 1]!
    pads.push(sha256(below, below))
  }
  return pads[layer]!
}

/** The layers above the leaves of a tree over `leaves` leaves padded to a power of two (0 for 0 or 1). */
export const treeDepth = (leaves: number): number => {
  let depth = 0
  while (2 ** depth < leaves) depth++
  return depth
}

/** The 16 KiB leaves of a file of `length` bytes (the last one may be short). */
export const leafCount = (length: number): number => Math.ceil(length / LEAF_SIZE)

/** The root of a subtree of `leaves` zero leaves (a power of two): what pads a layer past a file's end. */
export const zeroSubtreeRoot = (leaves: number): Uint8Array => {
  let h: Uint8Array = new Uint8Array(HASH)
  for (let n = 1; n < leaves; n *= 2) h = sha256(h, h)
  return h
}

/**
 * The root over a layer of concatenated 32-byte hashes, each the root of a subtree of `leavesPerHash`
 * leaves, padded to a power of two with zero subtrees.
 */
export const rootOfLayer = (layer: Uint8Array, leavesPerHash: number): Uint8Array => {
  let level: Array<Uint8Array> = []
  for (let i = 0; i < layer.length; i += HASH) level.push(layer.subarray(i, i + HASH))
  if (level.length === 0) return new Uint8Array(HASH)
  let pad = zeroSubtreeRoot(leavesPerHash)
  while (level.length > 1) {
    const next: Array<Uint8Array> = []
    for (let i = 0; i < level.length; i += 2) next.push(sha256(level[i]!, level[i + 1] ?? pad))
    level = next
    pad = sha256(pad, pad)
  }
  return level[0]!
}

export const isPowerOfTwo = (n: number): boolean =>
  Number.isSafeInteger(n) && n > 0 && Number.isInteger(Math.log2(n))
