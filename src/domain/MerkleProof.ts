/**
 * BEP 52's hash requests, answered and checked: a run of nodes of one layer of a file's tree (the `base
 * layer`, 0 being the leaves) with the "uncle" hashes that tie them to a node above, which the asker
 * already trusts (the `pieces root`, or a piece-layer hash).
 *
 * A request names the base layer, the `index` of its first node, their number `length` (a power of two,
 * `index` a multiple of it) and `proof layers`. The nodes form a subtree whose root sits log2(length)
 * layers above the base; the answer (a `hashes` message) carries the nodes, then one uncle per layer from
 * that subtree's root up to base + proof layers, lowest first: the sibling of the subtree's root, then of
 * its parent, and so on. So it carries max(0, proof layers + 1 - log2(length)) uncles, and with proof
 * layers = depth - base - 1 they reach the root. (libtorrent counts them so too.)
 *
 * Bounds, the same for what we answer and what we check: at most MAX_BASE_HASHES nodes (8192: all the
 * blocks of a 128 MiB piece, the most libtorrent asks for at once) and MAX_UNCLE_HASHES uncles (64: more
 * than the depth of any file's tree, 2^64 leaves), so checking one answer costs at most 8191 + 64 hashes.
 * A check is a boolean, never a throw, whatever lengths and numbers a peer sent.
 */
import { HASH_SIZE, hashPair, isPowerOfTwo } from "./Merkle.js"
import type { MerkleTree } from "./MerkleTree.js"

/** The most nodes of the base layer in one request or answer. */
export const MAX_BASE_HASHES = 8192
/** The most uncle hashes in one answer. */
export const MAX_UNCLE_HASHES = 64

/** What a hash request (and its answer, and its reject) names, within one file's tree. */
export interface HashRange {
  readonly baseLayer: number
  readonly index: number
  readonly length: number
  readonly proofLayers: number
}

/** A node of a tree that hashes and uncles lead up to. */
export interface ProvenNode {
  readonly layer: number
  readonly index: number
  readonly hash: Uint8Array
}

/** The uncle hashes an answer carries after its `length` nodes (length a power of two). */
export const uncleCount = (length: number, proofLayers: number): number =>
  Math.max(0, proofLayers + 1 - Math.log2(length))

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/**
 * Why `range` cannot be answered from a tree of `depth` layers above its leaves, or undefined when it can:
 * the reason to send a hash reject. The nodes must lie within the padded layer (a range over the padding
 * past the file's end is allowed, as libtorrent allows it), below the root, and the uncles must stop
 * below the root.
 */
export const checkRange = (depth: number, range: HashRange): string | undefined => {
  const { baseLayer, index, length, proofLayers } = range
  if (!isPowerOfTwo(length) || length > MAX_BASE_HASHES) {
    return `a length of ${length} hashes, not a power of two up to ${MAX_BASE_HASHES}`
  }
  if (!isIndex(index) || index % length !== 0) return `index ${index} is not a multiple of the length ${length}`
  if (!isIndex(baseLayer) || baseLayer >= depth) {
    return `base layer ${baseLayer} of a tree with ${depth} layers above its leaves`
  }
  const width = 2 ** (depth - baseLayer)
  if (index + length > width) return `hashes ${index} to ${index + length - 1} of a layer of ${width}`
  if (!isIndex(proofLayers) || proofLayers >= depth - baseLayer) {
    return `${proofLayers} proof layers above layer ${baseLayer} of a tree with ${depth} layers above its leaves`
  }
  return undefined
}

const sibling = (index: number): number => (index % 2 === 0 ? index + 1 : index - 1)

/**
 * The answer to `range` from a whole tree: its nodes (padding past the file's end included, as the
 * padded tree has them) and its uncles, each concatenated; undefined when `checkRange` refuses it.
 */
export const answer = (
  tree: MerkleTree,
  range: HashRange
): { readonly hashes: Uint8Array; readonly uncles: Uint8Array } | undefined => {
  if (checkRange(tree.depth, range) !== undefined) return undefined
  const { baseLayer, index, length, proofLayers } = range
  const hashes = new Uint8Array(length * HASH_SIZE)
  for (let i = 0; i < length; i++) hashes.set(tree.node(baseLayer, index + i), i * HASH_SIZE)
  const height = Math.log2(length)
  const count = uncleCount(length, proofLayers)
  const uncles = new Uint8Array(count * HASH_SIZE)
  for (let u = 0; u < count; u++) {
    const k = height + u
    uncles.set(tree.node(baseLayer + k, sibling(Math.floor(index / 2 ** k))), u * HASH_SIZE)
  }
  return { hashes, uncles }
}

/**
 * The node that `hashes` (a run of nodes of `baseLayer` from `index`) and `uncles` lead up to, or
 * undefined when they are not a well-formed answer: lengths not whole hashes, a number of nodes that is
 * not a power of two up to MAX_BASE_HASHES, an index not a multiple of it, more than MAX_UNCLE_HASHES
 * uncles. Work is bounded by those limits.
 */
export const provenNode = (
  baseLayer: number,
  index: number,
  hashes: Uint8Array,
  uncles: Uint8Array
): ProvenNode | undefined => {
  if (hashes.length % HASH_SIZE !== 0 || uncles.length % HASH_SIZE !== 0) return undefined
  const count = hashes.length / HASH_SIZE
  const uncleTotal = uncles.length / HASH_SIZE
  if (!isPowerOfTwo(count) || count > MAX_BASE_HASHES || uncleTotal > MAX_UNCLE_HASHES) return undefined
  if (!isIndex(index) || index % count !== 0 || !isIndex(baseLayer) || baseLayer > MAX_UNCLE_HASHES) return undefined
  // The subtree over the nodes, a layer at a time.
  let level: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) level.push(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
  while (level.length > 1) {
    const next: Array<Uint8Array> = []
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!))
    level = next
  }
  let hash = level[0]!
  let at = index / count
  for (let u = 0; u < uncleTotal; u++) {
    const uncle = uncles.subarray(u * HASH_SIZE, (u + 1) * HASH_SIZE)
    hash = at % 2 === 0 ? hashPair(hash, uncle) : hashPair(uncle, hash)
    at = Math.floor(at / 2)
  }
  return { layer: baseLayer + Math.log2(count) + uncleTotal, index: at, hash }
}

/** Two hashes alike (32 bytes each; anything else differs). */
export const sameHash = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== HASH_SIZE || b.length !== HASH_SIZE) return false
  for (let i = 0; i < HASH_SIZE; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether `hashes` and `uncles` lead up to `node`, a node already trusted (a piece-layer hash, say). */
export const provesNode = (node: ProvenNode, baseLayer: number, index: number, hashes: Uint8Array, uncles: Uint8Array): boolean => {
  const top = provenNode(baseLayer, index, hashes, uncles)
  return top !== undefined && top.layer === node.layer && top.index === node.index && sameHash(top.hash, node.hash)
}

/**
 * Whether an answer proves its nodes against the `pieces root` of a file whose tree has `depth` layers
 * above its leaves: the uncles must reach the root itself, at index 0.
 */
export const verifyAnswer = (
  root: Uint8Array,
  depth: number,
  baseLayer: number,
  index: number,
  hashes: Uint8Array,
  uncles: Uint8Array
): boolean => provesNode({ layer: depth, index: 0, hash: root }, baseLayer, index, hashes, uncles)
