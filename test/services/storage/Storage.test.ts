import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { StorageError } from "../../../src/domain/Errors.js"
import * as Layout from "../../../src/domain/Layout.js"
import { layoutOf, type Metainfo, relativePath } from "../../../src/domain/Metainfo.js"
import * as FileStorage from "../../../src/services/storage/FileStorage.js"
import { infoHashHex, MemoryStore } from "../../../src/services/storage/MemoryStorage.js"
import * as MemoryStorage from "../../../src/services/storage/MemoryStorage.js"
import { type FileStamp, Storage, type TorrentStorage } from "../../../src/services/storage/Storage.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { runUnprivileged } from "../../support/unprivileged.js"
import unwritableRoot from "./unwritableRoot.case.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-storage-"))),
  (dir) =>
    Effect.sync(() => {
      // A test may have taken write permission away; give it back so that the folder can go.
      for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (entry.isDirectory()) fs.chmodSync(path.join(entry.parentPath, entry.name), 0o700)
      }
      fs.rmSync(dir, { recursive: true, force: true })
    })
)

const openWith = (layer: Layer.Layer<Storage>, metainfo: Metainfo, root: string) =>
  Effect.flatMap(Storage, (storage) => storage.open(metainfo, root)).pipe(Effect.provide(layer))

const withStorage = <A, E>(
  layer: Layer.Layer<Storage>,
  metainfo: Metainfo,
  root: string,
  use: (storage: TorrentStorage) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(openWith(layer, metainfo, root), use))

const openError = (layer: Layer.Layer<Storage>, metainfo: Metainfo, root: string) =>
  Effect.flip(Effect.scoped(openWith(layer, metainfo, root)))

/** The files' stamps as the service finds them, without opening the torrent. */
const stampsWith = (layer: Layer.Layer<Storage>, metainfo: Metainfo, root: string) =>
  Effect.flatMap(Storage, (storage) => storage.stamps(metainfo, root)).pipe(Effect.provide(layer))

const withReadOnly = <A, E>(
  layer: Layer.Layer<Storage>,
  metainfo: Metainfo,
  root: string,
  use: (storage: TorrentStorage) => Effect.Effect<A, E>
) =>
  Effect.scoped(
    Effect.flatMap(
      Effect.flatMap(Storage, (storage) => storage.open(metainfo, root, { readOnly: true })).pipe(Effect.provide(layer)),
      use
    )
  )

const zeros = (n: number) => new Uint8Array(n)
const padName = (n: number) => `_____padding_file_${n}`

/**
 * Piece 0 spans one.bin, two.bin and three.bin (with a zero-length file between); a pad file aligns
 * four.bin to a piece; a zero-length file ends the torrent, and a BEP 47 symlink entry is never created.
 */
const multi = (() => {
  const t = makeTorrent({
    name: "multi",
    pieceLength: 32768,
    files: [
      { path: ["a", "b", "one.bin"], data: randomBytes(30000, 1) },
      { path: ["a", "empty.txt"], data: zeros(0) },
      { path: ["a", "b", "c", "two.bin"], data: randomBytes(1000, 2) },
      { path: ["three.bin"], data: randomBytes(5000, 3) },
      { path: ["pad", padName(29536)], data: zeros(29536) },
      { path: ["d", "e", "four.bin"], data: randomBytes(40000, 4) },
      { path: ["d", "empty2"], data: zeros(0) },
      { path: ["link"], data: zeros(0) }
    ]
  })
  const files = t.metainfo.files.map((f) => (f.path[0] === "link" ? { ...f, attr: "l" } : f))
  return { ...t, metainfo: { ...t.metainfo, files } }
})()

const layoutMulti = layoutOf(multi.metainfo)

/** Every block of the torrent, in a fixed shuffled order. */
const shuffledBlocks = (layout: Layout.Layout, seed: number) => {
  const blocks = Array.from({ length: layout.pieceCount }, (_, piece) =>
    Layout.blocksOf(layout, piece).map((b) => ({ piece, ...b }))).flat()
  let x = seed
  for (let i = blocks.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648
    const j = x % (i + 1)
    ;[blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!]
  }
  return blocks
}

const slice = (payload: Uint8Array, layout: Layout.Layout, piece: number, offset: number, length: number) => {
  const at = Layout.pieceOffset(layout, piece) + offset
  return payload.subarray(at, at + length)
}

