/**
 * A reference for BEP 52's merkle trees, written from the BEP's text and not from src/domain: leaves are
 * SHA-256 of each 16 KiB block (the last as short as it is), the leaf layer is padded with 32 zero bytes to
 * a power of two, a parent is SHA-256 of its two children side by side, the piece layer is the layer whose
 * nodes each cover one piece, and a hashes answer is the base-layer nodes followed by the uncles from the
 * top of their subtree up to base + proof layers. A plain recursion over the padded tree (memoized, so that
 * the padding's large empty subtrees cost nothing), and the inputs the Merkle tests share.
 */
import { createCipheriv, createHash } from "node:crypto"
import * as FastCheck from "effect/FastCheck"

export const LEAF = 16384

// ---------------------------------------------------------------------------------------------------------
// The reference

export const sha256 = (...parts: ReadonlyArray<Uint8Array>): Buffer => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return h.digest()
}

export const zero = Buffer.alloc(32)

export interface Reference {
  readonly leaves: ReadonlyArray<Buffer>
  readonly depth: number
  /** The node of the padded tree at `layer` (0: leaves) and `index`. */
  readonly node: (layer: number, index: number) => Buffer
}

export const reference = (bytes: Uint8Array): Reference => {
  const leaves: Array<Buffer> = []
  for (let at = 0; at < bytes.length; at += LEAF) leaves.push(sha256(bytes.subarray(at, at + LEAF)))
  let depth = 0
  while (2 ** depth < leaves.length) depth++
  const memo = new Map<string, Buffer>()
  const node = (layer: number, index: number): Buffer => {
    if (layer === 0) return leaves[index] ?? zero
    const key = `${layer}/${index}`
    const known = memo.get(key)
    if (known !== undefined) return known
    const h = sha256(node(layer - 1, 2 * index), node(layer - 1, 2 * index + 1))
    memo.set(key, h)
    return h
  }
  return { leaves, depth, node }
}

export const referencePieceLayer = (ref: Reference, fileLength: number, pieceLength: number): Buffer | undefined => {
  if (fileLength <= pieceLength) return undefined
  const layer = Math.log2(pieceLength / LEAF)
  return Buffer.concat(Array.from({ length: Math.ceil(fileLength / pieceLength) }, (_, i) => ref.node(layer, i)))
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/** Deterministic bytes that differ block to block (AES-CTR of zeros under a key from the seed). */
export const fileBytes = (length: number, seed: number): Uint8Array => {
  const key = sha256(Buffer.from(`merkle test ${seed}`))
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16))
  return new Uint8Array(cipher.update(Buffer.alloc(length)))
}

export const fileLength = FastCheck.oneof(
  FastCheck.constantFrom(0, 1, LEAF - 1, LEAF, LEAF + 1, 2 * LEAF, 3 * LEAF + 5, 1 << 20, (1 << 20) + 1),
  FastCheck.integer({ min: 0, max: 8 * LEAF }),
  FastCheck.integer({ min: 0, max: 4 << 20 })
)
export const pieceLength = FastCheck.integer({ min: 0, max: 8 }).map((k) => LEAF * 2 ** k)
export const seed = FastCheck.integer({ min: 0, max: 1_000_000 })

export const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("hex"))


/** The uncles of BEP 52's answer: from the top of the base nodes' subtree up to base + proof layers. */
export const referenceUncles = (ref: Reference, baseLayer: number, index: number, length: number, proofLayers: number): Buffer => {
  const out: Array<Buffer> = []
  for (let k = Math.log2(length); k <= proofLayers; k++) {
    const ancestor = Math.floor(index / 2 ** k)
    out.push(ref.node(baseLayer + k, ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1))
  }
  return Buffer.concat(out)
}

/** The base nodes of an answer. */
export const referenceHashes = (ref: Reference, baseLayer: number, index: number, length: number): Buffer =>
  Buffer.concat(Array.from({ length }, (_, i) => ref.node(baseLayer, index + i)))
