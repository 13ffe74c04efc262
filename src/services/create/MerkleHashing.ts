/**
 * The hashes of a v2 or hybrid torrent (BEP 52, BEP 47), each file read once.
 *
 * In v2 every file starts a piece of its own, and so it does in a hybrid's v1 layout, where a pad file of
 * zeros follows each file to the next piece boundary: the pieces of both are the same, file by file. The
 * files are cut into batches of whole pieces (several small files may share one), which the same workers
 * as v1 read and hash (FileHashing.runBatches): for each piece the root of the merkle tree over its 16 KiB
 * leaves and, for a hybrid, its SHA-1 with the pad's zeros. Here the roots become each file's `piece
 * layers` entry and `pieces root`. What is kept is 32 bytes per piece (and 20 for a hybrid), never the
 * leaves: 64 MiB at the 2^21 pieces a torrent may have.
 */
import * as Effect from "effect/Effect"
import type { HashError } from "../../domain/Errors.js"
import { hashPair, leafCount, LEAF_SIZE, padHash, rootOfLayer, treeDepth } from "../../domain/Merkle.js"
import type { Batch, Segment } from "./BatchHashes.js"
import { batchBytesFor, type HashFilesOptions, type HashSource, runBatches } from "./FileHashing.js"

/** A file's v2 hashes. */
export interface FileHashes {
  /** Its `pieces root`; none for an empty file (BEP 52 gives it none). */
  readonly root: Uint8Array | undefined
  /** Its `piece layers` entry: only for a file longer than one piece. */
  readonly layer: Uint8Array | undefined
}

export interface V2Hashes {
  readonly files: ReadonlyArray<FileHashes>
  /** Hybrid: the v1 SHA-1 pieces over the padded layout (empty for v2 only). */
  readonly pieces: Uint8Array
}

/**
 * The pad file after file `index` of `files` in a hybrid torrent (BEP 47): zeros to the next piece
 * boundary after every file, the last one too, as libtorrent 2.0.8 pads them (BEP 52's layout: so that
 * the same files make the same torrent in both); none after an empty file or one that ends on a boundary.
 */
export const padAfter = (files: ReadonlyArray<{ readonly length: number }>, index: number, pieceLength: number): number => {
  const length = files[index]?.length ?? 0
  if (index >= files.length || length === 0 || length % pieceLength === 0) return 0
  return pieceLength - (length % pieceLength)
}

interface PlannedBatch extends Batch {
  readonly firstPiece: number
}

/** Batches of whole pieces of each file, each segment starting a piece; zero-length files take no part. */
function* plan(files: ReadonlyArray<HashSource>, pieceLength: number, batchBytes: number, hybrid: boolean): Generator<PlannedBatch> {
  const layout = hybrid ? "hybrid" : "v2"
  let segments: Array<Segment> = []
  let length = 0
  let firstPiece = 0
  let pieces = 0
  for (let index = 0; index < files.length; index++) {
    const file = files[index]!
    for (let position = 0; position < file.length; position += batchBytes) {
      const take = Math.min(batchBytes, file.length - position)
      if (segments.length > 0 && length + take > batchBytes) {
        yield { segments, length, pieceLength, layout, firstPiece }
        firstPiece += pieces
        segments = []
        length = 0
        pieces = 0
      }
      const ends = position + take === file.length
      segments.push({ at: file.at, position, length: take, ...(hybrid && ends && padAfter(files, index, pieceLength) > 0 ? { padded: true } : {}) })
      length += take
      pieces += Math.ceil(take / pieceLength)
    }
  }
  if (segments.length > 0) yield { segments, length, pieceLength, layout, firstPiece }
}

/**
 * A file's hashes from the roots of its pieces' own trees (`roots`, 32 bytes each). A file of one piece
 * has that piece's root as its pieces root. In a longer file the last piece's tree is completed to a
 * whole piece's subtree (BEP 52 pads the leaves with zeros up to a power of two over the whole file), and
 * the pieces root is the tree over the layer.
 */
export const fileHashes = (roots: Uint8Array, length: number, pieceLength: number): FileHashes => {
  const count = roots.length / 32
  if (count === 0) return { root: undefined, layer: undefined }
  if (count === 1) return { root: roots.slice(0, 32), layer: undefined }
  const perPiece = pieceLength / LEAF_SIZE
  const layer = roots.slice()
  let last: Uint8Array = layer.subarray((count - 1) * 32)
  const top = Math.log2(perPiece)
  for (let level = treeDepth(leafCount(length - (count - 1) * pieceLength)); level < top; level++) {
    last = hashPair(last, padHash(level))
  }
  layer.set(last, (count - 1) * 32)
  return { root: rootOfLayer(layer, perPiece), layer }
}

/** Each file's pieces root and piece layer and, for a hybrid, the v1 pieces; each file read once. */
export const hashFilesV2 = (
  files: ReadonlyArray<HashSource>,
  pieceLength: number,
  hybrid: boolean,
  options: HashFilesOptions
): Effect.Effect<V2Hashes, HashError> => {
  const total = files.reduce((sum, f) => sum + f.length, 0)
  const counts = files.map((f) => Math.ceil(f.length / pieceLength))
  const pieceCount = counts.reduce((a, b) => a + b, 0)
  const roots = new Uint8Array(pieceCount * 32)
  const pieces = new Uint8Array(hybrid ? pieceCount * 20 : 0)
  const batchBytes = batchBytesFor(pieceLength)
  const batches = [...plan(files, pieceLength, batchBytes, hybrid)]
  const sizes = { total, batchBytes, batchCount: batches.length }
  return Effect.map(
    runBatches(batches, sizes, options, (batch, result) => {
      if (result.roots !== undefined) roots.set(result.roots, batch.firstPiece * 32)
      if (hybrid) pieces.set(result.hashes, batch.firstPiece * 20)
    }),
    () => {
      let first = 0
      const hashes = files.map((file, i) => {
        const count = counts[i]!
        const own = fileHashes(roots.subarray(first * 32, (first + count) * 32), file.length, pieceLength)
        first += count
        return own
      })
      return { files: hashes, pieces }
    }
  )
}
