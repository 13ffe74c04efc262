/**
 * `create`: a .torrent from a file or a folder: v1 (the default), v2 only (BEP 52) or hybrid (both, with
 * BEP 47 pad files so that v1 pieces align with files; V2Info.ts).
 *
 * Content: a file gives a single-file torrent; a folder a multi-file torrent named after the folder, its
 * files in byte order of their path components (each folder's entries sorted by the bytes of their names,
 * folders walked depth first), so the same tree always gives the same torrent whatever the file system's
 * listing order. Names are taken as raw bytes, so a name that is not UTF-8 is kept exactly. Hidden files
 * count; zero-length files are kept; empty folders vanish (a torrent lists files only). Symbolic links
 * inside the folder are never followed (a link may point outside it, or make a loop): they are skipped
 * with a warning, as are sockets, FIFOs and devices. The path given itself may be a link: it is followed,
 * since the user named it.
 *
 * Hashing (FileHashing.ts) cuts the content into batches of whole pieces that worker threads read and
 * hash, one core each, with one batch buffer per worker; for v2 and hybrid (MerkleHashing.ts) the same
 * workers hash each file once for both its merkle tree and, for a hybrid, its padded v1 pieces.
 *
 * The result is encoded canonically and decoded again with `decodeTorrent`, so the metainfo returned (and
 * the info hash shown) is exactly what a client reading the file will see.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CreateError } from "../../domain/Errors.js"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Bencode, bytes as utf8 } from "../../domain/Bencode.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { encode } from "../../protocol/Bencode.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import { describeErrno } from "../files/FileErrors.js"
import { node, unit } from "../files/NodeCallback.js"
import { hashFiles } from "./FileHashing.js"
import { type FileHashes, hashFilesV2 } from "./MerkleHashing.js"
import { fileTree, hybridFiles, pieceLayers } from "./V2Info.js"

/** Which metainfo to make: v1, v2 only (BEP 52), or both in one (BEP 47 pad files between the files). */
export type CreateVersion = "v1" | "v2" | "hybrid"

export interface CreateOptions {
  readonly path: string
  /** `v1` when absent. */
  readonly version?: CreateVersion
  /** Tracker URLs, in the order they should be tried. */
  readonly announce: ReadonlyArray<string>
  /** Bytes, a power of two from 16 KiB to 64 MiB; chosen from the size when absent (`autoPieceLength`). */
  readonly pieceLength?: number
  readonly private?: boolean
  readonly webSeeds?: ReadonlyArray<string>
  readonly comment?: string
  /** Called with the bytes hashed so far: once with 0 at the start, then after each batch. */
  readonly onProgress?: (hashed: number, total: number) => void
  /** `creation date` in seconds since the epoch; the Clock's time when absent. */
  readonly creationDate?: number
  /** Hashing threads; `os.availableParallelism()` when absent; 0 hashes on the calling thread. */
  readonly workers?: number
  /** The hashing worker's file (HashWorker.ts bundled: dist/hash-worker.cjs); without it, hashing is on the
   *  calling thread whatever `workers` says. */
  readonly workerScript?: string
}

export interface Created {
  readonly bytes: Uint8Array
  readonly metainfo: Metainfo
  /** What was left out or looks wrong (skipped links, duplicate URLs), and the decoder's own warnings. */
  readonly warnings: ReadonlyArray<string>
}

export const createdBy = "bt-effect 0.1.0"

// ---------------------------------------------------------------------------------------------------------
// Piece length

export const minPieceLength = 16 * 1024
export const maxAutoPieceLength = 16 * 1024 * 1024
/** Larger pieces would make batches, and the memory held while hashing, too large. */
export const maxPieceLength = 64 * 1024 * 1024
export const targetPieceCount = 2048

const isPowerOfTwo = (n: number) => Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n

/**
 * libtorrent's rule: the smallest power of two that cuts the content into at most 2048 pieces (a piece
 * list of about 40 KiB), kept between 16 KiB and 16 MiB. So a torrent has 1025 to 2048 pieces, except
 * below 32 MiB (16 KiB pieces, fewer of them) and above 32 GiB (16 MiB pieces, more of them).
 */
export const autoPieceLength = (totalLength: number): number => {
  let length = minPieceLength
  while (length < maxAutoPieceLength && length * targetPieceCount < totalLength) length *= 2
  return length
}

const badPieceLength = (what: string) =>
  new CreateError({
    reason: "PieceLength",
    detail: `piece length ${what} is not a power of two from 16 KiB (16384) to 64 MiB (67108864)`
  })

