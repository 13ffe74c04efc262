/**
 * Fuzzing the .torrent decoder (src/protocol/TorrentFile.ts `decodeTorrent`, through bencode and
 * src/domain/MetainfoDecode.ts): arbitrary bytes, token soup in the metainfo's own keys, and mutations of
 * real-looking torrents (v1 single and multi-file, v2, hybrid, and the shared corpus when it is there).
 *
 * It must answer with a `Metainfo` or a `MetainfoError` of a known reason, in bounded time. A torrent it
 * accepts must be usable as the rest of bt-effect uses it: its hashes are those of its raw info bytes,
 * its files add up to its length and its pieces cover it, every path is sanitised and unique (ignoring
 * case), a layout and tracker tiers can be made from it, and it re-encodes to the same info hash.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { type Bencode, bytes, keyFromBytes } from "../../src/domain/Bencode.js"
import { MetainfoError, MetainfoErrorReason } from "../../src/domain/Errors.js"
import { toHex } from "../../src/domain/InfoHash.js"
import { LEAF_SIZE, rootOfLayer } from "../../src/domain/Merkle.js"
import { layoutOf, type Metainfo, trackerTiers } from "../../src/domain/Metainfo.js"
import { decode, encode } from "../../src/protocol/Bencode.js"
import { decodeTorrent, encodeTorrent } from "../../src/protocol/TorrentFile.js"
import { corpusDir, corpusPresent } from "../conformance/corpus.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { mutated } from "./mutations.js"
import * as Layout from "../../src/domain/Layout.js"
import { anyBytes, bencodeTokens, fuzz, runDecoder, tokenSoup } from "./support.js"

const isReason = Schema.is(MetainfoErrorReason)

const sha1 = (b: Uint8Array) => toHex(createHash("sha1").update(b).digest())
const sha256 = (b: Uint8Array) => toHex(createHash("sha256").update(b).digest())

/** What every accepted torrent must be, for the code that uses it next. */
const checkUsable = (m: Metainfo, input: Uint8Array): void => {
  expect(Buffer.from(input).includes(Buffer.from(m.infoBytes))).toBe(true)
  if (m.infoHash !== undefined) expect(toHex(m.infoHash)).toBe(sha1(m.infoBytes))
  if (m.infoHashV2 !== undefined) expect(toHex(m.infoHashV2)).toBe(sha256(m.infoBytes))
  expect(m.infoHash !== undefined || m.infoHashV2 !== undefined).toBe(true)
  expect(m.totalLength).toBeGreaterThan(0)
  // The files' bytes, pads left out; the piece space (the layout's) holds the pads too.
  expect(m.files.reduce((n, f) => (f.pad ? n : n + f.length), 0)).toBe(m.totalLength)
  const space = m.files.reduce((n, f) => n + f.length, 0)
  expect(m.pieceCount).toBeGreaterThan(0)
  expect(m.pieceCount).toBe(Math.ceil(space / m.pieceLength))
  if (m.version !== "v2") expect(m.pieces.length).toBe(20 * m.pieceCount)
  const seen = new Set<string>()
  for (const f of m.files) {
    expect(f.path.length).toBeGreaterThan(0)
    for (const c of f.path) {
      expect(c === "" || c === "." || c === ".." || /[/\\\u0000]/.test(c), `unsafe component ${JSON.stringify(c)}`).toBe(false)
    }
    const key = f.path.join("/").toLowerCase()
    expect(seen.has(key), `two files at ${key}`).toBe(false)
    seen.add(key)
  }
  const layout = runDecoder("layoutOf", () => layoutOf(m))
  expect(layout.totalLength).toBe(space)
  expect(Layout.dataLength(layout)).toBe(m.totalLength)
  runDecoder("trackerTiers", () => trackerTiers(m))
  const again = runDecoder("decodeTorrent(encodeTorrent(m))", () => decodeTorrent(encodeTorrent(m)))
  expect(Either.isRight(again) && toHex(again.right.infoBytes)).toBe(toHex(m.infoBytes))
}

const check = (input: Uint8Array): void => {
  const result = runDecoder("decodeTorrent", () => decodeTorrent(input))
  if (Either.isLeft(result)) {
    expect(result.left).toBeInstanceOf(MetainfoError)
    expect(isReason(result.left.reason), result.left.reason).toBe(true)
    return
  }
  checkUsable(result.right, input)
}

// ---------------------------------------------------------------------------------------------------------
// Valid torrents

const map = (entries: ReadonlyArray<readonly [string, Bencode]>): Map<string, Bencode> => new Map(entries)

