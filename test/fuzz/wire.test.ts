/**
 * Fuzzing the peer wire: the incremental framer (src/protocol/FrameParser.ts) fed arbitrary and mutated
 * streams in random chunkings under random limits, and the message and handshake decoders
 * (src/protocol/Message.ts, src/protocol/Handshake.ts) on their own.
 *
 * The framer must never throw anything but what its frame handler threw (its documented failure path):
 * each push returns nothing or a `WireError` of a known reason, after which it stays failed and frames
 * nothing more. Whatever it frames is exactly the bytes it was given, in order (re-encoding the frames
 * gives back a prefix of the stream, all of it but what is still buffered), and it never holds more than
 * its limits allow. The decoders answer a message or a `WireError`, and what they accept re-encodes to
 * the same bytes.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { WireError, WireErrorReason } from "../../src/domain/Errors.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerId } from "../../src/domain/PeerId.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import * as Message from "../../src/protocol/Message.js"
import * as wire from "../support/wireArbitraries.js"
import { mutated } from "./mutations.js"
import { anyBytes, fuzz, runDecoder, untimed } from "./support.js"

const isReason = Schema.is(WireErrorReason)
const isMessage = Schema.is(Message.Message)

const expectWireError = (e: unknown): void => {
  expect(e).toBeInstanceOf(WireError)
  if (e instanceof WireError) expect(isReason(e.reason), e.reason).toBe(true)
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

// ---------------------------------------------------------------------------------------------------------
// Inputs

const handshakeArb: FastCheck.Arbitrary<Uint8Array> = FastCheck.tuple(
  FastCheck.uint8Array({ minLength: 8, maxLength: 8 }),
  FastCheck.uint8Array({ minLength: 40, maxLength: 40 })
).map(([reserved, rest]) =>
  Handshake.encode({ reserved, infoHash: InfoHash.make(rest.subarray(0, 20)), peerId: PeerId.make(rest.subarray(20)) })
)

const messages = FastCheck.array(wire.message({ bitfield: 300, extended: 300 }), { maxLength: 8 }).map((ms) =>
  concat(ms.map(Message.encode))
)

/** A limit: the default, a tiny one, or any up to `max`. */
const limit = (max: number) =>
  FastCheck.option(FastCheck.oneof(FastCheck.integer({ min: 0, max: 64 }), FastCheck.integer({ min: 0, max })), {
    nil: undefined
  })

const optionsArb: FastCheck.Arbitrary<FrameParser.Options> = FastCheck.record({
  handshake: FastCheck.boolean(),
  handshakePrefix: FastCheck.boolean(),
  reuseBuffer: FastCheck.boolean(),
  maxMessageLength: limit(100_000),
  maxBlockLength: limit(32_768)
}).map((o) => ({
  handshake: o.handshake,
  handshakePrefix: o.handshakePrefix,
  reuseBuffer: o.reuseBuffer,
  ...(o.maxMessageLength !== undefined ? { maxMessageLength: o.maxMessageLength } : {}),
  ...(o.maxBlockLength !== undefined ? { maxBlockLength: o.maxBlockLength } : {})
}))

/** A valid stream for the options: the handshake first when they expect one. */
const validStream = (options: FrameParser.Options) =>
  options.handshake === true ? FastCheck.tuple(handshakeArb, messages).map(concat) : messages

interface FramingCase {
  readonly options: FrameParser.Options
  readonly stream: Uint8Array
  /** Cut points, taken modulo the stream's length; byte by byte when `bytewise`. */
  readonly cuts: ReadonlyArray<number>
  readonly bytewise: boolean
  /** The frame (counted from 1) at which the frame handler throws, if any. */
  readonly handlerThrowsAt: number | undefined
}

const framingCase = (stream: (options: FrameParser.Options) => FastCheck.Arbitrary<Uint8Array>): FastCheck.Arbitrary<FramingCase> =>
  optionsArb.chain((options) =>
    FastCheck.record({
      options: FastCheck.constant(options),
      stream: stream(options),
      cuts: FastCheck.array(FastCheck.nat(), { maxLength: 24 }),
      bytewise: FastCheck.integer({ min: 0, max: 4 }).map((n) => n === 4),
      handlerThrowsAt: FastCheck.option(FastCheck.integer({ min: 1, max: 20 }), { nil: undefined, freq: 4 })
    })
  )

