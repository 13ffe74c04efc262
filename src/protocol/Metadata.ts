/**
 * The ut_metadata messages of BEP 9 (the payload after the extended id byte): a bencoded dictionary with
 * `msg_type` (0 request, 1 data, 2 reject) and `piece`, and for data `total_size` followed by the piece's
 * bytes. They carry the info dictionary of a torrent, 16 KiB at a time, to peers that came with a magnet
 * link.
 *
 * Decoding refuses what does not fit (reason "BadPayload", or "BadLength" for a data piece longer than
 * 16 KiB) rather than guess. An unknown `msg_type` is reason "UnknownMessage": BEP 9 asks that such
 * messages be ignored, so a caller tells it apart from a broken one. A data piece comes back as a view
 * into the payload (no copy); whoever keeps it copies it (`MetadataBuffer.add` does).
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, isDict } from "../domain/Bencode.js"
import { WireError } from "../domain/Errors.js"
import { maxMetadataSize as domainMaxSize, metadataPieceCount, metadataPieceSize } from "../domain/MetadataBuffer.js"
import * as BencodeCodec from "./Bencode.js"
import { fromCodec } from "./CodecSchema.js"

/** Every piece of metadata is 16 KiB but the last. */
export const pieceSize = metadataPieceSize

/** The largest metadata (info dictionary) we accept or serve: 16 MiB. */
export const maxMetadataSize = domainMaxSize

/** How many pieces metadata of `totalSize` bytes is sent in: ceil(size / 16 KiB). */
export const pieceCount = (totalSize: number): number => metadataPieceCount(totalSize)

export const MsgType = { Request: 0, Data: 1, Reject: 2 } as const

/**
 * Bencode limits for the dictionary. Real ones hold 7 values; a megabyte of tiny values would cost half
 * a second of CPU to build and throw away, which a peer could repeat with every message.
 */
export const decodeLimits = { maxTokens: 1000, maxDepth: 32 } as const

const PieceIndex = Schema.NonNegativeInt

export const Request = Schema.TaggedStruct("Request", { piece: PieceIndex })
export const Data = Schema.TaggedStruct("Data", {
  piece: PieceIndex,
  totalSize: Schema.Int.pipe(Schema.between(1, maxMetadataSize)),
  data: Schema.Uint8ArrayFromSelf.pipe(Schema.filter((b) => b.length <= pieceSize, {
    message: () => `at most ${pieceSize} bytes`
  }))
})
export const Reject = Schema.TaggedStruct("Reject", { piece: PieceIndex })

export const MetadataMessage = Schema.Union(Request, Data, Reject).annotations({ identifier: "MetadataMessage" })
export type MetadataMessage = typeof MetadataMessage.Type
export type Request = typeof Request.Type
export type Data = typeof Data.Type
export type Reject = typeof Reject.Type

// Constructors for the hot path: plain objects, no validation (the Schemas validate).
export const request = (piece: number): Request => ({ _tag: "Request", piece })
export const reject = (piece: number): Reject => ({ _tag: "Reject", piece })
export const data = (piece: number, totalSize: number, bytes: Uint8Array): Data => ({
  _tag: "Data",
  piece,
  totalSize,
  data: bytes
})

// ---------------------------------------------------------------------------------------------------------
// Decoding

const badPayload = (detail: string) => Either.left(new WireError({ reason: "BadPayload", detail }))

const unknownType = (msgType: number | bigint) =>
  Either.left(new WireError({ reason: "UnknownMessage", detail: `unknown ut_metadata msg_type ${msgType}` }))

const describe = (v: Bencode | undefined): string =>
  v === undefined
    ? "missing"
    : typeof v === "number" || typeof v === "bigint"
    ? `${v}`
    : v instanceof Uint8Array
    ? "a byte string"
    : Array.isArray(v)
    ? "a list"
    : "a dictionary"

/**
 * The ut_metadata message in `payload`. Failures: not a bencoded dictionary within `decodeLimits`,
 * `msg_type` or `piece` missing or not a non-negative integer, a data message without a `total_size` of
 * 1 to 16 MiB, bytes after the dictionary of a request or reject ("BadPayload"); a data piece of more
 * than 16 KiB ("BadLength"); a `msg_type` other than 0, 1 and 2 ("UnknownMessage", which BEP 9 says to
 * ignore).
 */
export const decode = (payload: Uint8Array): Either.Either<MetadataMessage, WireError> => {
  const decoded = BencodeCodec.decode(payload, { ...decodeLimits, allowTrailing: true })
  if (Either.isLeft(decoded)) return badPayload(`ut_metadata message: ${decoded.left.message}`)
  const { value, end } = decoded.right
  if (!isDict(value)) return badPayload("ut_metadata message is not a dictionary")
  const msgType = value.get("msg_type")
  if (typeof msgType === "bigint" && msgType > 0n) return unknownType(msgType)
  if (typeof msgType !== "number" || msgType < 0) {
    return badPayload(`ut_metadata message with msg_type ${describe(msgType)}`)
  }
  // Before the other fields: a future message type need not have a piece.
  if (msgType > MsgType.Reject) return unknownType(msgType)
  const piece = value.get("piece")
  if (typeof piece !== "number" || piece < 0) return badPayload(`ut_metadata message with piece ${describe(piece)}`)
  const trailing = payload.length - end
  switch (msgType) {
    case MsgType.Request:
    case MsgType.Reject:
      if (trailing > 0) {
        const kind = msgType === MsgType.Request ? "request" : "reject"
        return badPayload(`ut_metadata ${kind} with ${trailing} byte(s) after its dictionary`)
      }
      return Either.right(msgType === MsgType.Request ? request(piece) : reject(piece))
    case MsgType.Data: {
      const totalSize = value.get("total_size")
      if (typeof totalSize !== "number" || totalSize < 1 || totalSize > maxMetadataSize) {
        return badPayload(`ut_metadata data with total_size ${describe(totalSize)}, expected 1 to ${maxMetadataSize}`)
      }
      if (trailing > pieceSize) {
        return Either.left(new WireError({
          reason: "BadLength",
          detail: `ut_metadata data piece of ${trailing} bytes exceeds ${pieceSize}`
        }))
      }
      return Either.right(data(piece, totalSize, payload.subarray(end)))
    }
    default:
      return unknownType(msgType)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding. Numbers are taken as the Schemas describe them (non-negative integers).

const writeAscii = (out: Uint8Array, s: string): void => {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
}

/**
 * The payload of `m`, in one allocation: the canonical dictionary (keys `msg_type`, `piece`,
 * `total_size` in byte order), then for data the piece's bytes.
 */
export const encode = (m: MetadataMessage): Uint8Array => {
  const head = m._tag === "Data"
    ? `d8:msg_typei${MsgType.Data}e5:piecei${m.piece}e10:total_sizei${m.totalSize}ee`
    : `d8:msg_typei${m._tag === "Request" ? MsgType.Request : MsgType.Reject}e5:piecei${m.piece}ee`
  const body = m._tag === "Data" ? m.data : undefined
  const out = new Uint8Array(head.length + (body?.length ?? 0))
  writeAscii(out, head)
  if (body !== undefined) out.set(body, head.length)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Schema

/** A ut_metadata payload <-> its message, built on `decode` and `encode`. */
export const MetadataMessageFromBytes: Schema.Schema<MetadataMessage, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, MetadataMessage, {
  decode: (payload) => Either.mapLeft(decode(payload), (e) => e.message),
  encode: (m) => encode(m)
})
