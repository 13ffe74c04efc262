/**
 * A v2 (or hybrid) torrent's known BEP 52 hashes, file by file: each file's `pieces root`, its length, the
 * depth of its tree, and its piece layer when known. Two uses:
 *
 * - Serving hash requests (`answer`): the nodes at and above the piece layer, from a tree built upward from
 *   the piece layer (MerkleTree.fromLayer) when first asked for and kept, so what is held is bounded by the
 *   layers (twice a layer per file asked about). Lower layers need the file's data: we do not answer them.
 *   A file no longer than one piece has no piece layer: its one known node is its root, which no request
 *   can name (MerkleProof.checkRange asks for a base layer below the root), so it is never answered.
 * - Fetching the piece layers a torrent lacks (an info dictionary from a btmh magnet has none): `missing`,
 *   `nextRequest` (what to ask a peer next), `accept` (an answer, proved against the root) until `complete`,
 *   then `metainfo` with every file's `pieceLayer` filled in.
 *
 * - Blame: the block hashes of pieces that failed their check (`blocks`, BlockHashes.ts), asked for after
 *   the missing layers, their answers proved against the piece hashes. The other way, the leaves of pieces
 *   verified in this run (`keepLeaves`, up to `maxLeafBytes` per torrent, the oldest dropped first) answer
 *   a peer's request for one piece's block hashes, with the uncles above them from the piece layers.
 *
 * Requests are shaped as libtorrent 2.0's hash picker shapes them, since libtorrent is what answers them
 * and checks ours: the base layer is the piece layer, chunks of 512 piece hashes (the index a multiple of
 * 512; the last chunk of a file its remaining hashes rounded up to a power of two), and enough proof layers
 * that the uncles reach the root (depth - base - 1), since the root is the only node we trust. A chunk
 * asked for is not asked again for 3 s (libtorrent's min_request_interval) unless it was rejected, so
 * that several peers are asked for different chunks at once.
 */
import { toHex } from "./InfoHash.js"
import { HASH_SIZE, isPowerOfTwo, LEAF_SIZE, leafCount, treeDepth } from "./Merkle.js"
import * as MerkleProof from "./MerkleProof.js"
import { BlockHashes } from "./BlockHashes.js"
import { MerkleTree } from "./MerkleTree.js"
import type { Metainfo } from "./Metainfo.js"

/** Leaves kept per torrent to answer block-hash requests: 8 MiB, the leaves of 4 GiB of pieces. */
export const maxLeafBytes = 8 * 1024 * 1024

/** Piece hashes asked for in one request (libtorrent's chunk). */
export const PIECE_HASHES_PER_REQUEST = 512
/** A chunk asked of one peer is not asked of another for this long (libtorrent's min_request_interval). */
export const REQUEST_INTERVAL_MS = 3000

/** A hash request's range with the file it is about, shaped as protocol/HashMessages' HashRange. */
export interface RootedRange extends MerkleProof.HashRange {
  readonly piecesRoot: Uint8Array
}

/** One file's tree as far as it is known. */
export interface FileTree {
  readonly root: Uint8Array
  readonly length: number
  /** Layers above the leaves: Merkle.treeDepth(leafCount(length)). */
  readonly depth: number
  /** Pieces of the file: the nodes of its piece layer. */
  readonly pieceCount: number
  /** The piece layer, when known; never for a file no longer than one piece. */
  readonly pieceLayer: Uint8Array | undefined
}

/** What a file still needs while its piece layer is fetched. */
interface Gathering {
  readonly layer: Uint8Array
  readonly got: Uint8Array
  missing: number
  /** Per chunk of 512 pieces: when last asked for (-Infinity: not since a reject, or never). */
  readonly asked: Array<number>
}

interface Entry {
  readonly root: Uint8Array
  readonly length: number
  readonly depth: number
  readonly pieceCount: number
  pieceLayer: Uint8Array | undefined
  tree: MerkleTree | undefined
  gathering: Gathering | undefined
}

