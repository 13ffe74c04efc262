/**
 * uTP packets for property tests and fuzzing: any valid packet (every type, with and without a selective
 * ACK, with and without payload), and its encoding.
 */
import * as FastCheck from "effect/FastCheck"
import { type PacketType, type UtpPacket, encodeToBytes } from "../../src/protocol/UtpPacket.js"

const u16 = FastCheck.integer({ min: 0, max: 0xffff })
const u32 = FastCheck.integer({ min: 0, max: 0xffffffff })

export const utpPacket: FastCheck.Arbitrary<UtpPacket> = FastCheck.record({
  type: FastCheck.integer({ min: 0, max: 4 }).map((t) => t as PacketType),
  connectionId: u16,
  timestampMicros: u32,
  timestampDifferenceMicros: u32,
  windowSize: u32,
  seqNr: u16,
  ackNr: u16,
  selectiveAck: FastCheck.option(
    FastCheck.integer({ min: 1, max: 8 }).chain((words) => FastCheck.uint8Array({ minLength: 4 * words, maxLength: 4 * words })),
    { nil: undefined }
  ),
  payload: FastCheck.uint8Array({ maxLength: 1500 })
})

export const utpDatagram: FastCheck.Arbitrary<Uint8Array> = utpPacket.map(encodeToBytes)
