/**
 * Fuzzing the extension protocol codecs: the BEP 10 handshake (src/protocol/Extension.ts), ut_metadata
 * (src/protocol/Metadata.ts) and ut_pex (src/protocol/Pex.ts), fed arbitrary bytes, bencode soup in
 * their own keys, dictionaries of their keys with random values, mutations of what the encoders write,
 * and long inputs (megabyte client names, thousands of extensions or peers).
 *
 * Each decoder must answer with a value or a `WireError` of a reason it documents, in bounded time. What
 * it accepts must be valid by its Schema and keep to its bounds (256 extensions, a 100-character client
 * name without control characters, 200 entries per PEX list, connectable ports, a data piece of at most
 * 16 KiB left as a view into the payload), and must survive being written and read again unchanged.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { Bencode } from "../../src/domain/Bencode.js"
import { WireError, type WireErrorReason } from "../../src/domain/Errors.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { encode as encodeBencode } from "../../src/protocol/Bencode.js"
import { formatIPv4, formatIPv6 } from "../../src/protocol/CompactPeers.js"
import * as Extension from "../../src/protocol/Extension.js"
import * as Metadata from "../../src/protocol/Metadata.js"
import * as Pex from "../../src/protocol/Pex.js"
import { mutated } from "./mutations.js"
import { anyBytes, bencodeTokens, bencodeValue, fuzz, runDecoder, tokenSoup } from "./support.js"

const isHandshake = Schema.is(Extension.ExtensionHandshake)
const isMetadataMessage = Schema.is(Metadata.MetadataMessage)
const isPexMessage = Schema.is(Pex.PexMessage)

const expectWireError = (e: unknown, reasons: ReadonlyArray<WireErrorReason>): void => {
  expect(e).toBeInstanceOf(WireError)
  if (e instanceof WireError) expect(reasons, `${e.reason}: ${e.detail}`).toContain(e.reason)
}

/** The handshake as `encodeHandshake` writes it back: `upload_only` is read, never written. */
const written = (h: Extension.ExtensionHandshake): Extension.ExtensionHandshake => {
  const { uploadOnly, ...rest } = h
  void uploadOnly
  return rest
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

const handshakeKeys = ["m", "v", "p", "reqq", "yourip", "metadata_size", "upload_only", "ut_metadata", "ut_pex", "e", "ipv6"]
const metadataKeys = ["msg_type", "piece", "total_size"]
const pexKeys = ["added", "added.f", "dropped", "added6", "added6.f", "dropped6"]

/** A dictionary of the format's keys with random values: reaches every field's checks. */
const dictOf = (keys: ReadonlyArray<string>): FastCheck.Arbitrary<Uint8Array> =>
  FastCheck.array(FastCheck.tuple(FastCheck.constantFrom(...keys), bencodeValue(keys)), { maxLength: 8 }).map((entries) =>
    encodeBencode(new Map<string, Bencode>(entries))
  )

/** Bytes after a valid value, sometimes: the decoders read the dictionary and judge the rest. */
const withTail = (valid: FastCheck.Arbitrary<Uint8Array>): FastCheck.Arbitrary<Uint8Array> =>
  FastCheck.tuple(valid, FastCheck.option(FastCheck.uint8Array({ maxLength: 20_000 }), { freq: 3 })).map(([v, tail]) =>
    tail === null ? v : new Uint8Array(Buffer.concat([v, tail]))
  )

const handshakeArb: FastCheck.Arbitrary<Uint8Array> = FastCheck.record(
  {
    m: FastCheck.array(FastCheck.tuple(FastCheck.string({ maxLength: 12 }), FastCheck.integer({ min: 0, max: 255 })), {
      maxLength: 6
    }).map((entries) => new Map(entries)),
    v: FastCheck.string({ maxLength: 120 }),
    p: FastCheck.integer({ min: 1, max: 65535 }),
    reqq: FastCheck.integer({ min: 1, max: 100_000 }),
    yourip: FastCheck.uint8Array({ minLength: 4, maxLength: 4 }),
    metadataSize: FastCheck.nat({ max: 2 ** 40 })
  },
  { requiredKeys: ["m"] }
).map(Extension.encodeHandshake)

/** Handshakes at the bounds: a long client name, thousands of extensions. */
const bigHandshake: FastCheck.Arbitrary<Uint8Array> = FastCheck.tuple(
  FastCheck.integer({ min: 0, max: 1_000_000 }),
  FastCheck.integer({ min: 0, max: 20_000 }),
  FastCheck.constantFrom("x", "é", "\x1b", "😀")
).map(([nameLength, extensions, unit]) =>
  Extension.encodeHandshake({
    m: new Map(Array.from({ length: extensions }, (_, i) => [`ext${i}`, i % 256] as const)),
    v: unit.repeat(Math.floor(nameLength / Buffer.byteLength(unit)))
  })
)

const metadataArb: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  FastCheck.nat({ max: 2000 }).map((p) => Metadata.encode(Metadata.request(p))),
  FastCheck.nat({ max: 2000 }).map((p) => Metadata.encode(Metadata.reject(p))),
  FastCheck.tuple(
    FastCheck.nat({ max: 1100 }),
    FastCheck.integer({ min: 1, max: Metadata.maxMetadataSize }),
    FastCheck.uint8Array({ maxLength: Metadata.pieceSize })
  ).map(([p, total, data]) => Metadata.encode(Metadata.data(p, total, data)))
)

const addressArb = FastCheck.tuple(
  FastCheck.oneof(
    FastCheck.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b)),
    FastCheck.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b))
  ),
  FastCheck.integer({ min: 1, max: 65535 })
).map(([host, port]) => new PeerAddress({ host, port }))

