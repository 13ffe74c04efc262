/**
 * A simulated network for uTP's tests, on a plain simulated clock (an event queue; no timers, no Effect):
 * links with a propagation delay, random loss, jitter (which reorders) and a bottleneck of a given rate
 * with a drop-tail queue bounded in bytes; uTP endpoints that run a `UtpConnection` over them; and a
 * TCP-like bulk sender (loss-based AIMD: slow start, then one packet more per round trip, halved on loss)
 * to share a bottleneck with. Seeded, so that every run is the same.
 */
import * as Either from "effect/Either"
import { decode } from "../../src/protocol/UtpPacket.js"
import { type UtpConnection, type UtpEvent, type UtpOptions, UtpConnection as Utp } from "../../src/services/utp/UtpConnection.js"

/** A seeded PRNG (mulberry32): [0, 1). */
export const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Scheduled {
  readonly at: number
  readonly order: number
  readonly run: () => void
}

/** The clock and its event queue (a binary heap by time, then by order of scheduling). */
export class Simulation {
  now = 0
  private readonly heap: Array<Scheduled> = []
  private order = 0

  at(time: number, run: () => void): void {
    const item = { at: Math.max(time, this.now), order: this.order++, run }
    const heap = this.heap
    heap.push(item)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.now + delayMs, run)
  }

  /** Every `periodMs` from now until `until` (or until `run` returns false). */
  every(periodMs: number, run: () => boolean | void): void {
    const step = () => {
      if (run() !== false) this.after(periodMs, step)
    }
    this.after(periodMs, step)
  }

  /** Runs events until the time `untilMs`, or until `done` holds. */
  run(untilMs: number, done: () => boolean = () => false): void {
    while (this.heap.length > 0 && !done()) {
      const next = this.pop()
      if (next.at > untilMs) {
        this.at(next.at, next.run)
        break
      }
      this.now = next.at
      next.run()
    }
    if (!done()) this.now = Math.max(this.now, untilMs)
  }

  private pop(): Scheduled {
    const heap = this.heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
}

const before = (a: Scheduled, b: Scheduled) => a.at < b.at || (a.at === b.at && a.order < b.order)

export interface LinkOptions {
  readonly delayMs: number
  /** The bottleneck's rate; Infinity for none. */
  readonly bytesPerSecond?: number
  /** The bottleneck's queue: a packet that would make it longer is dropped. */
  readonly queueBytes?: number
  readonly loss?: number
  /** Extra delay per packet, uniform in [0, jitterMs): packets overtake each other. */
  readonly jitterMs?: number
  readonly random?: () => number
}

/** The queueing delay one packet met at the bottleneck, with the flow it belongs to. */
export interface QueueSample {
  readonly at: number
  readonly flow: string
  readonly delayMs: number
}

/** One direction of a path. */
export class Link {
  private busyUntil = 0
  private sent = 0
  private maxDelivered = -1
  readonly samples: Array<QueueSample> = []
  dropped = 0
  reordered = 0
  /** Set to drop every packet (a peer that vanished). */
  blackHole = false
  /** Drops the packets whose send index (from 0) is listed, whatever the loss rate. */
  readonly dropIndices = new Set<number>()
  private readonly random: () => number

  constructor(private readonly sim: Simulation, private readonly options: LinkOptions) {
    this.random = options.random ?? seeded(1)
  }

  send(size: number, flow: string, deliver: () => void): void {
    const index = this.sent++
    if (this.blackHole || this.dropIndices.has(index) || this.random() < (this.options.loss ?? 0)) {
      this.dropped++
      return
    }
    const now = this.sim.now
    const rate = this.options.bytesPerSecond ?? Number.POSITIVE_INFINITY
    let departs = now
    if (Number.isFinite(rate)) {
      const waitMs = Math.max(0, this.busyUntil - now)
      if ((waitMs / 1000) * rate + size > (this.options.queueBytes ?? Number.POSITIVE_INFINITY)) {
        this.dropped++
        return
      }
      this.samples.push({ at: now, flow, delayMs: waitMs })
      this.busyUntil = Math.max(now, this.busyUntil) + (size / rate) * 1000
      departs = this.busyUntil
    }
    const jitter = (this.options.jitterMs ?? 0) * this.random()
    this.sim.at(departs + this.options.delayMs + jitter, () => {
      if (index < this.maxDelivered) this.reordered++
      this.maxDelivered = Math.max(this.maxDelivered, index)
      deliver()
    })
  }

  /** The mean queueing delay of a flow's packets that entered the queue between two times. */
  meanDelay(flow: string, fromMs: number, toMs: number): number {
    const mine = this.samples.filter((s) => s.flow === flow && s.at >= fromMs && s.at < toMs)
    return mine.reduce((sum, s) => sum + s.delayMs, 0) / Math.max(1, mine.length)
  }
}

/** One side of a uTP connection over a pair of links, with an application that sends and receives bytes. */
export class UtpEndpoint {
  conn: UtpConnection | undefined
  peer: UtpEndpoint | undefined
  readonly events: Array<{ readonly at: number; readonly event: UtpEvent }> = []
  readonly chunks: Array<Uint8Array> = []
  /** Bytes received, and when, for throughput over an interval. */
  readonly arrivals: Array<{ readonly at: number; readonly bytes: number }> = []
  receivedBytes = 0
  packetsSent = 0
  /** Read what arrives (false: leave it in the connection's buffer). */
  reading = true
  private source: Uint8Array | undefined
  private written = 0
  private endWhenWritten = false

  constructor(
    private readonly sim: Simulation,
    readonly name: string,
    private readonly out: Link,
    private readonly options: UtpOptions & { readonly clockOffsetMs?: number; readonly endOnEof?: boolean } = {}
  ) {
    sim.every(20, () => {
      if (this.conn === undefined) return
      this.conn.tick(this.clock())
      this.pump()
    })
  }

