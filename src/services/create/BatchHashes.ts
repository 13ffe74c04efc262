/**
 * The hashes of one batch of content read into memory, the same on the calling thread
 * (FileHashing.inlineHasher) and on worker threads (HashWorker.ts). No Effect here: the worker's bundle
 * stays small and quick to start.
 *
 * Three layouts. `v1`: the batch is a stretch of the files' concatenation, cut into pieces that run across
 * file boundaries (BEP 3). `v2` and `hybrid`: each segment starts a piece of its own file (BEP 52 pieces
 * never span files), so pieces are cut within each segment; for each piece the batch gives the root of the
 * merkle tree over its 16 KiB leaves (padded to a power of two of leaves only, which the caller completes
 * to a whole piece's subtree where the file has more than one piece), and for `hybrid` also its SHA-1 over
 * the v1 layout, where a pad file of zeros follows each file to the next piece boundary (BEP 47): a short
 * last piece of a `padded` segment is hashed with those zeros.
 */
import { createHash } from "node:crypto"
import { MerkleTree } from "../../domain/MerkleTree.js"
import { hashPieces, sha1 } from "../../domain/PieceSha1.js"

/** Bytes `position` to `position + length` of one file. */
export interface Segment {
  readonly at: string | Buffer
  readonly position: number
  readonly length: number
  /** Hybrid: the segment ends its file, and a pad file follows it to the piece boundary. */
  readonly padded?: boolean
}

export type BatchLayout = "v1" | "v2" | "hybrid"

/** Whole pieces (the last of the content, or of a file in v2, may be short), read from the segments in order. */
export interface Batch {
  readonly segments: ReadonlyArray<Segment>
  readonly length: number
  readonly pieceLength: number
  /** `v1` when absent. */
  readonly layout?: BatchLayout
}

export interface BatchHashes {
  /** 20 bytes of SHA-1 per v1 piece (empty for `v2`). */
  readonly hashes: Uint8Array
  /** `v2` and `hybrid`: 32 bytes per piece, the root of the tree over the piece's leaves. */
  readonly roots?: Uint8Array
}

/** The pieces a segment is cut into in the `v2` and `hybrid` layouts. */
export const segmentPieces = (segment: Segment, pieceLength: number): number => Math.ceil(segment.length / pieceLength)

/** SHA-1 of `piece` followed by `zeros` zero bytes. */
const paddedSha1 = (piece: Uint8Array, zeros: number): Uint8Array =>
  zeros === 0 ? sha1(piece) : createHash("sha1").update(piece).update(new Uint8Array(zeros)).digest()

/** The hashes of a batch whose bytes (its segments one after the other, `batch.length` of them) are `data`. */
export const hashBatch = (data: Uint8Array, batch: Batch): BatchHashes => {
  const layout = batch.layout ?? "v1"
  if (layout === "v1") return { hashes: hashPieces(data, batch.pieceLength) }
  const { pieceLength } = batch
  const count = batch.segments.reduce((n, s) => n + segmentPieces(s, pieceLength), 0)
  const roots = new Uint8Array(count * 32)
  const hashes = new Uint8Array(layout === "hybrid" ? count * 20 : 0)
  let piece = 0
  let at = 0
  for (const segment of batch.segments) {
    for (let offset = 0; offset < segment.length; offset += pieceLength, piece++) {
      const bytes = data.subarray(at + offset, at + Math.min(segment.length, offset + pieceLength))
      roots.set(MerkleTree.fromBytes(bytes).root, piece * 32)
      if (layout === "hybrid") {
        const zeros = segment.padded === true ? pieceLength - bytes.length : 0
        hashes.set(paddedSha1(bytes, zeros), piece * 20)
      }
    }
    at += segment.length
  }
  return { hashes, roots }
}
