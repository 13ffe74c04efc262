/**
 * Piece and block arithmetic of a BitTorrent v1 torrent, all in one place.
 *
 * The torrent's byte space is the concatenation of its files in torrent order, BEP 47 pad files included
 * (they occupy bytes in the piece space but are never written to disk: storage writes nothing for them and
 * reads zeros). That space is cut into pieces of `pieceLength` bytes, the last one shorter, and each piece
 * into blocks of `BLOCK_SIZE` bytes starting at the piece's first byte, the last block of a piece shorter.
 *
 * Invariants of a `Layout` built by `make` or `fromFiles`:
 * - every number is a non-negative safe integer (totals may exceed 2^32, so no 32-bit bitwise ops here);
 * - `files[i].offset` is the sum of the lengths of the files before `i`, so offsets never decrease and
 *   a zero-length file shares its offset with the next file;
 * - `totalLength` is the sum of all lengths, `pieceCount = ceil(totalLength / pieceLength)`.
 *
 * Arguments naming a piece, block or file out of range are programming errors (peer input is checked with
 * `isValidBlock` first) and throw a `RangeError`.
 */
import * as Either from "effect/Either"

/** The size of a request on the wire (BEP 3 de facto standard). */
export const BLOCK_SIZE = 16384

export interface LayoutFile {
  /** Bytes in the file. */
  readonly length: number
  /** The file's first byte in the torrent's byte space. */
  readonly offset: number
  /** A BEP 47 pad file: in the piece space, never on disk. */
  readonly pad: boolean
}

export interface Layout {
  readonly pieceLength: number
  readonly totalLength: number
  readonly pieceCount: number
  readonly files: ReadonlyArray<LayoutFile>
}

/** A part of a byte range of a piece that lies in one file. */
export interface FileSpan {
  /** Index into `Layout.files`. */
  readonly file: number
  /** Offset of the span within the file. */
  readonly fileOffset: number
  readonly length: number
  /** Offset of the span within the piece. */
  readonly pieceOffset: number
  readonly pad: boolean
}

export interface FileInput {
  readonly length: number
  readonly pad?: boolean
}

/** `floor(a / b)` for safe non-negative integers, corrected in case float division rounds across. */
const floorDiv = (a: number, b: number): number => {
  let q = Math.floor(a / b)
  if (q * b > a) q -= 1
  else if ((q + 1) * b <= a) q += 1
  return q
}

const isIndex = (i: number, count: number): boolean => Number.isInteger(i) && i >= 0 && i < count

const checkPiece = (layout: Layout, piece: number): void => {
  if (!isIndex(piece, layout.pieceCount)) {
    throw new RangeError(`piece ${piece} out of range [0, ${layout.pieceCount})`)
  }
}

/** The number of pieces of a torrent of `totalLength` bytes. */
export const pieceCountFor = (totalLength: number, pieceLength: number): number =>
  totalLength === 0 ? 0 : floorDiv(totalLength - 1, pieceLength) + 1

/** A layout, or why the piece length or file lengths cannot make one. */
export const fromFiles = (
  pieceLength: number,
  files: ReadonlyArray<FileInput>
): Either.Either<Layout, string> => {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    return Either.left(`piece length ${pieceLength} is not a positive integer`)
  }
  const out: Array<LayoutFile> = new Array(files.length)
  let offset = 0
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!
    if (!Number.isSafeInteger(f.length) || f.length < 0) {
      return Either.left(`file ${i} has length ${f.length}, not a non-negative integer`)
    }
    out[i] = { length: f.length, offset, pad: f.pad === true }
    offset += f.length
    if (!Number.isSafeInteger(offset)) {
      return Either.left(`total length exceeds ${Number.MAX_SAFE_INTEGER}`)
    }
  }
  return Either.right({
    pieceLength,
    totalLength: offset,
    pieceCount: pieceCountFor(offset, pieceLength),
    files: out
  })
}

/** A layout from checked inputs; throws a `RangeError` where `fromFiles` would return a Left. */
export const make = (pieceLength: number, files: ReadonlyArray<FileInput>): Layout =>
  Either.getOrElse(fromFiles(pieceLength, files), (reason): Layout => {
    throw new RangeError(reason)
  })

/** The length of the last piece (0 for an empty torrent). */
export const lastPieceLength = (layout: Layout): number =>
  layout.pieceCount === 0 ? 0 : layout.totalLength - (layout.pieceCount - 1) * layout.pieceLength

const withPads = new WeakMap<Layout, boolean>()
const padBytesByPiece = new WeakMap<Layout, ReadonlyMap<number, number>>()

