import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Deferred from "effect/Deferred"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FastCheck from "effect/FastCheck"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Bencode, isDict } from "../../../src/domain/Bencode.js"
import { decode } from "../../../src/protocol/Bencode.js"
import { decodeTorrent } from "../../../src/protocol/TorrentFile.js"
import {
  autoPieceLength,
  checkPieceLength,
  createdBy,
  type CreateOptions,
  createTorrent,
  parsePieceLength
} from "../../../src/services/create/CreateTorrent.js"
import { type Batch, inlineHasher, workerPool } from "../../../src/services/create/FileHashing.js"
import { requiredInCi } from "../../support/skips.js"
import { runUnprivileged } from "../../support/unprivileged.js"
import unreadableFile from "./unreadableFile.case.js"
import { randomBytes } from "../../support/torrents.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-create-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Repeatable pseudo-random bytes (the test kit's), so failures reproduce. */
const data = (length: number, seed: number): Buffer => Buffer.from(randomBytes(length, seed))

const write = (root: string, relative: string, bytes: Uint8Array) => {
  const at = path.join(root, ...relative.split("/"))
  fs.mkdirSync(path.dirname(at), { recursive: true })
  fs.writeFileSync(at, bytes)
}

const sha1Pieces = (payload: Uint8Array, pieceLength: number): Buffer => {
  const hashes: Array<Buffer> = []
  for (let at = 0; at < payload.length; at += pieceLength) {
    hashes.push(createHash("sha1").update(payload.subarray(at, at + pieceLength)).digest())
  }
  return Buffer.concat(hashes)
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

/** The hashing worker as `npm run build` (the pretest step) bundles it. */
const workerScript = path.resolve("dist/hash-worker.cjs")

const base: Omit<CreateOptions, "path"> = { announce: ["http://tracker.test/announce"], creationDate: 1_700_000_000, workerScript }

const topLevel = (bytes: Uint8Array): ReadonlyMap<string, Bencode> => {
  const value = Either.getOrThrow(decode(bytes)).value
  if (!isDict(value)) throw new Error("not a dict")
  return value
}

/**
 * A tree with nested folders, a hidden file, zero-length files, odd sizes, an empty folder, a name that
 * sorts differently by components than as a whole path ("a/..." before "a-c.txt") and a non-ASCII name.
 * Listed in the order the torrent must give.
 */
const tree: ReadonlyArray<readonly [string, number]> = [
  [".hidden", 333],
  ["A.txt", 16384],
  ["a/sub/deep.bin", 7],
  ["a/y.bin", 40_001],
  ["a/z.bin", 0],
  ["a-c.txt", 12_345],
  ["b.txt", 1],
  ["\u00e9t\u00e9.txt", 20_000]
]

const makeTree = (root: string, entries: ReadonlyArray<readonly [string, number]>) => {
  const payload: Array<Buffer> = []
  // Written in reverse so that creation order is not the torrent order.
  for (const [i, [name, length]] of [...entries.entries()].reverse()) write(root, name, data(length, i + 1))
  for (const [i, [, length]] of entries.entries()) payload.push(data(length, i + 1))
  return Buffer.concat(payload)
}

describe("createTorrent", () => {
  it.scoped("a single file: single-file torrent, pieces hashed, trackers and fields written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "movie.mkv")
      const payload = data(100_000, 7)
      fs.writeFileSync(file, payload)
      const { bytes, metainfo, warnings } = yield* createTorrent({
        ...base,
        path: file,
        pieceLength: 32768,
        comment: "a comment",
        workers: 0
      })
      expect(metainfo).toMatchObject({
        multiFile: false, name: "movie.mkv", totalLength: 100_000, pieceLength: 32768, pieceCount: 4, private: false,
        announce: "http://tracker.test/announce", announceList: [], urlList: [], comment: "a comment", createdBy,
        creationDate: 1_700_000_000
      })
      expect(sameBytes(metainfo.pieces, sha1Pieces(payload, 32768))).toBe(true)
      expect(sameBytes(metainfo.infoHash!, createHash("sha1").update(metainfo.infoBytes).digest())).toBe(true)
      expect(warnings).toEqual([])
      const top = topLevel(bytes)
      expect([...top.keys()]).toEqual(["announce", "comment", "created by", "creation date", "info"])
      const info = top.get("info")
      expect(isDict(info) ? [...info.keys()] : undefined).toEqual(["length", "name", "piece length", "pieces"])
    }), 10_000)

  it.scoped("a folder: files in byte order of their path components, pieces spanning files", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "My Folder")
      const payload = makeTree(root, tree)
      fs.mkdirSync(path.join(root, "empty", "inner"), { recursive: true })
      fs.symlinkSync("b.txt", path.join(root, "link"))
      fs.symlinkSync("..", path.join(root, "a", "loop"))
      const { metainfo, warnings } = yield* createTorrent({ ...base, path: root, pieceLength: 16384, workers: 0 })
      expect(metainfo.multiFile).toBe(true)
      expect(metainfo.name).toBe("My Folder")
      expect(metainfo.files.map((f) => f.path.join("/"))).toEqual(tree.map(([name]) => name))
      expect(metainfo.files.map((f) => f.length)).toEqual(tree.map(([, length]) => length))
      expect(metainfo.totalLength).toBe(payload.length)
      expect(metainfo.pieceCount).toBe(Math.ceil(payload.length / 16384))
      expect(sameBytes(metainfo.pieces, sha1Pieces(payload, 16384))).toBe(true)
      expect(warnings).toEqual([
        "skipped symbolic link a/loop (links are not followed)",
        "skipped symbolic link link (links are not followed)"
      ])
    }), 10_000)

  it.scoped("several batches on worker threads give the same torrent as hashing inline", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "big")
      // About 9.5 MiB in 16 KiB pieces: three batches of 4 MiB, files crossing batch boundaries.
      const entries: ReadonlyArray<readonly [string, number]> = [
        ["1.bin", 3_000_001],
        ["2/x.bin", 0],
        ["2/y.bin", 2_500_000],
        ["3.bin", 4_444_444]
      ]
      const payload = makeTree(root, entries)
      const seen: Array<readonly [number, number]> = []
      const options = { ...base, path: root, pieceLength: 16384 }
      const threaded = yield* createTorrent({ ...options, workers: 2, onProgress: (h, t) => seen.push([h, t]) })
      const single = yield* createTorrent({ ...options, workers: 0 })
      expect(sameBytes(threaded.metainfo.pieces, sha1Pieces(payload, 16384))).toBe(true)
      expect(sameBytes(threaded.bytes, single.bytes)).toBe(true)
      expect(seen[0]).toEqual([0, payload.length])
      expect(seen.at(-1)).toEqual([payload.length, payload.length])
      expect(seen.length).toBe(4)
      expect(seen.every(([h], i) => i === 0 || h > seen[i - 1]![0])).toBe(true)
    }), 20_000)

  it.scoped("names are kept as raw bytes; FIFOs skipped; a link given as the path is followed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "raw")
      fs.mkdirSync(root)
      const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]) // "café" in Latin-1: not UTF-8
      fs.writeFileSync(Buffer.concat([Buffer.from(root + "/"), latin1]), "abc")
      fs.writeFileSync(path.join(root, "plain"), "de")
      const fifo = spawnSync("mkfifo", [path.join(root, "pipe")], { timeout: 5_000 }).status === 0
      fs.symlinkSync(root, path.join(dir, "alias"))
      const { metainfo, warnings } = yield* createTorrent({ ...base, path: path.join(dir, "alias"), workers: 0 })
      expect(metainfo.name).toBe("alias")
      expect(metainfo.files.map((f) => Buffer.from(f.rawPath[0]!).toString("hex"))).toEqual([
        latin1.toString("hex"),
        Buffer.from("plain").toString("hex")
      ])
      expect(sameBytes(metainfo.pieces, sha1Pieces(Buffer.from("abcde"), 16384))).toBe(true)
      if (fifo) expect(warnings).toContain("skipped pipe: not a regular file or folder")
    }), 10_000)

  it.scoped("interrupted while hashing on workers, it stops at once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "stop")
      makeTree(root, [["a.bin", 12 * 1024 * 1024]])
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(createTorrent({
        ...base,
        path: root,
        pieceLength: 16384,
        workers: 2,
        onProgress: (hashed) => {
          if (hashed > 0) Deferred.unsafeDone(started, Exit.void)
        }
      }))
      yield* Deferred.await(started)
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.timeout("5 seconds"))
      expect(Exit.isInterrupted(exit)).toBe(true)
    }), 10_000)

  it.scoped("the same content and creation date give the same bytes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "same")
      makeTree(root, tree)
      const options = { ...base, path: root, private: true, webSeeds: ["http://seed.test/files/"], workers: 1 }
      const first = yield* createTorrent(options)
      const second = yield* createTorrent(options)
      expect(sameBytes(first.bytes, second.bytes)).toBe(true)
      const later = yield* createTorrent({ ...options, creationDate: 1_700_000_001 })
      expect(sameBytes(later.bytes, first.bytes)).toBe(false)
      expect(later.metainfo.infoHash).toEqual(first.metainfo.infoHash)
    }), 10_000)

  it.scoped("trackers (or none), private flag, web seeds and the creation date from the Clock", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "f")
      fs.writeFileSync(file, data(10, 3))
      const created = yield* createTorrent({
        path: file,
        announce: ["udp://a.test:6969", "http://b.test/announce", "udp://a.test:6969"],
        private: true,
        webSeeds: ["http://s1.test/f", "https://s2.test/f"]
      })
      expect(created.metainfo).toMatchObject({
        announce: "udp://a.test:6969",
        announceList: [["udp://a.test:6969"], ["http://b.test/announce"]],
        private: true,
        urlList: ["http://s1.test/f", "https://s2.test/f"],
        creationDate: 0, // the TestClock's time
        pieceLength: 16384
      })
      expect(created.warnings).toEqual(["tracker udp://a.test:6969 given twice (kept once)"])
      const info = topLevel(created.bytes).get("info")
      expect(isDict(info) ? info.get("private") : undefined).toBe(1)
    }), 10_000)

})

