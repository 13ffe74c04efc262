/**
 * From a decoded bencode value (and the raw bytes of its `info` value) to a `Metainfo`.
 *
 * The policy follows what the most trusted clients accept: hard errors for what makes a torrent unusable
 * (missing or mistyped required fields, a piece count that does not match the length, invalid v2 trees),
 * warnings for what can be made safe (unsafe or duplicate paths, odd tracker and web seed lists). v2-only
 * torrents are parsed for display; downloading them is refused elsewhere.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"
import { type Bencode, type BencodeDict, isBytes, isDict, isList } from "./Bencode.js"
import { MetainfoError, type MetainfoErrorReason } from "./Errors.js"
import { deduplicate, displayText, sanitiseComponent, sanitisePath, unsafeReason } from "./FilePath.js"
import { checkPieceLayers, parseFileTree, type V2File, v2PieceCount } from "./FileTree.js"
import { InfoHash, InfoHashV2, toHex } from "./InfoHash.js"
import { isPowerOfTwo } from "./Merkle.js"
import type { Metainfo, MetaVersion, TorrentFile } from "./Metainfo.js"

class Invalid {
  constructor(readonly reason: MetainfoErrorReason, readonly detail: string) {}
}
// A declared function (not an arrow) so that TypeScript narrows after calls that never return.
function invalid(reason: MetainfoErrorReason, detail: string): never {
  throw new Invalid(reason, detail)
}

const padPrefix = "_____padding_file_"

/** At most this many pieces (libtorrent's limit): bitfields, the picker and the hash list scale with it. */
export const maxPieces = 2 ** 21
/** At most this many files: each is a file on disk, a descriptor, a stamp in the resume data. */
export const maxFiles = 2 ** 20
/** At most this many components in a file's path: deeper nesting serves no torrent and only strains the
 *  file system (each component is a folder created and checked below the download folder). */
export const maxPathDepth = 64

interface RawFile {
  readonly rawPath: ReadonlyArray<Uint8Array>
  readonly length: number
  readonly attr: string
  readonly symlinkPath: ReadonlyArray<string> | undefined
  readonly piecesRoot: Uint8Array | undefined
  readonly pieceLayer?: Uint8Array
}

const optionalText = (d: BencodeDict, key: string): string | undefined => {
  const v = d.get(key)
  return isBytes(v) ? displayText(v) : undefined
}

const exactNumber = (v: Bencode | undefined): number | undefined =>
  typeof v === "number" ? v : undefined

const isPad = (f: RawFile) =>
  f.attr.includes("p") || displayText(f.rawPath[f.rawPath.length - 1] ?? new Uint8Array()).startsWith(padPrefix)

const v1Files = (info: BencodeDict, name: Uint8Array, warnings: Array<string>): ReadonlyArray<RawFile> => {
  const list = info.get("files")
  if (list === undefined) {
    const length = info.get("length")
    if (length === undefined) invalid("MissingField", "missing 'length' or 'files'")
    if (typeof length !== "number") invalid("InvalidField", "'length' is not an integer")
    if (length < 0) invalid("InvalidField", `'length' is negative (${length})`)
    return [{ rawPath: [name], length, attr: "", symlinkPath: undefined, piecesRoot: undefined }]
  }
  if (!isList(list)) return invalid("InvalidField", "'files' is not a list")
  if (list.length === 0) invalid("InvalidField", "'files' is empty")
  if (list.length > maxFiles) invalid("TooLarge", `${list.length} files; at most ${maxFiles}`)
  return list.map((entry, i): RawFile => {
    if (!isDict(entry)) return invalid("InvalidField", `files[${i}] is not a dict`)
    const length = entry.get("length")
    if (length === undefined) invalid("MissingField", `files[${i}] missing 'length'`)
    if (typeof length !== "number") invalid("InvalidField", `files[${i}].length is not an integer`)
    if (length < 0) invalid("InvalidField", `files[${i}].length is negative (${length})`)
    const attr = optionalText(entry, "attr") ?? ""
    const symlink = entry.get("symlink path")
    const symlinkPath = isList(symlink) ? symlink.flatMap((c) => (isBytes(c) ? [displayText(c)] : [])) : undefined
    const path = entry.get("path")
    if (path === undefined) {
      if (attr.includes("p")) {
        warnings.push(`files[${i}] is a pad file without 'path' (tolerated, shown as .pad/<len>)`)
        const rawPath = [Buffer.from(".pad"), Buffer.from(String(length))]
        return { rawPath, length, attr, symlinkPath, piecesRoot: undefined }
      }
      invalid("MissingField", `files[${i}] missing 'path'`)
    }
    if (!isList(path) || !path.every(isBytes)) {
      return invalid("InvalidField", `files[${i}].path is not a list of byte strings`)
    }
    if (path.length > maxPathDepth) invalid("TooLarge", `files[${i}].path has ${path.length} components; at most ${maxPathDepth}`)
    return { rawPath: path.filter(isBytes), length, attr, symlinkPath, piecesRoot: undefined }
  })
}