const pexArb: FastCheck.Arbitrary<Uint8Array> = FastCheck.record({
  added: FastCheck.array(FastCheck.record({ address: addressArb, flags: FastCheck.integer({ min: 0, max: 255 }) }), {
    maxLength: 60
  }),
  dropped: FastCheck.array(addressArb, { maxLength: 60 })
}).map(Pex.encode)

/** PEX lists written raw: any entry bytes (port 0 included), flags of any length, thousands of entries. */
const rawPexArb: FastCheck.Arbitrary<Uint8Array> = FastCheck.tuple(
  FastCheck.constantFrom(...pexKeys.filter((k) => !k.endsWith(".f"))),
  FastCheck.integer({ min: 0, max: 30_000 }),
  FastCheck.uint8Array({ minLength: 18, maxLength: 18 }),
  FastCheck.uint8Array({ maxLength: 400 })
).map(([key, count, entry, flags]) => {
  const size = key.endsWith("6") ? 18 : 6
  const list = Buffer.alloc(count * size, entry.subarray(0, size))
  const flagKey = key.startsWith("added") ? `${key}.f` : "added.f"
  return encodeBencode(new Map<string, Bencode>([[key, list], [flagKey, flags]]))
})

// ---------------------------------------------------------------------------------------------------------
// Checks

const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/

const checkHandshake = (bytes: Uint8Array): void => {
  const result = runDecoder("Extension.decodeHandshake", () => Extension.decodeHandshake(bytes))
  if (Either.isLeft(result)) return expectWireError(result.left, ["BadPayload"])
  const h = result.right
  expect(isHandshake(h)).toBe(true)
  expect(h.m.size).toBeLessThanOrEqual(Extension.maxExtensions)
  for (const [name, id] of h.m) expect(id >= 1 && id <= 255, `${name} -> ${id}`).toBe(true)
  if (h.v !== undefined) {
    expect(Array.from(h.v).length).toBeLessThanOrEqual(Extension.maxClientNameLength)
    expect(controlCharacters.test(h.v), JSON.stringify(h.v)).toBe(false)
  }
  if (h.yourip !== undefined) expect(h.yourip.buffer).not.toBe(bytes.buffer)
  const again = runDecoder("Extension.decodeHandshake (again)", () => Extension.decodeHandshake(Extension.encodeHandshake(h)))
  expect(again).toEqual(Either.right(written(h)))
}

const checkMetadata = (bytes: Uint8Array): void => {
  const result = runDecoder("Metadata.decode", () => Metadata.decode(bytes))
  if (Either.isLeft(result)) return expectWireError(result.left, ["BadPayload", "BadLength", "UnknownMessage"])
  const m = result.right
  expect(isMetadataMessage(m)).toBe(true)
  if (m._tag === "Data") {
    expect(m.data.length).toBeLessThanOrEqual(Metadata.pieceSize)
    expect(m.data.buffer).toBe(bytes.buffer)
    expect(m.data.byteOffset + m.data.length).toBe(bytes.byteOffset + bytes.length)
  }
  const again = runDecoder("Metadata.decode (again)", () => Metadata.decode(Metadata.encode(m)))
  expect(again).toEqual(Either.right(m))
}

const checkPex = (bytes: Uint8Array): void => {
  const result = runDecoder("Pex.decode", () => Pex.decode(bytes))
  if (Either.isLeft(result)) return expectWireError(result.left, ["BadPayload"])
  const m = result.right
  expect(isPexMessage(m)).toBe(true)
  expect(m.added.length).toBeLessThanOrEqual(2 * Pex.maxEntriesRead)
  expect(m.dropped.length).toBeLessThanOrEqual(2 * Pex.maxEntriesRead)
  for (const a of [...m.added.map((p) => p.address), ...m.dropped]) {
    expect(a).toBeInstanceOf(PeerAddress)
    expect(a.port >= 1 && a.port <= 65535, `port ${a.port}`).toBe(true)
  }
  const again = runDecoder("Pex.decode (again)", () => Pex.decode(Pex.encode(m)))
  expect(again).toEqual(Either.right(m))
}

describe("fuzz: extension protocol", () => {
  fuzz("Extension.decodeHandshake: arbitrary bytes", anyBytes, checkHandshake, 500)

  fuzz("Extension.decodeHandshake: bencode soup in its keys", tokenSoup(bencodeTokens(handshakeKeys)), checkHandshake, 500)

  fuzz("Extension.decodeHandshake: its keys with random values", withTail(dictOf(handshakeKeys)), checkHandshake, 500)

  fuzz("Extension.decodeHandshake: mutations of valid handshakes", mutated(handshakeArb, { bencode: true }), checkHandshake, 500)

  fuzz("Extension.decodeHandshake: long names and many extensions", bigHandshake, checkHandshake, 30)

  fuzz("Metadata.decode: arbitrary bytes", anyBytes, checkMetadata, 500)

  fuzz("Metadata.decode: bencode soup in its keys", tokenSoup(bencodeTokens(metadataKeys)), checkMetadata, 500)

  fuzz("Metadata.decode: its keys with random values", withTail(dictOf(metadataKeys)), checkMetadata, 500)

  fuzz("Metadata.decode: mutations of valid messages", mutated(metadataArb, { bencode: true }), checkMetadata, 800)

  fuzz("Pex.decode: arbitrary bytes", anyBytes, checkPex, 500)

  fuzz("Pex.decode: bencode soup in its keys", tokenSoup(bencodeTokens(pexKeys)), checkPex, 500)

  fuzz("Pex.decode: its keys with random values", withTail(dictOf(pexKeys)), checkPex, 500)

  fuzz("Pex.decode: mutations of valid messages", mutated(pexArb, { bencode: true }), checkPex, 800)

  fuzz("Pex.decode: long raw lists", rawPexArb, checkPex, 100)
})
