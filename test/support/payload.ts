/**
 * Payloads for interop tests and what a download must equal: deterministic content written under
 * `<dir>/data/<name>` with its .torrent (single-file, or a multi-file layout with nested folders, empty
 * and odd-sized files and pieces spanning files), other .torrent files for the same info hash, and the
 * sha256 checks that compare a download with its payload.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { type Bencode, bytes } from "../../src/domain/Bencode.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import { encode } from "../../src/protocol/Bencode.js"
import { makeTorrent, randomBytes, type TestFile, type TestTorrent } from "./torrents.js"
import * as Prng from "../../src/domain/Prng.js"

// ---------------------------------------------------------------------------------------------------------
// Payloads and torrents

export interface PayloadFile {
  /** Relative to the data folder, "/"-separated, starting with the torrent's name. */
  readonly path: string
  readonly length: number
  readonly sha256: string
}

export interface Payload {
  readonly torrentPath: string
  /** The folder that holds the content (`<dataDir>/<name>`): aria2c's --dir, bt-effect's --out. */
  readonly dataDir: string
  readonly name: string
  readonly infoHash: string
  readonly pieceLength: number
  readonly totalLength: number
  readonly files: ReadonlyArray<PayloadFile>
  readonly metainfo: Metainfo
}

export interface PayloadOptions {
  /** Default 256 KiB. */
  readonly pieceLength?: number
  readonly announce?: string
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
  /** Seed of the content and of the multi-file layout (default 1). */
  readonly seed?: number
  /** Single: the file's size (default 64 MiB). */
  readonly size?: number
  /** Multi: how many files (default 100). */
  readonly fileCount?: number
  readonly name?: string
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

const folders = [[], [], ["docs"], ["docs", "guides"], ["docs", "guides", "deep", "er", "still"], ["media"],
  ["media", "ünïcødé"], ["src", "a", "b"], ["src", "a", "c"], ["with space"], ["x"], ["x", "y", "z"]]
const specialNames = ["README", "name with spaces.txt", "ñandú.bin", "UPPER.DAT", "dots.in.name.tar.gz"]

/**
 * The multi-file layout: empty files first and last and in between, tiny files, sizes on both sides of
 * block (16 KiB) and piece boundaries, files larger than a piece; pieces then span many files.
 */
const multiLayout = (count: number, pieceLength: number, seed: number) => {
  const random = Prng.make(seed).next
  const special = [0, 1, 2, 3, 7, 13, 100, 999, 16383, 16384, 16385, pieceLength - 1, pieceLength,
    pieceLength + 1, 3 * pieceLength + 12345, 0, 0]
  const sizes: Array<number> = []
  for (let i = 0; i < count - 2; i++) {
    const r = random()
    sizes.push(i < special.length ? special[i]! :
      r < 0.35 ? Math.floor(random() * 2_000) :
      r < 0.75 ? 2_000 + Math.floor(random() * 200_000) :
      200_000 + Math.floor(random() * 1_000_000))
  }
  for (let i = sizes.length - 1; i > 0; i--) { // shuffle
    const j = Math.floor(random() * (i + 1))
    ;[sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!]
  }
  sizes.unshift(0)
  sizes.push(0)
  return sizes.map((size, i) => {
    const folder = folders[Math.floor(random() * folders.length)]!
    const name = i < specialNames.length ? `${i}-${specialNames[i]}` : `file-${String(i).padStart(3, "0")}.bin`
    return { path: [...folder, name], size }
  })
}

/**
 * Writes deterministic content under `<dir>/data/<name>` and its torrent at `<dir>/<name>.torrent`.
 * Single: one file of `size` bytes; multi: `fileCount` files in nested folders.
 */
export const makePayload = (dir: string, kind: "single" | "multi", options: PayloadOptions = {}): Payload => {
  const pieceLength = options.pieceLength ?? 256 * 1024
  const seed = options.seed ?? 1
  const name = options.name ?? (kind === "single" ? "single.bin" : "multi")
  const layout = kind === "single" ?
    [{ path: [], size: options.size ?? 64 * 1024 * 1024 }] :
    multiLayout(options.fileCount ?? 100, pieceLength, seed)
  const files: Array<TestFile> = layout.map((f, i) => ({ path: f.path, data: randomBytes(f.size, seed * 1000 + i + 1) }))
  const torrent = makeTorrent({
    name,
    pieceLength,
    files,
    multiFile: kind === "multi",
    ...(options.announce === undefined ? {} : { announce: options.announce }),
    ...(options.announceList === undefined ? {} : { announceList: options.announceList })
  })
  return writePayload(dir, name, pieceLength, files, torrent)
}

/** Writes `files` under `<dir>/data/<name>` and `torrent` at `<dir>/<name>.torrent`; the Payload describing them. */
export const writePayload = (dir: string, name: string, pieceLength: number, files: ReadonlyArray<TestFile>, torrent: TestTorrent): Payload => {
  const dataDir = path.join(dir, "data")
  const written = files.map((f) => {
    const relative = [name, ...f.path].join("/")
    const target = path.join(dataDir, ...relative.split("/"))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, f.data)
    return { path: relative, length: f.data.length, sha256: sha256(f.data) }
  })
  const torrentPath = path.join(dir, `${name}.torrent`)
  fs.writeFileSync(torrentPath, torrent.bytes)
  return {
    torrentPath,
    dataDir,
    name,
    infoHash: createHash("sha1").update(torrent.metainfo.infoBytes).digest("hex"),
    pieceLength,
    totalLength: torrent.payload.length,
    files: written,
    metainfo: torrent.metainfo
  }
}