describe("createTorrent errors", () => {
  // A success must fail the test with a short message: vitest would take minutes to print the torrent.
  const failureOf = (options: CreateOptions) =>
    Effect.flip(Effect.flatMap(createTorrent(options), (c) => Effect.dieMessage(`made ${c.metainfo.name}, expected a failure`)))
  const reasonOf = (options: CreateOptions) => Effect.map(failureOf(options), (e) => e.reason)

  it.scoped("missing path, empty content, bad piece length, bad URL", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      expect(yield* reasonOf({ ...base, path: path.join(dir, "nothing") })).toBe("PathMissing")
      fs.mkdirSync(path.join(dir, "hollow", "deeper"), { recursive: true })
      fs.writeFileSync(path.join(dir, "hollow", "deeper", "zero"), "")
      expect(yield* reasonOf({ ...base, path: path.join(dir, "hollow") })).toBe("Empty")
      fs.writeFileSync(path.join(dir, "zero"), "")
      expect(yield* reasonOf({ ...base, path: path.join(dir, "zero") })).toBe("Empty")
      fs.writeFileSync(path.join(dir, "one"), "1")
      for (const pieceLength of [0, 8192, 3 * 16384, 16384.5, 128 * 1024 * 1024]) {
        expect(yield* reasonOf({ ...base, path: path.join(dir, "one"), pieceLength })).toBe("PieceLength")
      }
      expect(yield* reasonOf({ ...base, path: path.join(dir, "one"), announce: ["not a url"] })).toBe("InvalidUrl")
      expect(yield* reasonOf({ ...base, path: path.join(dir, "one"), webSeeds: ["::"] })).toBe("InvalidUrl")
      expect(yield* reasonOf({ ...base, path: "/" })).toBe("PathInvalid")
    }), 10_000)

  it.scoped("a file that shrinks while being hashed is unreadable", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "shrinking")
      makeTree(root, [["a.bin", 8.5 * 1024 * 1024], ["b.bin", 1024 * 1024]])
      // Batches of 4 MiB, hashed inline two at a time: the third, where b.bin starts, begins only after
      // one of the first two is reported. Cut b.bin then.
      const error = yield* failureOf({
        ...base,
        path: root,
        pieceLength: 16384,
        workers: 0,
        onProgress: (hashed) => {
          if (hashed > 0) fs.truncateSync(path.join(root, "b.bin"), 10)
        }
      })
      expect(error.reason).toBe("Unreadable")
      expect(error.message).toContain("b.bin")
      expect(error.message).toContain("shorter")
    }), 10_000)

  // Run as the user nobody when the tests run as root, who reads a file whatever its mode.
  it.scoped("a file without read permission is unreadable", () =>
    Effect.gen(function*() {
      const found = yield* runUnprivileged(unreadableFile)
      expect(found.reason).toBe("Unreadable")
      expect(found.message).toBe(`cannot read ${found.file}: permission denied`)
    }), 30_000)
})

