/**
 * The peer wire messages after the handshake: BEP 3, the port message of BEP 5, the fast extension of
 * BEP 6, the extended message of BEP 10 (its payload kept opaque here) and BEP 52's hash request, hashes
 * and hash reject (their codec in HashMessages.ts).
 *
 * On the wire a message is a 4-byte big-endian length, then (unless the length is 0, a keep-alive) a
 * 1-byte id and the payload. The messages are Schemas (`Message`, and `MessageFromBytes` over a framed
 * message); the hot path uses the plain functions `encode`, `encodePieceHeader` and `decodePayload`, which
 * do no validation beyond the lengths and never copy a byte payload: piece blocks, bitfields and extended
 * payloads come back as views into the input.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { WireError } from "../domain/Errors.js"
import { fromCodec } from "./CodecSchema.js"
import * as HashMessages from "./HashMessages.js"

/** An unsigned 32-bit integer, as every index, offset and length on the wire is. */
export const U32 = Schema.Number.pipe(Schema.int(), Schema.between(0, 0xffff_ffff)).annotations({ identifier: "U32" })
export const U16 = Schema.Number.pipe(Schema.int(), Schema.between(0, 0xffff)).annotations({ identifier: "U16" })
export const U8 = Schema.Number.pipe(Schema.int(), Schema.between(0, 0xff)).annotations({ identifier: "U8" })

export const MessageId = {
  Choke: 0,
  Unchoke: 1,
  Interested: 2,
  NotInterested: 3,
  Have: 4,
  Bitfield: 5,
  Request: 6,
  Piece: 7,
  Cancel: 8,
  Port: 9,
  Suggest: 0x0d,
  HaveAll: 0x0e,
  HaveNone: 0x0f,
  Reject: 0x10,
  AllowedFast: 0x11,
  Extended: 20,
  ...HashMessages.HashMessageId
} as const

export const KeepAlive = Schema.TaggedStruct("KeepAlive", {})
export const Choke = Schema.TaggedStruct("Choke", {})
export const Unchoke = Schema.TaggedStruct("Unchoke", {})
export const Interested = Schema.TaggedStruct("Interested", {})
export const NotInterested = Schema.TaggedStruct("NotInterested", {})
export const Have = Schema.TaggedStruct("Have", { index: U32 })
export const Bitfield = Schema.TaggedStruct("Bitfield", { bits: Schema.Uint8ArrayFromSelf })
export const Request = Schema.TaggedStruct("Request", { index: U32, begin: U32, length: U32 })
export const Piece = Schema.TaggedStruct("Piece", { index: U32, begin: U32, block: Schema.Uint8ArrayFromSelf })
export const Cancel = Schema.TaggedStruct("Cancel", { index: U32, begin: U32, length: U32 })
export const Port = Schema.TaggedStruct("Port", { port: U16 })
export const Suggest = Schema.TaggedStruct("Suggest", { index: U32 })
export const HaveAll = Schema.TaggedStruct("HaveAll", {})
export const HaveNone = Schema.TaggedStruct("HaveNone", {})
export const Reject = Schema.TaggedStruct("Reject", { index: U32, begin: U32, length: U32 })
export const AllowedFast = Schema.TaggedStruct("AllowedFast", { index: U32 })
export const Extended = Schema.TaggedStruct("Extended", { extendedId: U8, payload: Schema.Uint8ArrayFromSelf })

export const Message = Schema.Union(
  KeepAlive,
  Choke,
  Unchoke,
  Interested,
  NotInterested,
  Have,
  Bitfield,
  Request,
  Piece,
  Cancel,
  Port,
  Suggest,
  HaveAll,
  HaveNone,
  Reject,
  AllowedFast,
  Extended,
  HashMessages.HashRequest,
  HashMessages.Hashes,
  HashMessages.HashReject
)
export type Message = typeof Message.Type

export type KeepAlive = typeof KeepAlive.Type
export type Choke = typeof Choke.Type
export type Unchoke = typeof Unchoke.Type
export type Interested = typeof Interested.Type
export type NotInterested = typeof NotInterested.Type
export type Have = typeof Have.Type
export type Bitfield = typeof Bitfield.Type
export type Request = typeof Request.Type
export type Piece = typeof Piece.Type
export type Cancel = typeof Cancel.Type
export type Port = typeof Port.Type
export type Suggest = typeof Suggest.Type
export type HaveAll = typeof HaveAll.Type
export type HaveNone = typeof HaveNone.Type
export type Reject = typeof Reject.Type
export type AllowedFast = typeof AllowedFast.Type
export type Extended = typeof Extended.Type