export const checkPieceLength = (n: number): Either.Either<number, CreateError> =>
  isPowerOfTwo(n) && n >= minPieceLength && n <= maxPieceLength ? Either.right(n) : Either.left(badPieceLength(String(n)))

/** `--piece-length`: bytes, or with a binary suffix (`256K`, `4M`, `4MiB`). */
export const parsePieceLength = (text: string): Either.Either<number, CreateError> => {
  const m = /^\s*(\d+)\s*(?:([kKmM])(?:i?[bB])?)?\s*$/.exec(text)
  if (m === null) return Either.left(badPieceLength(JSON.stringify(text)))
  const unit = m[2] === undefined ? 1 : m[2].toLowerCase() === "k" ? 1024 : 1024 * 1024
  return checkPieceLength(Number(m[1]) * unit)
}

// ---------------------------------------------------------------------------------------------------------
// The content

interface SourceFile {
  /** Where to read it. */
  readonly at: Buffer
  /** Its path below the torrent's folder, as raw name bytes (empty for a single-file torrent). */
  readonly components: ReadonlyArray<Buffer>
  readonly length: number
}

interface Content {
  readonly name: Uint8Array
  readonly multiFile: boolean
  readonly files: ReadonlyArray<SourceFile>
  readonly totalLength: number
}

const failure = (action: string, at: Buffer | string) => (error: NodeJS.ErrnoException): CreateError =>
  new CreateError({
    reason: error.code === "ENOENT" && action === "find" ? "PathMissing" : "Unreadable",
    detail: `cannot ${action} ${at.toString()}: ${describeErrno(error)}`
  })

const lstat = (at: Buffer) => node<fs.Stats>((done) => fs.lstat(at, done)).pipe(Effect.mapError(failure("inspect", at)))

/** Refuses an unreadable file before hours of hashing rather than after. */
const checkReadable = (at: Buffer) =>
  unit((done) => fs.access(at, fs.constants.R_OK, done)).pipe(Effect.mapError(failure("read", at)))

/** The regular files below `dir`, in torrent order; links and special files are reported in `warnings`. */
const listFolder = (
  dir: Buffer,
  components: ReadonlyArray<Buffer>,
  warnings: Array<string>
): Effect.Effect<ReadonlyArray<SourceFile>, CreateError> =>
  Effect.gen(function*() {
    const names = yield* node<Array<Buffer>>((done) => fs.readdir(dir, { encoding: "buffer" }, done)).pipe(
      Effect.mapError(failure("list", dir))
    )
    names.sort(Buffer.compare)
    const entries = yield* Effect.forEach(names, (name) => {
      const at = Buffer.concat([dir, Buffer.from(path.sep), name])
      return Effect.map(
        Effect.tap(lstat(at), (stats) => (stats.isFile() ? checkReadable(at) : Effect.void)),
        (stats) => ({ at, stats, components: [...components, name] })
      )
    }, { concurrency: 16 })
    const files: Array<SourceFile> = []
    for (const { at, components, stats } of entries) {
      const shown = Buffer.concat(components.flatMap((c, i) => (i === 0 ? [c] : [Buffer.from("/"), c]))).toString("utf8")
      if (stats.isFile()) {
        files.push({ at, components, length: stats.size })
      } else if (stats.isDirectory()) {
        for (const file of yield* listFolder(at, components, warnings)) files.push(file)
      } else if (stats.isSymbolicLink()) {
        warnings.push(`skipped symbolic link ${shown} (links are not followed)`)
      } else {
        warnings.push(`skipped ${shown}: not a regular file or folder`)
      }
    }
    return files
  })

const readContent = (given: string, warnings: Array<string>): Effect.Effect<Content, CreateError> =>
  Effect.gen(function*() {
    const root = path.resolve(given)
    const name = path.basename(root)
    const stats = yield* node<fs.Stats>((done) => fs.stat(root, done)).pipe(Effect.mapError(failure("find", given)))
    if (name === "") {
      return yield* new CreateError({ reason: "PathInvalid", detail: `${given} has no name to give the torrent` })
    }
    const at = Buffer.from(root)
    const content = (multiFile: boolean, files: ReadonlyArray<SourceFile>): Content => ({
      name: utf8(name),
      multiFile,
      files,
      totalLength: files.reduce((sum, f) => sum + f.length, 0)
    })
    if (stats.isFile()) {
      yield* checkReadable(at)
      return content(false, [{ at, components: [], length: stats.size }])
    }
    if (stats.isDirectory()) return content(true, yield* listFolder(at, [], warnings))
    return yield* new CreateError({ reason: "PathInvalid", detail: `${given} is not a file or a folder` })
  })

// ---------------------------------------------------------------------------------------------------------
// Encoding

