import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { WireError } from "../../src/domain/Errors.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerId } from "../../src/domain/PeerId.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import * as Message from "../../src/protocol/Message.js"
import * as wire from "../support/wireArbitraries.js"

const messageArb = wire.message({ bitfield: 2048, extended: 1024 })

const handshake: Handshake.Handshake = {
  reserved: Handshake.reserved({ extensions: true, fast: true }),
  infoHash: InfoHash.make(new Uint8Array(20).fill(0xab)),
  peerId: PeerId.make(Uint8Array.from(Buffer.from("-EF0100-abcdefghijkl", "latin1")))
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

/** `whole` cut at the given points (taken modulo its length). */
const cut = (whole: Uint8Array, points: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(points.map((p) => (whole.length === 0 ? 0 : p % whole.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of [...at, whole.length]) {
    if (p > start) chunks.push(whole.subarray(start, p))
    start = Math.max(start, p)
  }
  return chunks
}

const ones = (whole: Uint8Array): Array<Uint8Array> => Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1))

interface Outcome {
  readonly frames: Array<FrameParser.Frame>
  readonly error: WireError | undefined
}

/** Feeds every chunk (stopping at the first error) and checks that the parser stays failed. */
const run = (chunks: ReadonlyArray<Uint8Array>, options: FrameParser.Options = {}): Outcome => {
  const parser = FrameParser.make(options)
  const frames: Array<FrameParser.Frame> = []
  for (const chunk of chunks) {
    const error = parser.push(chunk, (f) => {
      frames.push(f)
    })
    if (error !== undefined) {
      expect(error).toBeInstanceOf(WireError)
      expect(parser.failure).toBe(error)
      expect(parser.push(Uint8Array.of(0, 0, 0, 0), () => expect.unreachable())).toBe(error)
      return { frames, error }
    }
  }
  return { frames, error: undefined }
}

/** Feeds `bytes` one at a time and returns how many were fed when the parser refused them. */
const refusedAfter = (bytes: Uint8Array, options: FrameParser.Options = {}): { count: number; error: WireError } => {
  const parser = FrameParser.make(options)
  for (let i = 0; i < bytes.length; i++) {
    const error = parser.push(bytes.subarray(i, i + 1), () => {})
    if (error !== undefined) {
      expect(parser.allocatedBytes).toBe(0)
      return { count: i + 1, error }
    }
  }
  throw new Error("the parser accepted every byte")
}

describe("FrameParser", () => {
  it.prop(
    "yields the same messages however the bytes are chunked",
    [FastCheck.array(messageArb, { maxLength: 12 }), FastCheck.array(FastCheck.nat(), { maxLength: 30 })],
    ([messages, points]) => {
      const whole = concat(messages.map(Message.encode))
      for (const chunks of [[whole], cut(whole, points), ones(whole)]) {
        const { error, frames } = run(chunks)
        expect(error).toBeUndefined()
        expect(frames).toEqual(messages)
      }
    },
    { fastCheck: { numRuns: 60 } }
  )

  it.prop(
    "handshake mode yields the handshake, then the messages, however chunked",
    [FastCheck.array(messageArb, { maxLength: 5 }), FastCheck.array(FastCheck.nat(), { maxLength: 10 }), FastCheck.boolean()],
    ([messages, points, handshakePrefix]) => {
      const whole = concat([Handshake.encode(handshake), ...messages.map(Message.encode)])
      const expected: Array<FrameParser.Frame> = [
        ...(handshakePrefix
          ? [{ _tag: "HandshakePrefix" as const, prefix: { reserved: handshake.reserved, infoHash: handshake.infoHash } }]
          : []),
        { _tag: "Handshake", handshake },
        ...messages
      ]
      for (const chunks of [[whole], cut(whole, points), ones(whole)]) {
        const { error, frames } = run(chunks, { handshake: true, handshakePrefix })
        expect(error).toBeUndefined()
        expect(frames).toEqual(expected)
      }
    },
    { fastCheck: { numRuns: 40 } }
  )

  it.prop(
    "on arbitrary bytes it never throws, and chunking changes neither the frames nor the error",
    [
      FastCheck.array(
        FastCheck.oneof(messageArb.map(Message.encode), FastCheck.uint8Array({ maxLength: 12 })),
        { maxLength: 8 }
      ),
      FastCheck.array(FastCheck.nat(), { maxLength: 20 }),
      FastCheck.boolean()
    ],
    ([parts, points, handshake]) => {
      const whole = concat(parts)
      const options = { handshake, maxMessageLength: 4096 }
      const reference = run([whole], options)
      for (const chunks of [cut(whole, points), ones(whole)]) {
        const outcome = run(chunks, options)
        expect(outcome.frames).toEqual(reference.frames)
        expect(outcome.error?.reason).toBe(reference.error?.reason)
      }
      if (reference.error !== undefined) {
        expect(["Handshake", "TooLong", "UnknownMessage", "BadLength"]).toContain(reference.error.reason)
      }
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("refuses an oversized length prefix after its 4 bytes", () => {
    // 1 MiB + 14: one more than the default limit, whatever the id.
    const { count, error } = refusedAfter(Buffer.from("0010000e05ffffffff", "hex"))
    expect(count).toBe(4)
    expect(error.reason).toBe("TooLong")
    expect(FrameParser.make().push(Buffer.from("0010000d05", "hex"), () => {})).toBeUndefined()
  })

  it("refuses a 16 MiB piece prefix before its body", () => {
    const prefix = Buffer.from("0100000907", "hex")
    const byDefault = refusedAfter(prefix)
    expect(byDefault.count).toBe(4)
    expect(byDefault.error.reason).toBe("TooLong")
    // With a message limit above 16 MiB only the id tells that it is a piece, and the block limit refuses it.
    const roomy = { maxMessageLength: 32 * 1024 * 1024 }
    const atId = refusedAfter(prefix, roomy)
    expect(atId.count).toBe(5)
    expect(atId.error.reason).toBe("TooLong")
    expect(atId.error.detail).toBe("piece message of 16777225 bytes, more than 9 + 16384 (the block limit)")
    // The same length as a bitfield is admitted, and its body is allocated only when body bytes arrive.
    const parser = FrameParser.make(roomy)
    expect(parser.push(Buffer.from("0100000905", "hex"), () => expect.unreachable())).toBeUndefined()
    expect(parser.allocatedBytes).toBe(0)
    expect(parser.bufferedBytes).toBe(5)
    expect(parser.push(Uint8Array.of(1), () => expect.unreachable())).toBeUndefined()
    expect(parser.allocatedBytes).toBe(16 * 1024 * 1024 + 8)
  })

  it("refuses a piece one byte over the block limit at its id byte", () => {
    const { count, error } = refusedAfter(Buffer.from("0000400a07", "hex"))
    expect(count).toBe(5)
    expect(error.reason).toBe("TooLong")
    const larger = FrameParser.make({ maxBlockLength: 32768 })
    expect(larger.push(Buffer.from("0000400a07", "hex"), () => {})).toBeUndefined()
  })

  it("refuses wrong lengths and unknown ids at the id byte", () => {
    const have = refusedAfter(Buffer.from("000003e804000000", "hex"))
    expect(have.count).toBe(5)
    expect(have.error.reason).toBe("BadLength")
    expect(have.error.detail).toBe("have message (id 4) with a 999-byte payload, expected 4")
    const unknown = refusedAfter(Buffer.from("000000050a00000000", "hex"))
    expect(unknown.count).toBe(5)
    expect(unknown.error.reason).toBe("UnknownMessage")
    const shortPiece = refusedAfter(Buffer.from("0000000507000000", "hex"))
    expect(shortPiece.error.reason).toBe("BadLength")
  })

  it("payloads within one chunk are views into it", () => {
    const chunk = concat([Message.encode(Message.have(1)), Message.encode(Message.piece(2, 16384, new Uint8Array(100).fill(9)))])
    const frames = Either.getOrThrow(FrameParser.make().pushAll(chunk))
    const piece = frames[1]
    if (piece?._tag !== "Piece") throw new Error("expected a piece")
    expect(piece.block.buffer).toBe(chunk.buffer)
    expect(piece.block.byteOffset).toBe(chunk.byteOffset + 9 + 13)
    expect(piece.block.length).toBe(100)
  })

  it("a message spread over 1-byte chunks is gathered into one allocation of its exact size", () => {
    const block = Uint8Array.from({ length: 16384 }, (_, i) => i & 0xff)
    const whole = Message.encode(Message.piece(5, 0, block))
    const parser = FrameParser.make()
    const frames: Array<FrameParser.Frame> = []
    const accounting = new Set<string>()
    for (let i = 0; i < whole.length; i++) {
      expect(parser.push(whole.subarray(i, i + 1), (f) => frames.push(f))).toBeUndefined()
      if (i >= 5 && i < whole.length - 1) accounting.add(`${parser.allocatedBytes} ${parser.bufferedBytes - i}`)
    }
    // Allocated: always exactly the payload; buffered: every byte fed so far.
    expect([...accounting]).toEqual([`${8 + 16384} 1`])
    expect(parser.bufferedBytes).toBe(0)
    expect(parser.allocatedBytes).toBe(0)
    const piece = frames[0]
    if (frames.length !== 1 || piece?._tag !== "Piece") throw new Error("expected one piece")
    expect(piece.block.buffer.byteLength).toBe(8 + 16384)
    expect(Buffer.from(piece.block).equals(Buffer.from(block))).toBe(true)
  })

  it("a large message in 1-byte chunks takes linear time", () => {
    const whole = Message.encode(Message.bitfield(new Uint8Array(512 * 1024).fill(0xff)))
    const parser = FrameParser.make()
    let count = 0
    const started = performance.now()
    for (let i = 0; i < whole.length; i++) parser.push(whole.subarray(i, i + 1), () => count++)
    expect(count).toBe(1)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it("handshake mode: the prefix is yielded at 48 bytes, the handshake at 68", () => {
    const bytes = Handshake.encode(handshake)
    const parser = FrameParser.make({ handshake: true, handshakePrefix: true })
    expect(parser.awaitingHandshake).toBe(true)
    const first = Either.getOrThrow(parser.pushAll(bytes.subarray(0, 48)))
    expect(first).toEqual([{ _tag: "HandshakePrefix", prefix: { reserved: handshake.reserved, infoHash: handshake.infoHash } }])
    expect(parser.bufferedBytes).toBe(48)
    const rest = Either.getOrThrow(parser.pushAll(concat([bytes.subarray(48), Message.encode(Message.haveAll)])))
    expect(rest).toEqual([{ _tag: "Handshake", handshake }, Message.haveAll])
    expect(parser.awaitingHandshake).toBe(false)
  })

  it("handshake mode refuses a wrong protocol string at the first wrong byte", () => {
    const http = refusedAfter(Buffer.from("GET / HTTP/1.1\r\n", "latin1"), { handshake: true })
    expect(http.count).toBe(1)
    expect(http.error.reason).toBe("Handshake")
    const almost = refusedAfter(Buffer.from("\x13BitTorrent protocoX", "latin1"), { handshake: true })
    expect(almost.count).toBe(20)
  })

  it("keep-alives are frames", () => {
    const frames = Either.getOrThrow(FrameParser.make().pushAll(Buffer.from("000000000000000000000000", "hex")))
    expect(frames).toEqual([Message.keepAlive, Message.keepAlive, Message.keepAlive])
  })

  it("pushAll gives the error as a Left, and the parser stays failed", () => {
    const parser = FrameParser.make()
    const result = parser.pushAll(Buffer.from("00000001ff", "hex"))
    expect(Either.isLeft(result) && result.left.reason).toBe("UnknownMessage")
    expect(Either.isLeft(parser.pushAll(Message.encode(Message.choke)))).toBe(true)
  })

  it("a throwing frame handler leaves the parser failed", () => {
    const parser = FrameParser.make()
    const boom = new Error("boom")
    expect(() =>
      parser.push(Message.encode(Message.choke), () => {
        throw boom
      })
    ).toThrow(boom)
    expect(parser.failure?.reason).toBe("BadPayload")
    expect(parser.push(Message.encode(Message.choke), () => expect.unreachable())).toBe(parser.failure)
  })

  it.prop(
    "with reuseBuffer, a consumer that copies during onFrame sees the same messages however the bytes are cut",
    [FastCheck.array(FastCheck.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 30 }), FastCheck.integer({ min: 1, max: 5000 })],
    ([sizes, cut]) => {
      const blocks = sizes.map((n, i) => Message.piece(i, 0, Buffer.alloc(Math.min(n, 16384), i & 0xff)))
      const bytes = Buffer.concat(blocks.map(Message.encode))
      const parser = FrameParser.make({ reuseBuffer: true })
      const seen: Array<string> = []
      for (let at = 0; at < bytes.length; at += cut) {
        // A reused buffer: the same memory for every chunk, as a socket with onread.
        const chunk = Buffer.from(bytes.subarray(at, at + cut))
        const error = parser.push(chunk, (f) => {
          if (f._tag === "Piece") seen.push(`${f.index}:${Buffer.from(f.block).toString("hex")}`)
        })
        chunk.fill(0xee)
        expect(error).toBeUndefined()
      }
      expect(seen).toEqual(blocks.map((b) => `${b.index}:${Buffer.from(b.block).toString("hex")}`))
    },
    { fastCheck: { numRuns: 30 } }
  )
})
