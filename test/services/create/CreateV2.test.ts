/**
 * `create --v2` and `--hybrid` (BEP 52, BEP 47): the torrents made decode with our own parser, and every
 * pieces root, piece layer, pad file and v1 piece is checked against hashes computed here from the bytes
 * (MerkleTree over each file held whole, SHA-1 over the padded concatenation), on worker threads and on
 * the calling thread alike.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type BencodeDict, isBytes, isDict, isList, keyFromBytes } from "../../../src/domain/Bencode.js"
import { parseFileTree } from "../../../src/domain/FileTree.js"
import { MerkleTree } from "../../../src/domain/MerkleTree.js"
import { decode } from "../../../src/protocol/Bencode.js"
import { decodeTorrent } from "../../../src/protocol/TorrentFile.js"
import { versionFrom } from "../../../src/services/commands/Create.js"
import { type CreateOptions, createTorrent, type CreateVersion } from "../../../src/services/create/CreateTorrent.js"
import { type Batch, inlineHasher, workerPool } from "../../../src/services/create/FileHashing.js"
import { fileHashes, padAfter } from "../../../src/services/create/MerkleHashing.js"
import { randomBytes } from "../../support/torrents.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-create-v2-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Repeatable pseudo-random bytes (the test kit's), so failures reproduce. */
const data = (length: number, seed: number): Buffer => Buffer.from(randomBytes(length, seed))

const workerScript = path.resolve("dist/hash-worker.cjs")
const base: Omit<CreateOptions, "path"> = { announce: [], creationDate: 1_700_000_000, workerScript }
const pieceLength = 32768

/**
 * Files in the order the torrent must give them (each folder's names by their bytes, as the file tree's
 * keys sort): an empty file, one shorter than a leaf, one of exactly one piece, one several pieces long
 * (over 4 MiB: several batches, so that workers run) with a short last leaf, one whose last piece is half a piece (a whole leaf, the tree padded above it),
 * nested folders, a name sorting before its folder's sibling ("a" before "a-c"), an empty file last.
 */
const tree: ReadonlyArray<readonly [string, number]> = [
  ["a/deep/x.bin", 5 * 16384 + 3 * pieceLength],
  ["a/empty", 0],
  ["a-c.txt", 1234],
  ["big.bin", 150 * pieceLength + 5000],
  ["one.bin", pieceLength],
  ["zz", 0]
]

const makeTree = (root: string) =>
  tree.map(([name, length], i) => {
    const bytes = data(length, i + 11)
    const at = path.join(root, ...name.split("/"))
    fs.mkdirSync(path.dirname(at), { recursive: true })
    fs.writeFileSync(at, bytes)
    return bytes
  })

const topLevel = (bytes: Uint8Array): BencodeDict => {
  const value = Either.getOrThrow(decode(bytes)).value
  if (!isDict(value)) throw new Error("not a dict")
  return value
}