describe("piece length", () => {
  const KiB = 1024
  const MiB = 1024 * KiB
  const GiB = 1024 * MiB

  it("the smallest power of two giving at most 2048 pieces, from 16 KiB to 16 MiB", () => {
    expect(autoPieceLength(1)).toBe(16 * KiB)
    expect(autoPieceLength(32 * MiB)).toBe(16 * KiB)
    expect(autoPieceLength(32 * MiB + 1)).toBe(32 * KiB)
    expect(autoPieceLength(700 * MiB)).toBe(512 * KiB)
    expect(autoPieceLength(GiB)).toBe(512 * KiB)
    expect(autoPieceLength(GiB + 1)).toBe(MiB)
    expect(autoPieceLength(32 * GiB)).toBe(16 * MiB)
    expect(autoPieceLength(1024 * GiB)).toBe(16 * MiB)
  })

  it.prop("between 1025 and 2048 pieces unless at a bound", [FastCheck.integer({ min: 1, max: 2 ** 47 })], ([total]) => {
    const length = autoPieceLength(total)
    const count = Math.ceil(total / length)
    expect(Either.isRight(checkPieceLength(length))).toBe(true)
    expect(length).toBeLessThanOrEqual(16 * MiB)
    if (length < 16 * MiB) expect(count).toBeLessThanOrEqual(2048)
    if (length > 16 * KiB) expect(count).toBeGreaterThan(1024)
  })

  it.prop("parsing any text gives a piece length or a PieceLength error", [FastCheck.string()], ([text]) => {
    const parsed = parsePieceLength(text)
    if (Either.isRight(parsed)) expect(Either.isRight(checkPieceLength(parsed.right))).toBe(true)
    else expect(parsed.left.reason).toBe("PieceLength")
  })

  it("parses bytes and K/M suffixes; refuses what is not a power of two from 16 KiB to 64 MiB", () => {
    expect(parsePieceLength("16384")).toEqual(Either.right(16384))
    expect(parsePieceLength("256K")).toEqual(Either.right(256 * KiB))
    expect(parsePieceLength("256kib")).toEqual(Either.right(256 * KiB))
    expect(parsePieceLength("4M")).toEqual(Either.right(4 * MiB))
    expect(parsePieceLength("4MiB")).toEqual(Either.right(4 * MiB))
    expect(parsePieceLength("64M")).toEqual(Either.right(64 * MiB))
    for (const bad of ["", "abc", "8K", "100000", "128M", "1G", "-16384", "16K16"]) {
      expect(Either.map(Either.flip(parsePieceLength(bad)), (e) => e.reason)).toEqual(Either.right("PieceLength"))
    }
  })
})

