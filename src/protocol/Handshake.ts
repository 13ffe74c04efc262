/**
 * The peer wire handshake (BEP 3): `\x13BitTorrent protocol`, 8 reserved bytes, the 20-byte info hash and
 * the 20-byte peer id, 68 bytes in all.
 *
 * The reserved bytes announce extensions: BEP 10 (extension protocol, reserved[5] & 0x10), BEP 6 (fast
 * extension, reserved[7] & 0x04), BEP 5 (DHT, reserved[7] & 0x01) and BEP 52 (reserved[7] & 0x10: a peer that
 * handshakes for a hybrid torrent with its v1 hash and speaks v2, as libtorrent 2.0 sets it). Unknown bits
 * are kept as they came.
 *
 * A peer may send the first 48 bytes (up to the info hash) and wait for our handshake before sending its
 * peer id, so a listener that serves several torrents routes by `decodePrefix` and answers first.
 *
 * Decoded fields are copies, not views: a handshake lives as long as its connection, and a view would keep
 * the whole socket chunk it arrived in alive with it.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { WireError } from "../domain/Errors.js"
import { InfoHash } from "../domain/InfoHash.js"
import { PeerId } from "../domain/PeerId.js"
import { fromCodec } from "./CodecSchema.js"

export const PROTOCOL_NAME = "BitTorrent protocol"

/** The whole handshake, in bytes. */
export const HANDSHAKE_LENGTH = 68

/** The bytes up to and including the info hash: what a listener needs to pick the torrent. */
export const PREFIX_LENGTH = 48

/** The 20 bytes every handshake starts with: the length of the protocol name, then the name. */
const START = Uint8Array.from(Buffer.from(`\x13${PROTOCOL_NAME}`, "latin1"))
const START_LENGTH = START.length
const RESERVED_AT = 20
const INFO_HASH_AT = 28
const PEER_ID_AT = 48

/** The 8 reserved bytes that announce extensions. */
export const Reserved = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((u) => u.length === 8, { message: () => "the reserved field is 8 bytes" }),
  Schema.annotations({ identifier: "Reserved" })
)

export const Handshake = Schema.Struct({
  reserved: Reserved,
  infoHash: InfoHash,
  peerId: PeerId
}).annotations({ identifier: "Handshake" })

/** A decoded handshake: `reserved` (8 bytes), `infoHash` and `peerId` (20 bytes each). */
export interface Handshake extends Schema.Schema.Type<typeof Handshake> {}

/** The first 48 bytes of a handshake, read before the peer id has arrived. */
export const HandshakePrefix = Schema.Struct({
  reserved: Reserved,
  infoHash: InfoHash
}).annotations({ identifier: "HandshakePrefix" })

export interface HandshakePrefix extends Schema.Schema.Type<typeof HandshakePrefix> {}

// ---------------------------------------------------------------------------------------------------------
// Reserved bits

/** BEP 10: the peer speaks the extension protocol (ut_metadata, ut_pex, ...). */
export const supportsExtensions = (bits: Uint8Array): boolean => ((bits[5] ?? 0) & 0x10) !== 0

/** BEP 6: the peer speaks the fast extension (have all / have none, reject, allowed fast, suggest). */
export const supportsFast = (bits: Uint8Array): boolean => ((bits[7] ?? 0) & 0x04) !== 0

/** BEP 5: the peer runs a DHT node (and may send a port message). */
export const supportsDht = (bits: Uint8Array): boolean => ((bits[7] ?? 0) & 0x01) !== 0

/** BEP 52: the peer speaks v2 (hash requests) although it handshakes with a hybrid torrent's v1 hash. */
export const supportsV2 = (bits: Uint8Array): boolean => ((bits[7] ?? 0) & 0x10) !== 0

export interface Features {
  readonly extensions?: boolean
  readonly fast?: boolean
  readonly dht?: boolean
  readonly v2?: boolean
}

