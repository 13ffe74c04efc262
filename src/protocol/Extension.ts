/**
 * The extension handshake of BEP 10: the bencoded dictionary an Extended message with extended id 0
 * carries, saying which extensions the sender speaks (`m`, name -> the id to send them to it with) and a
 * few facts about it (client name, listening port, request queue, our address as it sees it, the size
 * of the info dictionary for BEP 9).
 *
 * Decoding is strict about the shape (a bencoded dictionary within `decodeLimits`, else reason
 * "BadPayload") and lenient about the values: real clients send odd types and ranges, and a value we
 * cannot use is left out rather than ending the connection. Bytes after the dictionary are ignored (some
 * clients pad). Nothing decoded is a
 * view into the payload, which the frame parser may reuse once the message is handled.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, type BencodeDict, bytes, isBytes, isDict, keyFromBytes, keyToBytes } from "../domain/Bencode.js"
import { WireError } from "../domain/Errors.js"
import * as BencodeCodec from "./Bencode.js"
import { fromCodec } from "./CodecSchema.js"

/** The extended id of the handshake itself. */
export const handshakeId = 0

/** Names of the extensions we speak, as in the `m` dictionary. */
export const UtMetadata = "ut_metadata"
export const UtPex = "ut_pex"

/** Most extensions kept from one `m`; more are ignored (there are 255 ids to give them anyway). */
export const maxExtensions = 256

/** Longest client name (`v`) kept, in characters; the rest is cut. */
export const maxClientNameLength = 100

/**
 * Bencode limits for a handshake. Real ones hold a few dozen values; a megabyte of tiny values would
 * cost half a second of CPU to build and throw away, which a peer could repeat with every message.
 */
export const decodeLimits = { maxTokens: 10_000, maxDepth: 32 } as const

export const ExtensionHandshake = Schema.Struct({
  /**
   * Extension name -> the id the sender wants it sent with (1..255). Names are byte strings held as
   * latin1 (one char per byte), as every dictionary key is. Decoding leaves out 0 ("disabled").
   */
  m: Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.Int.pipe(Schema.between(0, 255)) }),
  /** Client name and version, UTF-8, for display only. */
  v: Schema.optionalWith(Schema.String, { exact: true }),
  /** The sender's listening TCP port. */
  p: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 65535)), { exact: true }),
  /** How many requests the sender queues. */
  reqq: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }),
  /** Our address as the sender sees it: 4 or 16 bytes. */
  yourip: Schema.optionalWith(
    Schema.Uint8ArrayFromSelf.pipe(Schema.filter((b) => b.length === 4 || b.length === 16, {
      message: () => "an IPv4 or IPv6 address of 4 or 16 bytes"
    })),
    { exact: true }
  ),
  /** `metadata_size` (BEP 9): the length of the info dictionary. */
  metadataSize: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  /** `upload_only` (BEP 21): the sender only uploads. Read, never written. */
  uploadOnly: Schema.optionalWith(Schema.Boolean, { exact: true })
}).annotations({ identifier: "ExtensionHandshake" })

export interface ExtensionHandshake extends Schema.Schema.Type<typeof ExtensionHandshake> {}

// ---------------------------------------------------------------------------------------------------------
// Decoding

const badPayload = (detail: string) => new WireError({ reason: "BadPayload", detail })

/** A safe integer, or undefined for anything else (bigints are beyond every range read here). */
const int = (v: Bencode | undefined): number | undefined => (typeof v === "number" ? v : undefined)

const utf8Lenient = new TextDecoder("utf-8", { fatal: false })

/**
 * Display text of a client name: lenient UTF-8, control characters replaced (the name ends up in logs
 * and terminals), at most `maxClientNameLength` code points. Only the first 4 bytes per kept character
 * are read, so a megabyte of name costs no more than a short one.
 */
export const clientName = (raw: Uint8Array): string => {
  const text = utf8Lenient.decode(raw.subarray(0, 4 * maxClientNameLength))
  const chars = Array.from(text).slice(0, maxClientNameLength)
  return chars.join("").replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")
}