const chunksOf = ({ stream, cuts, bytewise }: FramingCase): Array<Uint8Array> => {
  // Byte by byte only for short streams: a megabyte of one-byte pushes costs a second and finds nothing more.
  if (bytewise && stream.length <= 8192) return Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1))
  const at = [...new Set(cuts.map((p) => (stream.length === 0 ? 0 : p % stream.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of [...at, stream.length]) {
    if (p > start) chunks.push(stream.subarray(start, p))
    start = Math.max(start, p)
  }
  return chunks
}

// ---------------------------------------------------------------------------------------------------------
// Checks

/** What a frame handler throws, which `push` must pass on as it is. */
const handlerFailure = new Error("the frame handler failed")

const checkFraming = (c: FramingCase): void => {
  const parser = FrameParser.make(c.options)
  const maxAny = Math.max(
    c.options.maxMessageLength ?? FrameParser.DEFAULT_MAX_MESSAGE_LENGTH,
    9 + (c.options.maxBlockLength ?? FrameParser.DEFAULT_MAX_BLOCK_LENGTH)
  )
  const framed: Array<Uint8Array> = []
  let error: WireError | undefined
  let frames = 0
  const onFrame = (frame: FrameParser.Frame) => untimed(() => {
    if (++frames === c.handlerThrowsAt) throw handlerFailure
    if (frame._tag === "HandshakePrefix") {
      expect(same(frame.prefix.infoHash, c.stream.subarray(28, 48))).toBe(true)
      return
    }
    if (frame._tag === "Handshake") {
      framed.push(Handshake.encode(frame.handshake))
      return
    }
    // The Schema check is slow next to framing: the first frames of each stream get it.
    if (framed.length < 200) expect(isMessage(frame), frame._tag).toBe(true)
    // Encoded at once: with `reuseBuffer` a frame is valid only during this call.
    framed.push(Message.encode(frame))
  })
  for (const chunk of chunksOf(c)) {
    try {
      error = runDecoder("FrameParser.push", () => parser.push(chunk, onFrame))
    } catch (e) {
      // The one throw allowed: the handler's own, passed on, with the parser failed for good.
      if (!(e instanceof Error && e.cause === handlerFailure)) throw e
      expect(parser.failure?.reason).toBe("BadPayload")
      error = parser.failure
    }
    expect(parser.bufferedBytes).toBeLessThanOrEqual(Math.max(Handshake.HANDSHAKE_LENGTH, maxAny + 4))
    expect(parser.allocatedBytes).toBeLessThanOrEqual(Math.max(Handshake.HANDSHAKE_LENGTH, maxAny))
    if (error !== undefined) break
  }
  const out = concat(framed)
  expect(same(out, c.stream.subarray(0, out.length)), "the frames are not the stream's bytes").toBe(true)
  if (error === undefined) {
    expect(out.length).toBe(c.stream.length - parser.bufferedBytes)
    return
  }
  expectWireError(error)
  expect(parser.failure).toBe(error)
  expect(parser.bufferedBytes).toBe(0)
  const after = runDecoder("FrameParser.push after its failure", () =>
    parser.push(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 1), () => expect.unreachable("a frame after the failure")))
  expect(after).toBe(error)
}

const checkMessage = (bytes: Uint8Array): void => {
  const result = runDecoder("Message.decode", () => Message.decode(bytes))
  if (Either.isLeft(result)) return expectWireError(result.left)
  expect(isMessage(result.right)).toBe(true)
  expect(same(Message.encode(result.right), bytes)).toBe(true)
}

const checkPayload = ([id, payload]: readonly [number, Uint8Array]): void => {
  const result = runDecoder("Message.decodePayload", () => Message.decodePayload(id, payload))
  if (Either.isLeft(result)) return expectWireError(result.left)
  expect(isMessage(result.right)).toBe(true)
  const framed = Message.encode(result.right)
  expect(framed[4]).toBe(id)
  expect(same(framed.subarray(5), payload)).toBe(true)
}

const checkHandshake = (bytes: Uint8Array): void => {
  const start = runDecoder("Handshake.checkStart", () => Handshake.checkStart(bytes))
  if (Either.isLeft(start)) expectWireError(start.left)
  const prefix = runDecoder("Handshake.decodePrefix", () => Handshake.decodePrefix(bytes))
  if (Either.isLeft(prefix)) expectWireError(prefix.left)
  else expect(same(concat([prefix.right.reserved, prefix.right.infoHash]), bytes.subarray(20, 48))).toBe(true)
  const whole = runDecoder("Handshake.decode", () => Handshake.decode(bytes))
  if (Either.isLeft(whole)) return expectWireError(whole.left)
  expect(same(Handshake.encode(whole.right), bytes)).toBe(true)
}

const singleMessages = wire.message({ bitfield: 300, extended: 300 }).map(Message.encode)

describe("fuzz: wire", () => {
  fuzz("FrameParser: arbitrary bytes in random chunks", framingCase(() => anyBytes), checkFraming, 500)

  fuzz("FrameParser: valid streams in random chunks", framingCase(validStream), checkFraming, 300)

  fuzz(
    "FrameParser: mutated streams in random chunks",
    framingCase((o) => mutated(validStream(o), { bencode: false })),
    checkFraming,
    800
  )

  fuzz(
    "Message.decode: arbitrary and mutated messages",
    FastCheck.oneof(anyBytes, mutated(singleMessages, { bencode: false })),
    checkMessage,
    800
  )

  fuzz(
    "Message.decodePayload: any id, arbitrary payloads",
    FastCheck.tuple(FastCheck.integer({ min: 0, max: 255 }), anyBytes),
    checkPayload,
    800
  )

  fuzz(
    "Handshake decoders: arbitrary and mutated handshakes",
    FastCheck.oneof(anyBytes, mutated(handshakeArb, { bencode: false })),
    checkHandshake,
    800
  )
})
