/**
 * The receiving half of a uTP connection: packets in order go to the application, packets ahead of a gap
 * wait in the reordering buffer, and the selective ACK tells the sender which of those arrived.
 *
 * Bounded in bytes: what waits for the application plus what waits for a gap never exceeds `capacity`,
 * and the free space is the window we advertise. A packet that does not fit, or that is further ahead
 * than `maxAhead` packets, is dropped; the sender, which keeps to our window, sends it again. Payloads are
 * kept as the views the decoder made (the datagram's own bytes), not copied.
 */
import { maxSelectiveAckBytes } from "../../protocol/UtpPacket.js"
import { seqAdd, seqBefore, seqDistance } from "./UtpSequence.js"

/** How far past the last packet in order a packet may be and still be kept. */
export const maxAhead = 1024

export type Accepted = "InOrder" | "Reordered" | "Duplicate" | "Dropped"

export class ReceiveBuffer {
  private readonly waiting = new Map<number, Uint8Array>()
  private waitingBytes = 0
  private ready: Array<Uint8Array> = []
  private readyBytes = 0
  private finSeq: number | undefined
  /** True once the FIN and everything before it arrived. */
  finished = false

  constructor(
    /** The last packet received in order. */
    public ackNr: number,
    private readonly capacity: number
  ) {}

  /** Free space: the window we advertise. */
  window(): number {
    return Math.max(0, this.capacity - this.readyBytes - this.waitingBytes)
  }

  /** Bytes held: waiting for the application or for a gap. */
  held(): number {
    return this.readyBytes + this.waitingBytes
  }

  /** A data packet's payload. */
  accept(seq: number, payload: Uint8Array): Accepted {
    if (this.finished || !seqBefore(this.ackNr, seq)) return "Duplicate"
    if (this.finSeq !== undefined && !seqBefore(seq, this.finSeq)) return "Dropped"
    const ahead = seqDistance(this.ackNr, seq)
    if (ahead > maxAhead) return "Dropped"
    if (this.waiting.has(seq)) return "Duplicate"
    if (payload.length > this.window()) return "Dropped"
    if (ahead !== 1) {
      this.waiting.set(seq, payload)
      this.waitingBytes += payload.length
      return "Reordered"
    }
    this.deliver(payload)
    this.ackNr = seq
    this.drain()
    return "InOrder"
  }

  /** The peer's FIN: its sequence number is the end of the stream. */
  fin(seq: number): Accepted {
    if (this.finished || !seqBefore(this.ackNr, seq)) return "Duplicate"
    if (seqDistance(this.ackNr, seq) > maxAhead) return "Dropped"
    // A second FIN at another number is ignored: the first one sets the end.
    if (this.finSeq === undefined) this.finSeq = seq
    this.drain()
    return this.finished ? "InOrder" : "Reordered"
  }

  /** What arrived in order since the last call, for the application. */
  take(): Array<Uint8Array> {
    const out = this.ready
    this.ready = []
    this.readyBytes = 0
    return out
  }

  /**
   * The selective ACK for what waits past the gap: bit i for packet ackNr + 2 + i, as few 4-byte words as
   * reach the furthest packet (at most 32 bytes); undefined when nothing waits.
   */
  selectiveAck(): Uint8Array | undefined {
    if (this.waiting.size === 0) return undefined
    let furthest = -1
    for (const seq of this.waiting.keys()) furthest = Math.max(furthest, seqDistance(this.ackNr, seq) - 2)
    if (furthest < 0) return undefined
    const bytes = Math.min(maxSelectiveAckBytes, 4 * Math.ceil((furthest + 1) / 32))
    const mask = new Uint8Array(bytes)
    for (const seq of this.waiting.keys()) {
      const bit = seqDistance(this.ackNr, seq) - 2
      if (bit >= 0 && bit < bytes * 8) mask[bit >> 3]! |= 1 << (bit & 7)
    }
    return mask
  }

  private deliver(payload: Uint8Array): void {
    if (payload.length === 0) return
    this.ready.push(payload)
    this.readyBytes += payload.length
  }

  private drain(): void {
    for (;;) {
      const next = seqAdd(this.ackNr, 1)
      if (this.finSeq === next) {
        this.ackNr = next
        this.finished = true
        this.dropWaiting()
        return
      }
      const payload = this.waiting.get(next)
      if (payload === undefined) return
      this.waiting.delete(next)
      this.waitingBytes -= payload.length
      this.deliver(payload)
      this.ackNr = next
    }
  }

  private dropWaiting(): void {
    this.waiting.clear()
    this.waitingBytes = 0
  }
}
