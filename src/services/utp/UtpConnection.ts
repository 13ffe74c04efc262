/**
 * One uTP connection (BEP 29) as a synchronous state machine, in the style of peer/PeerState: no Effect
 * and no timer per packet. Its inputs are the packets received for it (`receive`), the passing of time
 * (`tick`) and the application's writes (`write`, `end`, `abort`), each given the time in milliseconds;
 * its outputs are datagrams to send (`takePackets`), the bytes received in order (`read`) and events
 * (`takeEvents`: connected, end of the peer's stream, closed, reset, timed out). Whoever owns the UDP
 * socket routes packets here by connection id and calls `tick` a few times a second.
 *
 * States: SynSent (we dialled; our SYN carries our receive id, and we send with that id + 1), Connected
 * (the side that accepts is connected as soon as it answers the SYN), FinSent (our FIN is out: nothing
 * more to send), Closed (both FINs acknowledged, or given up after `maxTimeouts` timeouts in a row with
 * nothing heard from the peer) and Reset (either side aborted).
 *
 * Reliability: every data packet stays in flight until acknowledged (cumulatively or selectively); the
 * retransmission timer (RTT-based, at least 500 ms, doubled at each timeout) sends the oldest again with
 * the window down to one packet; three duplicate ACKs, or three packets selectively acknowledged past a
 * gap, send the missing one again at once and halve the window (once per window of packets). LEDBAT
 * (UtpCongestion.ts) sizes the window; the peer's advertised window bounds it too.
 */
import { PacketType, type UtpPacket, encodeToBytes, headerSize, sackHas } from "../../protocol/UtpPacket.js"
import { Congestion } from "./UtpCongestion.js"
import { ReceiveBuffer } from "./UtpReceiveBuffer.js"
import { InFlight, type Outgoing, PendingBytes } from "./UtpSendBuffer.js"
import { micros, seqAdd, seqBefore, seqDistance } from "./UtpSequence.js"

export type UtpState = "SynSent" | "Connected" | "FinSent" | "Closed" | "Reset"

export type UtpEvent =
  | { readonly _tag: "Connected" }
  /** The peer's FIN arrived with everything before it: no more bytes will come. */
  | { readonly _tag: "Eof" }
  /** Both sides finished and acknowledged. */
  | { readonly _tag: "Closed" }
  | { readonly _tag: "Reset" }
  /** No answer after `maxTimeouts` retransmission timeouts in a row (a dial to nobody ends here). */
  | { readonly _tag: "TimedOut" }

export interface UtpOptions {
  /** The largest datagram we send (the UDP payload): 1400 by default, well within common MTUs. */
  readonly packetSize?: number
  readonly receiveBufferBytes?: number
  readonly sendBufferBytes?: number
  /** Retransmission timeouts in a row before the connection is given up. */
  readonly maxTimeouts?: number
  /** Random numbers in [0, 1) for the connection id and first sequence number. */
  readonly random?: () => number
  /** A packet received is not answered by a bare ACK at once: the owner calls `flushAck` after the
   *  datagrams that arrived together, so that one ACK answers them all (libutp's deferred ACKs). A packet
   *  of ours that goes out meanwhile carries the ACK anyway. */
  readonly deferAcks?: boolean
}

const defaults = {
  packetSize: 1400,
  receiveBufferBytes: 1024 * 1024,
  sendBufferBytes: 1024 * 1024,
  maxTimeouts: 5
}
/** The most packets in flight: far inside the 16-bit numbers, and what a reordering buffer keeps. */
const maxInFlight = 1000
/** Duplicate ACKs (or packets acknowledged past a gap) that make a packet lost. */
const duplicateAcks = 3
/** Packets sent again per ACK by fast retransmit, as libutp bounds it. */
const maxFastResends = 4
/** An idle connection sends a bare ACK this often, as libutp does, so that a NAT on the way keeps its
 *  mapping (UDP mappings often last 30 s) and the peer learns we are still there. */
export const keepAliveMs = 29_000

