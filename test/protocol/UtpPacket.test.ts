import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import {
  PacketType,
  type UtpPacket,
  decode,
  encode,
  encodeToBytes,
  encodedSize,
  looksLikeUtp,
  sackHas
} from "../../src/protocol/UtpPacket.js"
import { utpPacket } from "../support/utpArbitraries.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"))

const right = (bytes: Uint8Array): UtpPacket =>
  Either.getOrThrowWith(decode(bytes), (e) => new Error(`expected a packet, got ${e.reason}: ${e.detail}`))
const reasonOf = (bytes: Uint8Array): string => Either.match(decode(bytes), { onLeft: (e) => e.reason, onRight: () => "Right" })

const data: UtpPacket = {
  type: PacketType.Data,
  connectionId: 0x1234,
  timestampMicros: 0x01020304,
  timestampDifferenceMicros: 0xa0b0c0d0,
  windowSize: 1048576,
  seqNr: 0xfffe,
  ackNr: 7,
  selectiveAck: undefined,
  payload: new Uint8Array([0xde, 0xad])
}

describe("UtpPacket", () => {
  it("writes the 20-byte header big-endian, type in the high nibble and version 1 in the low", () => {
    expect(hex(encodeToBytes(data))).toBe("0100" + "1234" + "01020304" + "a0b0c0d0" + "00100000" + "fffe" + "0007" + "dead")
  })

  it("writes a selective ACK as an extension: the header's extension byte, then next, length, mask", () => {
    const state: UtpPacket = { ...data, type: PacketType.State, selectiveAck: new Uint8Array([1, 0, 0, 0x80]), payload: new Uint8Array(0) }
    const bytes = encodeToBytes(state)
    expect(hex(bytes.subarray(0, 2))).toBe("2101")
    expect(hex(bytes.subarray(20))).toBe("0004" + "01000080")
    const back = right(bytes)
    expect(sackHas(back.selectiveAck!, 0)).toBe(true)
    expect(sackHas(back.selectiveAck!, 1)).toBe(false)
    expect(sackHas(back.selectiveAck!, 31)).toBe(true)
  })

  it("encodes into the caller's buffer at an offset", () => {
    const into = new Uint8Array(64).fill(0xff)
    const n = encode(data, into, 10)
    expect(n).toBe(encodedSize(data))
    expect(into[9]).toBe(0xff)
    expect(hex(into.subarray(10, 10 + n))).toBe(hex(encodeToBytes(data)))
  })

  it("decodes the payload and the mask as views into the datagram, not copies", () => {
    const bytes = encodeToBytes({ ...data, selectiveAck: new Uint8Array(4) })
    const p = right(bytes)
    expect(p.payload.buffer).toBe(bytes.buffer)
    expect(p.selectiveAck!.buffer).toBe(bytes.buffer)
    bytes[bytes.length - 1] = 0x42
    expect(p.payload[1]).toBe(0x42)
  })

  it("round-trips every packet", () => {
    FastCheck.assert(
      FastCheck.property(utpPacket, (p) => {
        const back = right(encodeToBytes(p))
        expect({ ...back, payload: hex(back.payload), selectiveAck: back.selectiveAck && hex(back.selectiveAck) })
          .toEqual({ ...p, payload: hex(p.payload), selectiveAck: p.selectiveAck && hex(p.selectiveAck) })
      }),
      { numRuns: 300 }
    )
  })

  it("skips extensions of unknown types, and keeps a selective ACK after them", () => {
    // Extension 2 (4 bytes), then a selective ACK.
    const bytes = fromHex("2102 1234 00000000 00000000 00010000 0001 0002" + "01 04 aabbccdd" + "00 04 0f000000")
    const p = right(bytes)
    expect(hex(p.selectiveAck!)).toBe("0f000000")
    expect(p.payload.length).toBe(0)
  })

  it("takes a selective ACK of any length, as libtorrent 2.0 sends them (2 bytes here, seen on the wire)", () => {
    // STATE, ack 11604, a 2-byte selective ACK 0800: packet 11604 + 2 + 3 arrived.
    const p = right(fromHex("2101 1234 00000000 00000000 00100000 0001 2d54" + "00 02 0800"))
    expect(p.type).toBe(PacketType.State)
    expect(p.ackNr).toBe(11604)
    expect(hex(p.selectiveAck!)).toBe("0800")
    expect(sackHas(p.selectiveAck!, 3)).toBe(true)
    expect(sackHas(p.selectiveAck!, 11)).toBe(false)
    expect(hex(right(fromHex("2101 1234 00000000 00000000 00100000 0001 2d54" + "00 13" + "ff".repeat(19))).selectiveAck!)).toBe("ff".repeat(19))
  })

  it("refuses what is not a uTP packet, as a value", () => {
    const header = "0100 1234 00000000 00000000 00010000 0001 0002"
    expect(reasonOf(fromHex(header).subarray(0, 19))).toBe("BadLength")
    expect(reasonOf(fromHex("02" + header.slice(2)))).toBe("UnknownMessage") // version 2
    expect(reasonOf(fromHex("51" + header.slice(2)))).toBe("UnknownMessage") // type 5
    expect(reasonOf(fromHex("0101" + header.slice(5)))).toBe("BadLength") // a chain with no extension
    expect(reasonOf(fromHex("0101" + header.slice(5) + "00 08 00000000"))).toBe("BadLength") // past the end
    expect(reasonOf(fromHex("0101" + header.slice(5) + "00 00"))).toBe("BadLength") // empty SACK
    expect(reasonOf(fromHex("0102" + header.slice(5) + "01 00"))).toBe("BadLength") // chain runs on
  })

  it("tells a uTP datagram from a KRPC one by its first byte", () => {
    for (const t of [0, 1, 2, 3, 4]) expect(looksLikeUtp((t << 4) | 1)).toBe(true)
    expect(looksLikeUtp("d".charCodeAt(0))).toBe(false)
    expect(looksLikeUtp(0x51)).toBe(false)
    expect(looksLikeUtp(0x02)).toBe(false)
  })
})
