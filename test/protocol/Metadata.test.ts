/**
 * The BEP 9 ut_metadata codec (src/protocol/Metadata.ts): the BEP's example messages byte for byte,
 * every refusal with its reason and detail, the bounds (total_size up to 16 MiB, a data piece up to
 * 16 KiB), data as a view into the payload, and round trips through the plain functions and the Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { WireError } from "../../src/domain/Errors.js"
import * as Metadata from "../../src/protocol/Metadata.js"

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const asText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")
const concat = (...parts: ReadonlyArray<Uint8Array>) => new Uint8Array(Buffer.concat(parts))

const right = <A>(e: Either.Either<A, WireError>): A =>
  Either.getOrThrowWith(e, (l) => new Error(`expected Right, got ${l.reason}: ${l.detail}`))

const left = <A>(e: Either.Either<A, WireError>): WireError => {
  if (Either.isRight(e)) throw new Error(`expected a WireError, got ${JSON.stringify(e.right)}`)
  return e.left
}

const refusal = (payload: Uint8Array | string) => {
  const e = left(Metadata.decode(typeof payload === "string" ? latin1(payload) : payload))
  return `${e.reason}: ${e.detail}`
}

const MiB16 = 16 * 1024 * 1024

const messageArb: FastCheck.Arbitrary<Metadata.MetadataMessage> = FastCheck.oneof(
  FastCheck.nat().map(Metadata.request),
  FastCheck.nat().map(Metadata.reject),
  FastCheck.tuple(
    FastCheck.nat(),
    FastCheck.integer({ min: 1, max: MiB16 }),
    FastCheck.uint8Array({ maxLength: 16384 })
  ).map(([piece, total, bytes]) => Metadata.data(piece, total, bytes))
)

describe("ut_metadata messages", () => {
  it("the BEP 9 examples, byte for byte both ways", () => {
    const request = "d8:msg_typei0e5:piecei0ee"
    expect(asText(Metadata.encode(Metadata.request(0)))).toBe(request)
    expect(right(Metadata.decode(latin1(request)))).toEqual({ _tag: "Request", piece: 0 })

    const eight = latin1("\x01\x02\x03\x04\x05\x06\x07\x08")
    const dataHead = "d8:msg_typei1e5:piecei0e10:total_sizei8ee"
    const data = concat(latin1(dataHead), eight)
    expect(asText(Metadata.encode(Metadata.data(0, 8, eight)))).toBe(asText(data))
    expect(right(Metadata.decode(data))).toEqual({ _tag: "Data", piece: 0, totalSize: 8, data: eight })

    const reject = "d8:msg_typei2e5:piecei0ee"
    expect(asText(Metadata.encode(Metadata.reject(0)))).toBe(reject)
    expect(right(Metadata.decode(latin1(reject)))).toEqual({ _tag: "Reject", piece: 0 })
  })

  it("reads unsorted keys and ignores unknown ones and a total_size on requests and rejects", () => {
    expect(right(Metadata.decode(latin1("d5:piecei7e8:msg_typei0ee")))).toEqual(Metadata.request(7))
    expect(right(Metadata.decode(latin1("d8:msg_typei2e5:piecei3e10:total_sizei99e1:x3:abce")))).toEqual(
      Metadata.reject(3)
    )
  })

  it("gives a data piece as a view into the payload, not a copy", () => {
    const payload = Metadata.encode(Metadata.data(2, 40000, new Uint8Array(40000 - 32768).fill(9)))
    const message = right(Metadata.decode(payload))
    if (message._tag !== "Data") throw new Error(`expected Data, got ${message._tag}`)
    expect(message.data.buffer).toBe(payload.buffer)
    expect(message.data.byteOffset).toBe(payload.length - 7232)
    expect(message.data.length).toBe(7232)
  })

  it("writes each message in one allocation of exactly its size", () => {
    for (const m of [Metadata.request(5), Metadata.reject(1023), Metadata.data(1, 20000, new Uint8Array(3616))]) {
      const out = Metadata.encode(m)
      expect(out.buffer.byteLength).toBe(out.length)
    }
    expect(Metadata.encode(Metadata.data(1, 20000, new Uint8Array(3616))).length).toBe(45 + 3616)
  })

  it("accepts total_size from 1 to 16 MiB and refuses 0, 16 MiB + 1 and other values", () => {
    const dataWith = (total: string) => `d8:msg_typei1e5:piecei0e10:total_size${total}e`
    expect(right(Metadata.decode(latin1(dataWith(`i${MiB16}e`))))).toEqual(Metadata.data(0, MiB16, new Uint8Array(0)))
    expect(right(Metadata.decode(latin1(dataWith("i1e"))))).toEqual(Metadata.data(0, 1, new Uint8Array(0)))
    expect(Metadata.maxMetadataSize).toBe(MiB16)
    expect(refusal(dataWith(`i${MiB16 + 1}e`))).toBe(
      "BadPayload: ut_metadata data with total_size 16777217, expected 1 to 16777216"
    )
    expect(refusal(dataWith("i0e"))).toBe("BadPayload: ut_metadata data with total_size 0, expected 1 to 16777216")
    expect(refusal(dataWith("i-8e"))).toBe("BadPayload: ut_metadata data with total_size -8, expected 1 to 16777216")
    expect(refusal(dataWith("1:8"))).toBe("BadPayload: ut_metadata data with total_size a byte string, expected 1 to 16777216")
    expect(refusal(dataWith("i99999999999999999999e"))).toBe(
      "BadPayload: ut_metadata data with total_size 99999999999999999999, expected 1 to 16777216"
    )
    expect(refusal("d8:msg_typei1e5:piecei0ee\x01\x02")).toBe(
      "BadPayload: ut_metadata data with total_size missing, expected 1 to 16777216"
    )
  })

  it("accepts a data piece of up to 16 KiB and refuses 16 KiB + 1 with reason BadLength", () => {
    const head = latin1("d8:msg_typei1e5:piecei0e10:total_sizei100000ee")
    const full = right(Metadata.decode(concat(head, new Uint8Array(16384))))
    expect(full._tag === "Data" && full.data.length).toBe(16384)
    expect(refusal(concat(head, new Uint8Array(16385)))).toBe("BadLength: ut_metadata data piece of 16385 bytes exceeds 16384")
  })

  it("refuses bytes after the dictionary of a request or a reject", () => {
    expect(refusal("d8:msg_typei0e5:piecei0eex")).toBe(
      "BadPayload: ut_metadata request with 1 byte(s) after its dictionary"
    )
    expect(refusal("d8:msg_typei2e5:piecei0ee\x00\x00\x00")).toBe(
      "BadPayload: ut_metadata reject with 3 byte(s) after its dictionary"
    )
  })

  it("refuses a missing or malformed msg_type or piece with reason BadPayload", () => {
    expect(refusal("d5:piecei0ee")).toBe("BadPayload: ut_metadata message with msg_type missing")
    expect(refusal("d8:msg_typei-1e5:piecei0ee")).toBe("BadPayload: ut_metadata message with msg_type -1")
    expect(refusal("d8:msg_type1:05:piecei0ee")).toBe("BadPayload: ut_metadata message with msg_type a byte string")
    expect(refusal("d8:msg_typeli0ee5:piecei0ee")).toBe("BadPayload: ut_metadata message with msg_type a list")
    expect(refusal("d8:msg_typei0ee")).toBe("BadPayload: ut_metadata message with piece missing")
    expect(refusal("d8:msg_typei0e5:piecei-1ee")).toBe("BadPayload: ut_metadata message with piece -1")
    expect(refusal("d8:msg_typei0e5:piecedee")).toBe("BadPayload: ut_metadata message with piece a dictionary")
    expect(refusal("d8:msg_typei0e5:piecei99999999999999999999ee")).toBe(
      "BadPayload: ut_metadata message with piece 99999999999999999999"
    )
  })

  it("refuses an unknown msg_type with reason UnknownMessage (BEP 9: to be ignored), piece or not", () => {
    expect(refusal("d8:msg_typei3e5:piecei0ee")).toBe("UnknownMessage: unknown ut_metadata msg_type 3")
    expect(refusal("d8:msg_typei77ee")).toBe("UnknownMessage: unknown ut_metadata msg_type 77")
    expect(refusal("d8:msg_typei99999999999999999999ee")).toBe(
      "UnknownMessage: unknown ut_metadata msg_type 99999999999999999999"
    )
  })

  it("refuses a payload that is not a bencoded dictionary with reason BadPayload", () => {
    expect(refusal("")).toBe("BadPayload: ut_metadata message: invalid bencode at byte 0: empty input")
    expect(refusal("li0ee")).toBe("BadPayload: ut_metadata message is not a dictionary")
    expect(refusal("i0e")).toBe("BadPayload: ut_metadata message is not a dictionary")
    expect(refusal("d8:msg_typei0e5:piecei0e")).toBe(
      "BadPayload: ut_metadata message: invalid bencode at byte 24: input ends inside a list or dictionary"
    )
    expect(refusal("\x01\x02")).toBe("BadPayload: ut_metadata message: invalid bencode at byte 0: unexpected 0x01")
  })

  it("refuses a dictionary of more than 1,000 tokens, with reason BadPayload", () => {
    const padded = (n: number) => latin1(`d1:al${"i0e".repeat(n)}e8:msg_typei0e5:piecei0ee`)
    // Tokens as the bencode decoder counts them (values, keys and ends): 9 besides the list's items.
    expect(right(Metadata.decode(padded(1000 - 9)))).toEqual(Metadata.request(0))
    expect(refusal(padded(1000 - 8))).toBe("BadPayload: ut_metadata message: invalid bencode at byte 3005: more than 1000 values")
  })

  it("pieceCount is ceil(size / 16 KiB)", () => {
    expect([0, 1, 16383, 16384, 16385, 32768, 32769, MiB16].map(Metadata.pieceCount)).toEqual([0, 1, 1, 1, 2, 2, 3, 1024])
    expect(Metadata.pieceSize).toBe(16384)
  })

  it.prop("decode(encode(m)) = m for every kind", [messageArb], ([m]) => {
    expect(right(Metadata.decode(Metadata.encode(m)))).toEqual(m)
  })

  it.prop("the Schema codec agrees with the plain functions", [messageArb], ([m]) => {
    const bytes = Schema.encodeSync(Metadata.MetadataMessageFromBytes)(m)
    expect(asText(bytes)).toBe(asText(Metadata.encode(m)))
    expect(Schema.decodeSync(Metadata.MetadataMessageFromBytes)(bytes)).toEqual(m)
  })

  it("the Schema refuses to encode what decode would refuse", () => {
    const encode = Schema.encodeEither(Metadata.MetadataMessageFromBytes)
    expect(Either.isLeft(encode(Metadata.data(0, 100, new Uint8Array(16385))))).toBe(true)
    expect(Either.isLeft(encode(Metadata.data(0, 0, new Uint8Array(0))))).toBe(true)
    expect(Either.isLeft(encode(Metadata.data(0, MiB16 + 1, new Uint8Array(0))))).toBe(true)
    expect(Either.isLeft(encode(Metadata.request(-1)))).toBe(true)
    expect(Either.isLeft(encode(Metadata.reject(1.5)))).toBe(true)
    expect(Either.isRight(encode(Metadata.data(0, MiB16, new Uint8Array(16384))))).toBe(true)
    const decoded = Schema.decodeEither(Metadata.MetadataMessageFromBytes)(latin1("d8:msg_typei3ee"))
    expect(Either.isLeft(decoded) && decoded.left.message).toContain("unknown ut_metadata msg_type 3")
  })
})
