/**
 * A file's BEP 52 merkle tree, whole: its leaf hashes (SHA-256 of each 16 KiB block, the last block as
 * short as it is), the layers above them up to the `pieces root`, and the `piece layers` entry for a piece
 * length. What a v2 torrent's maker and a seeder answering hash requests need; a downloader checks what
 * it is sent with MerkleProof and MerklePiece instead.
 *
 * Each layer keeps only the nodes that cover at least one leaf of the file: the padding past its end is
 * `padHash(layer)`, the same for every file, so a tree costs 64 bytes per 16 KiB of file whatever its
 * padding. Hashing is node:crypto's, one digest per leaf and one per parent; no byte is looked at in JS.
 */
import { createHash, type Hash } from "node:crypto"
import { HASH_SIZE, hashPair, isPowerOfTwo, LEAF_SIZE, padHash, treeDepth } from "./Merkle.js"

/**
 * Leaf hashes from a file's bytes fed in chunks of any size, the same whatever the chunking: a file is
 * read (or downloaded) a piece of a stream at a time, not held whole. One file per hasher: `finish` ends it.
 */
export class LeafHasher {
  private hash: Hash | undefined
  private filled = 0
  private readonly digests: Array<Uint8Array> = []

  update(chunk: Uint8Array): this {
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(LEAF_SIZE - this.filled, chunk.length - at)
      this.hash ??= createHash("sha256")
      this.hash.update(chunk.subarray(at, at + take))
      this.filled += take
      at += take
      if (this.filled === LEAF_SIZE) this.endLeaf(this.hash)
    }
    return this
  }

  /** The leaf layer: one 32-byte hash per 16 KiB block, the last block hashed as short as it is. */
  finish(): Uint8Array {
    if (this.hash !== undefined) this.endLeaf(this.hash)
    const out = new Uint8Array(HASH_SIZE * this.digests.length)
    this.digests.forEach((d, i) => out.set(d, i * HASH_SIZE))
    return out
  }

  private endLeaf(hash: Hash): void {
    this.digests.push(hash.digest())
    this.hash = undefined
    this.filled = 0
  }
}

/** The leaf hashes of a file held whole. */
export const leafHashes = (bytes: Uint8Array): Uint8Array => new LeafHasher().update(bytes).finish()

export class MerkleTree {
  private constructor(
    /** layers[k]: the nodes of height k (0: the leaves) that cover a leaf of the file, 32 bytes each. */
    private readonly layers: ReadonlyArray<Uint8Array>,
    /** The leaves of the file: ceil(length / 16 KiB). */
    readonly leafCount: number,
    /** The lowest layer known (0 but for a tree built `fromLayer`). */
    readonly lowest = 0
  ) {}

  /** The tree over a leaf layer (concatenated 32-byte hashes; a RangeError for any other length). */
  static fromLeaves(leaves: Uint8Array): MerkleTree {
    if (leaves.length % HASH_SIZE !== 0) throw new RangeError(`a leaf layer of ${leaves.length} bytes`)
    return new MerkleTree(MerkleTree.upward([leaves], 0), leaves.length / HASH_SIZE)
  }

  /**
   * The part of a file's tree at and above `baseLayer`, built upward from that layer's nodes (a piece layer,
   * say: a .torrent's `piece layers` entry, or one received from peers), for a file of `leafCount` leaves.
   * The nodes must be those that cover a leaf of the file: ceil(leafCount / 2^baseLayer) of them, and the
   * file's tree must reach that layer; a RangeError otherwise. Nodes below `baseLayer` are unknown: `lowest`
   * says where the tree starts, and the caller keeps to it (below it, `node` would give padding).
   */
  static fromLayer(nodes: Uint8Array, baseLayer: number, leafCount: number): MerkleTree {
    const count = Math.ceil(leafCount / 2 ** baseLayer)
    if (!Number.isSafeInteger(baseLayer) || baseLayer < 0 || treeDepth(leafCount) < baseLayer) {
      throw new RangeError(`layer ${baseLayer} of a tree over ${leafCount} leaves`)
    }
    if (nodes.length !== count * HASH_SIZE) {
      throw new RangeError(`a layer of ${nodes.length} bytes, not the ${count} nodes of layer ${baseLayer} over ${leafCount} leaves`)
    }
    const below: Array<Uint8Array> = Array.from({ length: baseLayer }, () => new Uint8Array(0))
    return new MerkleTree(MerkleTree.upward([...below, nodes], baseLayer), leafCount, baseLayer)
  }

  /** `layers` (the last of them at `from`) completed upward to a layer of one node, padding past the end. */
  private static upward(layers: Array<Uint8Array>, from: number): Array<Uint8Array> {
    let layer = layers[from]!
    for (let k = from; layer.length > HASH_SIZE; k++) {
      const count = layer.length / HASH_SIZE
      const next = new Uint8Array(HASH_SIZE * Math.ceil(count / 2))
      for (let i = 0; i < count; i += 2) {
        const left = layer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)
        const right = i + 1 < count ? layer.subarray((i + 1) * HASH_SIZE, (i + 2) * HASH_SIZE) : padHash(k)
        next.set(hashPair(left, right), (i / 2) * HASH_SIZE)
      }
      layers.push(next)
      layer = next
    }
    return layers
  }

  /** The tree of a file held whole. */
  static fromBytes(bytes: Uint8Array): MerkleTree {
    return MerkleTree.fromLeaves(leafHashes(bytes))
  }

  /** The root's layer: the layers above the leaves once they are padded to a power of two. */
  get depth(): number {
    return treeDepth(this.leafCount)
  }

  /**
   * The file's `pieces root`. An empty file has none in BEP 52 (its entry carries no root); its tree's
   * root is then the zero leaf.
   */
  get root(): Uint8Array {
    return this.node(this.depth, 0)
  }

  /** The nodes of `layer` that cover a leaf of the file, concatenated (a view: not to be written into). */
  layer(layer: number): Uint8Array {
    return this.layers[layer] ?? new Uint8Array(0)
  }

  /**
   * The node at `layer` and `index` of the padded tree: past the file's end, padding. The caller keeps to
   * the tree (layer at most `depth`, index below 2^(depth - layer)); a view, not to be written into.
   */
  node(layer: number, index: number): Uint8Array {
    const nodes = this.layers[layer]
    if (nodes === undefined || (index + 1) * HASH_SIZE > nodes.length) return padHash(layer)
    return nodes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE)
  }

  /**
   * The file's `piece layers` entry for `pieceLength` (a power of two of at least 16 KiB): the nodes whose
   * subtrees cover one piece each, one per piece of the file, the last covering the file's end and padding.
   * Undefined for a file no longer than one piece, which BEP 52 gives no entry (its root is its one piece's
   * hash), and for a piece length that is not a power of two of leaves.
   */
  pieceLayer(pieceLength: number): Uint8Array | undefined {
    const perPiece = pieceLength / LEAF_SIZE
    if (!isPowerOfTwo(perPiece)) return undefined
    if (this.leafCount <= perPiece) return undefined
    return this.layer(Math.log2(perPiece))
  }
}

/** The `pieces root` of a file held whole (the zero leaf for an empty file, which has none). */
export const piecesRoot = (bytes: Uint8Array): Uint8Array => MerkleTree.fromBytes(bytes).root
