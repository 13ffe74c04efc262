/**
 * BEP 52's three hash messages, part of the peer wire's `Message` (Message.ts takes them into its union,
 * its length table, its decoder and its encoder; this file holds them so that it stays one screenful of
 * BEP 3 and its extensions). What the fields mean and how answers are checked: domain/MerkleProof.
 *
 *   hash request (21) and hash reject (23): <pieces root: 32 bytes><base layer><index><length><proof layers>
 *   hashes (22): the same, then the hashes asked for and their uncles, 32 bytes each
 *
 * The numbers are big-endian u32s. A request or reject is taken whatever its numbers say (whether it can
 * be answered is the session's question: `MerkleProof.checkRange`, answered with a reject); a hashes
 * message must carry exactly the hashes its numbers announce, within the bounds of `hashesShape`, or it is
 * a `WireError`. Byte fields are views into the payload, as Message.ts's are.
 */
import * as Schema from "effect/Schema"
import { WireError } from "../domain/Errors.js"
import { isPowerOfTwo } from "../domain/Merkle.js"
import { MAX_BASE_HASHES, MAX_UNCLE_HASHES, uncleCount } from "../domain/MerkleProof.js"

/** As Message.ts's U32 (which imports this file, so it cannot be imported here). */
const U32 = Schema.Number.pipe(Schema.int(), Schema.between(0, 0xffff_ffff)).annotations({ identifier: "U32" })

export const HashMessageId = { HashRequest: 21, Hashes: 22, HashReject: 23 } as const

/** A hash message's fields before its hashes: the pieces root and four u32s. */
export const HASH_RANGE_BYTES = 48
/** The longest hashes payload `hashesShape` lets through: 48 + 32 * (8192 + 64) bytes, about 258 KiB. */
export const MAX_HASHES_PAYLOAD = HASH_RANGE_BYTES + 32 * (MAX_BASE_HASHES + MAX_UNCLE_HASHES)

/** A file's `pieces root`, naming the tree the hash messages are about. */
export const PiecesRoot = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((b) => b.length === 32, { message: () => "a pieces root is 32 bytes" })
).annotations({ identifier: "PiecesRoot" })

const hashRange = { piecesRoot: PiecesRoot, baseLayer: U32, index: U32, length: U32, proofLayers: U32 }

/** The fields the three hash messages share: which nodes of which file's tree, with how many uncles. */
export interface HashRange {
  readonly piecesRoot: Uint8Array
  readonly baseLayer: number
  readonly index: number
  readonly length: number
  readonly proofLayers: number
}

/**
 * Refusal of a hashes message whose hashes cannot be what it says it carries, or undefined: `length` must
 * be a power of two up to MAX_BASE_HASHES (8192), and `hashBytes` exactly `length` hashes and then
 * max(0, proofLayers + 1 - log2(length)) uncles, at most MAX_UNCLE_HASHES (64).
 */
export const hashesShape = (length: number, proofLayers: number, hashBytes: number): WireError | undefined => {
  if (!isPowerOfTwo(length) || length > MAX_BASE_HASHES) {
    return new WireError({
      reason: "BadPayload",
      detail: `hashes message (id 22) for ${length} hashes, not a power of two up to ${MAX_BASE_HASHES}`
    })
  }
  const uncles = uncleCount(length, proofLayers)
  if (uncles > MAX_UNCLE_HASHES) {
    return new WireError({
      reason: "BadPayload",
      detail: `hashes message (id 22) with ${proofLayers} proof layers, more than ${MAX_UNCLE_HASHES} uncle hashes`
    })
  }
  const expected = 32 * (length + uncles)
  if (hashBytes === expected) return undefined
  return new WireError({
    reason: "BadLength",
    detail: `hashes message (id 22) with ${hashBytes} bytes of hashes, expected ${expected} (${length} hashes, ${uncles} uncles)`
  })
}

export const HashRequest = Schema.TaggedStruct("HashRequest", hashRange)
/** The nodes asked for, then their uncles, 32 bytes each, in one byte string (as `hashesShape` allows). */
export const Hashes = Schema.TaggedStruct("Hashes", { ...hashRange, hashes: Schema.Uint8ArrayFromSelf }).pipe(
  Schema.filter((m) => hashesShape(m.length, m.proofLayers, m.hashes.length)?.detail ?? true)
)
export const HashReject = Schema.TaggedStruct("HashReject", hashRange)

export type HashRequest = typeof HashRequest.Type
export type Hashes = typeof Hashes.Type
export type HashReject = typeof HashReject.Type
export type HashMessage = HashRequest | Hashes | HashReject

// ---------------------------------------------------------------------------------------------------------
// Decoding: the payload's length is checked against Message.ts's table (48, or 80 to MAX_HASHES_PAYLOAD).

const u32 = (bytes: Uint8Array, at: number): number =>
  bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)

const rangeAt = (payload: Uint8Array): HashRange => ({
  piecesRoot: payload.subarray(0, 32),
  baseLayer: u32(payload, 32),
  index: u32(payload, 36),
  length: u32(payload, 40),
  proofLayers: u32(payload, 44)
})

/** The hash message of id 21, 22 or 23 from its payload, whose length is within that id's bounds. */
export const parseHashMessage = (id: 21 | 22 | 23, payload: Uint8Array): HashMessage | WireError => {
  const range = rangeAt(payload)
  if (id === HashMessageId.HashRequest) return { _tag: "HashRequest", ...range }
  if (id === HashMessageId.HashReject) return { _tag: "HashReject", ...range }
  const refused = hashesShape(range.length, range.proofLayers, payload.length - HASH_RANGE_BYTES)
  return refused ?? { _tag: "Hashes", ...range, hashes: payload.subarray(HASH_RANGE_BYTES) }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding. Numbers are taken as the Schemas describe them (wrapping modulo 2^32 otherwise); a pieces root
// is written as its first 32 bytes.

const putU32 = (out: Uint8Array, at: number, value: number): void => {
  out[at] = value >>> 24
  out[at + 1] = value >>> 16
  out[at + 2] = value >>> 8
  out[at + 3] = value
}

/** The bytes of a hash message, length prefix included, in one allocation. */
export const encodeHashMessage = (m: HashMessage): Uint8Array => {
  const hashBytes = m._tag === "Hashes" ? m.hashes.length : 0
  const out = new Uint8Array(5 + HASH_RANGE_BYTES + hashBytes)
  putU32(out, 0, 1 + HASH_RANGE_BYTES + hashBytes)
  out[4] = HashMessageId[m._tag]
  out.set(m.piecesRoot.subarray(0, 32), 5)
  putU32(out, 37, m.baseLayer)
  putU32(out, 41, m.index)
  putU32(out, 45, m.length)
  putU32(out, 49, m.proofLayers)
  if (m._tag === "Hashes") out.set(m.hashes, 5 + HASH_RANGE_BYTES)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Constructors: plain objects, no validation (the Schemas' `make` validates). Only the range's own fields
// are taken, so that a request can be answered or rejected by passing it as the range.

const fields = ({ piecesRoot, baseLayer, index, length, proofLayers }: HashRange): HashRange => ({
  piecesRoot,
  baseLayer,
  index,
  length,
  proofLayers
})

export const hashRequest = (r: HashRange): HashRequest => ({ _tag: "HashRequest", ...fields(r) })
export const hashes = (r: HashRange, hashBytes: Uint8Array): Hashes => ({ _tag: "Hashes", ...fields(r), hashes: hashBytes })
export const hashReject = (r: HashRange): HashReject => ({ _tag: "HashReject", ...fields(r) })
