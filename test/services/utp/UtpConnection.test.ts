/**
 * One uTP connection end to end over the simulated links of test/support/utpLink.ts: a transfer of a few
 * MB with loss both ways arrives exactly and closes on both sides; reordering; sequence numbers that wrap;
 * fast retransmit before the timer; a dial to nobody times out; a RESET ends the peer's side; the receive
 * window holds a reader that does not read; the round-trip estimate.
 */
import { describe, expect, it } from "@effect/vitest"
import { Link, Simulation, seeded, utpPair } from "../../support/utpLink.js"

const MB = 1024 * 1024
const bulk = (bytes: number, seed = 1) => {
  const random = seeded(seed)
  return new Uint8Array(bytes).map(() => Math.floor(random() * 256))
}
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

describe("UtpConnection over a simulated path", () => {
  it("a 4 MB transfer with 2% loss both ways arrives exactly, and both sides close", () => {
    const sim = new Simulation()
    const forward = new Link(sim, { delayMs: 30, bytesPerSecond: 2 * MB, queueBytes: 200_000, loss: 0.02, random: seeded(2) })
    const backward = new Link(sim, { delayMs: 30, loss: 0.02, random: seeded(3) })
    const { a, b } = utpPair(sim, forward, backward, { b: { clockOffsetMs: -5_000_000 } })
    const data = bulk(4 * MB)
    a.dial()
    a.sendAll(data)
    sim.run(120_000, () => a.conn?.state === "Closed" && b.conn?.state === "Closed")
    expect(same(b.received(), data)).toBe(true)
    expect(b.tags()).toEqual(["Connected", "Eof", "Closed"])
    expect(a.tags()).toEqual(["Connected", "Eof", "Closed"])
    expect(forward.dropped).toBeGreaterThan(50)
    const stats = a.conn!.stats()
    console.log(`4 MB with 2% loss: ${(sim.now / 1000).toFixed(1)} s, ${stats.retransmits} retransmits (${stats.timeouts} timeouts), ${forward.dropped} dropped`)
    expect(stats.retransmits).toBeGreaterThanOrEqual(forward.dropped)
    // Losses are found by duplicate and selective ACKs, nearly never by the timer.
    expect(stats.timeouts).toBeLessThanOrEqual(3)
  })

  it("both ways at once, across the 16-bit wrap of sequence numbers, with reordering", () => {
    const sim = new Simulation()
    const forward = new Link(sim, { delayMs: 20, jitterMs: 15, random: seeded(4) })
    const backward = new Link(sim, { delayMs: 20, jitterMs: 15, random: seeded(5) })
    // The accepting side's first sequence number is 65,534: its data wraps at once.
    const { a, b } = utpPair(sim, forward, backward, { b: { random: () => 0.99999 } })
    const up = bulk(MB, 6)
    const down = bulk(2 * MB, 7)
    a.dial()
    a.sendAll(up)
    sim.run(200, () => b.conn !== undefined)
    b.sendAll(down)
    sim.run(120_000, () => a.conn?.state === "Closed" && b.conn?.state === "Closed")
    expect(same(b.received(), up)).toBe(true)
    expect(same(a.received(), down)).toBe(true)
    expect(forward.reordered + backward.reordered).toBeGreaterThan(100)
    expect(a.tags()).toContain("Closed")
  })

  it("a packet lost is sent again on three duplicate ACKs, before the retransmission timer", () => {
    const sim = new Simulation()
    const forward = new Link(sim, { delayMs: 50 })
    const backward = new Link(sim, { delayMs: 50 })
    const { a, b } = utpPair(sim, forward, backward)
    forward.dropIndices.add(20)
    const data = bulk(200_000, 8)
    a.dial()
    a.sendAll(data)
    sim.run(60_000, () => a.conn?.state === "Closed" && b.conn?.state === "Closed")
    expect(same(b.received(), data)).toBe(true)
    expect(a.conn!.stats().retransmits).toBe(1)
    expect(a.conn!.stats().timeouts).toBe(0)
  })

  it("a lost packet with nothing after it waits for the timer (at least 500 ms), then goes again", () => {
    const sim = new Simulation()
    const forward = new Link(sim, { delayMs: 10 })
    const backward = new Link(sim, { delayMs: 10 })
    const { a, b } = utpPair(sim, forward, backward)
    a.dial()
    sim.run(1_000)
    forward.dropIndices.add(1)
    a.conn!.write(new Uint8Array(100).fill(9), sim.now)
    a.pump()
    const sentAt = sim.now
    sim.run(sentAt + 5_000, () => b.receivedBytes === 100)
    expect(b.receivedBytes).toBe(100)
    expect(sim.now - sentAt).toBeGreaterThanOrEqual(500)
    expect(sim.now - sentAt).toBeLessThan(700)
    expect(a.conn!.stats().timeouts).toBe(1)
  })

  it("estimates the round trip and keeps the timeout at 500 ms or more", () => {
    const sim = new Simulation()
    const { a } = utpPair(sim, new Link(sim, { delayMs: 40 }), new Link(sim, { delayMs: 40 }))
    a.dial()
    a.sendAll(bulk(100_000, 9))
    sim.run(10_000)
    const stats = a.conn!.stats()
    expect(stats.rttMs).toBeGreaterThan(75)
    expect(stats.rttMs).toBeLessThan(90)
    expect(stats.rtoMs).toBe(500)
  })

  it("a dial to nobody times out after the SYN is sent six times, the timeout doubling", () => {
    const sim = new Simulation()
    const forward = new Link(sim, { delayMs: 10 })
    forward.blackHole = true
    const { a } = utpPair(sim, forward, new Link(sim, { delayMs: 10 }))
    a.dial()
    sim.run(300_000, () => a.tags().includes("TimedOut"))
    expect(a.tags()).toEqual(["TimedOut"])
    expect(a.packetsSent).toBe(6)
    // 1 + 2 + 4 + 8 + 16 + 32 s, within a tick.
    expect(sim.now).toBeGreaterThanOrEqual(63_000)
    expect(sim.now).toBeLessThan(63_100)
    expect(a.conn!.state).toBe("Closed")
  })

  it("an idle connection sends a keep-alive every 29 s each way, and stays up", () => {
    const sim = new Simulation()
    const { a, b } = utpPair(sim, new Link(sim, { delayMs: 10 }), new Link(sim, { delayMs: 10 }))
    a.dial()
    a.sendAll(bulk(1000, 3), false)
    sim.run(1_000)
    expect(b.receivedBytes).toBe(1000)
    const [sentA, sentB] = [a.packetsSent, b.packetsSent]
    sim.run(101_000)
    // 100 s of silence: three keep-alives each (at 29, 58 and 87 s after the last packet), nothing else.
    expect([a.packetsSent - sentA, b.packetsSent - sentB]).toEqual([3, 3])
    expect([a.conn!.state, b.conn!.state]).toEqual(["Connected", "Connected"])
    expect(a.conn!.stats().timeouts + b.conn!.stats().timeouts).toBe(0)
  })

  it("a RESET from the peer ends the connection: the event, and nothing more sent", () => {
    const sim = new Simulation()
    const { a, b } = utpPair(sim, new Link(sim, { delayMs: 10 }), new Link(sim, { delayMs: 10 }))
    a.dial()
    // More than slow start moves in half a second over this path: the transfer is still going.
    a.sendAll(bulk(32 * MB, 10))
    sim.run(500)
    expect(b.receivedBytes).toBeGreaterThan(0)
    expect(b.receivedBytes).toBeLessThan(32 * MB)
    b.conn!.abort(sim.now)
    b.pump()
    sim.run(1_000)
    expect(a.tags()).toEqual(["Connected", "Reset"])
    expect(a.conn!.state).toBe("Reset")
    const sent = a.packetsSent
    sim.run(10_000)
    expect(a.packetsSent).toBe(sent)
    expect(a.conn!.write(new Uint8Array(10), sim.now)).toBe(0)
  })

  it("a reader that does not read holds the sender to the receive buffer's bytes", () => {
    const sim = new Simulation()
    const { a, b } = utpPair(sim, new Link(sim, { delayMs: 10 }), new Link(sim, { delayMs: 10 }), {
      b: { receiveBufferBytes: 64 * 1024 }
    })
    b.reading = false
    const data = bulk(MB, 11)
    a.dial()
    a.sendAll(data)
    // Three minutes without reading: the sender probes the closed window, and does not give up.
    sim.run(180_000)
    expect(b.receivedBytes).toBe(0)
    expect(a.tags()).toEqual(["Connected"])
    const held = b.conn!.read()
    const heldBytes = held.reduce((n, c) => n + c.length, 0)
    expect(heldBytes).toBeGreaterThan(60 * 1024)
    expect(heldBytes).toBeLessThanOrEqual(64 * 1024)
    b.chunks.push(...held.map((c) => c.slice()))
    b.reading = true
    const resumed = sim.now
    sim.run(resumed + 60_000, () => b.tags().includes("Closed"))
    expect(same(b.received(), data)).toBe(true)
    // The window's reopening is sent with the next tick: no wait for the sender's backed-off timer.
    expect(b.events.find((e) => e.event._tag === "Eof")!.at - resumed).toBeLessThan(5_000)
  })
})
