/**
 * The sending half's two queues: the application's bytes not yet put in a packet (bounded in bytes, so a
 * writer learns to wait), and the packets sent and not yet acknowledged, by sequence number, kept for
 * retransmission. The packets in flight run from `oldest` to `next` - 1 without gaps in numbering; the
 * ones acknowledged (selectively) inside that range are gone from the map.
 */
import type { PacketType } from "../../protocol/UtpPacket.js"
import { seqAdd, seqDistance } from "./UtpSequence.js"

export interface Outgoing {
  readonly seq: number
  readonly type: PacketType
  readonly payload: Uint8Array
  sentAtMs: number
  transmissions: number
  /** Considered lost: to be sent again, and not counted in the bytes in flight meanwhile. */
  needResend: boolean
  /** Sent again by fast retransmit already: a second loss of it waits for the timer. */
  fastResent: boolean
}

/** The application's bytes waiting to be sent. */
export class PendingBytes {
  private readonly chunks: Array<Uint8Array> = []
  private headOffset = 0
  size = 0

  constructor(readonly capacity: number) {}

  /** Takes what fits; returns how many bytes it took. */
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.capacity - this.size)
    if (n <= 0) return 0
    // Copied: the caller may reuse its buffer as soon as write returns.
    this.chunks.push(bytes.slice(0, n))
    this.size += n
    return n
  }

  /** Up to `max` bytes (a packet's payload, kept until acknowledged): a view into the copy `write` made
   *  when they lie in one chunk, as they mostly do (a block is 16 KiB), else one new array. */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.size)
    const first = this.chunks[0]
    if (first !== undefined && first.length - this.headOffset >= n) {
      const view = first.subarray(this.headOffset, this.headOffset + n)
      this.headOffset += n
      if (this.headOffset === first.length) {
        this.chunks.shift()
        this.headOffset = 0
      }
      this.size -= n
      return view
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const head = this.chunks[0]!
      const piece = Math.min(n - filled, head.length - this.headOffset)
      out.set(head.subarray(this.headOffset, this.headOffset + piece), filled)
      filled += piece
      this.headOffset += piece
      if (this.headOffset === head.length) {
        this.chunks.shift()
        this.headOffset = 0
      }
    }
    this.size -= n
    return out
  }
}

/** The packets in flight. */
export class InFlight {
  private readonly packets = new Map<number, Outgoing>()
  /** Payload bytes in flight and not considered lost: what the congestion window bounds. */
  bytes = 0
  /** Packets considered lost and not sent again yet (so that the sender looks for them only if any). */
  lost = 0

  constructor(
    /** The oldest packet not acknowledged (equal to `next` when none is in flight). */
    public oldest: number,
    /** The sequence number of the next packet sent. */
    public next: number
  ) {}

  /** Packets numbered from oldest to next - 1 (some may be acknowledged already). */
  span(): number {
    return seqDistance(this.oldest, this.next)
  }

  count(): number {
    return this.packets.size
  }

  get(seq: number): Outgoing | undefined {
    return this.packets.get(seq)
  }

  /** A new packet, numbered `next`. */
  add(type: PacketType, payload: Uint8Array, nowMs: number): Outgoing {
    const p: Outgoing = { seq: this.next, type, payload, sentAtMs: nowMs, transmissions: 1, needResend: false, fastResent: false }
    this.packets.set(p.seq, p)
    this.next = seqAdd(this.next, 1)
    this.bytes += payload.length
    return p
  }

  /** True when seq is a number we sent and have not seen acknowledged in order. */
  inRange(seq: number): boolean {
    return seqDistance(this.oldest, seq) < this.span()
  }

  /** Removes an acknowledged packet. */
  remove(p: Outgoing): void {
    this.packets.delete(p.seq)
    if (p.needResend) this.lost--
    else this.bytes -= p.payload.length
    while (this.oldest !== this.next && !this.packets.has(this.oldest)) this.oldest = seqAdd(this.oldest, 1)
  }

  markLost(p: Outgoing): void {
    if (p.needResend) return
    p.needResend = true
    this.lost++
    this.bytes -= p.payload.length
  }

  /** Sent again: counted in flight once more. */
  resent(p: Outgoing, nowMs: number): void {
    if (p.needResend) {
      this.bytes += p.payload.length
      this.lost--
    }
    p.needResend = false
    p.transmissions++
    p.sentAtMs = nowMs
  }

  /** The packets in flight, oldest first. */
  *inOrder(): Generator<Outgoing> {
    const span = this.span()
    for (let i = 0; i < span; i++) {
      const p = this.packets.get(seqAdd(this.oldest, i))
      if (p !== undefined) yield p
    }
  }
}