// ---------------------------------------------------------------------------------------------------------
// Values. The messages without fields are shared, so decoding them allocates nothing.

export const keepAlive: KeepAlive = Object.freeze({ _tag: "KeepAlive" })
export const choke: Choke = Object.freeze({ _tag: "Choke" })
export const unchoke: Unchoke = Object.freeze({ _tag: "Unchoke" })
export const interested: Interested = Object.freeze({ _tag: "Interested" })
export const notInterested: NotInterested = Object.freeze({ _tag: "NotInterested" })
export const haveAll: HaveAll = Object.freeze({ _tag: "HaveAll" })
export const haveNone: HaveNone = Object.freeze({ _tag: "HaveNone" })

// ---------------------------------------------------------------------------------------------------------
// Payload lengths

/** The payload lengths (bytes after the id) a message id allows. */
export interface PayloadBounds {
  readonly name: string
  readonly min: number
  readonly max: number
}

const boundsById: ReadonlyArray<PayloadBounds | undefined> = (() => {
  const table: Array<PayloadBounds | undefined> = []
  const set = (id: number, name: string, min: number, max = min) => {
    table[id] = { name, min, max }
  }
  set(MessageId.Choke, "choke", 0)
  set(MessageId.Unchoke, "unchoke", 0)
  set(MessageId.Interested, "interested", 0)
  set(MessageId.NotInterested, "not interested", 0)
  set(MessageId.Have, "have", 4)
  set(MessageId.Bitfield, "bitfield", 0, Infinity)
  set(MessageId.Request, "request", 12)
  set(MessageId.Piece, "piece", 8, Infinity)
  set(MessageId.Cancel, "cancel", 12)
  set(MessageId.Port, "port", 2)
  set(MessageId.Suggest, "suggest piece", 4)
  set(MessageId.HaveAll, "have all", 0)
  set(MessageId.HaveNone, "have none", 0)
  set(MessageId.Reject, "reject request", 12)
  set(MessageId.AllowedFast, "allowed fast", 4)
  set(MessageId.Extended, "extended", 1, Infinity)
  set(MessageId.HashRequest, "hash request", HashMessages.HASH_RANGE_BYTES)
  set(MessageId.Hashes, "hashes", HashMessages.HASH_RANGE_BYTES + 32, HashMessages.MAX_HASHES_PAYLOAD)
  set(MessageId.HashReject, "hash reject", HashMessages.HASH_RANGE_BYTES)
  return table
})()

/** The payload bounds of `id`, or undefined for an id this codec does not know. */
export const payloadBounds = (id: number): PayloadBounds | undefined => boundsById[id]

/** Refusal of a payload length for `id`, or undefined when the length fits (the id must be known). */
export const checkPayloadLength = (id: number, length: number): WireError | undefined => {
  const bounds = boundsById[id]
  if (bounds === undefined) return unknownMessage(id)
  if (length >= bounds.min && length <= bounds.max) return undefined
  const expected =
    bounds.max === bounds.min ? `${bounds.min}` : bounds.max === Infinity ? `at least ${bounds.min}` : `${bounds.min} to ${bounds.max}`
  return new WireError({
    reason: "BadLength",
    detail: `${bounds.name} message (id ${id}) with a ${length}-byte payload, expected ${expected}`
  })
}

const unknownMessage = (id: number) => new WireError({ reason: "UnknownMessage", detail: `unknown message id ${id}` })

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** Reads a big-endian u32; the caller has checked that 4 bytes are there. */
const u32 = (bytes: Uint8Array, at: number): number =>
  bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)

/**
 * As `decodePayload`, without the Either: the frame parser calls this once per message and tells the two
 * apart by `_tag`.
 */