/** Where a torrent piece lies in a v2 file: the file's tree and the piece's index among the file's pieces. */
export interface PieceInFile {
  /** The same object `file` gives for the file's root. */
  readonly tree: FileTree
  readonly index: number
}

export class FileHashes {
  private readonly byRoot = new Map<string, Entry>()
  /** Each file with a root, by its first torrent piece (files start on piece boundaries in v2's layout). */
  private readonly starts: Array<{ readonly firstPiece: number; readonly entry: Entry }> = []
  /** Files still without a piece layer, in the torrent's order. */
  private readonly gathering: Array<Entry> = []
  /** Block hashes wanted for per-block blame. */
  readonly blocks = new BlockHashes()
  /** Leaves of pieces verified in this run, by root and piece in the file (in the order kept). */
  private readonly leaves = new Map<string, Uint8Array>()
  private leafBytes = 0

  private constructor(
    private readonly source: Metainfo,
    /** The piece layer's height: log2(piece length / 16 KiB). */
    readonly pieceLayerHeight: number
  ) {
    let offset = 0
    for (const file of source.files) {
      const firstPiece = offset / source.pieceLength
      offset += file.length
      if (file.pad || file.length === 0 || file.piecesRoot === undefined) continue
      const key = toHex(file.piecesRoot)
      const known = this.byRoot.get(key)
      if (known !== undefined) { // the same content twice: one tree
        if (Number.isInteger(firstPiece)) this.starts.push({ firstPiece, entry: known })
        continue
      }
      const depth = treeDepth(leafCount(file.length))
      const pieceCount = Math.ceil(file.length / source.pieceLength)
      const needsLayer = depth > pieceLayerHeight
      const given = needsLayer && file.pieceLayer?.length === pieceCount * HASH_SIZE ? file.pieceLayer : undefined
      const entry: Entry = { root: file.piecesRoot, length: file.length, depth, pieceCount, pieceLayer: given, tree: undefined, gathering: undefined }
      if (needsLayer && given === undefined) {
        entry.gathering = {
          layer: new Uint8Array(pieceCount * HASH_SIZE),
          got: new Uint8Array(pieceCount),
          missing: pieceCount,
          asked: new Array<number>(Math.ceil(pieceCount / PIECE_HASHES_PER_REQUEST)).fill(-Infinity)
        }
        this.gathering.push(entry)
      }
      this.byRoot.set(key, entry)
      if (Number.isInteger(firstPiece)) this.starts.push({ firstPiece, entry })
    }
  }

  /** The hashes of a v2 or hybrid torrent; undefined for a v1 torrent (no file has a pieces root). */
  static fromMetainfo(metainfo: Metainfo): FileHashes | undefined {
    const perPiece = metainfo.pieceLength / LEAF_SIZE
    if (!isPowerOfTwo(perPiece) || !metainfo.files.some((f) => f.piecesRoot !== undefined)) return undefined
    return new FileHashes(metainfo, Math.log2(perPiece))
  }