/** Writes another .torrent for the same content (same info hash) with other trackers. */
export const writeTorrent = (payload: Payload, file: string, trackers: {
  readonly announce?: string
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
}): string => {
  const top = new Map<string, Bencode>()
  if (trackers.announce !== undefined) top.set("announce", bytes(trackers.announce))
  if (trackers.announceList !== undefined) top.set("announce-list", trackers.announceList.map((t) => t.map(bytes)))
  const head = encode(top) // "d...e": "info" sorts after "announce*", so it goes last
  fs.writeFileSync(file, Buffer.concat([head.subarray(0, head.length - 1), Buffer.from("4:info"), payload.metainfo.infoBytes, Buffer.from("e")]))
  return file
}

// ---------------------------------------------------------------------------------------------------------
// Hashing

export const sha256File = async (file: string): Promise<string> => {
  const hash = createHash("sha256")
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest("hex")
}

/** The sha256 of every regular file under `dir`, by "/"-separated relative path. */
export const sha256Tree = async (dir: string): Promise<Map<string, string>> => {
  const out = new Map<string, string>()
  const walk = async (relative: ReadonlyArray<string>): Promise<void> => {
    const entries = fs.readdirSync(path.join(dir, ...relative), { withFileTypes: true })
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const next = [...relative, entry.name]
      if (entry.isDirectory()) await walk(next)
      else if (entry.isFile()) out.set(next.join("/"), await sha256File(path.join(dir, ...next)))
      else out.set(next.join("/"), "not a regular file")
    }
  }
  await walk([])
  return out
}

/**
 * What differs between the payload and a download into `outDir` (the folder given to the client): missing
 * or different files, and (multi-file) extra files inside the torrent's folder. Empty when equal.
 */
export const verifyDownload = async (payload: Payload, outDir: string): Promise<ReadonlyArray<string>> => {
  const problems: Array<string> = []
  for (const f of payload.files) {
    const file = path.join(outDir, ...f.path.split("/"))
    if (!fs.existsSync(file)) problems.push(`missing ${f.path}`)
    else if (fs.statSync(file).size !== f.length) problems.push(`size ${f.path}: ${fs.statSync(file).size} != ${f.length}`)
    else if ((await sha256File(file)) !== f.sha256) problems.push(`sha256 ${f.path}`)
  }
  if (payload.metainfo.multiFile && fs.existsSync(path.join(outDir, payload.name))) {
    const expected = new Set(payload.files.map((f) => f.path))
    for (const found of (await sha256Tree(path.join(outDir, payload.name))).keys()) {
      if (!expected.has(`${payload.name}/${found}`)) problems.push(`extra ${payload.name}/${found}`)
    }
  }
  return problems
}