export const parsePayload = (id: number, payload: Uint8Array): Message | WireError => {
  const refused = checkPayloadLength(id, payload.length)
  if (refused !== undefined) return refused
  switch (id) {
    case MessageId.Choke:
      return choke
    case MessageId.Unchoke:
      return unchoke
    case MessageId.Interested:
      return interested
    case MessageId.NotInterested:
      return notInterested
    case MessageId.Have:
      return { _tag: "Have", index: u32(payload, 0) }
    case MessageId.Bitfield:
      return { _tag: "Bitfield", bits: payload }
    case MessageId.Request:
      return { _tag: "Request", index: u32(payload, 0), begin: u32(payload, 4), length: u32(payload, 8) }
    case MessageId.Piece:
      return { _tag: "Piece", index: u32(payload, 0), begin: u32(payload, 4), block: payload.subarray(8) }
    case MessageId.Cancel:
      return { _tag: "Cancel", index: u32(payload, 0), begin: u32(payload, 4), length: u32(payload, 8) }
    case MessageId.Port:
      return { _tag: "Port", port: (payload[0]! << 8) | payload[1]! }
    case MessageId.Suggest:
      return { _tag: "Suggest", index: u32(payload, 0) }
    case MessageId.HaveAll:
      return haveAll
    case MessageId.HaveNone:
      return haveNone
    case MessageId.Reject:
      return { _tag: "Reject", index: u32(payload, 0), begin: u32(payload, 4), length: u32(payload, 8) }
    case MessageId.AllowedFast:
      return { _tag: "AllowedFast", index: u32(payload, 0) }
    case MessageId.Extended:
      return { _tag: "Extended", extendedId: payload[0]!, payload: payload.subarray(1) }
    case MessageId.HashRequest:
    case MessageId.Hashes:
    case MessageId.HashReject:
      return HashMessages.parseHashMessage(id, payload)
    default:
      return unknownMessage(id)
  }
}

/**
 * The message with id `id` from its payload (the bytes after the id). Fixed-size messages must have their
 * exact length (reason "BadLength"); unknown ids give reason "UnknownMessage". Byte payloads are views
 * into `payload`.
 */
export const decodePayload = (id: number, payload: Uint8Array): Either.Either<Message, WireError> => {
  const m = parsePayload(id, payload)
  return m._tag === "WireError" ? Either.left(m) : Either.right(m)
}

/** A message from one whole framed message (length prefix included). */
export const decode = (frame: Uint8Array): Either.Either<Message, WireError> => {
  if (frame.length < 4) {
    return Either.left(new WireError({ reason: "BadLength", detail: `a message of ${frame.length} bytes has no length prefix` }))
  }
  const length = u32(frame, 0)
  if (length !== frame.length - 4) {
    return Either.left(
      new WireError({
        reason: "BadLength",
        detail: `the length prefix says ${length} bytes, but ${frame.length - 4} follow`
      })
    )
  }
  return length === 0 ? Either.right(keepAlive) : decodePayload(frame[4]!, frame.subarray(5))
}

// ---------------------------------------------------------------------------------------------------------
// Encoding. Numbers are taken as the Schemas describe them (u32, u16, u8); others wrap modulo 2^n.

const putU32 = (out: Uint8Array, at: number, value: number): void => {
  out[at] = value >>> 24
  out[at + 1] = value >>> 16
  out[at + 2] = value >>> 8
  out[at + 3] = value
}

/** A message of `payloadLength` bytes after the id, with its prefix and id written. */
const frame = (id: number, payloadLength: number): Uint8Array => {
  const out = new Uint8Array(5 + payloadLength)
  putU32(out, 0, 1 + payloadLength)
  out[4] = id
  return out
}

const withIndex = (id: number, index: number): Uint8Array => {
  const out = frame(id, 4)
  putU32(out, 5, index)
  return out
}

/** Writes a 17-byte message of three numbers (request, cancel, reject) into `out` at `at`. */
const writeTriple = (out: Uint8Array, at: number, id: number, index: number, begin: number, length: number): void => {
  putU32(out, at, 13)
  out[at + 4] = id
  putU32(out, at + 5, index)
  putU32(out, at + 9, begin)
  putU32(out, at + 13, length)
}

const withTriple = (id: number, index: number, begin: number, length: number): Uint8Array => {
  const out = new Uint8Array(17)
  writeTriple(out, 0, id, index, begin, length)
  return out
}

const withBytes = (id: number, bytes: Uint8Array): Uint8Array => {
  const out = frame(id, bytes.length)
  out.set(bytes, 5)
  return out
}