/** Writes every block (several at once, in shuffled order), then reads every piece back. */
const roundTrip = (storage: TorrentStorage, payload: Uint8Array, layout: Layout.Layout) =>
  Effect.gen(function*() {
    yield* Effect.forEach(
      shuffledBlocks(layout, 7),
      (b) => storage.write(b.piece, b.offset, slice(payload, layout, b.piece, b.offset, b.length)),
      { concurrency: 8, discard: true }
    )
    yield* storage.sync
    for (let piece = 0; piece < layout.pieceCount; piece++) {
      const size = Layout.pieceSize(layout, piece)
      const bytes = yield* storage.read(piece, 0, size)
      expect(bytes.length).toBe(size)
      expect(Buffer.from(bytes).equals(slice(payload, layout, piece, 0, size))).toBe(true)
    }
    // A range across one.bin, the zero-length file, two.bin and into three.bin.
    const across = yield* storage.read(0, 29990, 1020)
    expect(Buffer.from(across).equals(slice(payload, layout, 0, 29990, 1020))).toBe(true)
  })

const fileLayers: ReadonlyArray<readonly [string, Layer.Layer<Storage>]> = [
  ["file", FileStorage.layer],
  ["file, one open descriptor", FileStorage.layerWith({ maxOpenFiles: 1 })]
]