const checkUrls = (what: string, urls: ReadonlyArray<string>, warnings: Array<string>) =>
  Effect.gen(function*() {
    const unique: Array<string> = []
    for (const url of urls) {
      if (!URL.canParse(url)) return yield* new CreateError({ reason: "InvalidUrl", detail: `${what} ${JSON.stringify(url)} is not a URL` })
      if (unique.includes(url)) warnings.push(`${what} ${url} given twice (kept once)`)
      else unique.push(url)
    }
    return unique
  })

/** The hashes made: v1 pieces (none for v2 only) and, for v2 and hybrid, each file's. */
interface Hashed {
  readonly pieces: Uint8Array
  readonly files?: ReadonlyArray<FileHashes>
}

const encodeTorrent = (
  content: Content,
  pieceLength: number,
  hashed: Hashed,
  trackers: ReadonlyArray<string>,
  webSeeds: ReadonlyArray<string>,
  options: CreateOptions,
  creationDate: number
): Uint8Array => {
  const version = options.version ?? "v1"
  const info = new Map<string, Bencode>([
    ["name", content.name],
    ["piece length", pieceLength]
  ])
  if (version !== "v2") {
    info.set("pieces", hashed.pieces)
    if (!content.multiFile) info.set("length", content.totalLength)
    else if (version === "hybrid") info.set("files", hybridFiles(content.files, pieceLength))
    else info.set("files", content.files.map((f) => new Map<string, Bencode>([["length", f.length], ["path", f.components]])))
  }
  if (version !== "v1") {
    info.set("meta version", 2)
    info.set("file tree", fileTree(content.name, content.files, hashed.files ?? []))
  }
  if (options.private === true) info.set("private", 1)
  const top = new Map<string, Bencode>([
    ["info", info],
    ["created by", utf8(createdBy)],
    ["creation date", creationDate]
  ])
  if (version !== "v1") top.set("piece layers", pieceLayers(hashed.files ?? []))
  const [first] = trackers
  if (first !== undefined) top.set("announce", utf8(first))
  // One tier per tracker (BEP 12): clients try them in the order given, each a fallback for the previous.
  if (trackers.length > 1) top.set("announce-list", trackers.map((url) => [utf8(url)]))
  if (webSeeds.length > 0) top.set("url-list", webSeeds.map(utf8))
  if (options.comment !== undefined && options.comment !== "") top.set("comment", utf8(options.comment))
  return encode(top)
}

/** A v1, v2 or hybrid .torrent of `options.path`: its bytes, the metainfo they decode to, and warnings. */
export const createTorrent = (options: CreateOptions): Effect.Effect<Created, CreateError> =>
  Effect.gen(function*() {
    if (options.pieceLength !== undefined) yield* checkPieceLength(options.pieceLength)
    const warnings: Array<string> = []
    const trackers = yield* checkUrls("tracker", options.announce, warnings)
    const webSeeds = yield* checkUrls("web seed", options.webSeeds ?? [], warnings)
    if (trackers.length === 0) warnings.push("no tracker: peers can only find this torrent through DHT or PEX")

    const content = yield* readContent(options.path, warnings)
    if (content.totalLength === 0) {
      return yield* new CreateError({ reason: "Empty", detail: `${options.path} holds no data (a torrent needs at least one byte)` })
    }
    const pieceLength = options.pieceLength ?? autoPieceLength(content.totalLength)
    const workers = Math.max(0, Math.floor(options.workers ?? os.availableParallelism()))
    const hashing = {
      workers,
      ...(options.workerScript !== undefined ? { workerScript: options.workerScript } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {})
    }
    const version = options.version ?? "v1"
    const hashed: Hashed = yield* (version === "v1"
      ? Effect.map(hashFiles(content.files, pieceLength, hashing), (pieces) => ({ pieces }))
      : hashFilesV2(content.files, pieceLength, version === "hybrid", hashing)).pipe(
      Effect.mapError((e) => new CreateError({ reason: e.reason === "Worker" ? "Hashing" : "Unreadable", detail: e.message }))
    )

    const creationDate = Math.floor(options.creationDate ?? (yield* Clock.currentTimeMillis) / 1000)
    const bytes = encodeTorrent(content, pieceLength, hashed, trackers, webSeeds, options, creationDate)
    const metainfo = yield* Either.mapLeft(
      decodeTorrent(bytes),
      (e) => new CreateError({ reason: "Encoding", detail: `the torrent made does not decode: ${e.message}` })
    )
    return { bytes, metainfo, warnings: [...warnings, ...metainfo.warnings.filter((w) => !warnings.includes(w))] }
  })
