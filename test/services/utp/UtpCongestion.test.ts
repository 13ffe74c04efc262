/**
 * uTP's congestion control by itself (src/services/utp/UtpCongestion.ts): the RFC 6298 estimate and its
 * floor, the timeout's doubling, LEDBAT's gain (bounded by 3000 bytes per window acknowledged, zero at
 * the target, negative above it, none while the sender does not fill its window), the halving on loss and
 * the one-packet floor, and the base delay's two-minute window across the wrap of 32-bit timestamps.
 */
import { describe, expect, it } from "@effect/vitest"
import { Congestion, DelayHistory, maxGainPerRtt, targetDelayMicros } from "../../../src/services/utp/UtpCongestion.js"

const packet = 1380

/** A controller whose window is full (cwnd-limited) at time 0, with the given queueing delay samples. */
const loaded = (delayMicros: number, cwnd = 20 * packet): Congestion => {
  const c = new Congestion(packet, 1_000_000)
  c.slowStart = false
  c.cwnd = cwnd
  c.delays.add(4_000_000_000, 0) // the base: any offset between the clocks
  c.delays.add((4_000_000_000 + delayMicros) >>> 0, 1)
  c.delays.add((4_000_000_000 + delayMicros) >>> 0, 2)
  c.delays.add((4_000_000_000 + delayMicros) >>> 0, 3)
  c.cwndLimited(10)
  return c
}

/** Acknowledges one window's worth, a packet at a time (one round trip). */
const oneWindow = (c: Congestion): number => {
  const before = c.cwnd
  for (let acked = 0; acked < before; acked += packet) c.onAck(packet, 20, Number.POSITIVE_INFINITY)
  return c.cwnd - before
}

describe("UtpCongestion", () => {
  it("estimates the round trip as RFC 6298 does, with the timeout at 500 ms or more", () => {
    const c = new Congestion(packet, 1_000_000)
    expect(c.rtoMs).toBe(1000)
    c.rttSample(200)
    expect([c.rttMs, c.rttVarMs, c.rtoMs]).toEqual([200, 100, 600])
    c.rttSample(100)
    expect(c.rttMs).toBeCloseTo(187.5)
    expect(c.rttVarMs).toBeCloseTo(100)
    expect(c.rtoMs).toBeCloseTo(587.5)
    for (let i = 0; i < 50; i++) c.rttSample(20)
    expect(c.rtoMs).toBe(500)
  })

  it("doubles the timeout and drops the window to one packet on a timeout", () => {
    const c = loaded(0)
    c.rttSample(100)
    c.onTimeout()
    expect(c.rtoMs).toBe(1000)
    c.onTimeout()
    expect(c.rtoMs).toBe(2000)
    expect(c.cwnd).toBe(packet)
  })

  it("halves the window on loss, never below one packet", () => {
    const c = loaded(0, 10 * packet)
    c.onLoss()
    expect(c.cwnd).toBe(5 * packet)
    for (let i = 0; i < 10; i++) c.onLoss()
    expect(c.cwnd).toBe(packet)
  })

  it("grows at most 3000 bytes per window at no delay, not at the target, and shrinks above it", () => {
    const none = oneWindow(loaded(0))
    expect(none).toBeGreaterThan(0.9 * maxGainPerRtt)
    expect(none).toBeLessThanOrEqual(maxGainPerRtt)
    const half = oneWindow(loaded(targetDelayMicros / 2))
    expect(half / (none / 2)).toBeGreaterThan(0.95)
    expect(half / (none / 2)).toBeLessThan(1.05)
    expect(Math.abs(oneWindow(loaded(targetDelayMicros)))).toBeLessThan(1)
    expect(oneWindow(loaded(2 * targetDelayMicros))).toBeLessThan(-0.9 * maxGainPerRtt)
    // A sample far above the round trip is capped by it: a peer's bad clock cannot shrink us to nothing.
    const capped = loaded(30 * targetDelayMicros)
    capped.onAck(packet, 20, 50_000)
    expect(capped.cwnd).toBeGreaterThan(20 * packet)
  })

  it("does not grow the window of a sender that has not filled it for a second", () => {
    const c = loaded(0)
    const before = c.cwnd
    c.onAck(packet, 2000, Number.POSITIVE_INFINITY)
    expect(c.cwnd).toBe(before)
  })

  it("keeps the base delay as the minimum of the last two minutes, across the 32-bit wrap", () => {
    const h = new DelayHistory()
    h.add(4_294_967_000, 0) // just before the wrap
    h.add(500, 1_000) // after it: 796 µs more
    expect(h.base()).toBe(4_294_967_000)
    expect(h.current()).toBe(0)
    h.add(100_000 - 296, 60_000)
    h.add(100_000 - 296, 60_001)
    h.add(100_000 - 296, 60_002)
    expect(h.current()).toBe(100_000)
    // Two minutes later the old minimum is forgotten: the base is what the last two minutes saw.
    h.add(50_000, 125_000)
    expect(h.base()).toBe(50_000)
    h.add(60_000, 250_000)
    h.add(60_000, 250_001)
    h.add(60_000, 250_002)
    expect(h.base()).toBe(60_000)
    expect(h.current()).toBe(0)
  })
})