describe("FileStorage", () => {
  for (const [name, layer] of fileLayers) {
    it.scopedLive(`writes and reads a multi-file torrent (${name})`, () =>
      Effect.gen(function*() {
        const root = yield* tempDir
        yield* withStorage(layer, multi.metainfo, root, (s) => roundTrip(s, multi.payload, layoutMulti))
        multi.metainfo.files.forEach((file, i) => {
          const at = path.join(root, ...relativePath(multi.metainfo, file))
          if (file.pad || file.attr === "l") {
            expect(fs.existsSync(at)).toBe(false)
          } else {
            const offset = layoutMulti.files[i]!.offset
            expect(fs.lstatSync(at).isFile()).toBe(true)
            expect(fs.readFileSync(at).equals(multi.payload.subarray(offset, offset + file.length))).toBe(true)
          }
        })
        expect(fs.existsSync(path.join(root, "multi", "pad"))).toBe(false)
        expect(fs.statSync(path.join(root, "multi", "a", "empty.txt")).size).toBe(0)
      }))
  }

  it.scopedLive("creates no file at open, each file (sparse, full length) when first written, the empty ones with the first write; closes with its scope", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const four = path.join(root, "multi", "d", "e", "four.bin")
      const one = path.join(root, "multi", "a", "b", "one.bin")
      const empty = path.join(root, "multi", "a", "empty.txt")
      const storage = yield* Effect.scoped(
        Effect.gen(function*() {
          const s = yield* openWith(FileStorage.layer, multi.metainfo, root)
          // A download that fails before any data arrives leaves nothing but the folder it was given.
          expect(fs.readdirSync(root)).toEqual([])
          yield* s.writePieces(3, [multi.payload.subarray(3 * 32768, 4 * 32768)])
          expect(fs.statSync(four).size).toBe(40000)
          expect(fs.existsSync(one)).toBe(false)
          expect(fs.statSync(empty).size).toBe(0)
          // Written around: the rest of the file reads as zeros.
          expect(yield* s.read(2, 0, 100)).toEqual(zeros(100))
          yield* s.write(0, 0, multi.payload.subarray(0, 10))
          expect(fs.statSync(one).size).toBe(30000)
          return s
        })
      )
      const closed = yield* Effect.flip(storage.write(0, 0, new Uint8Array(10)))
      expect(closed.reason).toBe("Write")
      expect(closed.detail).toContain("closed")
    }))

  it.scopedLive("creates a file with BEP 47's x attribute executable (as the umask allows), the others not", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const files = multi.metainfo.files.map((f) => (f.path.join("/") === "d/e/four.bin" ? { ...f, attr: "x" } : f))
      const metainfo = { ...multi.metainfo, files }
      yield* Effect.scoped(
        Effect.gen(function*() {
          const s = yield* openWith(FileStorage.layer, metainfo, root)
          yield* s.writePieces(3, [multi.payload.subarray(3 * 32768, 4 * 32768)])
          yield* s.write(0, 0, multi.payload.subarray(0, 10))
        })
      )
      const umask = process.umask()
      expect(fs.statSync(path.join(root, "multi", "d", "e", "four.bin")).mode & 0o777).toBe(0o777 & ~umask)
      expect(fs.statSync(path.join(root, "multi", "a", "b", "one.bin")).mode & 0o777).toBe(0o666 & ~umask)
    }))

  it.scopedLive("keeps existing data: no truncation on reopen, a file of the right size untouched", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const dir = path.join(root, "multi")
      // four.bin already complete, with an old mtime; one.bin longer than the torrent says.
      const four = path.join(dir, "d", "e", "four.bin")
      fs.mkdirSync(path.dirname(four), { recursive: true })
      const fourData = multi.payload.subarray(65536, 105536)
      fs.writeFileSync(four, fourData)
      fs.utimesSync(four, new Date(2001, 1, 1), new Date(2001, 1, 1))
      const one = path.join(dir, "a", "b", "one.bin")
      fs.mkdirSync(path.dirname(one), { recursive: true })
      const longer = randomBytes(35000, 9)
      fs.writeFileSync(one, longer)

      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => s.write(0, 30000, multi.payload.subarray(30000, 31000)))
      expect(fs.statSync(four).mtime.getFullYear()).toBe(2001)
      expect(fs.readFileSync(four).equals(fourData)).toBe(true)
      expect(fs.readFileSync(one).equals(longer)).toBe(true)

      const again = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.all([s.read(0, 29000, 2000), s.read(2, 0, 32768)]))
      expect(Buffer.from(again[0]).equals(Buffer.concat([longer.subarray(29000, 30000), multi.payload.subarray(30000, 31000)])))
        .toBe(true)
      expect(Buffer.from(again[1]).equals(multi.payload.subarray(65536, 98304))).toBe(true)
      expect(fs.readFileSync(path.join(dir, "a", "b", "c", "two.bin")).equals(multi.payload.subarray(30000, 31000)))
        .toBe(true)
    }))

  it.scopedLive("hostile names from the torrent stay inside the root", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = path.join(base, "out")
      const t = makeTorrent({
        name: "..",
        pieceLength: 16384,
        files: [
          { path: ["..", "x"], data: randomBytes(1000, 5) },
          { path: ["../y"], data: randomBytes(2000, 6) },
          { path: ["/etc", "z"], data: randomBytes(3000, 7) }
        ]
      })
      yield* withStorage(FileStorage.layer, t.metainfo, root, (s) => s.write(0, 0, t.payload))
      expect(fs.readdirSync(base)).toEqual(["out"])
      const written = fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      expect(written.map((e) => fs.statSync(path.join(e.parentPath, e.name)).size).sort()).toEqual([1000, 2000, 3000])

      // A metainfo that escaped sanitising is refused before anything is made.
      const evil: Metainfo = { ...t.metainfo, files: t.metainfo.files.map((f) => ({ ...f, path: ["..", "..", "evil"] })) }
      const error = yield* openError(FileStorage.layer, evil, path.join(base, "other"))
      expect(error.reason).toBe("Outside")
      expect(error.path).toBe(path.join(base, "evil"))
      expect(fs.readdirSync(base)).toEqual(["out"])
    }))

  const twoFiles = makeTorrent({
    name: "two",
    pieceLength: 16384,
    files: [
      { path: ["sub", "one.bin"], data: randomBytes(20000, 11) },
      { path: ["two.bin"], data: randomBytes(20000, 12) }
    ]
  })
  const outsideData = randomBytes(20000, 13)

  /** A root and, beside it, a folder outside with a file in it. */
  const withOutside = Effect.map(tempDir, (base) => {
    const outside = path.join(base, "outside")
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, "one.bin"), outsideData)
    return { root: path.join(base, "root"), outside }
  })
  const outsideUntouched = (outside: string) => {
    expect(fs.readdirSync(outside)).toEqual(["one.bin"])
    expect(fs.readFileSync(path.join(outside, "one.bin")).equals(outsideData)).toBe(true)
  }

  it.scopedLive("refuses a symlinked folder planted under the root before the first write", () =>
    Effect.gen(function*() {
      const { outside, root } = yield* withOutside
      fs.mkdirSync(path.join(root, "two"), { recursive: true })
      fs.symlinkSync(outside, path.join(root, "two", "sub"))
      const error = yield* withStorage(FileStorage.layer, twoFiles.metainfo, root, (s) =>
        Effect.flip(s.write(0, 0, twoFiles.payload.subarray(0, 16384))))
      expect(error.reason).toBe("Outside")
      expect(error.path).toBe(path.join(root, "two", "sub", "one.bin"))
      expect(error.detail).toContain("symbolic link")
      outsideUntouched(outside)
    }))

  it.scopedLive("refuses a symlinked folder planted under the root while running", () =>
    Effect.gen(function*() {
      const { outside, root } = yield* withOutside
      const error = yield* withStorage(FileStorage.layerWith({ maxOpenFiles: 1 }), twoFiles.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(0, 0, twoFiles.payload.subarray(0, 16384))
          yield* s.write(2, 0, twoFiles.payload.subarray(32768, 40000))
          yield* s.read(2, 0, 100) // two.bin now holds the one descriptor: one.bin must be reopened
          fs.renameSync(path.join(root, "two", "sub"), path.join(root, "two", "moved"))
          fs.symlinkSync(outside, path.join(root, "two", "sub"))
          return yield* Effect.flip(s.write(0, 0, twoFiles.payload.subarray(0, 16384)))
        }))
      expect(error.reason).toBe("Outside")
      expect(error.path).toBe(path.join(root, "two", "sub", "one.bin"))
      outsideUntouched(outside)
    }))

  it.scopedLive("refuses a file replaced by a symlink while running", () =>
    Effect.gen(function*() {
      const { outside, root } = yield* withOutside
      const two = path.join(root, "two", "two.bin")
      const error = yield* withStorage(FileStorage.layerWith({ maxOpenFiles: 1 }), twoFiles.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(2, 0, twoFiles.payload.subarray(32768, 40000))
          yield* s.write(0, 0, twoFiles.payload.subarray(0, 16384))
          yield* s.read(0, 0, 100) // one.bin holds the one descriptor: two.bin must be reopened
          fs.rmSync(two)
          fs.symlinkSync(path.join(outside, "one.bin"), two)
          return yield* Effect.flip(s.write(2, 0, twoFiles.payload.subarray(32768, 40000)))
        }))
      expect(error.reason).toBe("Outside")
      expect(error.path).toBe(two)
      outsideUntouched(outside)
    }))

  // Run as the user nobody when the tests run as root, who writes in a folder whatever its mode.
  it.scopedLive("an unwritable root fails open with a clear error naming it", () =>
    Effect.gen(function*() {
      const found = yield* runUnprivileged(unwritableRoot)
      expect(found.reason).toBe("Permission")
      expect(found.path).toBe(found.root)
      expect(found.message).toBe(`${found.root}: cannot write in folder: permission denied`)
    }), 30_000)

  it.scopedLive("a root that is a file, or under a file, fails open with a clear error", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const file = path.join(base, "file")
      fs.writeFileSync(file, "x")
      const error: StorageError = yield* openError(FileStorage.layer, twoFiles.metainfo, file)
      expect(error.reason).toBe("Open")
      expect(error.message).toBe(`${file}: not a folder`)
      const under = path.join(file, "sub")
      const error2 = yield* openError(FileStorage.layer, twoFiles.metainfo, under)
      expect(error2.reason).toBe("Open")
      expect(error2.path).toBe(under)
      expect(error2.detail).toMatch(/^cannot (create folder|inspect): a component of the path is not a folder$/)
      expect(fs.readFileSync(file, "utf8")).toBe("x")
    }))

  it.scopedLive("a single-file torrent is one file in the root", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const t = makeTorrent({ name: "single.bin", pieceLength: 16384, files: [{ path: [], data: randomBytes(40000, 3) }] })
      const layout = layoutOf(t.metainfo)
      yield* withStorage(FileStorage.layer, t.metainfo, root, (s) =>
        Effect.forEach(shuffledBlocks(layout, 3), (b) =>
          s.write(b.piece, b.offset, slice(t.payload, layout, b.piece, b.offset, b.length)), { discard: true }))
      expect(fs.readdirSync(root)).toEqual(["single.bin"])
      expect(fs.readFileSync(path.join(root, "single.bin")).equals(t.payload)).toBe(true)
    }))
})

