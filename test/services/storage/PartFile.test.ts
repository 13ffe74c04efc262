import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Layout from "../../../src/domain/Layout.js"
import { layoutOf } from "../../../src/domain/Metainfo.js"
import * as FileStorage from "../../../src/services/storage/FileStorage.js"
import * as PartFile from "../../../src/services/storage/PartFile.js"
import { Storage } from "../../../src/services/storage/Storage.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { bits } from "../../support/picker.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-part-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

// Files of 100, 300 and 150 bytes in pieces of 128: the middle one shares piece 0 with the first and
// piece 3 with the last.
const sizes = [100, 300, 150]
const torrent = makeTorrent({
  name: "t",
  pieceLength: 128,
  files: sizes.map((n, i) => ({ path: [`f${i}`], data: randomBytes(n, i + 1) }))
})
const layout = layoutOf(torrent.metainfo)
const payload = new Uint8Array(torrent.payload)
const pieceData = (piece: number) => payload.subarray(piece * 128, piece * 128 + Layout.pieceSize(layout, piece))

describe("PartFile", () => {
  it.scoped("parked files are never created: their bytes go to the part file, read back whole, and move into place when selected", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const root = path.join(dir, "out")
      const partPath = path.join(dir, "state", "parts", "x.part")
      const storage = yield* Storage
      // Selected: file 1 (pieces 0..3). Piece 0 and 3 are boundary pieces.
      yield* Effect.scoped(Effect.gen(function* () {
        const part = yield* PartFile.filePart(partPath)
        const files = PartFile.parked(yield* storage.open(torrent.metainfo, root), layout, new Set([0, 2]), part)
        yield* files.writePieces(0, [pieceData(0), pieceData(1), pieceData(2)])
        yield* files.write(3, 0, pieceData(3).subarray(0, 50))
        yield* files.write(3, 50, pieceData(3).subarray(50))
        yield* files.sync
        for (const piece of [0, 1, 2, 3]) expect(yield* files.read(piece, 0, Layout.pieceSize(layout, piece))).toEqual(pieceData(piece))
      }))
      expect(fs.readdirSync(path.join(root, "t"))).toEqual(["f1"])
      expect(new Uint8Array(fs.readFileSync(path.join(root, "t", "f1")))).toEqual(payload.subarray(100, 400))
      // Only the edges: 100 bytes of f0 in piece 0, 112 bytes of f2 in piece 3 (a sparse file at torrent offsets).
      expect(fs.statSync(partPath).size).toBe(4 * 128)
      // Selected later: file 0 and 2 not parked any more; piece 0 and 3 verified, their parked bytes moved.
      yield* Effect.scoped(Effect.gen(function* () {
        const part = yield* PartFile.filePart(partPath)
        const files = yield* storage.open(torrent.metainfo, root)
        yield* PartFile.unpark(files, layout, [0, 2], part, bits(layout.pieceCount, [0, 1, 2, 3]))
      }))
      expect(new Uint8Array(fs.readFileSync(path.join(root, "t", "f0")))).toEqual(payload.subarray(0, 100))
      // f2: its first 112 bytes were in piece 3 (the rest, piece 4, is not downloaded yet: zeros).
      expect(new Uint8Array(fs.readFileSync(path.join(root, "t", "f2"))).subarray(0, 112)).toEqual(payload.subarray(400, 512))
    }).pipe(Effect.provide(FileStorage.layer)))

  it.effect("a part file never written reads as zeros, in memory too", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* tempDir
      const part = yield* PartFile.filePart(path.join(dir, "none.part"))
      const into = new Uint8Array(4).fill(7)
      yield* part.readInto(1000, into)
      expect(into).toEqual(new Uint8Array(4))
      expect(fs.existsSync(path.join(dir, "none.part"))).toBe(false)
      const memory = new PartFile.MemoryPart()
      yield* memory.write(10, Uint8Array.of(1, 2))
      const back = new Uint8Array(3)
      yield* memory.readInto(10, back)
      expect(back).toEqual(Uint8Array.of(1, 2, 0))
    })))
})