const dictAt = (d: BencodeDict | undefined, key: string): BencodeDict => {
  const v = d?.get(key)
  if (!isDict(v)) throw new Error(`${key} is not a dict`)
  return v
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/** The v1 files of a hybrid, as [path, length, attr]. */
const v1Files = (info: BencodeDict): Array<[string, number, string]> => {
  const files = info.get("files")
  if (!isList(files)) throw new Error("no files")
  return files.map((f) => {
    const d = f as BencodeDict
    const p = d.get("path") as ReadonlyArray<Uint8Array>
    const attr = d.get("attr")
    return [p.map((c) => Buffer.from(c).toString()).join("/"), d.get("length") as number, isBytes(attr) ? Buffer.from(attr).toString() : ""]
  })
}

/** Everything a v2 or hybrid torrent of `tree` must hold, checked against hashes made here. */
const checkTorrent = (bytes: Uint8Array, contents: ReadonlyArray<Buffer>, version: CreateVersion) => {
  const metainfo = Either.getOrThrow(decodeTorrent(bytes))
  expect(metainfo.version).toBe(version)
  expect(hex(metainfo.infoHashV2!)).toBe(createHash("sha256").update(metainfo.infoBytes).digest("hex"))
  const top = topLevel(bytes)
  const info = dictAt(top, "info")
  expect(info.get("meta version")).toBe(2)
  expect(info.get("piece length")).toBe(pieceLength)

  // The file tree: the files in order, each root and layer as MerkleTree makes them from the whole file.
  const v2 = Either.getOrThrow(parseFileTree(info.get("file tree")!))
  expect(v2.map((f) => f.rawPath.map((c) => Buffer.from(c).toString()).join("/"))).toEqual(tree.map(([name]) => name))
  const layers = dictAt(top, "piece layers")
  const expectedLayers = new Map<string, Uint8Array>()
  v2.forEach((file, i) => {
    const merkle = MerkleTree.fromBytes(contents[i]!)
    expect(file.length).toBe(contents[i]!.length)
    if (file.length === 0) {
      expect(file.piecesRoot).toBeUndefined()
      return
    }
    expect(hex(file.piecesRoot!), tree[i]![0]).toBe(hex(merkle.root))
    const layer = merkle.pieceLayer(pieceLength)
    if (layer !== undefined) expectedLayers.set(keyFromBytes(merkle.root), layer)
  })
  expect(layers.size).toBe(expectedLayers.size)
  for (const [key, layer] of expectedLayers) expect(hex(layers.get(key) as Uint8Array)).toBe(hex(layer))
  expect(metainfo.pieceLayerHashes).toBe([...expectedLayers.values()].reduce((n, l) => n + l.length / 32, 0))
  expect(metainfo.pieceCount).toBe(contents.reduce((n, c) => n + Math.ceil(c.length / pieceLength), 0))
  return { metainfo, info }
}

describe("create --v2 and --hybrid", () => {
  for (const workers of [0, 3]) {
    it.scoped(`v2 only (${workers === 0 ? "calling thread" : "worker threads"}): a file tree and piece layers, no v1 keys`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const contents = makeTree(path.join(dir, "share"))
        const { bytes } = yield* createTorrent({ ...base, path: path.join(dir, "share"), pieceLength, workers, version: "v2" })
        const { info, metainfo } = checkTorrent(bytes, contents, "v2")
        expect([...info.keys()]).toEqual(["file tree", "meta version", "name", "piece length"])
        expect(metainfo.infoHash).toBeUndefined()
        expect(metainfo.pieces.length).toBe(0)
      }), 20_000)

    it.scoped(`hybrid (${workers === 0 ? "calling thread" : "worker threads"}): pad files align every file, v1 pieces over the padded bytes`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const contents = makeTree(path.join(dir, "share"))
        const { bytes } = yield* createTorrent({ ...base, path: path.join(dir, "share"), pieceLength, workers, version: "hybrid" })
        const { info, metainfo } = checkTorrent(bytes, contents, "hybrid")
        expect([...info.keys()]).toEqual(["file tree", "files", "meta version", "name", "piece length", "pieces"])
        expect(hex(metainfo.infoHash!)).toBe(createHash("sha1").update(metainfo.infoBytes).digest("hex"))
        // The v1 list: the same files in the same order, a pad after each non-empty file but the last
        // that ends off a piece boundary, none after an empty file.
        const files = v1Files(info)
        expect(files.filter(([, , attr]) => attr !== "p").map(([p, length]) => [p, length])).toEqual(tree.map(([p, length]) => [p, length]))
        let offset = 0
        const padded: Array<Buffer> = []
        for (const [p, length, attr] of files) {
          if (attr === "p") {
            expect(p).toBe(`.pad/${length}`)
            expect(length).toBeGreaterThan(0)
            expect(length).toBeLessThan(pieceLength)
            padded.push(Buffer.alloc(length))
          } else {
            if (length > 0) expect(offset % pieceLength, p).toBe(0)
            padded.push(contents[tree.findIndex(([name]) => name === p)]!)
          }
          offset += length
        }
        expect(files.map(([p]) => p)).toEqual([
          "a/deep/x.bin", ".pad/16384", "a/empty", "a-c.txt", `.pad/${pieceLength - 1234}`, "big.bin", `.pad/${pieceLength - 5000}`, "one.bin", "zz"
        ])
        const payload = Buffer.concat(padded)
        const pieces: Array<Buffer> = []
        for (let at = 0; at < payload.length; at += pieceLength) pieces.push(createHash("sha1").update(payload.subarray(at, at + pieceLength)).digest())
        expect(hex(metainfo.pieces)).toBe(hex(Buffer.concat(pieces)))
        // Pieces roots reach the hybrid's v1 files too, in order.
        expect(metainfo.files.filter((f) => !f.pad).map((f) => (f.piecesRoot === undefined ? null : hex(f.piecesRoot)))).toEqual(
          contents.map((c) => (c.length === 0 ? null : hex(MerkleTree.fromBytes(c).root)))
        )
      }), 20_000)
  }

  it.scoped("a single file: the file tree holds it under the torrent's name, a hybrid keeps v1 `length`", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "movie.mkv")
      const bytes = data(3 * 16384 + 17, 3)
      fs.writeFileSync(file, bytes)
      for (const version of ["v2", "hybrid"] as const) {
        const made = yield* createTorrent({ ...base, path: file, pieceLength: 16384, workers: 0, version })
        const info = dictAt(topLevel(made.bytes), "info")
        const node = dictAt(dictAt(dictAt(info, "file tree"), "movie.mkv"), "")
        expect(hex(node.get("pieces root") as Uint8Array)).toBe(hex(MerkleTree.fromBytes(bytes).root))
        expect(made.metainfo.multiFile).toBe(false)
        if (version === "hybrid") expect([info.get("length"), info.has("files")]).toEqual([bytes.length, false])
      }
    }), 10_000)

  it.scoped("a piece length that is not a power of two is refused for v2 as for v1", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "f"), data(100, 1))
      const error = yield* Effect.flip(createTorrent({ ...base, path: path.join(dir, "f"), pieceLength: 20000, workers: 0, version: "v2" }))
      expect(error.reason).toBe("PieceLength")
    }))

  it("--v1, --v2, --hybrid: at most one", () => {
    const run = (flags: { v1: boolean; v2: boolean; hybrid: boolean }) => Effect.runSync(Effect.either(versionFrom(flags)))
    expect(run({ v1: false, v2: false, hybrid: false })).toEqual(Either.right("v1"))
    expect(run({ v1: false, v2: true, hybrid: false })).toEqual(Either.right("v2"))
    expect(run({ v1: false, v2: false, hybrid: true })).toEqual(Either.right("hybrid"))
    const both = run({ v1: true, v2: false, hybrid: true })
    expect(Either.isLeft(both) && both.left.message).toBe("--v1 and --hybrid: give at most one")
  })
})

