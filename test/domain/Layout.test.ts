import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layout from "../../src/domain/Layout.js"

const files = (...lengths: ReadonlyArray<number>) => lengths.map((length) => ({ length }))

describe("Layout", () => {
  it("a single file with a short last piece", () => {
    const layout = Layout.make(32768, files(100000))
    expect(layout.totalLength).toBe(100000)
    expect(layout.pieceCount).toBe(4)
    expect(layout.files).toEqual([{ length: 100000, offset: 0, pad: false }])
    expect(Layout.lastPieceLength(layout)).toBe(1696)
    expect([0, 1, 2, 3].map((p) => Layout.pieceSize(layout, p))).toEqual([32768, 32768, 32768, 1696])
    expect(Layout.pieceOffset(layout, 3)).toBe(98304)
    expect(Layout.blockCount(layout, 0)).toBe(2)
    expect(Layout.blockCount(layout, 3)).toBe(1)
    expect(Layout.blockSize(layout, 3, 0)).toBe(1696)
    expect(Layout.blocksOf(layout, 2)).toEqual([{ offset: 0, length: 16384 }, { offset: 16384, length: 16384 }])
    expect(Layout.spans(layout, 2, 100, 16384)).toEqual([
      { file: 0, fileOffset: 65636, length: 16384, pieceOffset: 100, pad: false }
    ])
    expect(Layout.piecesOfFile(layout, 0)).toEqual({ first: 0, last: 3 })
    expect(Layout.locate(layout, 99999)).toEqual({ file: 0, fileOffset: 99999 })
  })

  it("the short last block of the last piece", () => {
    const layout = Layout.make(65536, files(85536))
    expect(layout.pieceCount).toBe(2)
    expect(Layout.blocksOf(layout, 0)).toEqual([0, 16384, 32768, 49152].map((offset) => ({ offset, length: 16384 })))
    expect(Layout.blocksOf(layout, 1)).toEqual([{ offset: 0, length: 16384 }, { offset: 16384, length: 3616 }])
    expect(Layout.blockCount(layout, 1)).toBe(2)
    expect(Layout.blockSize(layout, 1, 1)).toBe(3616)
    expect(Layout.blockSize(layout, 0, 3)).toBe(16384)
    expect(() => Layout.blockSize(layout, 1, 2)).toThrow(RangeError)
  })

  it("a piece spanning three files", () => {
    const layout = Layout.make(32768, files(30000, 1000, 5000, 10000))
    expect(layout.files.map((f) => f.offset)).toEqual([0, 30000, 31000, 36000])
    expect(layout.totalLength).toBe(46000)
    expect(layout.pieceCount).toBe(2)
    expect(Layout.spans(layout, 0, 0, 32768)).toEqual([
      { file: 0, fileOffset: 0, length: 30000, pieceOffset: 0, pad: false },
      { file: 1, fileOffset: 0, length: 1000, pieceOffset: 30000, pad: false },
      { file: 2, fileOffset: 0, length: 1768, pieceOffset: 31000, pad: false }
    ])
    expect(Layout.spans(layout, 0, 16384, 16384)).toEqual([
      { file: 0, fileOffset: 16384, length: 13616, pieceOffset: 16384, pad: false },
      { file: 1, fileOffset: 0, length: 1000, pieceOffset: 30000, pad: false },
      { file: 2, fileOffset: 0, length: 1768, pieceOffset: 31000, pad: false }
    ])
    expect(Layout.spans(layout, 1, 0, 13232)).toEqual([
      { file: 2, fileOffset: 1768, length: 3232, pieceOffset: 0, pad: false },
      { file: 3, fileOffset: 0, length: 10000, pieceOffset: 3232, pad: false }
    ])
    expect(Layout.piecesOfFile(layout, 1)).toEqual({ first: 0, last: 0 })
    expect(Layout.piecesOfFile(layout, 2)).toEqual({ first: 0, last: 1 })
    expect(Layout.piecesOfFile(layout, 3)).toEqual({ first: 1, last: 1 })
    expect(Layout.locate(layout, 30999)).toEqual({ file: 1, fileOffset: 999 })
    expect(Layout.locate(layout, 31000)).toEqual({ file: 2, fileOffset: 0 })
  })

  it("zero-length files at the start, in the middle and at the end", () => {
    const layout = Layout.make(16, files(0, 10, 0, 0, 20, 0))
    expect(layout.files.map((f) => f.offset)).toEqual([0, 0, 10, 10, 10, 30])
    expect(layout.totalLength).toBe(30)
    expect(layout.pieceCount).toBe(2)
    expect(Layout.spans(layout, 0, 0, 16)).toEqual([
      { file: 1, fileOffset: 0, length: 10, pieceOffset: 0, pad: false },
      { file: 4, fileOffset: 0, length: 6, pieceOffset: 10, pad: false }
    ])
    expect(Layout.spans(layout, 1, 0, 14)).toEqual([
      { file: 4, fileOffset: 6, length: 14, pieceOffset: 0, pad: false }
    ])
    expect(Layout.spans(layout, 0, 10, 0)).toEqual([])
    expect(Layout.locate(layout, 0)).toEqual({ file: 1, fileOffset: 0 })
    expect(Layout.locate(layout, 9)).toEqual({ file: 1, fileOffset: 9 })
    expect(Layout.locate(layout, 10)).toEqual({ file: 4, fileOffset: 0 })
    expect(Layout.locate(layout, 29)).toEqual({ file: 4, fileOffset: 19 })
    expect(() => Layout.locate(layout, 30)).toThrow(RangeError)
    expect([0, 1, 2, 3, 4, 5].map((f) => Layout.piecesOfFile(layout, f))).toEqual([
      undefined,
      { first: 0, last: 0 },
      undefined,
      undefined,
      { first: 0, last: 1 },
      undefined
    ])
  })

  it("only zero-length files, and no files at all", () => {
    for (const layout of [Layout.make(16, files(0, 0)), Layout.make(16, [])]) {
      expect(layout.totalLength).toBe(0)
      expect(layout.pieceCount).toBe(0)
      expect(Layout.lastPieceLength(layout)).toBe(0)
      expect(Layout.isValidBlock(layout, 0, 0, 1)).toBe(false)
      expect(() => Layout.pieceSize(layout, 0)).toThrow(RangeError)
      expect(() => Layout.locate(layout, 0)).toThrow(RangeError)
    }
  })

  it("pad files are in the piece space and marked", () => {
    const layout = Layout.make(64, [{ length: 100 }, { length: 28, pad: true }, { length: 50 }])
    expect(layout.files).toEqual([
      { length: 100, offset: 0, pad: false },
      { length: 28, offset: 100, pad: true },
      { length: 50, offset: 128, pad: false }
    ])
    expect(layout.pieceCount).toBe(3)
    expect(Layout.spans(layout, 1, 0, 64)).toEqual([
      { file: 0, fileOffset: 64, length: 36, pieceOffset: 0, pad: false },
      { file: 1, fileOffset: 0, length: 28, pieceOffset: 36, pad: true }
    ])
    expect(Layout.spans(layout, 1, 30, 20)).toEqual([
      { file: 0, fileOffset: 94, length: 6, pieceOffset: 30, pad: false },
      { file: 1, fileOffset: 0, length: 14, pieceOffset: 36, pad: true }
    ])
    expect(Layout.spans(layout, 2, 0, 50)).toEqual([
      { file: 2, fileOffset: 0, length: 50, pieceOffset: 0, pad: false }
    ])
    expect(Layout.locate(layout, 127)).toEqual({ file: 1, fileOffset: 27 })
    expect(Layout.piecesOfFile(layout, 1)).toEqual({ first: 1, last: 1 })
  })

  it("a file starting exactly at a piece boundary; total a multiple of the piece length", () => {
    const layout = Layout.make(16384, files(16384, 16384))
    expect(layout.pieceCount).toBe(2)
    expect(Layout.lastPieceLength(layout)).toBe(16384)
    expect(Layout.pieceSize(layout, 1)).toBe(16384)
    expect(Layout.blockCount(layout, 1)).toBe(1)
    expect(Layout.spans(layout, 0, 0, 16384)).toEqual([
      { file: 0, fileOffset: 0, length: 16384, pieceOffset: 0, pad: false }
    ])
    expect(Layout.spans(layout, 1, 0, 16384)).toEqual([
      { file: 1, fileOffset: 0, length: 16384, pieceOffset: 0, pad: false }
    ])
    expect(Layout.piecesOfFile(layout, 0)).toEqual({ first: 0, last: 0 })
    expect(Layout.piecesOfFile(layout, 1)).toEqual({ first: 1, last: 1 })
    expect(Layout.locate(layout, 16383)).toEqual({ file: 0, fileOffset: 16383 })
    expect(Layout.locate(layout, 16384)).toEqual({ file: 1, fileOffset: 0 })
  })

  it("a large torrent of three files of about 1e12 bytes", () => {
    const layout = Layout.make(4194304, files(1e12, 1e12 + 1, 1e12 - 1))
    expect(layout.totalLength).toBe(3e12)
    expect(layout.pieceCount).toBe(715256)
    expect(Layout.pieceCountFor(3e12, 4194304)).toBe(715256)
    expect(Layout.lastPieceLength(layout)).toBe(3092480)
    expect(Layout.pieceOffset(layout, 238418)).toBe(999997571072)
    expect(Layout.spans(layout, 238418, 0, 4194304)).toEqual([
      { file: 0, fileOffset: 999997571072, length: 2428928, pieceOffset: 0, pad: false },
      { file: 1, fileOffset: 0, length: 1765376, pieceOffset: 2428928, pad: false }
    ])
    expect(Layout.spans(layout, 238418, 2424832, 16384)).toEqual([
      { file: 0, fileOffset: 999999995904, length: 4096, pieceOffset: 2424832, pad: false },
      { file: 1, fileOffset: 0, length: 12288, pieceOffset: 2428928, pad: false }
    ])
    expect(Layout.piecesOfFile(layout, 0)).toEqual({ first: 0, last: 238418 })
    expect(Layout.piecesOfFile(layout, 1)).toEqual({ first: 238418, last: 476837 })
    expect(Layout.piecesOfFile(layout, 2)).toEqual({ first: 476837, last: 715255 })
    expect(Layout.locate(layout, 2e12 + 1)).toEqual({ file: 2, fileOffset: 0 })
    expect(Layout.locate(layout, 3e12 - 1)).toEqual({ file: 2, fileOffset: 999999999998 })
    expect(Layout.blockCount(layout, 715255)).toBe(189)
    expect(Layout.blockSize(layout, 715255, 188)).toBe(12288)
    expect(Layout.spans(layout, 715255, 3080192, 12288)).toEqual([
      { file: 2, fileOffset: 999999987711, length: 12288, pieceOffset: 3080192, pad: false }
    ])
  })

  it("pieceCountFor", () => {
    expect(Layout.pieceCountFor(0, 16384)).toBe(0)
    expect(Layout.pieceCountFor(1, 16384)).toBe(1)
    expect(Layout.pieceCountFor(16384, 16384)).toBe(1)
    expect(Layout.pieceCountFor(16385, 16384)).toBe(2)
    expect(Layout.pieceCountFor(2 ** 53 - 1, 2 ** 20)).toBe(2 ** 33)
  })

  it("isValidBlock checks a peer's range", () => {
    const layout = Layout.make(32768, files(40000))
    expect(Layout.isValidBlock(layout, 0, 0, 16384)).toBe(true)
    expect(Layout.isValidBlock(layout, 0, 16384, 16384)).toBe(true)
    expect(Layout.isValidBlock(layout, 0, 16385, 16384)).toBe(false)
    expect(Layout.isValidBlock(layout, 1, 0, 7232)).toBe(true)
    expect(Layout.isValidBlock(layout, 1, 0, 7233)).toBe(false)
    expect(Layout.isValidBlock(layout, 1, 7231, 1)).toBe(true)
    expect(Layout.isValidBlock(layout, 0, 0, 0)).toBe(false)
    expect(Layout.isValidBlock(layout, 2, 0, 1)).toBe(false)
    expect(Layout.isValidBlock(layout, -1, 0, 1)).toBe(false)
    expect(Layout.isValidBlock(layout, 0, -1, 1)).toBe(false)
    expect(Layout.isValidBlock(layout, 0.5, 0, 1)).toBe(false)
    expect(Layout.isValidBlock(layout, 0, 0, 1.5)).toBe(false)
  })

  it("rejects bad inputs", () => {
    expect(Layout.fromFiles(0, files(1))).toEqual(Either.left("piece length 0 is not a positive integer"))
    expect(Either.isLeft(Layout.fromFiles(1.5, files(1)))).toBe(true)
    expect(Layout.fromFiles(16, files(1, -1))).toEqual(
      Either.left("file 1 has length -1, not a non-negative integer")
    )
    expect(Either.isLeft(Layout.fromFiles(16, files(2 ** 52, 2 ** 52)))).toBe(true)
    expect(() => Layout.make(16, files(0.5))).toThrow(RangeError)
    const layout = Layout.make(16, files(20))
    expect(() => Layout.spans(layout, 1, 0, 5)).toThrow(RangeError)
    expect(() => Layout.spans(layout, 0, 10, 7)).toThrow(RangeError)
    expect(() => Layout.piecesOfFile(layout, 1)).toThrow(RangeError)
  })
})