/** A v2 torrent (or a hybrid, with its v1 files padded to piece boundaries): two files, one layer. */
const v2Torrent = (hybrid: boolean): Uint8Array => {
  const pieceLength = 16384
  const layer = randomBytes(64, 7)
  const bigRoot = rootOfLayer(layer, pieceLength / LEAF_SIZE)
  const smallRoot = randomBytes(32, 8)
  const tree = map([
    ["a.bin", map([["", map([["length", 20000], ["pieces root", bigRoot]])]])],
    ["dir", map([["b.txt", map([["", map([["length", 5000], ["pieces root", smallRoot]])]])]])]
  ])
  const info = map([["file tree", tree], ["meta version", 2], ["name", bytes("v2fuzz")], ["piece length", pieceLength]])
  if (hybrid) {
    const file = (length: number, p: ReadonlyArray<string>, attr?: string) =>
      map([["length", length], ["path", p.map(bytes)], ...(attr === undefined ? [] : [["attr", bytes(attr)] as const])])
    info.set("files", [file(20000, ["a.bin"]), file(12768, [".pad", "12768"], "p"), file(5000, ["dir", "b.txt"])])
    info.set("pieces", randomBytes(60, 9))
  }
  return encode(
    map([
      ["announce", bytes("udp://tracker.example:6969/announce")],
      ["info", info],
      ["piece layers", map([[keyFromBytes(bigRoot), layer]])]
    ])
  )
}

/** A v1 torrent with the optional top-level keys, re-encoded around its info dictionary. */
const withExtras = (torrent: Uint8Array): Uint8Array => {
  const top = Either.getOrThrow(decode(torrent)).value
  if (!(top instanceof Map)) throw new Error("not a dictionary")
  return encode(
    new Map<string, Bencode>([
      ...top,
      ["comment", bytes("fuzz seed")],
      ["created by", bytes("bt-effect test")],
      ["creation date", 1_700_000_000],
      ["url-list", [bytes("http://seed.example/files/"), bytes("http://other.example/")]]
    ])
  )
}

const builtSeeds: ReadonlyArray<Uint8Array> = [
  makeTorrent({ name: "single.bin", pieceLength: 16384, files: [{ path: ["single.bin"], data: randomBytes(40000, 1) }] }).bytes,
  makeTorrent({
    name: "multi",
    pieceLength: 32768,
    files: [
      { path: ["a", "b", "c.txt"], data: randomBytes(1000, 2) },
      { path: ["A", "B", "C.TXT"], data: randomBytes(70000, 3) },
      { path: ["empty"], data: new Uint8Array(0) },
      { path: ["d.bin"], data: randomBytes(5, 4) }
    ],
    announce: "http://tracker.example/announce",
    announceList: [["http://tracker.example/announce", "udp://t2.example:80"], ["http://backup.example/a"]],
    private: true
  }).bytes,
  withExtras(
    makeTorrent({
      name: "extras",
      pieceLength: 16384,
      files: [{ path: ["x"], data: randomBytes(16384, 5) }],
      extraInfo: [["source", bytes("fuzz")]]
    }).bytes
  ),
  v2Torrent(false),
  v2Torrent(true)
]

/** The corpus's smaller torrents, when the shared corpus is beside the repository. */
const corpusSeeds: ReadonlyArray<Uint8Array> = corpusPresent
  ? fs
    .readdirSync(path.join(corpusDir, "torrents"), { recursive: true, encoding: "utf8" })
    .map((f) => path.join(corpusDir, "torrents", f))
    .filter((f) => fs.statSync(f).isFile() && fs.statSync(f).size <= 256 * 1024)
    .map((f) => new Uint8Array(fs.readFileSync(f)))
  : []

const seeds = FastCheck.constantFrom(...builtSeeds, ...corpusSeeds)

const tokens = bencodeTokens([
  "info", "name", "piece length", "pieces", "length", "files", "path", "attr", "private", "announce", "announce-list",
  "url-list", "file tree", "meta version", "pieces root", "piece layers", "symlink path", "", "p", ".."
])

describe("fuzz: metainfo", () => {
  it("starts from valid torrents of every version", () => {
    const versions = builtSeeds.map((b) => Either.map(decodeTorrent(b), (m) => m.version))
    expect(versions).toEqual(["v1", "v1", "v1", "v2", "hybrid"].map(Either.right))
  })

  fuzz("decodeTorrent: arbitrary bytes", anyBytes, check, 300)

  fuzz("decodeTorrent: metainfo token soup", tokenSoup(tokens, 300), check, 500)

  fuzz("decodeTorrent: mutations of valid torrents", mutated(seeds, { bencode: true }), check, 500)
})
