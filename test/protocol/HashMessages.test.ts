/**
 * BEP 52's hash request (21), hashes (22) and hash reject (23) on the wire (src/protocol/HashMessages.ts,
 * through Message.ts and the FrameParser): exact bytes, round trips through the plain functions, the
 * Schema and the framer in any chunking, and hostile lengths and counts refused as WireError values.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { WireError } from "../../src/domain/Errors.js"
import { MAX_BASE_HASHES, MAX_UNCLE_HASHES, uncleCount } from "../../src/domain/MerkleProof.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as HashMessages from "../../src/protocol/HashMessages.js"
import * as Message from "../../src/protocol/Message.js"
import * as wire from "../support/wireArbitraries.js"

const hex = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("hex")

const root = FastCheck.uint8Array({ minLength: 32, maxLength: 32 })

const range = FastCheck.record({
  piecesRoot: root,
  baseLayer: wire.u32,
  index: wire.u32,
  length: wire.u32,
  proofLayers: wire.u32
})

/** Patterned bytes (fast for the large ones). */
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed) & 0xff)

/** A well-formed hashes message: a power-of-two length up to the bound and its uncles. */
const hashesArb = FastCheck.record({
  piecesRoot: root,
  baseLayer: wire.u32,
  index: wire.u32,
  lengthLog: FastCheck.oneof(FastCheck.integer({ min: 0, max: 4 }), FastCheck.integer({ min: 0, max: 13 })),
  extraLayers: FastCheck.oneof(FastCheck.integer({ min: 0, max: 3 }), FastCheck.integer({ min: 0, max: 64 })),
  seed: FastCheck.nat(255)
}).map(({ lengthLog, extraLayers, seed, ...rest }) => {
  const length = 2 ** lengthLog
  // Proof layers from below the subtree's top (no uncles) to 64 uncles.
  const proofLayers = Math.max(0, lengthLog - 1 + extraLayers)
  const count = length + uncleCount(length, proofLayers)
  return HashMessages.hashes({ ...rest, length, proofLayers }, pattern(32 * count, seed))
})

const hashMessage: FastCheck.Arbitrary<Message.Message> = FastCheck.oneof(
  range.map(HashMessages.hashRequest),
  range.map(HashMessages.hashReject),
  hashesArb
)

/** A message with its byte fields as hex: vitest's deep equality walks a 256 KiB array element by element. */
const shown = (m: Message.Message): unknown =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]))

const refused = (id: number, payload: Uint8Array): WireError => {
  const result = Message.decodePayload(id, payload)
  if (Either.isRight(result)) throw new Error(`expected a WireError, got ${result.right._tag}`)
  return result.left
}

/** A hashes payload with the given header numbers and `hashCount` hashes after it. */
const hashesPayload = (length: number, proofLayers: number, hashCount: number): Uint8Array => {
  const out = Buffer.alloc(48 + 32 * hashCount)
  out.writeUInt32BE(length, 40)
  out.writeUInt32BE(proofLayers, 44)
  return new Uint8Array(out)
}

