/**
 * Resume files: `ResumeData` as bencode (as libtorrent's .fastresume), one file per torrent.
 *
 *   d 11:file-format 16:bt-effect resume  12:file-version i1e  9:info-hash 20:…  4:root …
 *     11:piece-count i…e  6:pieces <bitfield>  5:files l d4:sizei…e8:mtime-nsi…e e  de … e
 *     10:downloaded i…e  8:uploaded i…e  8:saved-at i…e e
 *
 * A file that is not bt-effect's, of another version, or damaged decodes to an error, and the caller
 * checks the data instead: resume data only ever saves work, it is never needed for correctness.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type Bencode, BencodeValue, bytes, type BencodeDict, dict, isBytes, isDict, isList, text } from "../domain/Bencode.js"
import { ResumeData } from "../domain/ResumeData.js"
import { decode, encode } from "./Bencode.js"
import { fromCodec } from "./CodecSchema.js"

const format = "bt-effect resume"
const version = 1

/** Resume files are small (a bitfield and a stamp per file); this bounds what a damaged one can cost. */
export const maxResumeBytes = 64 * 1024 * 1024

export const resumeToBencode = (data: ResumeData): BencodeDict =>
  dict([
    ["file-format", bytes(format)],
    ["file-version", version],
    ["info-hash", data.infoHash],
    // Added within version 1: older readers ignore the key.
    ...(data.infoHashV2 !== undefined ? [["info-hash-v2", data.infoHashV2] as const] : []),
    ["root", bytes(data.root)],
    ["piece-count", data.pieceCount],
    ["pieces", data.pieces],
    ["files", data.files.map((f) => (f === null ? dict([]) : dict([["size", f.size], ["mtime-ns", f.mtimeNs]])))],
    ["downloaded", data.downloaded],
    ["uploaded", data.uploaded],
    ["saved-at", data.savedAt],
    // Added within version 1: older readers ignore the key, and a file without it parks nothing.
    ...(data.parked !== undefined && data.parked.length > 0 ? [["parked", [...data.parked]] as const] : [])
  ])

const int = (d: BencodeDict, key: string): number | undefined => {
  const v = d.get(key)
  return typeof v === "number" ? v : undefined
}

const bigint = (d: BencodeDict, key: string): bigint | undefined => {
  const v = d.get(key)
  return typeof v === "number" || typeof v === "bigint" ? BigInt(v) : undefined
}

/** The fields of a resume file, before the Schema checks them; the reason when it is not one. */
const fieldsOf = (value: Bencode): Either.Either<unknown, string> => {
  if (!isDict(value)) return Either.left("not a dictionary")
  const fmt = value.get("file-format")
  if (!isBytes(fmt) || text(fmt) !== format) return Either.left("not a bt-effect resume file")
  if (int(value, "file-version") !== version) return Either.left(`not version ${version}`)
  const files = value.get("files")
  const root = value.get("root")
  if (!isList(files)) return Either.left("no file list")
  if (!isBytes(root) || text(root) === undefined) return Either.left("no root folder")
  const stamps: Array<unknown> = []
  for (const f of files) {
    if (!isDict(f)) return Either.left("a file entry is not a dictionary")
    // An empty dictionary: a file not stored, or missing at the checkpoint.
    stamps.push(f.size === 0 ? null : { size: int(f, "size"), mtimeNs: bigint(f, "mtime-ns") })
  }
  return Either.right({
    infoHash: value.get("info-hash"),
    ...(value.has("info-hash-v2") ? { infoHashV2: value.get("info-hash-v2") } : {}),
    root: text(root),
    pieceCount: int(value, "piece-count"),
    pieces: value.get("pieces"),
    files: stamps,
    downloaded: int(value, "downloaded"),
    uploaded: int(value, "uploaded"),
    savedAt: int(value, "saved-at"),
    ...(value.has("parked") ? { parked: value.get("parked") } : {})
  })
}

const validate = Schema.decodeUnknownEither(ResumeData)

export const resumeFromBencode = (value: Bencode): Either.Either<ResumeData, string> =>
  Either.flatMap(fieldsOf(value), (fields) =>
    Either.mapLeft(validate(fields), (e) => ParseResult.TreeFormatter.formatErrorSync(e).split("\n").join(" ")))

/** Bencode value <-> resume data. */
export const ResumeDataFromBencode: Schema.Schema<ResumeData, Bencode> = fromCodec(BencodeValue, Schema.typeSchema(ResumeData), {
  decode: resumeFromBencode,
  encode: resumeToBencode
})

export const encodeResume = (data: ResumeData): Uint8Array => encode(resumeToBencode(data))

/** The resume data in a file's bytes, or why they are not any. Never throws. */
export const decodeResume = (raw: Uint8Array): Either.Either<ResumeData, string> =>
  raw.length > maxResumeBytes
    ? Either.left(`larger than ${maxResumeBytes} bytes`)
    : Either.flatMap(Either.mapLeft(decode(raw, { maxBytes: maxResumeBytes }), (e) => e.message), (d) => resumeFromBencode(d.value))