const v2Info = (info: BencodeDict, pieceLength: number) => {
  if (!isPowerOfTwo(pieceLength) || pieceLength < 16384) {
    invalid("InvalidField", `v2 'piece length' ${pieceLength} is not a power of two >= 16384`)
  }
  return Either.getOrElse(parseFileTree(info.get("file tree")!), (e) => invalid("InvalidField", e))
}

const checkHybrid = (v1: ReadonlyArray<RawFile>, v2: ReadonlyArray<V2File>, pieceLength: number) => {
  const real = v1.filter((f) => !isPad(f))
  const key = (p: ReadonlyArray<Uint8Array>) => p.map(displayText).join("/")
  for (let i = 0; i < Math.max(real.length, v2.length); i++) {
    const a = real[i]
    const b = v2[i]
    if (a === undefined || b === undefined || key(a.rawPath) !== key(b.rawPath) || a.length !== b.length) {
      invalid("InvalidField", `hybrid: v1/v2 file mismatch at '/${key((a ?? b)!.rawPath)}'`)
    }
  }
  let offset = 0
  for (const f of v1) {
    if (!isPad(f) && f.length > 0 && offset % pieceLength !== 0) {
      invalid("InvalidField", `hybrid: v1 file '${key(f.rawPath)}' does not start on a piece boundary`)
    }
    offset += f.length
  }
}

/**
 * A v2-only torrent's files in one piece space, as libtorrent 2.0 lays them out: a pad file after every
 * file that does not end on a piece boundary, the last one too, so that each file starts a piece of its
 * own (no piece spans two files in v2), the piece indices on the wire count each file's pieces in turn,
 * and every piece is a whole piece long on the wire (libtorrent asks for the last piece's pad too). The
 * pads are never written nor asked for, as a hybrid's are.
 */
const alignedV2 = (files: ReadonlyArray<V2File>, pieceLength: number): ReadonlyArray<RawFile> => {
  const out: Array<RawFile> = []
  files.forEach((f) => {
    out.push(f)
    const tail = f.length % pieceLength
    if (tail === 0) return
    const length = pieceLength - tail
    out.push({ rawPath: [Buffer.from(".pad"), Buffer.from(String(length))], length, attr: "p", symlinkPath: undefined, piecesRoot: undefined })
  })
  return out
}

/** Files with their piece layers (by pieces root, as `checkPieceLayers` found them). */
const withLayers = (files: ReadonlyArray<RawFile>, layers: ReadonlyMap<string, Uint8Array>): ReadonlyArray<RawFile> =>
  layers.size === 0
    ? files
    : files.map((f) => {
      const layer = f.piecesRoot === undefined ? undefined : layers.get(toHex(f.piecesRoot))
      return layer === undefined ? f : { ...f, pieceLayer: layer }
    })

/** A hybrid's v1 files with the v2 tree's pieces roots, taken in order (`checkHybrid` holds them to the
 *  same files); v1 files as they are when there is no tree. */
const withRoots = (v1: ReadonlyArray<RawFile>, v2: ReadonlyArray<V2File> | undefined): ReadonlyArray<RawFile> => {
  if (v2 === undefined) return v1
  let next = 0
  return v1.map((f) => (isPad(f) ? f : { ...f, piecesRoot: v2[next++]?.piecesRoot }))
}