describe("FileHashing", () => {
  it.scoped("workers read and hash batches of segments like the inline hasher, and report read errors", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "content")
      const content = data(200_000, 9)
      fs.writeFileSync(file, content)
      const pool = yield* workerPool(2, workerScript)
      // Batches of segments in odd places, several of the same file, sent at once to both workers.
      const batches: ReadonlyArray<Batch> = [0, 1, 2, 3, 4].map((i) => ({
        segments: [
          { at: file, position: 1000 * i, length: 30_000 + i },
          { at: Buffer.from(file), position: 100_000 + 7 * i, length: 20_000 }
        ],
        length: 50_000 + i,
        pieceLength: 16384
      }))
      const expected = batches.map((b) =>
        sha1Pieces(Buffer.concat(b.segments.map((s) => content.subarray(s.position, s.position + s.length))), 16384)
      )
      const threaded = yield* Effect.forEach(batches, pool.hash, { concurrency: "unbounded" })
      const here = yield* Effect.forEach(batches, inlineHasher().hash)
      expect(threaded.map((h) => Buffer.from(h).toString("hex"))).toEqual(expected.map((h) => h.toString("hex")))
      expect(here.map((h) => Buffer.from(h).toString("hex"))).toEqual(expected.map((h) => h.toString("hex")))

      const missing = { segments: [{ at: path.join(dir, "gone"), position: 0, length: 10 }], length: 10, pieceLength: 16384 }
      const pastEnd = { segments: [{ at: file, position: 199_995, length: 10 }], length: 10, pieceLength: 16384 }
      for (const hasher of [pool, inlineHasher()]) {
        const gone = yield* Effect.flip(hasher.hash(missing))
        expect([gone.reason, gone.message]).toEqual(["Unreadable", `cannot read ${path.join(dir, "gone")}: no such file or folder`])
        const short = yield* Effect.flip(hasher.hash(pastEnd))
        expect([short.reason, short.message]).toEqual(["Unreadable", `cannot read ${file}: it became shorter while hashing`])
      }
      // The pool still works after a failed read.
      expect(sameBytes(yield* pool.hash(batches[0]!), expected[0]!)).toBe(true)
    }), 10_000)
})