export interface UtpStats {
  readonly state: UtpState
  readonly cwnd: number
  readonly rttMs: number
  readonly rtoMs: number
  readonly delayMs: number
  readonly inFlightBytes: number
  readonly retransmits: number
  readonly timeouts: number
}

export class UtpConnection {
  state: UtpState
  private readonly congestion: Congestion
  private readonly pending: PendingBytes
  private readonly inFlight: InFlight
  private receiveBuffer: ReceiveBuffer
  private readonly payloadSize: number
  private readonly maxTimeouts: number
  private peerWindow: number
  /** Our clock minus the peer's timestamp on its last packet: the delay sample we send back. */
  private replyMicros = 0
  private ackPending = false
  /** When we last sent anything: an idle connection's keep-alive is due `keepAliveMs` after. */
  private lastSentMs: number
  /** Set while `receive` runs with deferred ACKs: its flush sends data, not a bare ACK. */
  private holdAck = false
  private readonly deferAcks: boolean
  private finRequested = false
  private finSent: Outgoing | undefined
  private finAcked = false
  private eofSignalled = false
  private duplicateCount = 0
  private lastAckNr: number
  /** Losses before this packet were answered already by halving the window. */
  private recoverUntil: number | undefined
  private rtoDeadlineMs = Number.POSITIVE_INFINITY
  private timeoutsInRow = 0
  private retransmits = 0
  private timeoutsTotal = 0
  private readonly packets: Array<Uint8Array> = []
  private readonly events: Array<UtpEvent> = []

  private constructor(
    readonly recvId: number,
    readonly sendId: number,
    firstSeq: number,
    ackNr: number,
    state: UtpState,
    options: UtpOptions
  ) {
    const packetSize = options.packetSize ?? defaults.packetSize
    this.payloadSize = packetSize - headerSize
    this.maxTimeouts = options.maxTimeouts ?? defaults.maxTimeouts
    this.deferAcks = options.deferAcks === true
    this.congestion = new Congestion(this.payloadSize, maxInFlight * this.payloadSize)
    this.pending = new PendingBytes(options.sendBufferBytes ?? defaults.sendBufferBytes)
    this.inFlight = new InFlight(firstSeq, firstSeq)
    this.receiveBuffer = new ReceiveBuffer(ackNr, options.receiveBufferBytes ?? defaults.receiveBufferBytes)
    this.peerWindow = this.payloadSize
    this.lastAckNr = seqAdd(firstSeq, -1)
    this.state = state
    this.lastSentMs = Number.NEGATIVE_INFINITY
  }

  /** Dials: sends a SYN, whose connection id is our receive id; we send with receive id + 1. */
  static connect(nowMs: number, options: UtpOptions = {}): UtpConnection {
    const random = options.random ?? Math.random
    const recvId = Math.floor(random() * 0xffff) // never 0xffff, so that + 1 fits
    const c = new UtpConnection(recvId, recvId + 1, 1, 0, "SynSent", options)
    const syn = c.inFlight.add(PacketType.Syn, new Uint8Array(0), nowMs)
    c.send(syn, nowMs)
    c.rtoDeadlineMs = nowMs + c.congestion.rtoMs
    return c
  }

  /** Answers a SYN: we receive on its id + 1 and send on its id; connected once the ACK is out. */
  static accept(syn: UtpPacket, nowMs: number, options: UtpOptions = {}): UtpConnection {
    const random = options.random ?? Math.random
    const firstSeq = 1 + Math.floor(random() * 0xfffe)
    const c = new UtpConnection((syn.connectionId + 1) & 0xffff, syn.connectionId, firstSeq, syn.seqNr, "Connected", options)
    c.replyMicros = (micros(nowMs) - syn.timestampMicros) >>> 0
    c.peerWindow = syn.windowSize
    c.ackPending = true
    c.flush(nowMs)
    c.events.push({ _tag: "Connected" })
    return c
  }

  // -------------------------------------------------------------------------------------------------------
  // Inputs