describe("hash messages (BEP 52)", () => {
  it("exact bytes", () => {
    const r = { piecesRoot: new Uint8Array(32).fill(0xab), baseLayer: 2, index: 512, length: 512, proofLayers: 10 }
    const fields = "ab".repeat(32) + "00000002" + "00000200" + "00000200" + "0000000a"
    expect(hex(Message.encode(HashMessages.hashRequest(r)))).toBe("0000003115" + fields)
    expect(hex(Message.encode(HashMessages.hashReject(r)))).toBe("0000003117" + fields)
    const one = { ...r, index: 0, length: 2, proofLayers: 1 }
    const hashes = new Uint8Array(96).fill(0xcd)
    expect(hex(Message.encode(HashMessages.hashes(one, hashes)))).toBe(
      "0000009116" + "ab".repeat(32) + "00000002" + "00000000" + "00000002" + "00000001" + "cd".repeat(96)
    )
    expect(Message.MessageId.HashRequest).toBe(21)
    expect(Message.MessageId.Hashes).toBe(22)
    expect(Message.MessageId.HashReject).toBe(23)
  })

  it.prop(
    "decode(encode(m)) = m, the Schema codec agrees, and byte fields are views",
    [hashMessage],
    ([m]) => {
      const frame = Message.encode(m)
      expect(Buffer.from(frame).readUInt32BE(0)).toBe(frame.length - 4)
      const decoded = Message.decode(frame)
      expect(shown(Either.getOrThrow(decoded))).toEqual(shown(m))
      expect(hex(Schema.encodeSync(Message.MessageFromBytes)(m))).toBe(hex(frame))
      expect(shown(Schema.decodeSync(Message.MessageFromBytes)(frame))).toEqual(shown(m))
      expect(Schema.is(Message.Message)(m)).toBe(true)
      const d = Either.getOrThrow(decoded)
      if (d._tag === "HashRequest" || d._tag === "Hashes" || d._tag === "HashReject") {
        expect(d.piecesRoot.buffer).toBe(frame.buffer)
        if (d._tag === "Hashes") expect(d.hashes.byteOffset).toBe(53)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "the frame parser frames hash messages among the others in any chunking",
    [
      FastCheck.array(FastCheck.oneof(hashMessage, wire.message({ bitfield: 100, extended: 100 })), { maxLength: 10 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 20 }),
      FastCheck.boolean()
    ],
    ([messages, cuts, reuseBuffer]) => {
      const stream = Buffer.concat(messages.map(Message.encode))
      const at = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b)
      const parser = FrameParser.make({ reuseBuffer })
      const out: Array<Uint8Array> = []
      let start = 0
      for (const p of [...at, stream.length]) {
        const error = parser.push(stream.subarray(start, p), (frame) => {
          if (frame._tag === "Handshake" || frame._tag === "HandshakePrefix") throw new Error("no handshake expected")
          out.push(Message.encode(frame))
        })
        expect(error).toBeUndefined()
        start = Math.max(start, p)
      }
      expect(hex(Buffer.concat(out))).toBe(hex(stream))
    },
    { fastCheck: { numRuns: 100 } }
  )

  it("hashes whose count disagrees with length and proof layers are refused as values", () => {
    // length 4, proof layers 3: 4 hashes and 2 uncles.
    expect(Either.isRight(Message.decodePayload(22, hashesPayload(4, 3, 6)))).toBe(true)
    for (const count of [1, 4, 5, 7, 12]) {
      const e = refused(22, hashesPayload(4, 3, count))
      expect(e.reason).toBe("BadLength")
      expect(e.detail).toBe(`hashes message (id 22) with ${32 * count} bytes of hashes, expected 192 (4 hashes, 2 uncles)`)
    }
    // A payload that is not whole hashes.
    expect(refused(22, new Uint8Array([...hashesPayload(4, 3, 6), 0])).reason).toBe("BadLength")
    // Lengths that are not a power of two, zero, or past the bound.
    for (const length of [0, 3, 6, MAX_BASE_HASHES * 2, 0xffff_ffff]) {
      expect(refused(22, hashesPayload(length, 0, 4)).reason).toBe("BadPayload")
    }
    // Proof layers asking for more uncles than the bound.
    expect(refused(22, hashesPayload(1, MAX_UNCLE_HASHES, 1 + MAX_UNCLE_HASHES + 1)).reason).toBe("BadPayload")
    expect(refused(22, hashesPayload(1, 0xffff_ffff, 4)).reason).toBe("BadPayload")
    expect(Either.isRight(Message.decodePayload(22, hashesPayload(1, MAX_UNCLE_HASHES - 1, 1 + MAX_UNCLE_HASHES)))).toBe(true)
    // The largest allowed answer decodes.
    const largest = hashesPayload(MAX_BASE_HASHES, 12 + MAX_UNCLE_HASHES, MAX_BASE_HASHES + MAX_UNCLE_HASHES)
    expect(largest.length).toBe(HashMessages.MAX_HASHES_PAYLOAD)
    expect(Either.isRight(Message.decodePayload(22, largest))).toBe(true)
  })

  it("wrong payload lengths are refused by the length table, before any body is read", () => {
    for (const id of [21, 23]) {
      for (const n of [0, 47, 49, 80]) expect(refused(id, new Uint8Array(n)).detail).toBe(
        `${id === 21 ? "hash request" : "hash reject"} message (id ${id}) with a ${n}-byte payload, expected 48`
      )
    }
    expect(refused(22, new Uint8Array(79)).detail).toBe(
      `hashes message (id 22) with a 79-byte payload, expected 80 to ${HashMessages.MAX_HASHES_PAYLOAD}`
    )
    expect(refused(22, new Uint8Array(HashMessages.MAX_HASHES_PAYLOAD + 32)).reason).toBe("BadLength")
    // The framer refuses an oversized hashes message at its id byte, holding no body.
    const parser = FrameParser.make()
    const header = Buffer.alloc(5)
    header.writeUInt32BE(1 + HashMessages.MAX_HASHES_PAYLOAD + 32, 0)
    header[4] = 22
    const error = parser.push(header, () => {
      throw new Error("no frame expected")
    })
    expect(error?.reason).toBe("BadLength")
    expect(parser.allocatedBytes).toBe(0)
  })

  it.prop(
    "any payload for ids 21 to 23 decodes to a message or a WireError, and what decodes re-encodes to it",
    [
      FastCheck.integer({ min: 21, max: 23 }),
      FastCheck.oneof(
        FastCheck.uint8Array({ minLength: 40, maxLength: 600 }),
        FastCheck.tuple(range, FastCheck.integer({ min: 0, max: 20 }), FastCheck.uint8Array({ maxLength: 40 })).map(([r, n, tail]) => {
          // A plausible header with small numbers, then whole hashes or not.
          const p = Buffer.alloc(48 + 32 * n + tail.length)
          p.set(r.piecesRoot, 0)
          p.writeUInt32BE(r.baseLayer % 8, 32)
          p.writeUInt32BE(2 ** (r.length % 4), 40)
          p.writeUInt32BE(r.proofLayers % 6, 44)
          p.set(tail, 48 + 32 * n)
          return new Uint8Array(p)
        })
      )
    ],
    ([id, payload]) => {
      const result = Message.decodePayload(id, payload)
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(WireError)
        expect(["BadLength", "BadPayload"]).toContain(result.left.reason)
        return
      }
      expect(Schema.is(Message.Message)(result.right)).toBe(true)
      expect(hex(Message.encode(result.right).subarray(5))).toBe(hex(payload))
      expect(Message.encode(result.right)[4]).toBe(id)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it("the Schemas refuse a pieces root that is not 32 bytes and hashes of the wrong count", () => {
    const encode = Schema.encodeEither(Message.MessageFromBytes)
    const r = { piecesRoot: new Uint8Array(32), baseLayer: 0, index: 0, length: 2, proofLayers: 1 }
    expect(Either.isRight(encode(HashMessages.hashRequest(r)))).toBe(true)
    expect(Either.isLeft(encode(HashMessages.hashRequest({ ...r, piecesRoot: new Uint8Array(20) })))).toBe(true)
    expect(Either.isLeft(encode(HashMessages.hashReject({ ...r, index: -1 })))).toBe(true)
    expect(Either.isRight(encode(HashMessages.hashes(r, new Uint8Array(96))))).toBe(true)
    expect(Either.isLeft(encode(HashMessages.hashes(r, new Uint8Array(64))))).toBe(true)
    expect(Either.isLeft(encode(HashMessages.hashes({ ...r, length: 3 }, new Uint8Array(96))))).toBe(true)
  })

  it("a request answered or rejected by passing it as the range keeps only the range's fields", () => {
    const request = HashMessages.hashRequest({ piecesRoot: new Uint8Array(32), baseLayer: 1, index: 4, length: 4, proofLayers: 2 })
    expect(HashMessages.hashReject(request)).toEqual({ ...request, _tag: "HashReject" })
    expect(HashMessages.hashes(request, new Uint8Array(0))._tag).toBe("Hashes")
  })
})