const installed = (program: string) => spawnSync(program, ["--version"], { timeout: 5_000 }).status === 0
const aria2c = installed("aria2c")
const transmissionCreate = installed("transmission-create")

describe("interop with aria2c", () => {
  requiredInCi(aria2c, "aria2c is not installed (apt-get install -y aria2)")

  it.scoped("aria2c reads the torrent made for a small folder and lists its files", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "share")
      makeTree(root, tree)
      const created = yield* createTorrent({
        ...base,
        path: root,
        announce: ["http://a.test/announce", "udp://b.test:6969"],
        webSeeds: ["http://seed.test/"],
        comment: "made by a test"
      })
      const file = path.join(dir, "share.torrent")
      fs.writeFileSync(file, created.bytes)
      const run = spawnSync("aria2c", ["--show-files=true", file], { timeout: 10_000, encoding: "utf8" })
      expect(run.status).toBe(0)
      for (const [name] of tree) expect(run.stdout).toContain(`./share/${name}`)
      expect(run.stdout).toContain(Buffer.from(created.metainfo.infoHash!).toString("hex"))
    }), 20_000)
})

describe("interop with transmission-create", () => {
  requiredInCi(transmissionCreate, "transmission-create is not installed (apt-get install -y transmission-cli)")

  // Transmission leaves out hidden and zero-length files, so the content here has neither.
  it.scoped("transmission-create hashes the same folder to the same pieces", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const root = path.join(dir, "pair")
      makeTree(root, [["x.bin", 150_001], ["y/z.bin", 70_000]])
      const ours = yield* createTorrent({ ...base, path: root, pieceLength: 16384 })
      const file = path.join(dir, "theirs.torrent")
      const run = spawnSync("transmission-create", ["-s", "16", "-o", file, root], { timeout: 10_000 })
      expect(run.status).toBe(0)
      const theirs = Either.getOrThrow(decodeTorrent(fs.readFileSync(file)))
      expect(theirs.files.map((f) => f.path.join("/"))).toEqual(["x.bin", "y/z.bin"])
      expect(sameBytes(ours.metainfo.pieces, theirs.pieces)).toBe(true)
    }), 20_000)
})
