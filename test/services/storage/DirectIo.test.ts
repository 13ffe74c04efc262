import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Layout from "../../../src/domain/Layout.js"
import { layoutOf } from "../../../src/domain/Metainfo.js"
import * as DirectIo from "../../../src/services/storage/DirectIo.js"
import * as FileStorage from "../../../src/services/storage/FileStorage.js"
import * as MemoryStorage from "../../../src/services/storage/MemoryStorage.js"
import { MemoryStore } from "../../../src/services/storage/MemoryStorage.js"
import { Storage } from "../../../src/services/storage/Storage.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-direct-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A new file in a temporary folder, open to write (closed with the scope), and whether its file system
 *  takes O_DIRECT at all (probed with a second open). */
const tempFile = Effect.gen(function* () {
  const file = path.join(yield* tempDir, "data.bin")
  const fd = fs.openSync(file, "w+")
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.closeSync(fd)))
  let direct = true
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT))
  } catch {
    direct = false
  }
  return { file, fd, direct }
})

/** `length` bytes of `source` copied into page-aligned memory at `offset`. */
const alignedCopy = (source: Uint8Array, offset = 0): Uint8Array => {
  const memory = DirectIo.alignedMemory(offset + source.length)!
  const view = memory.subarray(offset, offset + source.length)
  view.set(source)
  return view
}

describe("DirectIo", () => {
  it("tells page-aligned views of its memory from everything else", () => {
    const memory = DirectIo.alignedMemory(3 * 4096)!
    expect(memory.byteLength).toBeGreaterThanOrEqual(3 * 4096)
    expect(DirectIo.isAligned(memory.subarray(0, 8192), 0)).toBe(true)
    expect(DirectIo.isAligned(memory.subarray(4096, 8192), 4096 * 7)).toBe(true)
    expect(DirectIo.isAligned(memory.subarray(1, 4097), 0)).toBe(false) // address
    expect(DirectIo.isAligned(memory.subarray(0, 4000), 0)).toBe(false) // length
    expect(DirectIo.isAligned(memory.subarray(0, 4096), 512)).toBe(false) // position
    expect(DirectIo.isAligned(Buffer.alloc(4096), 0)).toBe(false) // ordinary memory
    const chunks = [memory.subarray(0, 4096), memory.subarray(4096, 8192), memory.subarray(8192, 9000)]
    expect(DirectIo.alignedPrefix(chunks, 0)).toBe(2)
    expect(DirectIo.alignedPrefix(chunks, 100)).toBe(0)
  })

  /** Writes `chunks` (the bytes of `data`) at `position` of a new file with no direct descriptor yet:
   *  the file holds them there, and a direct descriptor was opened wherever the file system takes one. */
  const writesDirect = (data: Uint8Array, chunks: ReadonlyArray<Uint8Array>, position: number) =>
    Effect.gen(function* () {
      const { file, fd, direct } = yield* tempFile
      const target: DirectIo.WriteTarget = { fd, direct: undefined }
      yield* DirectIo.writeRun(target, chunks, position)
      const written = fs.readFileSync(file)
      expect(written.length).toBe(position + data.length)
      expect(written.subarray(position).equals(data)).toBe(true)
      // Direct where the file system takes it (ext4, xfs...), buffered where it does not.
      expect(typeof target.direct).toBe(direct ? "number" : "string")
      if (typeof target.direct === "number") fs.closeSync(target.direct)
    })

  it.scopedLive("writes a run whose aligned part goes direct and whose tail goes through the page cache", () => {
    const data = randomBytes(3 * 65536 + 1234, 9)
    return writesDirect(data, [alignedCopy(data.subarray(0, 65536)), alignedCopy(data.subarray(65536, 3 * 65536)), data.subarray(3 * 65536)], 4096)
  })

  it.scopedLive("writes a run from unaligned memory at an unaligned position direct through scratch memory, head and tail through the page cache", () => {
    // Ordinary memory, more than the scratch megabyte, starting 1000 bytes into a page of the file: as the
    // pieces of a file that starts mid-page of a torrent of many files.
    const data = randomBytes(2 * 1024 * 1024 + 3 * 65536 + 777, 13)
    return writesDirect(data, [data.subarray(0, 100_000), data.subarray(100_000, 1_500_000), data.subarray(1_500_000)], 1000)
  })

  it.scopedLive("writes everything through the page cache where the file has no direct descriptor", () =>
    Effect.gen(function* () {
      const { file, fd } = yield* tempFile
      const data = randomBytes(2 * 65536, 10)
      const target: DirectIo.WriteTarget = { fd, direct: "none" }
      yield* DirectIo.writeRun(target, [alignedCopy(data.subarray(0, 65536)), alignedCopy(data.subarray(65536))], 0)
      expect(fs.readFileSync(file).equals(data)).toBe(true)
      expect(target.direct).toBe("none")
    }))

  // A multi-file torrent whose first file ends inside a piece: runs split at the file boundary, the
  // aligned pieces of the first file can go direct, the rest is written through the page cache.
  const t = makeTorrent({
    name: "runs",
    pieceLength: 65536,
    files: [
      { path: ["one.bin"], data: randomBytes(5 * 65536 + 1000, 11) },
      { path: ["two.bin"], data: randomBytes(3 * 65536, 12) }
    ]
  })
  const layout = layoutOf(t.metainfo)

  /** Copies of pieces `from` to `to` (excluded), in ordinary memory. */
  const piecesOf = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => {
      const at = Layout.pieceOffset(layout, from + i)
      return Buffer.from(t.payload.subarray(at, at + Layout.pieceSize(layout, from + i)))
    })

  it("pieceRuns joins consecutive pieces per file and splits them where a file ends", () => {
    const runs = Layout.pieceRuns(layout, 3, 4, () => true)
    expect(runs.map((r) => [r.file, r.fileOffset, r.parts.map((p) => [p.piece, p.pieceOffset, p.length])])).toEqual([
      [0, 3 * 65536, [[0, 0, 65536], [1, 0, 65536], [2, 0, 1000]]],
      [1, 0, [[2, 1000, 64536], [3, 0, 65536]]]
    ])
    expect(Layout.pieceRuns(layout, 3, 4, (file) => file !== 0).map((r) => r.file)).toEqual([1])
  })

  for (const [name, layer] of [["file", FileStorage.layer], ["memory", MemoryStorage.layer(MemoryStore.make())]] as const) {
    it.scopedLive(`writePieces stores consecutive pieces across files, from aligned and ordinary memory (${name})`, () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const storage = yield* Effect.flatMap(Storage, (s) => s.open(t.metainfo, root)).pipe(Effect.provide(layer))
        const aligned = piecesOf(0, 4).map((piece) => alignedCopy(piece))
        yield* storage.writePieces(0, aligned)
        yield* storage.writePieces(4, piecesOf(4, layout.pieceCount))
        for (let piece = 0; piece < layout.pieceCount; piece++) {
          const at = Layout.pieceOffset(layout, piece)
          const size = Layout.pieceSize(layout, piece)
          expect(Buffer.from(yield* storage.read(piece, 0, size)).equals(t.payload.subarray(at, at + size))).toBe(true)
        }
      }))
  }
})