describe("v2 hashing pieces", () => {
  it("a file's root and layer from its pieces' own roots equal MerkleTree's over the whole file", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 0, max: 10 * 65536 }), FastCheck.constantFrom(16384, 32768, 65536), (length, pl) => {
        const bytes = data(length, length + 1)
        const roots: Array<Uint8Array> = []
        for (let at = 0; at < length; at += pl) roots.push(MerkleTree.fromBytes(bytes.subarray(at, at + pl)).root)
        const got = fileHashes(Buffer.concat(roots), length, pl)
        const tree = MerkleTree.fromBytes(bytes)
        expect(got.root === undefined ? undefined : hex(got.root)).toBe(length === 0 ? undefined : hex(tree.root))
        const layer = tree.pieceLayer(pl)
        expect(got.layer === undefined ? undefined : hex(got.layer)).toBe(layer === undefined ? undefined : hex(layer))
      }),
      { numRuns: 60, examples: [[0, 16384], [1, 16384], [16384, 16384], [16385, 16384], [5 * 16384 + 1, 65536], [65536 + 16384, 65536]] }
    )
  })

  it("pads after every non-empty file that ends off a boundary, the last one too (as libtorrent 2.0.8)", () => {
    const files = [{ length: 10 }, { length: 0 }, { length: 16384 }, { length: 16385 }, { length: 7 }]
    expect(files.map((_, i) => padAfter(files, i, 16384))).toEqual([16374, 0, 0, 16383, 16377])
  })

  it.scoped("workers hash v2 and hybrid batches as the calling thread does", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "content")
      const content = data(300_000, 5)
      fs.writeFileSync(file, content)
      const pool = yield* workerPool(2, workerScript)
      const batches: ReadonlyArray<Batch> = (["v2", "hybrid"] as const).flatMap((layout) => [0, 1, 2].map((i) => ({
        segments: [
          { at: file, position: 32768 * i, length: 70_000 + i, padded: true },
          { at: file, position: 131072, length: 32768 * 2 }
        ],
        length: 70_000 + i + 65536,
        pieceLength: 32768,
        layout
      })))
      const threaded = yield* Effect.forEach(batches, pool.hashes, { concurrency: "unbounded" })
      const here = yield* Effect.forEach(batches, inlineHasher().hashes)
      const shown = (r: { hashes: Uint8Array; roots?: Uint8Array }) => [hex(r.hashes), hex(r.roots ?? new Uint8Array())]
      expect(threaded.map(shown)).toEqual(here.map(shown))
      for (const [i, batch] of batches.entries()) {
        const k = i % 3
        const first = content.subarray(32768 * k, 32768 * k + 70_000 + k)
        // Three pieces of the first segment, then two of the second.
        expect(here[i]!.roots!.length).toBe(5 * 32)
        expect(hex(here[i]!.roots!.subarray(64, 96))).toBe(hex(MerkleTree.fromBytes(first.subarray(65536)).root))
        if (batch.layout === "hybrid") {
          const lastPadded = Buffer.concat([first.subarray(65536), Buffer.alloc(3 * 32768 - first.length)])
          expect(hex(here[i]!.hashes.subarray(40, 60))).toBe(createHash("sha1").update(lastPadded).digest("hex"))
        } else {
          expect(here[i]!.hashes.length).toBe(0)
        }
      }
    }), 10_000)
})