  clock(): number {
    return this.sim.now + (this.options.clockOffsetMs ?? 0)
  }

  dial(): void {
    this.conn = Utp.connect(this.clock(), this.options)
    this.pump()
  }

  /** Sends `data`, then a FIN once it is all written. */
  sendAll(data: Uint8Array, end = true): void {
    this.source = data
    this.written = 0
    this.endWhenWritten = end
    this.pump()
  }

  received(): Uint8Array {
    return Buffer.concat(this.chunks)
  }

  tags(): Array<string> {
    return this.events.map((e) => e.event._tag)
  }

  bytesBetween(fromMs: number, toMs: number): number {
    return this.arrivals.filter((a) => a.at >= fromMs && a.at < toMs).reduce((sum, a) => sum + a.bytes, 0)
  }

  deliver(datagram: Uint8Array): void {
    const packet = decode(datagram)
    if (Either.isLeft(packet)) throw new Error(`undecodable datagram: ${packet.left.detail}`)
    if (this.conn === undefined) {
      if (packet.right.type !== 4) return
      this.conn = Utp.accept(packet.right, this.clock(), this.options)
    } else this.conn.receive(packet.right, this.clock())
    this.pump()
  }

  pump(): void {
    const conn = this.conn
    if (conn === undefined) return
    if (this.source !== undefined && this.written < this.source.length) {
      this.written += conn.write(this.source.subarray(this.written), this.clock())
    }
    if (this.source !== undefined && this.endWhenWritten && this.written === this.source.length) {
      this.endWhenWritten = false
      conn.end(this.clock())
    }
    if (this.reading) {
      for (const chunk of conn.read()) {
        // Copied: the chunk is a view into a datagram the test keeps no longer.
        this.chunks.push(chunk.slice())
        this.receivedBytes += chunk.length
        this.arrivals.push({ at: this.sim.now, bytes: chunk.length })
      }
    }
    for (const event of conn.takeEvents()) {
      this.events.push({ at: this.sim.now, event })
      // The peer is done: end too, once what we have to send is written.
      if (event._tag === "Eof" && this.options.endOnEof !== false) {
        if (this.source === undefined || this.written === this.source.length) conn.end(this.clock())
        else this.endWhenWritten = true
      }
    }
    for (const datagram of conn.takePackets()) {
      this.packetsSent++
      const peer = this.peer
      this.out.send(datagram.length + 28, `utp:${this.name}`, () => peer?.deliver(datagram))
    }
  }
}

/** Connects two endpoints over a forward and a backward link. */
export const utpPair = (
  sim: Simulation,
  forward: Link,
  backward: Link,
  options: { readonly a?: ConstructorParameters<typeof UtpEndpoint>[3]; readonly b?: ConstructorParameters<typeof UtpEndpoint>[3] } = {}
): { readonly a: UtpEndpoint; readonly b: UtpEndpoint } => {
  const a = new UtpEndpoint(sim, "a", forward, options.a)
  const b = new UtpEndpoint(sim, "b", backward, options.b)
  a.peer = b
  b.peer = a
  return { a, b }
}

/**
 * A TCP-like bulk sender: 1500-byte packets, each acknowledged by a 40-byte ACK on the way back; slow
 * start, then one packet more per round trip; a packet unacknowledged while three later ones are is lost
 * and halves the window (once per window); nothing acknowledged for a second sends the window to one.
 * Lost packets are not sent again: only the rate and the queue it makes matter here.
 */
export class AimdFlow {
  static readonly packetBytes = 1500
  cwnd = 2
  private ssthresh = Number.POSITIVE_INFINITY
  private next = 0
  private recoverUntil = 0
  private lastAckMs = 0
  private readonly outstanding = new Map<number, number>()
  private readonly arrivals: Array<{ readonly at: number; readonly bytes: number }> = []
  private running = false

  constructor(private readonly sim: Simulation, private readonly forward: Link, private readonly backward: Link) {}

  start(): void {
    this.running = true
    this.lastAckMs = this.sim.now
    this.sim.every(100, () => {
      if (this.outstanding.size > 0 && this.sim.now - this.lastAckMs > 1000) {
        this.outstanding.clear()
        this.ssthresh = Math.max(2, this.cwnd / 2)
        this.cwnd = 1
        this.lastAckMs = this.sim.now
        this.fill()
      }
      return this.running
    })
    this.fill()
  }

  stop(): void {
    this.running = false
  }

  bytesBetween(fromMs: number, toMs: number): number {
    return this.arrivals.filter((a) => a.at >= fromMs && a.at < toMs).reduce((sum, a) => sum + a.bytes, 0)
  }

  private fill(): void {
    while (this.running && this.outstanding.size < Math.floor(this.cwnd)) {
      const seq = this.next++
      this.outstanding.set(seq, this.sim.now)
      this.forward.send(AimdFlow.packetBytes, "tcp", () => {
        this.arrivals.push({ at: this.sim.now, bytes: AimdFlow.packetBytes })
        this.backward.send(40, "tcp-ack", () => this.onAck(seq))
      })
    }
  }

  private onAck(seq: number): void {
    if (!this.outstanding.delete(seq)) return
    this.lastAckMs = this.sim.now
    let lost = false
    for (const s of this.outstanding.keys()) {
      if (s < seq - 3) {
        this.outstanding.delete(s)
        if (s >= this.recoverUntil) lost = true
      }
    }
    if (lost) {
      this.cwnd = Math.max(1, this.cwnd / 2)
      this.ssthresh = this.cwnd
      this.recoverUntil = this.next
    } else this.cwnd += this.cwnd < this.ssthresh ? 1 : 1 / this.cwnd
    this.fill()
  }
}