describe("MemoryStorage", () => {
  it.scopedLive("writes and reads a multi-file torrent; pad spans are not stored", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      yield* withStorage(MemoryStorage.layer(store), multi.metainfo, "/out", (s) => roundTrip(s, multi.payload, layoutMulti))
      const bytes = store.contents("/out", infoHashHex(multi.metainfo))
      expect(bytes !== undefined && Buffer.from(bytes).equals(multi.payload)).toBe(true)
      expect(store.writes).toBe(shuffledBlocks(layoutMulti, 7).length)
      expect(store.syncs).toBe(1)

      // Non-zero bytes written over the pad span are dropped; reads give zeros there.
      const other = MemoryStore.make()
      yield* withStorage(MemoryStorage.layer(other), multi.metainfo, "/out", (s) =>
        Effect.gen(function*() {
          yield* s.write(1, 0, new Uint8Array(32768).fill(7))
          const back = yield* s.read(1, 0, 32768)
          expect(back.subarray(0, 3232)).toEqual(new Uint8Array(3232).fill(7))
          expect(back.subarray(3232)).toEqual(zeros(29536))
        }))
    }))

  it.scopedLive("seed pre-fills a torrent that a later open reads", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      store.seed("/seed", multi.metainfo, multi.payload)
      const pieces = yield* withStorage(MemoryStorage.layer(store), multi.metainfo, "/seed", (s) =>
        Effect.forEach([0, 1, 2, 3], (p) => s.read(p, 0, Layout.pieceSize(layoutMulti, p))))
      expect(Buffer.from(Buffer.concat(pieces)).equals(multi.payload)).toBe(true)
      // Another root is another download.
      expect(store.contents("/elsewhere", infoHashHex(multi.metainfo))).toBeUndefined()
    }))

  it.scopedLive("failWrites makes the n-th write from now fail with NoSpace", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      const results = yield* withStorage(MemoryStorage.layer(store), multi.metainfo, "/out", (s) =>
        Effect.gen(function*() {
          store.failWrites(2)
          const block = multi.payload.subarray(0, 16384)
          return yield* Effect.forEach([0, 1, 2], () => Effect.either(s.write(0, 0, block)))
        }))
      expect(results.map((r) => r._tag)).toEqual(["Right", "Left", "Right"])
      const failed = Either.getLeft(results[1]!)
      expect(failed._tag === "Some" && failed.value.reason).toBe("NoSpace")
      expect(failed._tag === "Some" && failed.value.path).toBe(path.resolve("/out", "multi", "a", "b", "one.bin"))
    }))
})

