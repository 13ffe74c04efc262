/**
 * Fuzzing what arrives on the UDP port as uTP (src/protocol/UtpPacket.ts `decode`), from anyone: arbitrary
 * bytes, byte mutations of valid packets (every type, selective ACKs, payloads), and headers followed by
 * extension soup. Each must answer with a packet or a `WireError` of a known reason, in bounded time.
 * What it accepts re-encodes to the same header, selective ACK and payload (unknown extensions dropped),
 * its views lie inside the datagram, and a selective ACK is never empty.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { WireError, WireErrorReason } from "../../src/domain/Errors.js"
import * as Utp from "../../src/protocol/UtpPacket.js"
import { utpDatagram } from "../support/utpArbitraries.js"
import { mutated } from "./mutations.js"
import { anyBytes, fuzz, runDecoder } from "./support.js"

const isReason = Schema.is(WireErrorReason)

/** A valid header with its extension byte set, then random (next, length, bytes) triples and a tail. */
const extensionSoup = FastCheck.tuple(
  utpDatagram,
  FastCheck.integer({ min: 0, max: 255 }),
  FastCheck.array(FastCheck.tuple(FastCheck.integer({ min: 0, max: 3 }), FastCheck.integer({ min: 0, max: 40 })), { maxLength: 6 }),
  FastCheck.uint8Array({ maxLength: 40 })
).map(([datagram, first, chain, tail]) => {
  const parts: Array<number> = [...datagram.subarray(0, 20)]
  parts[1] = first
  for (const [next, length] of chain) parts.push(next, length, ...new Array<number>(length).fill(0x5a))
  return new Uint8Array([...parts, ...tail])
})

const within = (view: Uint8Array, bytes: Uint8Array) =>
  view.buffer === bytes.buffer && view.byteOffset >= bytes.byteOffset && view.byteOffset + view.length <= bytes.byteOffset + bytes.length

const check = (bytes: Uint8Array): void => {
  const result = runDecoder("UtpPacket.decode", () => Utp.decode(bytes))
  if (Either.isLeft(result)) {
    expect(result.left).toBeInstanceOf(WireError)
    expect(isReason(result.left.reason)).toBe(true)
    return
  }
  const p = result.right
  expect(within(p.payload, bytes) || p.payload.length === 0).toBe(true)
  if (p.selectiveAck !== undefined) {
    expect(within(p.selectiveAck, bytes)).toBe(true)
    expect(p.selectiveAck.length > 0).toBe(true)
  }
  expect(bytes.length).toBeGreaterThanOrEqual(Utp.headerSize)
  const again = Utp.encodeToBytes(p)
  expect(Buffer.compare(again.subarray(2, 20), bytes.subarray(2, 20))).toBe(0)
  expect(again[0]).toBe(bytes[0])
  expect(Buffer.compare(again.subarray(again.length - p.payload.length), bytes.subarray(bytes.length - p.payload.length))).toBe(0)
  const back = Utp.decode(again)
  expect(Either.isRight(back)).toBe(true)
}

describe("fuzz: utp", () => {
  fuzz("UtpPacket.decode: arbitrary bytes", anyBytes, check, 1000)
  fuzz("UtpPacket.decode: mutated packets", mutated(utpDatagram, { bencode: false }), check, 1000)
  fuzz("UtpPacket.decode: extension chains", extensionSoup, check, 1000)
})