/** The 8 reserved bytes announcing `features`. */
export const reserved = (features: Features): Uint8Array => {
  const out = new Uint8Array(8)
  if (features.extensions === true) out[5] = 0x10
  if (features.dht === true) out[7] = 0x01
  if (features.fast === true) out[7] = (out[7] ?? 0) | 0x04
  if (features.v2 === true) out[7] = (out[7] ?? 0) | 0x10
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Codec

/** The 68 bytes of `h`. */
export const encode = (h: Handshake): Uint8Array => {
  const out = new Uint8Array(HANDSHAKE_LENGTH)
  out.set(START, 0)
  out.set(h.reserved.subarray(0, 8), RESERVED_AT)
  out.set(h.infoHash.subarray(0, 20), INFO_HASH_AT)
  out.set(h.peerId.subarray(0, 20), PEER_ID_AT)
  return out
}

/** Printable ASCII as is, everything else as `\xNN`, so that the error shows what the peer sent. */
const show = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b)
    else s += `\\x${b.toString(16).padStart(2, "0")}`
  }
  return `"${s}"`
}

const handshakeError = (detail: string) => new WireError({ reason: "Handshake", detail })

/**
 * Checks that `bytes`, however few, can begin a handshake: the protocol string bytes present so far are
 * the right ones. Lets a reader refuse an HTTP request or an encrypted stream at its first byte.
 */
export const checkStart = (bytes: Uint8Array): Either.Either<void, WireError> => {
  const n = Math.min(bytes.length, START_LENGTH)
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== START[i]) {
      const got = bytes.subarray(0, n)
      return Either.left(
        handshakeError(
          i === 0
            ? `wrong protocol string: expected a name of length 19, got ${bytes[0]} (start ${show(got)})`
            : `wrong protocol string: expected ${show(START)}, got ${show(got)}`
        )
      )
    }
  }
  return Either.void
}

const short = (what: string, expected: number, got: number) =>
  handshakeError(`short input: ${what} is ${expected} bytes, got ${got}`)

/** The reserved bytes and info hash from the first 48 bytes of `bytes` (which may hold more). */
export const decodePrefix = (bytes: Uint8Array): Either.Either<HandshakePrefix, WireError> => {
  const start = checkStart(bytes)
  if (Either.isLeft(start)) return Either.left(start.left)
  if (bytes.length < PREFIX_LENGTH) return Either.left(short("a handshake prefix", PREFIX_LENGTH, bytes.length))
  return Either.right({
    reserved: bytes.slice(RESERVED_AT, INFO_HASH_AT),
    infoHash: InfoHash.make(bytes.slice(INFO_HASH_AT, PEER_ID_AT))
  })
}

/** A handshake from exactly 68 bytes. */
export const decode = (bytes: Uint8Array): Either.Either<Handshake, WireError> => {
  const start = checkStart(bytes)
  if (Either.isLeft(start)) return Either.left(start.left)
  if (bytes.length < HANDSHAKE_LENGTH) return Either.left(short("a handshake", HANDSHAKE_LENGTH, bytes.length))
  if (bytes.length > HANDSHAKE_LENGTH) {
    return Either.left(handshakeError(`a handshake is ${HANDSHAKE_LENGTH} bytes, got ${bytes.length}`))
  }
  return Either.right({
    reserved: bytes.slice(RESERVED_AT, INFO_HASH_AT),
    infoHash: InfoHash.make(bytes.slice(INFO_HASH_AT, PEER_ID_AT)),
    peerId: PeerId.make(bytes.slice(PEER_ID_AT, HANDSHAKE_LENGTH))
  })
}

/** The handshake as a Schema over its 68 bytes. */
export const HandshakeFromBytes: Schema.Schema<Handshake, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, Schema.typeSchema(Handshake), {
  decode: (bytes) => Either.mapLeft(decode(bytes), (e) => e.message),
  encode: (h) => encode(h)
})