/** Where file `index` of the multi-file torrent goes under `root`. */
const multiPath = (root: string, index: number) =>
  path.join(path.resolve(root), ...relativePath(multi.metainfo, multi.metainfo.files[index]!))

/** Indexes of the files of the multi-file torrent that are stored (not the pad file, not the symlink). */
const storedMulti = multi.metainfo.files.flatMap((f, i) => (f.pad || f.attr === "l" ? [] : [i]))

/** The stamp of a file as the file system gives it. */
const statStamp = (at: string): FileStamp => {
  const stats = fs.statSync(at, { bigint: true })
  return { size: Number(stats.size), mtimeNs: stats.mtimeNs }
}

/** Sets a file's modification time back to 2001, so that a later write certainly changes it. */
const age = (at: string) => fs.utimesSync(at, new Date(2001, 1, 1), new Date(2001, 1, 1))

describe("FileStorage: stamps and read-only opening", () => {
  it.scopedLive("stamps before anything exists: all undefined, and nothing is created", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = path.join(base, "out")
      const stamps = yield* stampsWith(FileStorage.layer, multi.metainfo, root)
      expect(stamps).toEqual(multi.metainfo.files.map(() => undefined))
      expect(fs.readdirSync(base)).toEqual([])
      // An existing but empty root stays empty.
      fs.mkdirSync(root)
      expect(yield* stampsWith(FileStorage.layer, multi.metainfo, root)).toEqual(multi.metainfo.files.map(() => undefined))
      expect(fs.readdirSync(root)).toEqual([])
    }))

  it.scopedLive("stamps after every piece is written: each stored file's length and mtime, none for pad or symlink", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const opened = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.zipRight(roundTrip(s, multi.payload, layoutMulti), s.stamps))
      const stamps = yield* stampsWith(FileStorage.layer, multi.metainfo, root)
      multi.metainfo.files.forEach((file, i) => {
        if (storedMulti.includes(i)) {
          expect(stamps[i]).toEqual(statStamp(multiPath(root, i)))
          expect(stamps[i]?.size).toBe(file.length)
        } else {
          expect(stamps[i]).toBeUndefined()
        }
      })
      // The open torrent's stamps agree with the service's.
      expect(opened).toEqual(stamps)
      expect(stamps[1]).toEqual({ size: 0, mtimeNs: statStamp(multiPath(root, 1)).mtimeNs })
    }))

  it.scopedLive("stamps: a folder in place of a file, or a file in place of a folder, has no stamp", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      fs.mkdirSync(multiPath(root, 0), { recursive: true })
      fs.writeFileSync(path.join(root, "multi", "d"), "not a folder")
      const stamps = yield* stampsWith(FileStorage.layer, multi.metainfo, root)
      expect(stamps[0]).toBeUndefined()
      expect(stamps[5]).toBeUndefined()
      expect(stamps[6]).toBeUndefined()
    }))

  it.scopedLive("open read-only on a missing folder creates nothing; reads name the missing file; writes fail", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const root = path.join(base, "out")
      yield* withReadOnly(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          const read = yield* Effect.flip(s.read(0, 0, 100))
          expect(read._tag).toBe("StorageError")
          expect(read.path).toBe(multiPath(root, 0))
          expect(read.message).toContain(multiPath(root, 0))
          expect(read.detail).toContain("no such file or folder")
          const write = yield* Effect.flip(s.write(0, 0, multi.payload.subarray(0, 100)))
          expect(write.reason).toBe("Write")
          expect(write.path).toBe(multiPath(root, 0))
          expect(write.detail).toContain("read only")
          expect(yield* s.stamps).toEqual(multi.metainfo.files.map(() => undefined))
          yield* s.syncAll
          yield* s.sync
        }))
      expect(fs.readdirSync(base)).toEqual([])
    }))

  it.scopedLive("open read-only over existing data reads it, fails on the one missing file, and never writes", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => roundTrip(s, multi.payload, layoutMulti))
      const three = multiPath(root, 3)
      fs.rmSync(three)
      storedMulti.filter((i) => i !== 3).forEach((i) => age(multiPath(root, i)))
      const before = yield* stampsWith(FileStorage.layer, multi.metainfo, root)
      yield* withReadOnly(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          // Piece 3 lies in four.bin alone; piece 1 is three.bin's end, the pad file and four.bin's start.
          const size = Layout.pieceSize(layoutMulti, 3)
          expect(Buffer.from(yield* s.read(3, 0, size)).equals(slice(multi.payload, layoutMulti, 3, 0, size))).toBe(true)
          // Piece 0 reaches three.bin, which is gone.
          const error = yield* Effect.flip(s.read(0, 0, 32768))
          expect(error.path).toBe(three)
          expect(error.message).toContain(three)
          // The part of piece 0 in one.bin is still there.
          expect(Buffer.from(yield* s.read(0, 0, 1000)).equals(multi.payload.subarray(0, 1000))).toBe(true)
          const write = yield* Effect.flip(s.write(3, 0, new Uint8Array(100)))
          expect(write.reason).toBe("Write")
          expect(write.path).toBe(multiPath(root, 5))
          yield* s.syncAll
        }))
      expect(fs.existsSync(three)).toBe(false)
      expect(yield* stampsWith(FileStorage.layer, multi.metainfo, root)).toEqual(before)
      expect(fs.readFileSync(multiPath(root, 5)).equals(multi.payload.subarray(65536, 105536))).toBe(true)
    }))

  it.scopedLive("syncAll on read-only storage over existing files succeeds", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => roundTrip(s, multi.payload, layoutMulti))
      yield* withReadOnly(FileStorage.layerWith({ maxOpenFiles: 1 }), multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.syncAll
          yield* s.read(3, 0, 100)
          yield* s.syncAll
        }))
    }))

  it.scopedLive("TorrentStorage.stamps after a write shows the written file's new mtime, the others' as before", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => roundTrip(s, multi.payload, layoutMulti))
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          storedMulti.forEach((i) => age(multiPath(root, i)))
          const before = yield* s.stamps
          expect(before[0]).toEqual(statStamp(multiPath(root, 0)))
          // 100 bytes into one.bin only.
          yield* s.write(0, 100, multi.payload.subarray(100, 200))
          const after = yield* s.stamps
          expect(after[0]).toEqual(statStamp(multiPath(root, 0)))
          expect(after[0]?.mtimeNs).not.toBe(before[0]?.mtimeNs)
          expect(after[0]?.size).toBe(30000)
          expect(after.slice(1)).toEqual(before.slice(1))
          // Across one.bin, the empty file and two.bin: both written files move on.
          storedMulti.forEach((i) => age(multiPath(root, i)))
          yield* s.write(0, 29990, multi.payload.subarray(29990, 30010))
          const across = yield* s.stamps
          expect(across[0]).toEqual(statStamp(multiPath(root, 0)))
          expect(across[2]).toEqual(statStamp(multiPath(root, 2)))
        }))
    }))

  it.scopedLive("TorrentStorage.stamps fails with Missing naming a file deleted after it was written", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const two = multiPath(root, 2)
      const error = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(0, 30000, multi.payload.subarray(30000, 31000))
          fs.unlinkSync(two)
          return yield* Effect.flip(s.stamps)
        }))
      expect(error.reason).toBe("Missing")
      expect(error.path).toBe(two)
      expect(error.message).toContain(two)
      expect(error.detail).toContain("deleted")
    }))

  it.scopedLive("TorrentStorage.stamps fails with Missing when a written file is replaced by a new one at its path", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const four = multiPath(root, 5)
      const errors = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(3, 0, slice(multi.payload, layoutMulti, 3, 0, 100))
          fs.unlinkSync(four)
          fs.writeFileSync(four, new Uint8Array(40000))
          const first = yield* Effect.flip(s.stamps)
          // Still so on the next look: the storage writes to the old file.
          const second = yield* Effect.flip(s.stamps)
          return [first, second]
        }))
      for (const error of errors) {
        expect(error.reason).toBe("Missing")
        expect(error.path).toBe(four)
        expect(error.detail).toContain("replaced")
      }
    }))

  it.scopedLive("TorrentStorage.stamps: deleting a file that was there when the storage opened fails, even before any write to it", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const one = multiPath(root, 0)
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => s.write(0, 0, multi.payload.subarray(0, 100)))
      const error = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          fs.unlinkSync(one)
          return yield* Effect.flip(s.stamps)
        }))
      expect(error.reason).toBe("Missing")
      expect(error.path).toBe(one)
    }))

  // Its verified pieces would be zeros unseen: a file there at open is never made afresh.
  it.scopedLive("a file that was there when the storage opened and is deleted before its first write is an error, not created again", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const one = multiPath(root, 0)
      yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) => s.write(0, 0, multi.payload.subarray(0, 100)))
      const error = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          fs.unlinkSync(one)
          return yield* Effect.flip(s.write(0, 200, multi.payload.subarray(200, 300)))
        }))
      expect(error.path).toBe(one)
      expect(error.detail).toContain("no such file")
      expect(fs.existsSync(one)).toBe(false)
    }))

  // A file held open (all are, below the descriptor limit) is looked at again by every `stamps`, written
  // since or not: writes to it would otherwise go to a deleted file unseen.
  it.scopedLive("TorrentStorage.stamps: deleting an open file not written since the last stamps fails too", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const one = multiPath(root, 0)
      const result = yield* withStorage(FileStorage.layer, multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(0, 0, multi.payload.subarray(0, 100))
          yield* s.stamps
          fs.unlinkSync(one)
          return yield* Effect.either(s.stamps)
        }))
      const error = Either.getLeft(result)
      expect(error._tag === "Some" && error.value.reason).toBe("Missing")
      expect(error._tag === "Some" && error.value.path).toBe(one)
    }))
})