/** The bytes of `m`, length prefix included, in one allocation. */
export const encode = (m: Message): Uint8Array => {
  switch (m._tag) {
    case "KeepAlive":
      return new Uint8Array(4)
    case "Choke":
      return frame(MessageId.Choke, 0)
    case "Unchoke":
      return frame(MessageId.Unchoke, 0)
    case "Interested":
      return frame(MessageId.Interested, 0)
    case "NotInterested":
      return frame(MessageId.NotInterested, 0)
    case "Have":
      return withIndex(MessageId.Have, m.index)
    case "Bitfield":
      return withBytes(MessageId.Bitfield, m.bits)
    case "Request":
      return withTriple(MessageId.Request, m.index, m.begin, m.length)
    case "Piece": {
      const out = new Uint8Array(13 + m.block.length)
      writePieceHeader(out, 0, m.index, m.begin, m.block.length)
      out.set(m.block, 13)
      return out
    }
    case "Cancel":
      return withTriple(MessageId.Cancel, m.index, m.begin, m.length)
    case "Port": {
      const out = frame(MessageId.Port, 2)
      out[5] = m.port >>> 8
      out[6] = m.port
      return out
    }
    case "Suggest":
      return withIndex(MessageId.Suggest, m.index)
    case "HaveAll":
      return frame(MessageId.HaveAll, 0)
    case "HaveNone":
      return frame(MessageId.HaveNone, 0)
    case "Reject":
      return withTriple(MessageId.Reject, m.index, m.begin, m.length)
    case "AllowedFast":
      return withIndex(MessageId.AllowedFast, m.index)
    case "Extended": {
      const out = frame(MessageId.Extended, 1 + m.payload.length)
      out[5] = m.extendedId
      out.set(m.payload, 6)
      return out
    }
    case "HashRequest":
    case "Hashes":
    case "HashReject":
      return HashMessages.encodeHashMessage(m)
  }
}

/** Writes the 13 header bytes of a piece message into `out` at `at` (a sender's reused buffer). */
export const writePieceHeader = (out: Uint8Array, at: number, index: number, begin: number, blockLength: number): void => {
  putU32(out, at, 9 + blockLength)
  out[at + 4] = MessageId.Piece
  putU32(out, at + 5, index)
  putU32(out, at + 9, begin)
}

/** Request messages for `blocks`, one after the other in one allocation: a pipeline is topped up many
 *  requests at a time, and one buffer each would be as many objects to collect. */
export const encodeRequests = (
  blocks: ReadonlyArray<{ readonly piece: number; readonly offset: number; readonly length: number }>
): Uint8Array => {
  const out = new Uint8Array(17 * blocks.length)
  blocks.forEach((b, i) => writeTriple(out, 17 * i, MessageId.Request, b.piece, b.offset, b.length))
  return out
}

/**
 * The 13 bytes that precede a block of `blockLength` bytes in a piece message, so that a sender can write
 * the header and the block (read from storage) one after the other without joining them.
 */
export const encodePieceHeader = (index: number, begin: number, blockLength: number): Uint8Array => {
  const out = new Uint8Array(13)
  writePieceHeader(out, 0, index, begin, blockLength)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Constructors for the hot path: plain objects, no validation (the Schemas' `make` validates).

export const have = (index: number): Have => ({ _tag: "Have", index })
export const bitfield = (bits: Uint8Array): Bitfield => ({ _tag: "Bitfield", bits })
export const request = (index: number, begin: number, length: number): Request => ({ _tag: "Request", index, begin, length })
export const piece = (index: number, begin: number, block: Uint8Array): Piece => ({ _tag: "Piece", index, begin, block })
export const cancel = (index: number, begin: number, length: number): Cancel => ({ _tag: "Cancel", index, begin, length })
export const reject = (index: number, begin: number, length: number): Reject => ({ _tag: "Reject", index, begin, length })
export const port = (value: number): Port => ({ _tag: "Port", port: value })
export const suggest = (index: number): Suggest => ({ _tag: "Suggest", index })
export const allowedFast = (index: number): AllowedFast => ({ _tag: "AllowedFast", index })
export const extended = (extendedId: number, payload: Uint8Array): Extended => ({ _tag: "Extended", extendedId, payload })
export {
  type HashRange,
  type HashReject,
  type HashRequest,
  type Hashes,
  hashReject,
  hashRequest,
  hashes
} from "./HashMessages.js"

// ---------------------------------------------------------------------------------------------------------
// Schema

/** A whole framed message (length prefix included) as a `Message`, built on `decode` and `encode`. */
export const MessageFromBytes: Schema.Schema<Message, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, Message, {
  decode: (bytes) => Either.mapLeft(decode(bytes), (e) => e.message),
  encode: (m) => encode(m)
})