const trackers = (top: BencodeDict, warnings: Array<string>) => {
  const announceList: Array<Array<string>> = []
  const raw = top.get("announce-list")
  if (raw !== undefined) {
    const tiers = isList(raw) ? raw.map((tier) => (isList(tier) && tier.every(isBytes) ? tier.filter(isBytes) : undefined)) : undefined
    if (tiers !== undefined && tiers.every((t): t is Array<Uint8Array> => t !== undefined)) {
      for (const tier of tiers) {
        const urls = tier.map(displayText).filter((u) => u !== "")
        if (urls.length > 0) announceList.push(urls)
      }
    } else {
      warnings.push("announce-list is not a list of lists of byte strings (ignored)")
    }
  }
  const urlList: Array<string> = []
  const rawUrls = top.get("url-list")
  if (isBytes(rawUrls)) {
    if (rawUrls.length > 0) urlList.push(displayText(rawUrls))
    else warnings.push("url-list is an empty string (treated as no web seeds)")
  } else if (isList(rawUrls)) {
    for (const u of rawUrls) if (isBytes(u)) urlList.push(displayText(u))
    if (!rawUrls.every(isBytes)) warnings.push("url-list has non-string entries (dropped)")
  }
  return { announce: optionalText(top, "announce"), announceList, urlList }
}

const safeFiles = (
  raw: ReadonlyArray<RawFile>,
  multiFile: boolean,
  safeName: string,
  warnings: Array<string>
): ReadonlyArray<TorrentFile> => {
  const shownPaths = raw.map((f) => f.rawPath.map(displayText))
  const paths = deduplicate(
    raw.map((_, i) => {
      const shown = shownPaths[i]!
      if (!multiFile) return [safeName]
      const reason = shown.map(unsafeReason).find((r) => r !== undefined)
      if (reason !== undefined) warnings.push(`unsafe path component in '${shown.join("/")}': ${reason}`)
      return sanitisePath(shown)
    })
  )
  // Pad files are never written: two of the same length (`.pad/N`, as libtorrent names them) are no clash.
  const seen = new Set<string>()
  shownPaths.forEach((shown, i) => {
    if (isPad(raw[i]!)) return
    const key = shown.join("/")
    if (seen.has(key)) warnings.push(`duplicate file path ${key}`)
    seen.add(key)
  })
  return raw.map((f, i) => {
    const file: TorrentFile = {
      path: paths[i]!,
      rawPath: f.rawPath,
      displayPath: shownPaths[i]!.join("/"),
      length: f.length,
      pad: isPad(f),
      attr: f.attr,
      ...(f.symlinkPath !== undefined ? { symlinkPath: f.symlinkPath } : {}),
      ...(f.piecesRoot !== undefined ? { piecesRoot: f.piecesRoot } : {}),
      ...(f.pieceLayer !== undefined ? { pieceLayer: f.pieceLayer } : {})
    }
    return file
  })
}

