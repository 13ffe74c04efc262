/**
 * LEDBAT's point, on a simulated path (test/support/utpLink.ts): alone, a uTP bulk transfer fills the
 * bottleneck while the queue it builds stays near the 100 ms target; sharing the bottleneck with a
 * TCP-like loss-based flow that fills the queue, uTP backs off and leaves it nearly all the rate, and takes
 * the link back once that flow ends. The payload's ceiling is 1380 / 1428 bytes on the wire of each packet
 * (uTP and UDP/IP headers): 96.6% of the bottleneck.
 *
 * The path: 1 MB/s (8 Mbit/s) bottleneck with a 300 KB drop-tail queue (300 ms when full), 25 ms each
 * way. Figures are measured after the start-up (from 20 s of simulated time).
 */
import { describe, expect, it } from "@effect/vitest"
import { AimdFlow, Link, Simulation, seeded, utpPair } from "../../support/utpLink.js"

const rate = 1_000_000
const path = (sim: Simulation) => ({
  forward: new Link(sim, { delayMs: 25, bytesPerSecond: rate, queueBytes: 300_000, random: seeded(7) }),
  backward: new Link(sim, { delayMs: 25, random: seeded(8) })
})

const bulk = (bytes: number) => new Uint8Array(bytes).map((_, i) => (i * 131 + (i >> 10)) & 0xff)

describe("LEDBAT over a bottleneck", () => {
  it("alone: uTP fills the link, and the queueing delay it adds stays near the 100 ms target", () => {
    const sim = new Simulation()
    const { forward, backward } = path(sim)
    const { a, b } = utpPair(sim, forward, backward, { a: { clockOffsetMs: 123_456 } })
    a.dial()
    a.sendAll(bulk(80 * rate), false)
    sim.run(60_000)
    const throughput = b.bytesBetween(20_000, 60_000) / 40
    const delay = forward.meanDelay("utp:a", 20_000, 60_000)
    console.log(`alone: ${(throughput / rate * 100).toFixed(1)}% of the bottleneck, queueing delay ${delay.toFixed(1)} ms, cwnd ${a.conn!.stats().cwnd.toFixed(0)}, drops ${forward.dropped}`)
    expect(throughput).toBeGreaterThan(0.9 * rate)
    expect(delay).toBeGreaterThan(70)
    expect(delay).toBeLessThan(130)
  })

  it("beside a TCP-like flow that fills the queue, uTP backs off", () => {
    const sim = new Simulation()
    const { forward, backward } = path(sim)
    const { a, b } = utpPair(sim, forward, backward)
    a.dial()
    a.sendAll(bulk(80 * rate), false)
    const tcp = new AimdFlow(sim, forward, backward)
    sim.run(10_000)
    const aloneBefore = b.bytesBetween(5_000, 10_000) / 5
    tcp.start()
    sim.run(60_000)
    const utp = b.bytesBetween(20_000, 60_000)
    const other = tcp.bytesBetween(20_000, 60_000)
    const share = utp / (utp + other)
    const delay = forward.meanDelay("tcp", 20_000, 60_000)
    console.log(`shared: uTP ${(utp / 40 / 1000).toFixed(1)} kB/s (alone before: ${(aloneBefore / 1000).toFixed(1)}), TCP-like ${(other / 40 / 1000).toFixed(1)} kB/s, uTP share ${(share * 100).toFixed(1)}%, queueing delay ${delay.toFixed(0)} ms`)
    expect(share).toBeLessThan(0.15)
    expect((utp + other) / 40).toBeGreaterThan(0.85 * rate)
    // The TCP-like flow ends: uTP takes the link back.
    tcp.stop()
    sim.run(100_000)
    const after = b.bytesBetween(80_000, 100_000) / 20
    console.log(`after the TCP-like flow stops: uTP ${(after / 1000).toFixed(1)} kB/s`)
    expect(after).toBeGreaterThan(0.9 * rate)
  })
})