/** The pad bytes in each piece that holds some (few pieces do), made once per layout. */
const padBytesOf = (layout: Layout): ReadonlyMap<number, number> => {
  let map = padBytesByPiece.get(layout)
  if (map !== undefined) return map
  const out = new Map<number, number>()
  for (const f of layout.files) {
    if (!f.pad || f.length === 0) continue
    for (let at = f.offset; at < f.offset + f.length;) {
      const piece = floorDiv(at, layout.pieceLength)
      const take = Math.min(f.offset + f.length, (piece + 1) * layout.pieceLength) - at
      out.set(piece, (out.get(piece) ?? 0) + take)
      at += take
    }
  }
  padBytesByPiece.set(layout, map = out)
  return map
}

/** A piece's bytes of files, its pad bytes left out: what a user counts as downloaded. */
export const dataBytes = (layout: Layout, piece: number): number =>
  pieceSize(layout, piece) - (padBytesOf(layout).get(piece) ?? 0)

/** The bytes of files in all pieces, pads left out. */
export const dataLength = (layout: Layout): number => {
  let pads = 0
  for (const bytes of padBytesOf(layout).values()) pads += bytes
  return layout.totalLength - pads
}

/**
 * The blocks of a piece that lie wholly in pad files (BEP 47): never asked of peers, their bytes zeros. A
 * block that holds a file's last bytes and the pad after them is asked for whole, as libtorrent asks it
 * (it refuses a short block), and libtorrent serves the pad's part as zeros.
 */
export const padBlocks = (layout: Layout, piece: number): ReadonlyArray<number> => {
  let padded = withPads.get(layout)
  if (padded === undefined) withPads.set(layout, padded = layout.files.some((f) => f.pad && f.length > 0))
  if (!padded) return []
  const out: Array<number> = []
  for (const span of spans(layout, piece, 0, pieceSize(layout, piece))) {
    if (!span.pad) continue
    const end = span.pieceOffset + span.length
    for (let block = Math.ceil(span.pieceOffset / BLOCK_SIZE); block * BLOCK_SIZE < end; block++) {
      if (Math.min((block + 1) * BLOCK_SIZE, pieceSize(layout, piece)) <= end) out.push(block)
    }
  }
  return out
}

/** The length of a piece: `pieceLength`, except for the last one. */
export const pieceSize = (layout: Layout, piece: number): number => {
  checkPiece(layout, piece)
  return piece === layout.pieceCount - 1 ? lastPieceLength(layout) : layout.pieceLength
}

/** The absolute offset of a piece's first byte in the torrent's byte space. */
export const pieceOffset = (layout: Layout, piece: number): number => {
  checkPiece(layout, piece)
  return piece * layout.pieceLength
}

/** The number of blocks in a piece. */
export const blockCount = (layout: Layout, piece: number): number =>
  floorDiv(pieceSize(layout, piece) + BLOCK_SIZE - 1, BLOCK_SIZE)

/** The length of a block of a piece: `BLOCK_SIZE`, except for the last block of the piece. */
export const blockSize = (layout: Layout, piece: number, block: number): number => {
  const size = pieceSize(layout, piece)
  const count = floorDiv(size + BLOCK_SIZE - 1, BLOCK_SIZE)
  if (!isIndex(block, count)) {
    throw new RangeError(`block ${block} out of range [0, ${count}) of piece ${piece}`)
  }
  return Math.min(BLOCK_SIZE, size - block * BLOCK_SIZE)
}

/** The blocks of a piece as (offset within the piece, length), in order. */
export const blocksOf = (
  layout: Layout,
  piece: number
): ReadonlyArray<{ readonly offset: number; readonly length: number }> => {
  const size = pieceSize(layout, piece)
  const out: Array<{ readonly offset: number; readonly length: number }> = []
  for (let offset = 0; offset < size; offset += BLOCK_SIZE) {
    out.push({ offset, length: Math.min(BLOCK_SIZE, size - offset) })
  }
  return out
}

/**
 * Whether (piece, offset, length) names a non-empty byte range inside one piece. This checks a peer's
 * REQUEST or PIECE; it does not cap the length at `BLOCK_SIZE`, which is the wire layer's policy.
 */
export const isValidBlock = (layout: Layout, piece: number, offset: number, length: number): boolean =>
  isIndex(piece, layout.pieceCount) &&
  Number.isSafeInteger(offset) &&
  Number.isSafeInteger(length) &&
  offset >= 0 &&
  length > 0 &&
  offset + length <= (piece === layout.pieceCount - 1 ? lastPieceLength(layout) : layout.pieceLength)

/**
 * The index of the file holding the absolute byte `offset`, which must lie in [0, totalLength). It is the
 * last file whose offset is <= `offset`: files after the holder start past `offset`, and zero-length files
 * at the holder's offset come before it.
 */