const decodeOrThrow = (
  top: Bencode,
  infoBytes: Uint8Array | undefined,
  initialWarnings: ReadonlyArray<string>
): Metainfo => {
  const warnings = [...initialWarnings]
  if (!isDict(top)) return invalid("InvalidField", "top-level value is not a dict")
  const info = top.get("info")
  if (info === undefined) invalid("MissingField", "missing 'info'")
  if (!isDict(info) || infoBytes === undefined) return invalid("InvalidField", "'info' is not a dict")

  const rawName = info.get("name")
  if (rawName === undefined) invalid("MissingField", "missing 'name'")
  if (!isBytes(rawName)) return invalid("InvalidField", "'name' is not a byte string")
  const pieceLength = info.get("piece length")
  if (pieceLength === undefined) invalid("MissingField", "missing 'piece length'")
  if (typeof pieceLength !== "number") return invalid("InvalidField", "'piece length' is not an integer")
  if (pieceLength <= 0) invalid("InvalidField", `'piece length' is not positive (${pieceLength})`)

  const hasV2 = info.get("meta version") === 2 && info.has("file tree")
  const hasV1 = info.has("pieces")
  if (!hasV1 && !hasV2) invalid("MissingField", "missing 'pieces' (and not a v2 torrent)")
  const version: MetaVersion = hasV1 && hasV2 ? "hybrid" : hasV2 ? "v2" : "v1"

  const v2Files = hasV2 ? v2Info(info, pieceLength) : undefined
  const multiFile = hasV1 ? info.has("files") : v2Files!.length !== 1 || v2Files![0]!.rawPath.length !== 1
  let raw: ReadonlyArray<RawFile> = hasV1 ? withRoots(v1Files(info, rawName, warnings), v2Files) : alignedV2(v2Files!, pieceLength)
  if (raw.length > maxFiles) invalid("TooLarge", `${raw.length} files; at most ${maxFiles}`)
  const deep = raw.findIndex((f) => f.rawPath.length > maxPathDepth)
  if (deep >= 0) invalid("TooLarge", `file ${deep}'s path has ${raw[deep]!.rawPath.length} components; at most ${maxPathDepth}`)
  const totalLength = raw.reduce((n, f) => n + f.length, 0)
  if (totalLength === 0) invalid("InvalidField", "total length is zero")
  if (!Number.isSafeInteger(totalLength)) invalid("TooLarge", "total length is beyond 2^53 bytes")

  let pieces: Uint8Array = new Uint8Array(0)
  let pieceCount: number
  if (hasV1) {
    const p = info.get("pieces")
    if (!isBytes(p)) return invalid("InvalidField", "'pieces' is not a byte string")
    if (p.length % 20 !== 0) invalid("InvalidField", `'pieces' length ${p.length} is not a multiple of 20`)
    const needed = Math.ceil(totalLength / pieceLength)
    if (p.length / 20 !== needed) {
      invalid("PieceCount", `piece count mismatch: 'pieces' has ${p.length / 20} hashes, length/piece length needs ${needed}`)
    }
    pieces = p
    pieceCount = needed
  } else {
    pieceCount = v2PieceCount(v2Files!, pieceLength)
  }
  if (pieceCount > maxPieces) invalid("TooLarge", `${pieceCount} pieces; at most ${maxPieces}`)
  if (version === "hybrid") checkHybrid(raw, v2Files!, pieceLength)
  let pieceLayerHashes: number | undefined
  if (hasV2 && top.has("piece layers")) {
    const check = Either.getOrElse(checkPieceLayers(top.get("piece layers")!, v2Files!, pieceLength), (e) =>
      invalid("InvalidField", e)
    )
    if (check.missing > 0) warnings.push(`${check.missing} file(s) lack a piece layer (allowed; hashes must come from peers)`)
    pieceLayerHashes = check.hashes
    raw = withLayers(raw, check.layers)
  }

  const infoHash = hasV1 ? InfoHash.make(createHash("sha1").update(infoBytes).digest()) : undefined
  const infoHashV2 = hasV2 ? InfoHashV2.make(createHash("sha256").update(infoBytes).digest()) : undefined
  const name = displayText(rawName)
  const nameReason = unsafeReason(name)
  if (nameReason !== undefined) warnings.push(`unsafe name: ${nameReason}`)
  const safeName = sanitiseComponent(name) ?? toHex((infoHash ?? infoHashV2)!)
  const files = safeFiles(raw, multiFile, safeName, warnings)
  const { announce, announceList, urlList } = trackers(top, warnings)
  const comment = optionalText(top, "comment")
  const createdBy = optionalText(top, "created by")
  const creationDate = exactNumber(top.get("creation date"))
  const source = optionalText(info, "source")
  return {
    ...(infoHash !== undefined ? { infoHash } : {}),
    ...(infoHashV2 !== undefined ? { infoHashV2 } : {}),
    infoBytes,
    version,
    name,
    rawName,
    safeName,
    multiFile,
    pieceLength,
    ...(pieceLayerHashes !== undefined ? { pieceLayerHashes } : {}),
    pieces,
    pieceCount,
    totalLength: raw.reduce((n, f) => (isPad(f) ? n : n + f.length), 0),
    files,
    private: exactNumber(info.get("private")) === 1,
    ...(announce !== undefined ? { announce } : {}),
    announceList,
    urlList,
    ...(comment !== undefined ? { comment } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(creationDate !== undefined ? { creationDate } : {}),
    ...(source !== undefined ? { source } : {}),
    warnings
  }
}

/**
 * A `Metainfo` from the top-level bencode value of a .torrent and the raw bytes of its `info` value
 * (from the decoder's `infoSpan`), with warnings gathered while decoding the bencode.
 */
export const decodeMetainfo = (
  top: Bencode,
  infoBytes: Uint8Array | undefined,
  warnings: ReadonlyArray<string> = []
): Either.Either<Metainfo, MetainfoError> => {
  try {
    return Either.right(decodeOrThrow(top, infoBytes, warnings))
  } catch (e) {
    if (e instanceof Invalid) return Either.left(new MetainfoError({ reason: e.reason, detail: e.detail }))
    throw e
  }
}
