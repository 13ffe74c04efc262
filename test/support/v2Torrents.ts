/**
 * v2-only and hybrid .torrent bytes (BEP 52, BEP 47) from file contents held in memory, for swarm tests:
 * the `file tree` with each file's `pieces root`, `meta version` 2, the `piece layers` of the files
 * longer than a piece, and for a hybrid the v1 `files` with a pad file after each file that does not end
 * on a piece boundary (the last one too, as libtorrent 2.0.8 and `create` pad it, unless `lastPad` is
 * false: BEP 47's reading, a short last piece), and `pieces` (SHA-1) over that padded space.
 *
 * Made apart from `create` (src/services/create) on purpose, from MerkleTree and the BEPs, so that
 * v2.test.ts can hold the two to the same info hashes. The payload returned is the torrent's piece space
 * as bt-effect lays it out: a v2-only torrent has a pad after every file not ending on a piece boundary,
 * the last one too (MetainfoDecode's `alignedV2`, as libtorrent 2.0); a hybrid has the pads its v1 list
 * names. `dataRanges` are the files' bytes in that space, for tests that tell pad from data.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"
import { type Bencode, bytes, keyFromBytes } from "../../src/domain/Bencode.js"
import { MerkleTree } from "../../src/domain/MerkleTree.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import { encode } from "../../src/protocol/Bencode.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import type { TestFile, TestTorrent } from "./torrents.js"

export interface V2Torrent extends TestTorrent {
  /** The files in torrent order (each folder's names sorted by their bytes, as the file tree has them). */
  readonly files: ReadonlyArray<TestFile>
  /** Each file's bytes in the piece space: [start, end). Empty files included (start = end). */
  readonly dataRanges: ReadonlyArray<readonly [number, number]>
}

export interface V2TorrentOptions {
  readonly name: string
  /** A power of two, at least 16 KiB. */
  readonly pieceLength: number
  /** Files of a multi-file torrent, in any order. */
  readonly files: ReadonlyArray<TestFile>
  readonly version: "v2" | "hybrid"
  readonly announce?: string
  /** A hybrid: a pad after the last file too (default true, as `create` and libtorrent 2.0.8 make them). */
  readonly lastPad?: boolean
  /** A hybrid's v1 `pieces` hashed over these contents instead (same paths and lengths): a torrent whose
   *  two halves disagree, for tests of the check that wants both. */
  readonly sha1Over?: ReadonlyArray<TestFile>
  /** The `file tree`'s roots and `piece layers` made from these contents instead (same paths and lengths). */
  readonly merkleOver?: ReadonlyArray<TestFile>
}

const comparePaths = (a: TestFile, b: TestFile): number => {
  for (let i = 0; i < Math.min(a.path.length, b.path.length); i++) {
    const c = Buffer.compare(Buffer.from(a.path[i]!), Buffer.from(b.path[i]!))
    if (c !== 0) return c
  }
  return a.path.length - b.path.length
}

const sorted = (files: ReadonlyArray<TestFile>) => [...files].sort(comparePaths)

/** The same paths' contents in `files`' order, lengths held equal. */
const matching = (files: ReadonlyArray<TestFile>, other: ReadonlyArray<TestFile> | undefined): ReadonlyArray<TestFile> => {
  if (other === undefined) return files
  const byPath = new Map(other.map((f) => [f.path.join("/"), f.data]))
  return files.map((f) => {
    const data = byPath.get(f.path.join("/"))
    if (data === undefined || data.length !== f.data.length) throw new RangeError(`no stand-in of ${f.data.length} bytes for ${f.path.join("/")}`)
    return { path: f.path, data }
  })
}

/** The pad after file `i`: none after an empty file or one ending a piece; after the last only if `last`. */
const padAfter = (files: ReadonlyArray<TestFile>, i: number, pieceLength: number, last: boolean): number => {
  const length = files[i]!.data.length
  return (i === files.length - 1 && !last) || length % pieceLength === 0 ? 0 : pieceLength - (length % pieceLength)
}

/** The files one after another, each followed by its pad of zeros. */
const pieceSpace = (files: ReadonlyArray<TestFile>, pad: (i: number) => number) => {
  const parts: Array<Uint8Array> = []
  const ranges: Array<readonly [number, number]> = []
  let at = 0
  files.forEach((f, i) => {
    ranges.push([at, at + f.data.length])
    parts.push(f.data, new Uint8Array(pad(i)))
    at += f.data.length + pad(i)
  })
  return { payload: new Uint8Array(Buffer.concat(parts)), ranges }
}

const fileTree = (files: ReadonlyArray<TestFile>, trees: ReadonlyArray<MerkleTree>): Map<string, Bencode> => {
  const tree = new Map<string, Bencode>()
  files.forEach((f, i) => {
    let node = tree
    for (const component of f.path.slice(0, -1)) {
      const key = keyFromBytes(bytes(component))
      let child = node.get(key)
      if (!(child instanceof Map)) node.set(key, child = new Map<string, Bencode>())
      node = child as Map<string, Bencode>
    }
    const entry = new Map<string, Bencode>([["length", f.data.length]])
    if (f.data.length > 0) entry.set("pieces root", trees[i]!.root)
    node.set(keyFromBytes(bytes(f.path[f.path.length - 1]!)), new Map([["", entry]]))
  })
  return tree
}

export const makeV2Torrent = (options: V2TorrentOptions): V2Torrent => {
  const { pieceLength } = options
  const files = sorted(options.files)
  const hybrid = options.version === "hybrid"
  // A v2-only torrent's pads are bt-effect's layout, after every file; a hybrid's are the ones it names.
  const pad = (i: number) => padAfter(files, i, pieceLength, !hybrid || options.lastPad !== false)
  const trees = matching(files, options.merkleOver).map((f) => MerkleTree.fromBytes(f.data))
  const info = new Map<string, Bencode>([
    ["file tree", fileTree(files, trees)],
    ["meta version", 2],
    ["name", bytes(options.name)],
    ["piece length", pieceLength]
  ])
  if (hybrid) {
    const v1 = pieceSpace(matching(files, options.sha1Over), pad).payload
    const hashes: Array<Uint8Array> = []
    for (let at = 0; at < v1.length; at += pieceLength) hashes.push(createHash("sha1").update(v1.subarray(at, at + pieceLength)).digest())
    info.set("pieces", Buffer.concat(hashes))
    info.set("files", files.flatMap((f, i) => {
      const entry = new Map<string, Bencode>([["length", f.data.length], ["path", f.path.map(bytes)]])
      const n = pad(i)
      return n === 0 ? [entry] : [entry, new Map<string, Bencode>([["attr", bytes("p")], ["length", n], ["path", [bytes(".pad"), bytes(String(n))]]])]
    }))
  }
  const layers = new Map<string, Bencode>()
  for (const tree of trees) {
    const layer = tree.pieceLayer(pieceLength)
    if (layer !== undefined) layers.set(keyFromBytes(tree.root), layer)
  }
  const top = new Map<string, Bencode>([["info", info], ["piece layers", layers]])
  if (options.announce !== undefined) top.set("announce", bytes(options.announce))
  const encoded = encode(top)
  const metainfo: Metainfo = Either.getOrThrowWith(decodeTorrent(encoded), (e) => e)
  const { payload, ranges } = pieceSpace(files, pad)
  return { bytes: encoded, metainfo, payload, files, dataRanges: ranges }
}