  /** The application's bytes: returns how many were taken (the rest waits for room in the send buffer). */
  write(bytes: Uint8Array, nowMs: number): number {
    if (this.finRequested || this.state === "Closed" || this.state === "Reset") return 0
    const n = this.pending.write(bytes)
    this.flush(nowMs)
    return n
  }

  /** Room in the send buffer. */
  writable(): number {
    return this.finRequested ? 0 : this.pending.capacity - this.pending.size
  }

  /** No more writes: a FIN follows the bytes already written. */
  end(nowMs: number): void {
    this.finRequested = true
    this.flush(nowMs)
  }

  /** Ends the connection at once: a RESET to the peer, nothing more sent or received. */
  abort(nowMs: number): void {
    if (this.state === "Reset" || this.state === "Closed") return
    this.emit(PacketType.Reset, this.inFlight.next, new Uint8Array(0), nowMs)
    this.state = "Reset"
  }

  receive(p: UtpPacket, nowMs: number): void {
    if (this.state === "Reset") return
    if (p.type === PacketType.Syn) {
      // A SYN sent again (our answer was lost): answer again.
      if (p.connectionId === this.sendId && p.seqNr === this.receiveBuffer.ackNr) this.ackPending = true
      this.flush(nowMs)
      return
    }
    // A RESET may carry either id: libutp answers a packet it has no connection for with that packet's
    // own id (our send id).
    if (p.type === PacketType.Reset && (p.connectionId === this.recvId || p.connectionId === this.sendId)) {
      this.state = "Reset"
      this.events.push({ _tag: "Reset" })
      return
    }
    if (p.connectionId !== this.recvId) return
    this.replyMicros = (micros(nowMs) - p.timestampMicros) >>> 0
    if (this.state === "SynSent") {
      // Only the answer to our SYN connects: its sequence number is where the peer's data starts. Data that
      // overtook it could be any of the peer's first packets (libtorrent takes it as the first and may lose
      // the ones before); it is dropped, and sent again once we are connected.
      if (p.type !== PacketType.State || p.ackNr !== this.inFlight.oldest) return
      this.receiveBuffer = new ReceiveBuffer(seqAdd(p.seqNr, -1), this.receiveBuffer.window())
      this.state = "Connected"
      this.events.push({ _tag: "Connected" })
    }
    this.peerWindow = p.windowSize
    // The peer is there: timeouts count towards giving up only while it is silent (a full receiver
    // drops what we probe its window with, but answers).
    this.timeoutsInRow = 0
    if (p.timestampDifferenceMicros !== 0) this.congestion.delays.add(p.timestampDifferenceMicros, nowMs)
    this.onAck(p, nowMs)
    if (p.type === PacketType.Data) this.onData(p)
    else if (p.type === PacketType.Fin) this.onFin(p)
    this.checkDone()
    this.holdAck = this.deferAcks
    this.flush(nowMs)
    this.holdAck = false
  }

  /** The ACK owed for the packets received since the last one (with `deferAcks`). */
  flushAck(nowMs: number): void {
    if (this.ackPending && this.state !== "Reset") this.emit(PacketType.State, this.inFlight.next, new Uint8Array(0), nowMs)
  }

  /** Time passed: the retransmission timer. */
  tick(nowMs: number): void {
    if (this.state === "Reset" || this.state === "Closed") return
    if (this.inFlight.count() > 0 && nowMs >= this.rtoDeadlineMs && !this.onTimeout(nowMs)) return
    if (this.state === "Connected" && nowMs - this.lastSentMs >= keepAliveMs) this.ackPending = true
    this.flush(nowMs)
  }

  // -------------------------------------------------------------------------------------------------------
  // Outputs

  /** Datagrams to send to the peer, in order. */
  takePackets(): Array<Uint8Array> {
    return this.packets.splice(0)
  }

  /** Bytes received in order since the last call (views into the datagrams received). */
  read(): Array<Uint8Array> {
    const before = this.receiveBuffer.window()
    const out = this.receiveBuffer.take()
    // A window that was too small to send into has opened: tell the peer with the next tick.
    if (before < this.payloadSize && this.receiveBuffer.window() >= this.payloadSize) this.ackPending = true
    return out
  }