const fileIndexAt = (files: ReadonlyArray<LayoutFile>, offset: number): number => {
  let lo = 0
  let hi = files.length - 1
  while (lo < hi) {
    const mid = lo + Math.ceil((hi - lo) / 2)
    if (files[mid]!.offset <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Which file holds an absolute byte of the torrent, and where in it; zero-length files hold nothing. */
export const locate = (
  layout: Layout,
  absoluteOffset: number
): { readonly file: number; readonly fileOffset: number } => {
  if (!isIndex(absoluteOffset, layout.totalLength)) {
    throw new RangeError(`offset ${absoluteOffset} out of range [0, ${layout.totalLength})`)
  }
  const file = fileIndexAt(layout.files, absoluteOffset)
  return { file, fileOffset: absoluteOffset - layout.files[file]!.offset }
}

/**
 * The file spans of `length` bytes at `offset` within `piece`, in byte order. Zero-length files yield no
 * span; pad files yield spans with `pad: true`. A zero `length` yields no span.
 */
export const spans = (
  layout: Layout,
  piece: number,
  offset: number,
  length: number
): ReadonlyArray<FileSpan> => {
  const size = pieceSize(layout, piece)
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > size
  ) {
    throw new RangeError(`range ${offset}+${length} out of piece ${piece} of ${size} bytes`)
  }
  const out: Array<FileSpan> = []
  if (length === 0) return out
  const files = layout.files
  const start = piece * layout.pieceLength + offset
  let position = start
  let remaining = length
  let index = fileIndexAt(files, start)
  while (remaining > 0) {
    const f = files[index]!
    const available = f.offset + f.length - position
    if (available > 0) {
      const take = Math.min(available, remaining)
      out.push({
        file: index,
        fileOffset: position - f.offset,
        length: take,
        pieceOffset: position - start + offset,
        pad: f.pad
      })
      position += take
      remaining -= take
    }
    index += 1
  }
  return out
}

/** A stretch of one file covered by consecutive pieces: where it starts and, in order, which bytes of which
 *  piece (counted from the first of them) fill it. */
export interface FileRun {
  readonly file: number
  readonly fileOffset: number
  readonly parts: ReadonlyArray<{ readonly piece: number; readonly pieceOffset: number; readonly length: number }>
}

/**
 * The file runs of `count` whole pieces from `first`: the spans of each piece, joined where one continues
 * the last in the same file, so that each run can be written by one call. Files `keep` refuses (pad files,
 * say) are left out.
 */
export const pieceRuns = (layout: Layout, first: number, count: number, keep: (file: number) => boolean): ReadonlyArray<FileRun> => {
  const runs: Array<{ file: number; fileOffset: number; end: number; parts: Array<FileRun["parts"][number]> }> = []
  for (let i = 0; i < count; i++) {
    for (const span of spans(layout, first + i, 0, pieceSize(layout, first + i))) {
      if (!keep(span.file)) continue
      const part = { piece: i, pieceOffset: span.pieceOffset, length: span.length }
      const last = runs[runs.length - 1]
      if (last !== undefined && last.file === span.file && last.end === span.fileOffset) {
        last.parts.push(part)
        last.end += span.length
      } else runs.push({ file: span.file, fileOffset: span.fileOffset, end: span.fileOffset + span.length, parts: [part] })
    }
  }
  return runs
}

/** The first and last piece a file touches, or undefined for a zero-length file. */
export const piecesOfFile = (
  layout: Layout,
  file: number
): { readonly first: number; readonly last: number } | undefined => {
  if (!isIndex(file, layout.files.length)) {
    throw new RangeError(`file ${file} out of range [0, ${layout.files.length})`)
  }
  const f = layout.files[file]!
  if (f.length === 0) return undefined
  return {
    first: floorDiv(f.offset, layout.pieceLength),
    last: floorDiv(f.offset + f.length - 1, layout.pieceLength)
  }
}

/** The bytes of `file` that lie in pieces for which `has` holds (a file's completeness). */
export const fileBytesIn = (layout: Layout, file: number, has: (piece: number) => boolean): number => {
  const range = piecesOfFile(layout, file)
  if (range === undefined) return 0
  const f = layout.files[file]!
  let bytes = 0
  for (let piece = range.first; piece <= range.last; piece++) {
    if (!has(piece)) continue
    const start = Math.max(f.offset, piece * layout.pieceLength)
    const end = Math.min(f.offset + f.length, piece * layout.pieceLength + pieceSize(layout, piece))
    bytes += end - start
  }
  return bytes
}

/** The first and last piece holding file `index`'s bytes (an empty file: the piece at its offset, twice). */
export const pieceRange = (layout: Layout, index: number): readonly [number, number] => {
  const f = layout.files[index]!
  return [Math.floor(f.offset / layout.pieceLength), Math.floor(Math.max(f.offset, f.offset + f.length - 1) / layout.pieceLength)]
}