describe("MemoryStorage: stamps and read-only opening", () => {
  const root = "/out"

  it.scopedLive("stamps before anything exists: all undefined, and nothing is created", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      expect(yield* stampsWith(MemoryStorage.layer(store), multi.metainfo, root)).toEqual(multi.metainfo.files.map(() => undefined))
      expect(store.contents(root, infoHashHex(multi.metainfo))).toBeUndefined()
    }))

  it.scopedLive("stamps after an open to write: each stored file's length, none for pad or symlink", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      const layer = MemoryStorage.layer(store)
      const opened = yield* withStorage(layer, multi.metainfo, root, (s) => s.stamps)
      const stamps = yield* stampsWith(layer, multi.metainfo, root)
      expect(opened).toEqual(stamps)
      multi.metainfo.files.forEach((file, i) => {
        if (storedMulti.includes(i)) expect(stamps[i]?.size).toBe(file.length)
        else expect(stamps[i]).toBeUndefined()
      })
      // Distinct mtimes, one per file created.
      const mtimes = storedMulti.map((i) => stamps[i]?.mtimeNs)
      expect(new Set(mtimes).size).toBe(storedMulti.length)
    }))

  it.scopedLive("open read-only on nothing creates nothing; reads name the missing file; writes fail", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      yield* withReadOnly(MemoryStorage.layer(store), multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          const read = yield* Effect.flip(s.read(0, 0, 100))
          expect(read._tag).toBe("StorageError")
          expect(read.path).toBe(multiPath(root, 0))
          expect(read.message).toContain(multiPath(root, 0))
          const write = yield* Effect.flip(s.write(0, 0, multi.payload.subarray(0, 100)))
          expect(write.reason).toBe("Write")
          expect(write.path).toBe(multiPath(root, 0))
          expect(write.detail).toContain("read only")
          expect(yield* s.stamps).toEqual(multi.metainfo.files.map(() => undefined))
        }))
      expect(store.contents(root, infoHashHex(multi.metainfo))).toBeUndefined()
      expect(store.writes).toBe(0)
    }))

  it.scopedLive("open read-only over seeded data reads it, fails on a deleted file, never writes; syncAll succeeds", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      store.seed(root, multi.metainfo, multi.payload)
      store.deleteFile(root, multi.metainfo, 3)
      const before = yield* stampsWith(MemoryStorage.layer(store), multi.metainfo, root)
      expect(before[3]).toBeUndefined()
      yield* withReadOnly(MemoryStorage.layer(store), multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          const size = Layout.pieceSize(layoutMulti, 3)
          expect(Buffer.from(yield* s.read(3, 0, size)).equals(slice(multi.payload, layoutMulti, 3, 0, size))).toBe(true)
          const error = yield* Effect.flip(s.read(0, 0, 32768))
          expect(error.path).toBe(multiPath(root, 3))
          const write = yield* Effect.flip(s.write(3, 0, new Uint8Array(100)))
          expect(write.reason).toBe("Write")
          yield* s.syncAll
        }))
      expect(store.syncs).toBe(1)
      expect(store.writes).toBe(0)
      expect(yield* stampsWith(MemoryStorage.layer(store), multi.metainfo, root)).toEqual(before)
    }))

  it.scopedLive("TorrentStorage.stamps after a write shows the written file's new mtime, the others' as before", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      yield* withStorage(MemoryStorage.layer(store), multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          const before = yield* s.stamps
          yield* s.write(0, 100, multi.payload.subarray(100, 200))
          const after = yield* s.stamps
          expect(after[0]?.size).toBe(30000)
          expect(after[0]!.mtimeNs > before[0]!.mtimeNs).toBe(true)
          expect(after.slice(1)).toEqual(before.slice(1))
        }))
    }))

  it.scopedLive("corrupt with touch changes the file's stamp; without touch the stamp stays as it was", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      const layer = MemoryStorage.layer(store)
      store.seed(root, multi.metainfo, multi.payload)
      const seeded = yield* stampsWith(layer, multi.metainfo, root)
      // A byte of four.bin (file 5), invisible to the stamps.
      store.corrupt(root, multi.metainfo, 70000, { touch: false })
      expect(yield* stampsWith(layer, multi.metainfo, root)).toEqual(seeded)
      expect(store.contents(root, infoHashHex(multi.metainfo))![70000]).toBe(multi.payload[70000]! ^ 0xff)
      // A byte of two.bin (file 2), as an editor would change it.
      store.corrupt(root, multi.metainfo, 30500, { touch: true })
      const touched = yield* stampsWith(layer, multi.metainfo, root)
      expect(touched[2]?.size).toBe(seeded[2]?.size)
      expect(touched[2]?.mtimeNs).not.toBe(seeded[2]?.mtimeNs)
      expect(touched.filter((_, i) => i !== 2)).toEqual(seeded.filter((_, i) => i !== 2))
    }))

  it.scopedLive("deleteFile makes TorrentStorage.stamps fail with Missing naming the file", () =>
    Effect.gen(function*() {
      const store = MemoryStore.make()
      const error = yield* withStorage(MemoryStorage.layer(store), multi.metainfo, root, (s) =>
        Effect.gen(function*() {
          yield* s.write(0, 30000, multi.payload.subarray(30000, 31000))
          yield* s.stamps
          store.deleteFile(root, multi.metainfo, 2)
          return yield* Effect.flip(s.stamps)
        }))
      expect(error.reason).toBe("Missing")
      expect(error.path).toBe(multiPath(root, 2))
      expect(error.message).toContain(multiPath(root, 2))
      // The service, which opens nothing, says the file is not there.
      expect((yield* stampsWith(MemoryStorage.layer(store), multi.metainfo, root))[2]).toBeUndefined()
    }))
})
