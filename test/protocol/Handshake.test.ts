import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { WireError } from "../../src/domain/Errors.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerId } from "../../src/domain/PeerId.js"
import * as Handshake from "../../src/protocol/Handshake.js"

const bytesArb = (n: number) => FastCheck.uint8Array({ minLength: n, maxLength: n })

const handshakeArb: FastCheck.Arbitrary<Handshake.Handshake> = FastCheck.record({
  reserved: bytesArb(8),
  infoHash: bytesArb(20).map((b) => InfoHash.make(b)),
  peerId: bytesArb(20).map((b) => PeerId.make(b))
})

const sample: Handshake.Handshake = {
  reserved: Handshake.reserved({ extensions: true, fast: true, dht: true }),
  infoHash: InfoHash.make(Uint8Array.from({ length: 20 }, (_, i) => i + 1)),
  peerId: PeerId.make(Uint8Array.from(Buffer.from("-EF0100-abcdefghijkl", "latin1")))
}

const error = <A>(e: Either.Either<A, WireError>): WireError => {
  if (Either.isRight(e)) throw new Error("expected a WireError")
  return e.left
}

describe("Handshake", () => {
  it("encodes the exact 68 bytes", () => {
    const bytes = Handshake.encode(sample)
    expect(bytes.length).toBe(Handshake.HANDSHAKE_LENGTH)
    const expected = Buffer.concat([
      Buffer.from("\x13BitTorrent protocol", "latin1"),
      Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x05]),
      Buffer.from(sample.infoHash),
      Buffer.from("-EF0100-abcdefghijkl", "latin1")
    ])
    expect(Buffer.from(bytes).toString("hex")).toBe(expected.toString("hex"))
  })

  it.prop("decode(encode(h)) = h", [handshakeArb], ([h]) => {
    const bytes = Handshake.encode(h)
    expect(bytes.length).toBe(68)
    const decoded = Either.getOrThrow(Handshake.decode(bytes))
    expect(Array.from(decoded.reserved)).toEqual(Array.from(h.reserved))
    expect(Array.from(decoded.infoHash)).toEqual(Array.from(h.infoHash))
    expect(Array.from(decoded.peerId)).toEqual(Array.from(h.peerId))
    const prefix = Either.getOrThrow(Handshake.decodePrefix(bytes.subarray(0, 48)))
    expect(Array.from(prefix.infoHash)).toEqual(Array.from(h.infoHash))
    expect(Array.from(prefix.reserved)).toEqual(Array.from(h.reserved))
  })

  it("decoded fields are copies, not views of the input", () => {
    const bytes = Handshake.encode(sample)
    const decoded = Either.getOrThrow(Handshake.decode(bytes))
    expect(decoded.infoHash.buffer).not.toBe(bytes.buffer)
    bytes.fill(0)
    expect(decoded.infoHash[0]).toBe(1)
  })

  it("refuses a wrong protocol string", () => {
    const bytes = Handshake.encode(sample)
    bytes[5] = 0x78
    const e = error(Handshake.decode(bytes))
    expect(e.reason).toBe("Handshake")
    expect(e.detail).toBe(
      `wrong protocol string: expected "\\x13BitTorrent protocol", got "\\x13BitTxrrent protocol"`
    )
  })

  it("refuses a wrong name length, showing what came instead", () => {
    const http = Buffer.from("GET /announce HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(68, " "), "latin1")
    const e = error(Handshake.decode(http))
    expect(e.reason).toBe("Handshake")
    expect(e.detail).toBe(
      `wrong protocol string: expected a name of length 19, got 71 (start "GET /announce HTTP/1")`
    )
  })

  it("refuses short and long input", () => {
    const bytes = Handshake.encode(sample)
    const short = error(Handshake.decode(bytes.subarray(0, 67)))
    expect(short.reason).toBe("Handshake")
    expect(short.detail).toBe("short input: a handshake is 68 bytes, got 67")
    expect(error(Handshake.decode(new Uint8Array(0))).detail).toBe("short input: a handshake is 68 bytes, got 0")
    const long = error(Handshake.decode(Buffer.concat([bytes, Buffer.from([0])])))
    expect(long.detail).toBe("a handshake is 68 bytes, got 69")
    expect(error(Handshake.decodePrefix(bytes.subarray(0, 47))).detail).toBe(
      "short input: a handshake prefix is 48 bytes, got 47"
    )
  })

  it("checkStart judges however few bytes have arrived", () => {
    const bytes = Handshake.encode(sample)
    for (let n = 0; n <= 68; n++) expect(Either.isRight(Handshake.checkStart(bytes.subarray(0, n)))).toBe(true)
    expect(Either.isLeft(Handshake.checkStart(Uint8Array.of(0x47)))).toBe(true)
    expect(Either.isLeft(Handshake.checkStart(Uint8Array.of(0x13, 0x42, 0x00)))).toBe(true)
  })

  it("reserved bits", () => {
    expect(Array.from(Handshake.reserved({}))).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    expect(Array.from(Handshake.reserved({ extensions: true }))).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0])
    expect(Array.from(Handshake.reserved({ fast: true }))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x04])
    expect(Array.from(Handshake.reserved({ dht: true }))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x01])
    expect(Array.from(Handshake.reserved({ fast: true, dht: true, extensions: false }))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0x05
    ])
    // Other bits do not count: 0xef in byte 5 and 0xfa in byte 7 have every bit but ours.
    const others = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff, 0xfa)
    expect(Handshake.supportsExtensions(others)).toBe(false)
    expect(Handshake.supportsFast(others)).toBe(false)
    expect(Handshake.supportsDht(others)).toBe(false)
  })

  it.prop(
    "supports* read back what reserved(...) wrote",
    [FastCheck.boolean(), FastCheck.boolean(), FastCheck.boolean()],
    ([extensions, fast, dht]) => {
      const bits = Handshake.reserved({ extensions, fast, dht })
      expect(Handshake.supportsExtensions(bits)).toBe(extensions)
      expect(Handshake.supportsFast(bits)).toBe(fast)
      expect(Handshake.supportsDht(bits)).toBe(dht)
    }
  )

  it.prop("arbitrary bytes decode to a value or a WireError", [FastCheck.uint8Array({ maxLength: 80 })], ([bytes]) => {
    for (const result of [Handshake.decode(bytes), Handshake.decodePrefix(bytes)]) {
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(WireError)
        expect(result.left.reason).toBe("Handshake")
      }
    }
  })

  it.prop("any 68 bytes behind the protocol string decode", [bytesArb(48)], ([rest]) => {
    const bytes = Buffer.concat([Buffer.from("\x13BitTorrent protocol", "latin1"), rest])
    const h = Either.getOrThrow(Handshake.decode(bytes))
    expect(Buffer.from(Handshake.encode(h)).equals(bytes)).toBe(true)
  })

  it("HandshakeFromBytes is the same codec as a Schema", () => {
    const bytes = Handshake.encode(sample)
    const decoded = Schema.decodeSync(Handshake.HandshakeFromBytes)(bytes)
    expect(Array.from(decoded.peerId)).toEqual(Array.from(sample.peerId))
    expect(Array.from(Schema.encodeSync(Handshake.HandshakeFromBytes)(decoded))).toEqual(Array.from(bytes))
    expect(Either.isLeft(Schema.decodeEither(Handshake.HandshakeFromBytes)(bytes.subarray(1)))).toBe(true)
    // The Schema side refuses a malformed handshake value before encoding it.
    const bad = { ...sample, reserved: new Uint8Array(7) }
    expect(Either.isLeft(Schema.encodeEither(Handshake.HandshakeFromBytes)(bad))).toBe(true)
  })
})
