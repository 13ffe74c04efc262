/**
 * The block hashes (the leaves of a file's merkle tree) of v2 pieces that failed their check, asked of v2
 * peers so that the bad blocks, and so their senders, are known at once (BEP 52's per-block blame), not
 * after a second download of the piece as with v1 (PieceAssembly's smart ban).
 *
 * A piece's leaves are asked for as one hash request: base layer 0, the piece's first leaf, as many
 * leaves as lie under its piece hash (a power of two, at most 8192: a 128 MiB piece), with proof layers
 * that make the answer carry no uncles, since the node the leaves lead up to, the piece hash, is trusted
 * already (from the piece layers). So a liar cannot answer with other leaves: an answer that does not hash
 * up to the piece hash is refused (and its sender ended, HashExchange.ts). A piece of one block has no
 * blame to share and is never asked for.
 *
 * A want is asked of one peer at a time, again after REQUEST_INTERVAL_MS or at once after a reject, and
 * given up after `maxTries` (libtorrent's seeders in seed mode reject requests below the piece layer): the
 * retry's smart ban still finds the liar then. Wants are bounded (`maxWants`): the oldest goes first.
 */
import { toHex } from "./InfoHash.js"
import { HASH_SIZE } from "./Merkle.js"
import * as MerkleProof from "./MerkleProof.js"

/** What a piece's block hashes are asked for and checked against. */
export interface BlockHashWant {
  /** The piece, in the torrent's numbering. */
  readonly piece: number
  readonly piecesRoot: Uint8Array
  /** The piece's index within its file. */
  readonly indexInFile: number
  /** The leaves under the piece hash (a power of two). */
  readonly width: number
  readonly pieceHash: Uint8Array
}

interface Wanted extends BlockHashWant {
  asked: number
  tries: number
}

export const REQUEST_INTERVAL_MS = 3000
export const maxTries = 5
export const maxWants = 64

const keyOf = (root: Uint8Array, firstLeaf: number) => `${toHex(root)}:${firstLeaf}`

export class BlockHashes {
  private readonly wanted = new Map<string, Wanted>()
  /** Wants met lately: a second answer to one (a peer asked again after a slow first) is taken, unused. */
  private readonly met = new Set<string>()
  /** Told of each piece's proved leaves (concatenated, a copy). */
  onHashes: (piece: number, leaves: Uint8Array) => void = () => {}

  get size(): number {
    return this.wanted.size
  }

  /** Asks for a failed piece's block hashes (again, if it was wanted already: a fresh set of tries). */
  want(w: BlockHashWant): void {
    if (w.width < 2 || w.width > MerkleProof.MAX_BASE_HASHES) return
    const key = keyOf(w.piecesRoot, w.indexInFile * w.width)
    this.wanted.delete(key)
    if (this.wanted.size >= maxWants) this.wanted.delete(this.wanted.keys().next().value!)
    this.wanted.set(key, { ...w, asked: Number.NEGATIVE_INFINITY, tries: 0 })
  }

  /** The next request due at `now`, marked as asked; undefined when none is. */
  nextRequest(now: number): (MerkleProof.HashRange & { readonly piecesRoot: Uint8Array }) | undefined {
    for (const [key, w] of this.wanted) {
      if (now - w.asked < REQUEST_INTERVAL_MS) continue
      if (w.tries >= maxTries) {
        this.wanted.delete(key)
        continue
      }
      w.asked = now
      w.tries++
      // log2(width) - 1 proof layers: no uncles (MerkleProof.uncleCount), the piece hash being trusted.
      return { piecesRoot: w.piecesRoot, baseLayer: 0, index: w.indexInFile * w.width, length: w.width, proofLayers: Math.log2(w.width) - 1 }
    }
    return undefined
  }

  /** Whether an answer (or a reject) is about a piece whose block hashes we want. */
  expects(root: Uint8Array, range: MerkleProof.HashRange): boolean {
    if (range.baseLayer !== 0) return false
    const key = keyOf(root, range.index)
    return this.wanted.has(key) || this.met.has(key)
  }

  /** A peer rejected our request: another may be asked at once. */
  rejected(root: Uint8Array, range: MerkleProof.HashRange): void {
    const w = range.baseLayer === 0 ? this.wanted.get(keyOf(root, range.index)) : undefined
    if (w !== undefined) w.asked = Number.NEGATIVE_INFINITY
  }

  /** An answer: whether its leaves hash up to the piece hash; if so the want is met and `onHashes` told. */
  accept(root: Uint8Array, range: MerkleProof.HashRange, hashes: Uint8Array, uncles: Uint8Array): boolean {
    const key = keyOf(root, range.index)
    const w = this.wanted.get(key)
    if (w === undefined) return this.met.has(key)
    if (range.length !== w.width || hashes.length !== w.width * HASH_SIZE) return false
    const node = { layer: Math.log2(w.width), index: w.indexInFile, hash: w.pieceHash }
    if (!MerkleProof.provesNode(node, 0, range.index, hashes, uncles)) return false
    this.wanted.delete(key)
    if (this.met.size >= maxWants) this.met.delete(this.met.values().next().value!)
    this.met.add(key)
    this.onHashes(w.piece, Uint8Array.prototype.slice.call(hashes))
    return true
  }
}
