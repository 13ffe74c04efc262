/**
 * What each piece of a v2 or hybrid torrent is checked against under BEP 52: the piece's hash in its
 * file's piece layer (or, for a file no longer than one piece, the file's `pieces root`), the bytes of the
 * file the piece holds (a file's last piece holds fewer than a piece; the rest is pad, outside the hash),
 * and the leaves under that hash (MerklePiece.leavesPerPiece).
 *
 * Pieces are aligned to files in both kinds (a hybrid's pad files, and the pads `MetainfoDecode` lays
 * between a v2-only torrent's files), so a piece's first bytes are always its file's: the piece's first
 * span names the file. Made once per torrent, O(files + pieces).
 */
import { HASH_SIZE } from "./Merkle.js"
import { leavesPerPiece, subtreeRoot } from "./MerklePiece.js"
import { sameHash } from "./MerkleProof.js"
import { leafHashes } from "./MerkleTree.js"
import type { Metainfo, TorrentFile } from "./Metainfo.js"
import { sha1 } from "./PieceSha1.js"

export interface V2Piece {
  /** The hash the piece's leaves lead up to. */
  readonly hash: Uint8Array
  /** The file's bytes in the piece, from its start. */
  readonly length: number
  /** The leaves under `hash` (a power of two). */
  readonly width: number
  /** The file's pieces root, and the piece's index within the file: where its leaves are in the tree. */
  readonly piecesRoot: Uint8Array
  readonly indexInFile: number
}

export class V2Pieces {
  private constructor(
    private readonly pieceLength: number,
    private readonly files: ReadonlyArray<TorrentFile>,
    /** The file of each piece (its index in `files`) and the piece's index within that file. */
    private readonly fileOf: Int32Array,
    private readonly indexInFile: Int32Array
  ) {}

  /** The v2 checks of a v2 or hybrid torrent; undefined for a v1 torrent. */
  static of(m: Metainfo): V2Pieces | undefined {
    if (m.version === "v1") return undefined
    const fileOf = new Int32Array(m.pieceCount).fill(-1)
    const indexInFile = new Int32Array(m.pieceCount)
    let offset = 0
    m.files.forEach((f, i) => {
      if (!f.pad && f.length > 0 && offset % m.pieceLength === 0) {
        const first = offset / m.pieceLength
        const count = Math.ceil(f.length / m.pieceLength)
        for (let k = 0; k < count && first + k < m.pieceCount; k++) {
          fileOf[first + k] = i
          indexInFile[first + k] = k
        }
      }
      offset += f.length
    })
    return new V2Pieces(m.pieceLength, m.files, fileOf, indexInFile)
  }

  /** The piece's check, or undefined when its file's piece layer is not known (yet) or it has no file. */
  piece(piece: number): V2Piece | undefined {
    const file = this.files[this.fileOf[piece] ?? -1]
    if (file === undefined || file.piecesRoot === undefined) return undefined
    const k = this.indexInFile[piece]!
    const length = Math.min(this.pieceLength, file.length - k * this.pieceLength)
    const width = leavesPerPiece(file.length, this.pieceLength)
    const where = { piecesRoot: file.piecesRoot, indexInFile: k }
    if (file.length <= this.pieceLength) return { hash: file.piecesRoot, length, width, ...where }
    const layer = file.pieceLayer
    if (layer === undefined || layer.length < (k + 1) * HASH_SIZE) return undefined
    return { hash: layer.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE), length, width, ...where }
  }

  /**
   * A whole piece's bytes (as stored: pads as zeros) against its merkle hash: its leaves (`width` of them,
   * zero leaves past the file's end, as an answer to a request for them carries them) when they hold,
   * false when they do not, undefined when the piece's hash is not known (yet).
   */
  check(piece: number, data: Uint8Array): { readonly at: V2Piece; readonly leaves: Uint8Array } | false | undefined {
    const at = this.piece(piece)
    if (at === undefined) return undefined
    const leaves = leafHashes(data.subarray(0, at.length))
    const root = subtreeRoot(leaves, at.width)
    if (root === undefined || !sameHash(root, at.hash)) return false
    const full = new Uint8Array(at.width * HASH_SIZE)
    full.set(leaves)
    return { at, leaves: full }
  }

  /** Files longer than a piece whose piece layer is not known: their pieces cannot be checked. */
  get missingLayers(): number {
    return this.files.filter((f) => !f.pad && f.length > this.pieceLength && f.piecesRoot !== undefined && f.pieceLayer === undefined).length
  }
}

/**
 * Whether a whole piece's bytes (as stored: pads as zeros) are the torrent's: against its SHA-1 for a v1
 * torrent, its merkle hash for a v2-only one, both for a hybrid. A v2 piece whose layer is unknown passes
 * on its SHA-1 alone (a hybrid's) or not at all. For checks of data already on disk; downloaded pieces
 * go through PieceAssembly, which hashes as their blocks come.
 */
export const pieceChecker = (m: Metainfo): ((piece: number, data: Uint8Array) => boolean) => {
  const v2 = V2Pieces.of(m)
  return (piece, data) => {
    if (m.version !== "v2" && !sameBytes(sha1(data), m.pieces.subarray(piece * 20, piece * 20 + 20))) return false
    const checked = v2?.check(piece, data)
    return checked === undefined ? m.version !== "v2" : checked !== false
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(a, b) === 0