/** Piece lengths that are tiny, around a block, and a few blocks; files sized so pieces stay few. */
const layoutArb = FastCheck.oneof(
  FastCheck.integer({ min: 1, max: 64 }),
  FastCheck.integer({ min: 16000, max: 70000 }),
  FastCheck.constantFrom(16384, 32768, 65536)
).chain((pieceLength) =>
  FastCheck.tuple(
    FastCheck.constant(pieceLength),
    FastCheck.array(
      FastCheck.record({
        length: FastCheck.oneof(
          FastCheck.constant(0),
          FastCheck.integer({ min: 1, max: 3 * pieceLength }),
          FastCheck.integer({ min: 1, max: 40 })
        ),
        pad: FastCheck.boolean()
      }),
      { maxLength: 12 }
    )
  )
)

describe("Layout properties", () => {
  it.prop("spans of every block are exact, contiguous and agree with locate", [layoutArb], ([[pl, fs]]) => {
    const layout = Layout.make(pl, fs)
    let total = 0
    for (let piece = 0; piece < layout.pieceCount; piece++) {
      const size = Layout.pieceSize(layout, piece)
      total += size
      const blocks = Layout.blocksOf(layout, piece)
      expect(blocks.length).toBe(Layout.blockCount(layout, piece))
      let blockStart = 0
      for (let b = 0; b < blocks.length; b++) {
        const block = blocks[b]!
        expect(block.offset).toBe(blockStart)
        expect(block.length).toBe(Layout.blockSize(layout, piece, b))
        expect(Layout.isValidBlock(layout, piece, block.offset, block.length)).toBe(true)
        blockStart += block.length
        let position = Layout.pieceOffset(layout, piece) + block.offset
        let sum = 0
        for (const span of Layout.spans(layout, piece, block.offset, block.length)) {
          const file = layout.files[span.file]!
          expect(span.length).toBeGreaterThan(0)
          expect(span.pad).toBe(file.pad)
          expect(file.offset + span.fileOffset).toBe(position)
          expect(span.pieceOffset).toBe(position - Layout.pieceOffset(layout, piece))
          expect(span.fileOffset + span.length).toBeLessThanOrEqual(file.length)
          expect(Layout.locate(layout, position)).toEqual({ file: span.file, fileOffset: span.fileOffset })
          expect(Layout.locate(layout, position + span.length - 1)).toEqual({
            file: span.file,
            fileOffset: span.fileOffset + span.length - 1
          })
          position += span.length
          sum += span.length
        }
        expect(sum).toBe(block.length)
      }
      expect(blockStart).toBe(size)
    }
    expect(total).toBe(layout.totalLength)
  })

  it.prop("pieces cover every non-empty file exactly once; piecesOfFile agrees", [layoutArb], ([[pl, fs]]) => {
    const layout = Layout.make(pl, fs)
    const covered = layout.files.map(() => 0)
    const first: Array<number | undefined> = layout.files.map(() => undefined)
    const last: Array<number | undefined> = layout.files.map(() => undefined)
    for (let piece = 0; piece < layout.pieceCount; piece++) {
      for (const span of Layout.spans(layout, piece, 0, Layout.pieceSize(layout, piece))) {
        expect(span.fileOffset).toBe(covered[span.file])
        covered[span.file] = covered[span.file]! + span.length
        first[span.file] ??= piece
        last[span.file] = piece
      }
    }
    expect(covered).toEqual(layout.files.map((f) => f.length))
    for (let f = 0; f < layout.files.length; f++) {
      const range = Layout.piecesOfFile(layout, f)
      if (layout.files[f]!.length === 0) {
        expect(range).toBeUndefined()
      } else {
        expect(range).toEqual({ first: first[f], last: last[f] })
      }
    }
  })
})
