/**
 * uTP's congestion control: the round-trip estimate and retransmission timeout (RFC 6298), and LEDBAT
 * (RFC 6817, as libutp applies it): the window grows while the queueing delay our packets see is below the
 * 100 ms target and shrinks when it is above, so that uTP yields to TCP and to the user's own traffic.
 *
 * The delay is one-way: the peer stamps each packet with how long our last packet took to reach it
 * (timestamp_difference), on its clock minus ours. The clocks' offset is unknown, but it is the same in
 * every sample, so the smallest sample of the last two minutes (the base delay: the path with empty
 * queues) is subtracted, and what remains is the queueing delay we add. The current delay is the smallest
 * of the last three samples, as libutp takes it, so that one late packet does not shrink the window.
 *
 * Everything is synchronous and takes the time as an argument.
 */
import { microsBefore } from "./UtpSequence.js"

/** LEDBAT's target: the queueing delay uTP aims to add, in microseconds. */
export const targetDelayMicros = 100_000
/** The most the window may grow in one round trip, at zero delay. */
export const maxGainPerRtt = 3000
export const minRtoMs = 500
export const initialRtoMs = 1000
export const maxRtoMs = 60_000
/** The base delay is the minimum over this window. */
export const baseDelayWindowMs = 120_000
/** The window is not grown while the sender has not filled it for this long (it is application-limited). */
const idleGrowthMs = 1000
const bucketMs = 10_000
const bucketCount = baseDelayWindowMs / bucketMs
const currentSamples = 3

/** One-way delay samples: the base delay over two minutes, in buckets of ten seconds, and the latest. */
export class DelayHistory {
  private readonly minima: Array<number | undefined> = new Array<number | undefined>(bucketCount).fill(undefined)
  private bucket = 0
  private bucketStartMs = Number.NEGATIVE_INFINITY
  private readonly recent: Array<number> = []

  add(sampleMicros: number, nowMs: number): void {
    if (nowMs - this.bucketStartMs >= bucketMs) {
      const passed = this.bucketStartMs === Number.NEGATIVE_INFINITY
        ? bucketCount
        : Math.min(bucketCount, Math.floor((nowMs - this.bucketStartMs) / bucketMs))
      for (let i = 0; i < passed; i++) {
        this.bucket = (this.bucket + 1) % bucketCount
        this.minima[this.bucket] = undefined
      }
      this.bucketStartMs = nowMs
    }
    const min = this.minima[this.bucket]
    if (min === undefined || microsBefore(sampleMicros, min)) this.minima[this.bucket] = sampleMicros
    this.recent.push(sampleMicros)
    if (this.recent.length > currentSamples) this.recent.shift()
  }

  /** The smallest sample of the window (undefined before the first). */
  base(): number | undefined {
    let base: number | undefined
    for (const m of this.minima) if (m !== undefined && (base === undefined || microsBefore(m, base))) base = m
    return base
  }

  /** The queueing delay now: the smallest recent sample above the base, in microseconds (0 before any). */
  current(): number {
    const base = this.base()
    if (base === undefined) return 0
    let best = Number.POSITIVE_INFINITY
    for (const s of this.recent) best = Math.min(best, (s - base) >>> 0)
    return best === Number.POSITIVE_INFINITY ? 0 : best
  }
}

export class Congestion {
  /** The congestion window, in bytes of payload in flight. */
  cwnd: number
  /**
   * Slow start, as libtorrent's uTP has it: from the first packet (and after a timeout) the window grows
   * by the bytes acknowledged, doubling each round trip, until a loss, a delay at the target, or the
   * threshold the last loss left. Without it, LEDBAT's 3000 bytes per round trip would take minutes to
   * open a fast path.
   */
  slowStart = true
  /** The window at which slow start ends (0: none known yet). */
  private threshold = 0
  rttMs = 0
  rttVarMs = 0
  rtoMs = initialRtoMs
  private hasRtt = false
  private lastCwndLimitedMs = Number.NEGATIVE_INFINITY
  readonly delays = new DelayHistory()

  constructor(
    /** One packet's payload: the window never goes below it. */
    private readonly packetBytes: number,
    private readonly maxCwnd: number
  ) {
    this.cwnd = 2 * packetBytes
  }

  /** A round-trip sample from a packet sent once (Karn's rule is the caller's). */
  rttSample(ms: number): void {
    if (!this.hasRtt) {
      this.rttMs = ms
      this.rttVarMs = ms / 2
      this.hasRtt = true
    } else {
      this.rttVarMs = 0.75 * this.rttVarMs + 0.25 * Math.abs(this.rttMs - ms)
      this.rttMs = 0.875 * this.rttMs + 0.125 * ms
    }
    this.rtoMs = Math.min(maxRtoMs, Math.max(minRtoMs, this.rttMs + 4 * this.rttVarMs))
  }

  /** The sender stopped because the window was full: it is not application-limited. */
  cwndLimited(nowMs: number): void {
    this.lastCwndLimitedMs = nowMs
  }

  /**
   * LEDBAT on `ackedBytes` newly acknowledged: gain = 3000 * (acked / cwnd) * (target - delay) / target,
   * so at most 3000 bytes per window acked (one round trip) and less as the delay nears the target;
   * negative above it. `minRttMicros` caps the delay: a one-way delay cannot exceed the round trip.
   */
  onAck(ackedBytes: number, nowMs: number, minRttMicros: number): void {
    if (ackedBytes <= 0) return
    const delay = Math.min(this.delays.current(), minRttMicros)
    if (delay >= targetDelayMicros && this.slowStart) this.leaveSlowStart(this.cwnd / 2)
    const offTarget = Math.min(targetDelayMicros - delay, targetDelayMicros)
    const windowFactor = Math.min(ackedBytes, this.cwnd) / Math.max(this.cwnd, ackedBytes)
    let gain = (maxGainPerRtt * windowFactor * offTarget) / targetDelayMicros
    if (this.slowStart) {
      if (this.threshold > 0 && this.cwnd + ackedBytes > this.threshold) this.slowStart = false
      else gain = Math.max(gain, ackedBytes)
    }
    if (gain > 0 && nowMs - this.lastCwndLimitedMs > idleGrowthMs) gain = 0
    this.cwnd = Math.min(this.maxCwnd, Math.max(this.packetBytes, this.cwnd + gain))
  }

  private leaveSlowStart(threshold: number): void {
    this.threshold = threshold
    this.slowStart = false
  }

  /** A packet lost (fast retransmit): half the window, never below one packet; slow start is over. */
  onLoss(): void {
    this.cwnd = Math.max(this.packetBytes, this.cwnd / 2)
    if (this.slowStart) this.leaveSlowStart(this.cwnd)
  }

  /** The retransmission timer fired: one packet in flight, the timeout doubled until an ACK, and slow
   *  start again, up to the threshold the last loss left. */
  onTimeout(): void {
    this.cwnd = this.packetBytes
    this.rtoMs = Math.min(maxRtoMs, this.rtoMs * 2)
    this.slowStart = true
  }

  /** The queueing delay LEDBAT sees now, in milliseconds. */
  delayMs(): number {
    return this.delays.current() / 1000
  }
}
