/**
 * uTP packets (BEP 29): the 20-byte header, the extension chain and the selective-ACK extension.
 *
 * Big-endian, version 1 only. `encode` writes into a buffer the caller owns (one datagram's worth, reused or
 * not); `decode` never copies: the payload and a selective ACK's bitmask are views into the datagram, so
 * they live as long as the datagram's bytes do. Every datagram on the UDP port comes from anyone on the
 * Internet, so `decode` answers bad input with a `WireError` value and never throws: an unknown type or
 * version, a packet shorter than its header, an extension chain that runs past the end, an empty selective
 * ACK. A selective ACK of any length is taken: BEP 29 says a multiple of 4, but libtorrent 2.0 sends as
 * many bytes as its reorder buffer spans (2, 18, 19...), and refusing them dropped its every ACK. Ours
 * are multiples of 4. Extensions of other types are skipped, as libutp does.
 */
import * as Either from "effect/Either"
import { WireError, type WireErrorReason } from "../domain/Errors.js"

export const PacketType = { Data: 0, Fin: 1, State: 2, Reset: 3, Syn: 4 } as const
export type PacketType = (typeof PacketType)[keyof typeof PacketType]

export const typeNames: ReadonlyArray<string> = ["ST_DATA", "ST_FIN", "ST_STATE", "ST_RESET", "ST_SYN"]

export const version = 1
export const headerSize = 20
/** The extension type of a selective ACK. */
export const selectiveAckExtension = 1
/** The longest selective ACK we write: 32 bytes, 256 packets past the first missing one. */
export const maxSelectiveAckBytes = 32

export interface UtpPacket {
  readonly type: PacketType
  readonly connectionId: number
  /** The sender's clock when it sent the packet, in microseconds modulo 2^32. */
  readonly timestampMicros: number
  /** The sender's clock minus the timestamp of the last packet it received from us, modulo 2^32. */
  readonly timestampDifferenceMicros: number
  /** Bytes the sender can still take in its receive buffer. */
  readonly windowSize: number
  readonly seqNr: number
  readonly ackNr: number
  /**
   * Bit i (bytes in order, least significant bit first in each byte) says packet ackNr + 2 + i arrived.
   * Undefined when the packet carries no selective ACK.
   */
  readonly selectiveAck: Uint8Array | undefined
  readonly payload: Uint8Array
}

const empty = new Uint8Array(0)

/** True when a datagram's first byte can open a uTP packet: the shared UDP port dispatches on it. */
export const looksLikeUtp = (firstByte: number): boolean =>
  (firstByte & 0x0f) === version && firstByte >> 4 <= PacketType.Syn

/** The bytes `encode` writes for this packet. */
export const encodedSize = (p: UtpPacket): number =>
  headerSize + (p.selectiveAck === undefined ? 0 : 2 + p.selectiveAck.length) + p.payload.length

/**
 * Writes the packet at `offset` in `into` and returns the bytes written. The caller sizes the buffer with
 * `encodedSize`; a selective ACK must already be a positive multiple of 4 bytes (the connection makes it so).
 */
export const encode = (p: UtpPacket, into: Uint8Array, offset = 0): number => {
  const view = new DataView(into.buffer, into.byteOffset + offset, encodedSize(p))
  view.setUint8(0, (p.type << 4) | version)
  view.setUint8(1, p.selectiveAck === undefined ? 0 : selectiveAckExtension)
  view.setUint16(2, p.connectionId & 0xffff)
  view.setUint32(4, p.timestampMicros >>> 0)
  view.setUint32(8, p.timestampDifferenceMicros >>> 0)
  view.setUint32(12, p.windowSize >>> 0)
  view.setUint16(16, p.seqNr & 0xffff)
  view.setUint16(18, p.ackNr & 0xffff)
  let at = headerSize
  if (p.selectiveAck !== undefined) {
    view.setUint8(at, 0)
    view.setUint8(at + 1, p.selectiveAck.length)
    into.set(p.selectiveAck, offset + at + 2)
    at += 2 + p.selectiveAck.length
  }
  into.set(p.payload, offset + at)
  return at + p.payload.length
}

/** The packet in a fresh buffer of its own size (a datagram to hand to a socket). */
export const encodeToBytes = (p: UtpPacket): Uint8Array => {
  const out = new Uint8Array(encodedSize(p))
  encode(p, out)
  return out
}

const refuse = (reason: WireErrorReason, detail: string): Either.Either<UtpPacket, WireError> =>
  Either.left(new WireError({ reason, detail: `uTP: ${detail}` }))

/** Reads one datagram as a uTP packet, or says why it is not one. Views, no copies. */
export const decode = (bytes: Uint8Array): Either.Either<UtpPacket, WireError> => {
  if (bytes.length < headerSize) return refuse("BadLength", `${bytes.length} bytes, shorter than the header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const first = view.getUint8(0)
  if ((first & 0x0f) !== version) return refuse("UnknownMessage", `version ${first & 0x0f}`)
  const type = first >> 4
  if (type > PacketType.Syn) return refuse("UnknownMessage", `packet type ${type}`)
  let selectiveAck: Uint8Array | undefined
  let next = view.getUint8(1)
  let at = headerSize
  // Each extension takes at least 2 bytes, so the chain ends within the datagram's length.
  while (next !== 0) {
    if (at + 2 > bytes.length) return refuse("BadLength", "extension header past the end")
    const kind = next
    next = view.getUint8(at)
    const length = view.getUint8(at + 1)
    if (at + 2 + length > bytes.length) return refuse("BadLength", `extension of ${length} bytes past the end`)
    if (kind === selectiveAckExtension) {
      if (length === 0) return refuse("BadLength", "an empty selective ACK")
      if (selectiveAck === undefined) selectiveAck = bytes.subarray(at + 2, at + 2 + length)
    }
    at += 2 + length
  }
  return Either.right({
    type: type as PacketType,
    connectionId: view.getUint16(2),
    timestampMicros: view.getUint32(4),
    timestampDifferenceMicros: view.getUint32(8),
    windowSize: view.getUint32(12),
    seqNr: view.getUint16(16),
    ackNr: view.getUint16(18),
    selectiveAck,
    payload: at === bytes.length ? empty : bytes.subarray(at)
  })
}

/** Whether bit `i` of a selective ACK is set: packet ackNr + 2 + i arrived. */
export const sackHas = (mask: Uint8Array, i: number): boolean => ((mask[i >> 3] ?? 0) & (1 << (i & 7))) !== 0
