import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { WireError } from "../../src/domain/Errors.js"
import * as Message from "../../src/protocol/Message.js"
import * as wire from "../support/wireArbitraries.js"

const messageArb = wire.message({ bitfield: 4096, extended: 2048 })

const hex = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("hex")

const error = <A>(e: Either.Either<A, WireError>): WireError => {
  if (Either.isRight(e)) throw new Error(`expected a WireError, got ${JSON.stringify(e.right)}`)
  return e.left
}

/** Every id with a fixed payload length, and that length. */
const fixed: ReadonlyArray<readonly [number, number]> = [
  [0, 0], [1, 0], [2, 0], [3, 0], [4, 4], [6, 12], [8, 12], [9, 2], [0x0d, 4], [0x0e, 0], [0x0f, 0], [0x10, 12],
  [0x11, 4]
]

describe("Message", () => {
  it("encodeRequests: the request messages of many blocks, one after the other in one buffer", () => {
    const blocks = [{ piece: 0, offset: 0, length: 16384 }, { piece: 7, offset: 16384, length: 100 }, { piece: 2 ** 31, offset: 2 ** 32 - 1, length: 1 }]
    const each = blocks.map((b) => hex(Message.encode(Message.request(b.piece, b.offset, b.length)))).join("")
    expect(hex(Message.encodeRequests(blocks))).toBe(each)
    expect(Message.encodeRequests([]).length).toBe(0)
  })

  it.prop("decode(encode(m)) = m for every kind", [messageArb], ([m]) => {
    const frame = Message.encode(m)
    expect(Message.decode(frame)).toEqual(Either.right(m))
    // The length prefix counts the bytes after it.
    expect(Buffer.from(frame).readUInt32BE(0)).toBe(frame.length - 4)
    if (m._tag !== "KeepAlive") {
      expect(Message.decodePayload(frame[4]!, frame.subarray(5))).toEqual(Either.right(m))
    }
  })

  it.prop("the Schema codec agrees with the plain functions", [messageArb], ([m]) => {
    const frame = Schema.encodeSync(Message.MessageFromBytes)(m)
    expect(hex(frame)).toBe(hex(Message.encode(m)))
    expect(Schema.decodeSync(Message.MessageFromBytes)(frame)).toEqual(m)
    expect(Schema.is(Message.Message)(m)).toBe(true)
  })

  it("exact bytes", () => {
    expect(hex(Message.encode(Message.keepAlive))).toBe("00000000")
    expect(hex(Message.encode(Message.choke))).toBe("0000000100")
    expect(hex(Message.encode(Message.unchoke))).toBe("0000000101")
    expect(hex(Message.encode(Message.interested))).toBe("0000000102")
    expect(hex(Message.encode(Message.notInterested))).toBe("0000000103")
    expect(hex(Message.encode(Message.have(5)))).toBe("000000050400000005")
    expect(hex(Message.encode(Message.have(0xffff_ffff)))).toBe("0000000504ffffffff")
    expect(hex(Message.encode(Message.bitfield(Uint8Array.of(0xff, 0x80))))).toBe("0000000305ff80")
    expect(hex(Message.encode(Message.request(1, 0x4000, 0x4000)))).toBe("0000000d06000000010000400000004000")
    expect(hex(Message.encode(Message.piece(2, 0x4000, Uint8Array.of(0xaa, 0xbb))))).toBe(
      "0000000b070000000200004000aabb"
    )
    expect(hex(Message.encode(Message.cancel(1, 2, 3)))).toBe("0000000d08000000010000000200000003")
    expect(hex(Message.encode(Message.port(6881)))).toBe("00000003091ae1")
    expect(hex(Message.encode(Message.suggest(7)))).toBe("000000050d00000007")
    expect(hex(Message.encode(Message.haveAll))).toBe("000000010e")
    expect(hex(Message.encode(Message.haveNone))).toBe("000000010f")
    expect(hex(Message.encode(Message.reject(1, 2, 3)))).toBe("0000000d10000000010000000200000003")
    expect(hex(Message.encode(Message.allowedFast(9)))).toBe("000000051100000009")
    expect(hex(Message.encode(Message.extended(0, Buffer.from("de", "latin1"))))).toBe("0000000414006465")
  })

  it("reads wire.u32 values above 2^31 as unsigned", () => {
    const have = Either.getOrThrow(Message.decode(Buffer.from("0000000504ffffffff", "hex")))
    expect(have).toEqual({ _tag: "Have", index: 4294967295 })
    const request = Either.getOrThrow(Message.decode(Buffer.from("0000000d0680000000fffffffe00004000", "hex")))
    expect(request).toEqual({ _tag: "Request", index: 0x8000_0000, begin: 0xffff_fffe, length: 0x4000 })
  })

  it("encodePieceHeader is the first 13 bytes of the piece message", () => {
    const block = new Uint8Array(16384).fill(7)
    const whole = Message.encode(Message.piece(3, 32768, block))
    expect(hex(Message.encodePieceHeader(3, 32768, block.length))).toBe(hex(whole.subarray(0, 13)))
    expect(hex(Message.encodePieceHeader(3, 32768, 16384))).toBe("00004009070000000300008000")
  })

  it("byte payloads are views into the input, not copies", () => {
    const frame = Message.encode(Message.piece(1, 0, Uint8Array.of(1, 2, 3)))
    const piece = Either.getOrThrow(Message.decodePayload(7, frame.subarray(5)))
    if (piece._tag !== "Piece") throw new Error("expected a piece")
    expect(piece.block.buffer).toBe(frame.buffer)
    expect(piece.block.byteOffset).toBe(13)
    const bits = Either.getOrThrow(Message.decode(Message.encode(Message.bitfield(Uint8Array.of(9)))))
    if (bits._tag !== "Bitfield") throw new Error("expected a bitfield")
    const ext = Message.encode(Message.extended(3, Uint8Array.of(4, 5)))
    const extended = Either.getOrThrow(Message.decode(ext))
    if (extended._tag !== "Extended") throw new Error("expected an extended message")
    expect(extended.payload.buffer).toBe(ext.buffer)
    expect(extended.payload.byteOffset).toBe(6)
  })

  it("fixed-size messages of the wrong length are refused with BadLength", () => {
    for (const [id, length] of fixed) {
      for (const wrong of [length - 1, length + 1, length + 100].filter((n) => n >= 0)) {
        const e = error(Message.decodePayload(id, new Uint8Array(wrong)))
        expect(e.reason).toBe("BadLength")
        expect(e.detail).toContain(`(id ${id}) with a ${wrong}-byte payload, expected ${length}`)
      }
      expect(Either.isRight(Message.decodePayload(id, new Uint8Array(length)))).toBe(true)
    }
    expect(error(Message.decodePayload(4, new Uint8Array(3))).detail).toBe(
      "have message (id 4) with a 3-byte payload, expected 4"
    )
    expect(error(Message.decodePayload(7, new Uint8Array(7))).detail).toBe(
      "piece message (id 7) with a 7-byte payload, expected at least 8"
    )
    expect(error(Message.decodePayload(20, new Uint8Array(0))).reason).toBe("BadLength")
    expect(Either.getOrThrow(Message.decodePayload(5, new Uint8Array(0)))).toEqual(Message.bitfield(new Uint8Array(0)))
  })

  it("a whole frame whose prefix disagrees with its size is refused", () => {
    expect(error(Message.decode(Buffer.from("000000", "hex"))).reason).toBe("BadLength")
    expect(error(Message.decode(Buffer.from("000000050400000005ff", "hex"))).detail).toBe(
      "the length prefix says 5 bytes, but 6 follow"
    )
    expect(error(Message.decode(Buffer.from("0000000504000000", "hex"))).reason).toBe("BadLength")
  })

  it("unknown ids are refused with UnknownMessage", () => {
    for (const id of [10, 11, 12, 18, 19, 24, 100, 255]) {
      const e = error(Message.decodePayload(id, new Uint8Array(4)))
      expect(e.reason).toBe("UnknownMessage")
      expect(e.detail).toBe(`unknown message id ${id}`)
    }
    expect(error(Message.decode(Buffer.from("000000010a", "hex"))).reason).toBe("UnknownMessage")
  })

  it("the Schemas refuse numbers outside the wire's ranges", () => {
    const encode = Schema.encodeEither(Message.MessageFromBytes)
    for (const index of [-1, 0x1_0000_0000, 1.5, Number.NaN]) {
      expect(Either.isLeft(encode(Message.have(index)))).toBe(true)
    }
    expect(Either.isLeft(encode(Message.port(65536)))).toBe(true)
    expect(Either.isLeft(encode(Message.extended(256, new Uint8Array(0))))).toBe(true)
    expect(Either.isRight(encode(Message.have(0xffff_ffff)))).toBe(true)
    expect(Either.isLeft(Schema.decodeEither(Message.MessageFromBytes)(Buffer.from("000000010a", "hex")))).toBe(true)
  })

  it.prop(
    "arbitrary bytes decode to a message or a WireError",
    [FastCheck.integer({ min: 0, max: 255 }), FastCheck.uint8Array({ maxLength: 40 })],
    ([id, payload]) => {
      const result = Message.decodePayload(id, payload)
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(WireError)
        expect(["BadLength", "UnknownMessage"]).toContain(result.left.reason)
      } else {
        // What decodes re-encodes to the same bytes.
        const framed = Buffer.alloc(5 + payload.length)
        framed.writeUInt32BE(payload.length + 1, 0)
        framed[4] = id
        framed.set(payload, 5)
        expect(hex(Message.encode(result.right))).toBe(hex(framed))
      }
      const whole = Message.decode(payload)
      if (Either.isLeft(whole)) expect(whole.left).toBeInstanceOf(WireError)
    }
  )
})