  takeEvents(): Array<UtpEvent> {
    return this.events.splice(0)
  }

  stats(): UtpStats {
    return {
      state: this.state,
      cwnd: this.congestion.cwnd,
      rttMs: this.congestion.rttMs,
      rtoMs: this.congestion.rtoMs,
      delayMs: this.congestion.delayMs(),
      inFlightBytes: this.inFlight.bytes,
      retransmits: this.retransmits,
      timeouts: this.timeoutsTotal
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Receiving

  private onAck(p: UtpPacket, nowMs: number): void {
    // An ACK of a packet never sent (or from long ago) says nothing.
    if (seqDistance(seqAdd(this.inFlight.oldest, -1), p.ackNr) > this.inFlight.span()) return
    let acked = 0
    let minRttMicros = Number.POSITIVE_INFINITY
    const ack = (o: Outgoing) => {
      if (o.transmissions === 1) {
        const rtt = nowMs - o.sentAtMs
        this.congestion.rttSample(rtt)
        minRttMicros = Math.min(minRttMicros, rtt * 1000)
      }
      acked += o.payload.length
      if (o === this.finSent) this.finAcked = true
      this.inFlight.remove(o)
    }
    const progressed = this.inFlight.inRange(p.ackNr)
    while (this.inFlight.span() > 0 && !seqBefore(p.ackNr, this.inFlight.oldest)) {
      const o = this.inFlight.get(this.inFlight.oldest)
      if (o === undefined) break
      ack(o)
    }
    const lost = p.selectiveAck === undefined ? [] : this.selective(p.ackNr, p.selectiveAck, ack)
    if (progressed) {
      this.duplicateCount = 0
      this.timeoutsInRow = 0
    } else if (p.type === PacketType.State && p.ackNr === this.lastAckNr && this.inFlight.count() > 0) {
      this.duplicateCount++
      const oldest = this.inFlight.get(this.inFlight.oldest)
      if (this.duplicateCount === duplicateAcks && oldest !== undefined && !oldest.fastResent) lost.unshift(oldest)
    }
    this.lastAckNr = p.ackNr
    if (acked > 0 || progressed) {
      this.congestion.onAck(acked, nowMs, minRttMicros)
      this.rtoDeadlineMs = nowMs + this.congestion.rtoMs
    }
    if (lost.length > 0) this.onLoss(lost, nowMs)
  }

  /** Packets selectively acknowledged, and those missing with three or more acknowledged past them. */
  private selective(ackNr: number, mask: Uint8Array, ack: (o: Outgoing) => void): Array<Outgoing> {
    const lost: Array<Outgoing> = []
    let after = 0
    // From the furthest bit back, counting packets acknowledged past each missing one (libutp's order).
    for (let bit = mask.length * 8 - 1; bit >= -1; bit--) {
      const seq = seqAdd(ackNr, 2 + bit)
      if (!this.inFlight.inRange(seq)) continue
      const has = bit >= 0 && sackHas(mask, bit)
      if (has) after++
      const o = this.inFlight.get(seq)
      if (o === undefined) continue
      if (has) ack(o)
      else if (after >= duplicateAcks && !o.fastResent && !o.needResend) lost.push(o)
    }
    return lost.reverse().slice(0, maxFastResends)
  }

  private onLoss(lost: ReadonlyArray<Outgoing>, nowMs: number): void {
    for (const o of lost) {
      this.inFlight.markLost(o)
      o.fastResent = true
    }
    // One halving per window: losses of packets sent before the last halving are the same congestion.
    const first = lost[0]!
    if (this.recoverUntil === undefined || !seqBefore(first.seq, this.recoverUntil)) {
      this.congestion.onLoss()
      this.recoverUntil = this.inFlight.next
    }
    this.flush(nowMs)
  }

  private onData(p: UtpPacket): void {
    if (this.state === "SynSent") return
    this.receiveBuffer.accept(p.seqNr, p.payload)
    this.ackPending = true
  }

  private onFin(p: UtpPacket): void {
    this.receiveBuffer.fin(p.seqNr)
    this.ackPending = true
  }

  private checkDone(): void {
    if (this.receiveBuffer.finished && !this.eofSignalled) {
      this.eofSignalled = true
      this.events.push({ _tag: "Eof" })
    }
    if (this.eofSignalled && this.finAcked && this.state !== "Closed") {
      this.state = "Closed"
      this.events.push({ _tag: "Closed" })
    }
  }

  /** The retransmission timer fired: false when the connection is given up. */
  private onTimeout(nowMs: number): boolean {
    this.timeoutsInRow++
    this.timeoutsTotal++
    if (this.timeoutsInRow > this.maxTimeouts) {
      this.state = "Closed"
      this.events.push({ _tag: "TimedOut" })
      return false
    }
    this.congestion.onTimeout()
    for (const o of this.inFlight.inOrder()) this.inFlight.markLost(o)
    this.recoverUntil = this.inFlight.next
    this.duplicateCount = 0
    this.rtoDeadlineMs = nowMs + this.congestion.rtoMs
    return true
  }

  // -------------------------------------------------------------------------------------------------------
  // Sending

  private canSend(bytes: number, nowMs: number): boolean {
    if (this.inFlight.bytes === 0) return true
    const limit = Math.min(this.congestion.cwnd, this.peerWindow)
    if (this.inFlight.bytes + bytes <= limit) return true
    if (this.congestion.cwnd <= this.peerWindow) this.congestion.cwndLimited(nowMs)
    return false
  }

  /** Sends what the windows allow: packets lost first, then new data, then the FIN, then a bare ACK. */
  private flush(nowMs: number): void {
    if (this.state === "Reset") return
    for (const o of this.inFlight.lost > 0 ? this.inFlight.inOrder() : []) {
      if (!o.needResend) continue
      if (!this.canSend(o.payload.length, nowMs)) break
      this.inFlight.resent(o, nowMs)
      this.retransmits++
      this.send(o, nowMs)
    }
    if (this.state === "Connected") {
      while (this.pending.size > 0 && this.inFlight.span() < maxInFlight) {
        const size = Math.min(this.payloadSize, this.pending.size)
        if (!this.canSend(size, nowMs)) break
        this.send(this.inFlight.add(PacketType.Data, this.pending.take(size), nowMs), nowMs)
      }
      if (this.finRequested && this.pending.size === 0 && this.finSent === undefined) {
        this.finSent = this.inFlight.add(PacketType.Fin, new Uint8Array(0), nowMs)
        this.state = "FinSent"
        this.send(this.finSent, nowMs)
      }
    }
    if (this.ackPending && !this.holdAck) this.emit(PacketType.State, this.inFlight.next, new Uint8Array(0), nowMs)
    if (this.inFlight.count() > 0 && this.rtoDeadlineMs === Number.POSITIVE_INFINITY) {
      this.rtoDeadlineMs = nowMs + this.congestion.rtoMs
    } else if (this.inFlight.count() === 0) this.rtoDeadlineMs = Number.POSITIVE_INFINITY
  }

  private send(o: Outgoing, nowMs: number): void {
    this.emit(o.type, o.seq, o.payload, nowMs)
  }

  private emit(type: PacketType, seqNr: number, payload: Uint8Array, nowMs: number): void {
    const syn = type === PacketType.Syn
    this.packets.push(encodeToBytes({
      type,
      // A SYN names the id its answers come to; every other packet the id the peer receives on.
      connectionId: syn ? this.recvId : this.sendId,
      timestampMicros: micros(nowMs),
      timestampDifferenceMicros: this.replyMicros,
      windowSize: this.receiveBuffer.window(),
      seqNr,
      ackNr: syn ? 0 : this.receiveBuffer.ackNr,
      selectiveAck: type === PacketType.State ? this.receiveBuffer.selectiveAck() : undefined,
      payload
    }))
    // Every packet carries the cumulative ACK, so none is owed any more.
    if (!syn) this.ackPending = false
    this.lastSentMs = nowMs
  }
}