  /** The file a torrent piece lies in, or undefined (a pad's piece, or past the files). */
  locate(piece: number): PieceInFile | undefined {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const { firstPiece, entry } = this.starts[mid]!
      if (piece < firstPiece) hi = mid - 1
      else if (piece >= firstPiece + entry.pieceCount) lo = mid + 1
      else return { tree: entry, index: piece - firstPiece }
    }
    return undefined
  }

  /** A file's tree by its pieces root. */
  file(root: Uint8Array): FileTree | undefined {
    return root.length === HASH_SIZE ? this.byRoot.get(toHex(root)) : undefined
  }

  /**
   * The answer to a hash request: the nodes and uncles from what we hold, or undefined (a hash reject) for
   * an unknown root, a range MerkleProof.checkRange refuses, or one below the piece layer.
   */
  answer(root: Uint8Array, range: MerkleProof.HashRange): { readonly hashes: Uint8Array; readonly uncles: Uint8Array } | undefined {
    const leaves = this.keptLeaves(root, range)
    if (leaves !== undefined) return this.answerLeaves(root, range, leaves)
    const entry = this.answering(root, range)
    if (entry?.pieceLayer === undefined) return undefined
    return MerkleProof.answer(this.treeOf(entry, entry.pieceLayer), range)
  }

  /** Whether `answer` would answer the request (without making the answer). */
  canAnswer(root: Uint8Array, range: MerkleProof.HashRange): boolean {
    return this.answering(root, range) !== undefined || this.keptLeaves(root, range) !== undefined
  }

  /** A verified piece's leaves (`width` of them, the padding's included), kept to answer block-hash requests. */
  keepLeaves(root: Uint8Array, indexInFile: number, leaves: Uint8Array): void {
    if (leaves.length > maxLeafBytes) return
    const key = `${toHex(root)}:${indexInFile}`
    if (this.leaves.has(key)) return
    for (const [old, kept] of this.leaves) {
      if (this.leafBytes + leaves.length <= maxLeafBytes) break
      this.leaves.delete(old)
      this.leafBytes -= kept.length
    }
    this.leaves.set(key, leaves)
    this.leafBytes += leaves.length
  }

  /** The leaves kept for a request of one whole piece's leaves (base layer 0, aligned), or undefined. */
  private keptLeaves(root: Uint8Array, range: MerkleProof.HashRange): Uint8Array | undefined {
    if (range.baseLayer !== 0 || range.length < 2 || range.index % range.length !== 0) return undefined
    const leaves = this.leaves.get(`${toHex(root)}:${range.index / range.length}`)
    if (leaves === undefined || leaves.length !== range.length * HASH_SIZE) return undefined
    const entry = this.byRoot.get(toHex(root))
    return entry !== undefined && MerkleProof.checkRange(entry.depth, range) === undefined ? leaves : undefined
  }

  /**
   * One piece's leaves and the uncles the request wants above them: those are the uncles of the piece's own
   * node (layer log2(width)) asked for with as many fewer proof layers, from the tree over the piece layer;
   * a file of one piece has no uncles to give (its piece's node is its root).
   */
  private answerLeaves(root: Uint8Array, range: MerkleProof.HashRange, leaves: Uint8Array) {
    const entry = this.byRoot.get(toHex(root))!
    const height = Math.log2(range.length)
    const count = MerkleProof.uncleCount(range.length, range.proofLayers)
    if (count === 0) return { hashes: leaves, uncles: new Uint8Array(0) }
    if (entry.pieceLayer === undefined || height !== this.pieceLayerHeight) return undefined
    const above = MerkleProof.answer(this.treeOf(entry, entry.pieceLayer), {
      baseLayer: height,
      index: range.index / range.length,
      length: 1,
      proofLayers: range.proofLayers - height
    })
    return above === undefined ? undefined : { hashes: leaves, uncles: above.uncles }
  }

  private treeOf(entry: Entry, pieceLayer: Uint8Array): MerkleTree {
    entry.tree ??= MerkleTree.fromLayer(pieceLayer, this.pieceLayerHeight, leafCount(entry.length))
    return entry.tree
  }

  private answering(root: Uint8Array, range: MerkleProof.HashRange): Entry | undefined {
    const entry = root.length === HASH_SIZE ? this.byRoot.get(toHex(root)) : undefined
    if (entry?.pieceLayer === undefined || range.baseLayer < this.pieceLayerHeight) return undefined
    return MerkleProof.checkRange(entry.depth, range) === undefined ? entry : undefined
  }

  /** Every file longer than one piece has its piece layer. */
  get complete(): boolean {
    return this.gathering.length === 0
  }

  /** The files whose piece layers are missing. */
  missing(): ReadonlyArray<FileTree> {
    return this.gathering
  }

  /**
   * The next request to make for a missing piece layer at `now` (ms), marked as asked; undefined when none
   * is due (complete, or every missing chunk asked for within the last REQUEST_INTERVAL_MS).
   */
  nextRequest(now: number): RootedRange | undefined {
    for (const entry of this.gathering) {
      const g = entry.gathering!
      for (let chunk = 0; chunk < g.asked.length; chunk++) {
        if (now - g.asked[chunk]! < REQUEST_INTERVAL_MS || this.chunkDone(g, chunk)) continue
        g.asked[chunk] = now
        return this.chunkRequest(entry, chunk)
      }
    }
    return this.blocks.size === 0 ? undefined : this.blocks.nextRequest(now)
  }

  /** The request for chunk `chunk` of a file's piece layer, as libtorrent's hash picker makes it. */
  private chunkRequest(entry: Entry, chunk: number): RootedRange {
    const index = chunk * PIECE_HASHES_PER_REQUEST
    let length = 1
    while (length < Math.min(PIECE_HASHES_PER_REQUEST, entry.pieceCount - index)) length *= 2
    const baseLayer = this.pieceLayerHeight
    return { piecesRoot: entry.root, baseLayer, index, length, proofLayers: entry.depth - baseLayer - 1 }
  }

  private chunkDone(g: Gathering, chunk: number): boolean {
    const end = Math.min(g.got.length, (chunk + 1) * PIECE_HASHES_PER_REQUEST)
    for (let p = chunk * PIECE_HASHES_PER_REQUEST; p < end; p++) if (g.got[p] === 0) return false
    return true
  }

  /** A peer rejected a request of ours: its chunks may be asked for again at once (of another peer). */
  rejected(root: Uint8Array, range: MerkleProof.HashRange): void {
    if (this.blocks.expects(root, range)) return this.blocks.rejected(root, range)
    const g = this.byRoot.get(toHex(root))?.gathering
    if (g === undefined || range.baseLayer !== this.pieceLayerHeight) return
    const first = Math.floor(range.index / PIECE_HASHES_PER_REQUEST)
    const last = Math.floor((range.index + Math.max(1, range.length) - 1) / PIECE_HASHES_PER_REQUEST)
    for (let c = first; c <= last && c < g.asked.length; c++) g.asked[c] = -Infinity
  }

  /**
   * An answer (its nodes and its uncles apart): whether it proves its nodes against the file's root
   * (MerkleProof.verifyAnswer). Nodes of a missing piece layer are kept, but the padding past the file's
   * last piece; anything else proved is accepted and dropped. False for an unknown root or a bad proof.
   */
  accept(root: Uint8Array, range: MerkleProof.HashRange, hashes: Uint8Array, uncles: Uint8Array): boolean {
    if (this.blocks.expects(root, range)) return this.blocks.accept(root, range, hashes, uncles)
    const entry = root.length === HASH_SIZE ? this.byRoot.get(toHex(root)) : undefined
    if (entry === undefined || hashes.length !== range.length * HASH_SIZE) return false
    if (!MerkleProof.verifyAnswer(entry.root, entry.depth, range.baseLayer, range.index, hashes, uncles)) return false
    const g = entry.gathering
    if (g === undefined || range.baseLayer !== this.pieceLayerHeight) return true
    const end = Math.min(entry.pieceCount, range.index + range.length)
    for (let p = range.index; p < end; p++) {
      if (g.got[p] === 1) continue
      g.layer.set(hashes.subarray((p - range.index) * HASH_SIZE, (p - range.index + 1) * HASH_SIZE), p * HASH_SIZE)
      g.got[p] = 1
      g.missing--
    }
    if (g.missing === 0) {
      entry.pieceLayer = g.layer
      entry.gathering = undefined
      this.gathering.splice(this.gathering.indexOf(entry), 1)
    }
    return true
  }

  /** The torrent's Metainfo with every piece layer known set on its files (and their count of hashes). */
  get metainfo(): Metainfo {
    let hashes = 0
    const files = this.source.files.map((file) => {
      const layer = file.piecesRoot === undefined ? undefined : this.byRoot.get(toHex(file.piecesRoot))?.pieceLayer
      if (layer === undefined) return file
      hashes += layer.length / HASH_SIZE
      return file.pieceLayer === layer ? file : { ...file, pieceLayer: layer }
    })
    return { ...this.source, files, pieceLayerHashes: hashes }
  }
}