const readExtensions = (m: BencodeDict): ReadonlyMap<string, number> => {
  const out = new Map<string, number>()
  for (const [name, value] of m) {
    if (out.size >= maxExtensions) break
    const id = int(value)
    if (id !== undefined && id >= 1 && id <= 255) out.set(name, id)
  }
  return out
}

const fromDict = (d: BencodeDict): ExtensionHandshake => {
  const m = d.get("m")
  const v = d.get("v")
  const p = int(d.get("p"))
  const reqq = int(d.get("reqq"))
  const yourip = d.get("yourip")
  const metadataSize = int(d.get("metadata_size"))
  const uploadOnly = int(d.get("upload_only"))
  return {
    m: isDict(m) ? readExtensions(m) : new Map(),
    ...(isBytes(v) ? { v: clientName(v) } : {}),
    ...(p !== undefined && p >= 1 && p <= 65535 ? { p } : {}),
    ...(reqq !== undefined && reqq >= 1 ? { reqq } : {}),
    // Copied (`new Uint8Array`, as a Buffer's `slice` is a view): the frame parser may reuse the payload.
    ...(isBytes(yourip) && (yourip.length === 4 || yourip.length === 16) ? { yourip: new Uint8Array(yourip) } : {}),
    ...(metadataSize !== undefined && metadataSize >= 0 ? { metadataSize } : {}),
    ...(uploadOnly !== undefined ? { uploadOnly: uploadOnly !== 0 } : {})
  }
}

/**
 * The extension handshake in `payload` (the bytes after the extended id). Fails with "BadPayload" only
 * when the payload is not a bencoded dictionary within `decodeLimits`; fields of the wrong type or range
 * are left out, and bytes after the dictionary are ignored.
 */
export const decodeHandshake = (payload: Uint8Array): Either.Either<ExtensionHandshake, WireError> => {
  const decoded = BencodeCodec.decode(payload, { ...decodeLimits, allowTrailing: true })
  if (Either.isLeft(decoded)) return Either.left(badPayload(`extension handshake: ${decoded.left.message}`))
  const value = decoded.right.value
  if (!isDict(value)) return Either.left(badPayload("extension handshake is not a dictionary"))
  return Either.right(fromDict(value))
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/** A name as a dictionary key: latin1 names as they are, others as their UTF-8 bytes. */
const nameKey = (name: string): string => (/^[\u0000-\u00ff]*$/.test(name) ? name : keyFromBytes(bytes(name)))

/**
 * The canonical bencode of `h` (keys sorted). `uploadOnly` is not written. Values are taken as the
 * Schema describes them; `ExtensionHandshakeFromBytes` checks them first.
 */
export const encodeHandshake = (h: ExtensionHandshake): Uint8Array => {
  const d = new Map<string, Bencode>()
  d.set("m", new Map([...h.m].map(([name, id]): [string, Bencode] => [nameKey(name), id])))
  if (h.v !== undefined) d.set("v", bytes(h.v))
  if (h.p !== undefined) d.set("p", h.p)
  if (h.reqq !== undefined) d.set("reqq", h.reqq)
  if (h.yourip !== undefined) d.set("yourip", h.yourip)
  if (h.metadataSize !== undefined) d.set("metadata_size", h.metadataSize)
  return BencodeCodec.encode(d)
}

/** The key bytes of an extension name, as `encodeHandshake` writes it (for tests and logs). */
export const nameBytes = (name: string): Uint8Array => keyToBytes(nameKey(name))

// ---------------------------------------------------------------------------------------------------------
// Schema

/** The payload of an extended handshake <-> the handshake, built on `decodeHandshake` and `encodeHandshake`. */
export const ExtensionHandshakeFromBytes: Schema.Schema<ExtensionHandshake, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, ExtensionHandshake, {
  decode: (payload) => Either.mapLeft(decodeHandshake(payload), (e) => e.message),
  encode: (h) => encodeHandshake(h)
})
