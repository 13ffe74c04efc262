/**
 * The connections of one UDP port (src/services/utp/UtpSockets.ts), two ports exchanging datagrams in
 * memory: dial and accept, a SYN sent again routed to its connection, stray packets answered with one
 * RESET that ends the peer's connection, refusals, and connections dropped once closed or reset.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { PacketType, decode, encodeToBytes } from "../../../src/protocol/UtpPacket.js"
import { UtpSockets } from "../../../src/services/utp/UtpSockets.js"

/** Moves datagrams between two ports (named "a" and "b") until none is left; returns what each received. */
const exchange = (ports: Record<"a" | "b", UtpSockets>, nowMs: number) => {
  const seen = { a: [] as Array<number>, b: [] as Array<number> }
  for (let round = 0; round < 1000; round++) {
    let moved = 0
    for (const from of ["a", "b"] as const) {
      const to = from === "a" ? "b" : "a"
      for (const d of ports[from].takeDatagrams()) {
        expect(d.remote).toBe(to)
        seen[to].push(d.bytes[0]! >> 4)
        ports[to].receive(from, d.bytes, nowMs)
        moved++
      }
    }
    if (moved === 0) return seen
  }
  throw new Error("the ports never went quiet")
}

const typeOf = (bytes: Uint8Array) => Either.getOrThrow(decode(bytes)).type

describe("UtpSockets", () => {
  it("dials and accepts, and carries bytes both ways", () => {
    const ports = { a: new UtpSockets(), b: new UtpSockets() }
    const dialled = ports.a.dial("b", 0)
    const syn = ports.a.takeDatagrams()
    const routed = ports.b.receive("a", syn[0]!.bytes, 1)
    expect(routed._tag).toBe("Accepted")
    if (routed._tag !== "Accepted") return
    // The SYN sent again reaches the same connection.
    expect(ports.b.receive("a", syn[0]!.bytes, 2)._tag).toBe("Delivered")
    expect(ports.b.size()).toBe(1)
    exchange(ports, 3)
    expect(dialled.state).toBe("Connected")
    dialled.write(new Uint8Array([1, 2, 3]), 4)
    routed.connection.write(new Uint8Array([4]), 4)
    exchange(ports, 5)
    expect([...Buffer.concat(routed.connection.read())]).toEqual([1, 2, 3])
    expect([...Buffer.concat(dialled.read())]).toEqual([4])
  })

  it("answers a packet for no connection with one RESET, which ends the peer's connection", () => {
    const ports = { a: new UtpSockets(), b: new UtpSockets() }
    const dialled = ports.a.dial("b", 0)
    exchange(ports, 1)
    // b forgets everything (a restart): a's next packet gets a RESET, and a's connection ends.
    ports.b = new UtpSockets()
    dialled.write(new Uint8Array(10), 2)
    const sent = ports.a.takeDatagrams()
    expect(ports.b.receive("a", sent[0]!.bytes, 3)).toEqual({ _tag: "Refused", reason: "NoConnection" })
    // The same packet again (a retransmission) is not answered twice.
    ports.b.receive("a", sent[0]!.bytes, 3)
    const resets = ports.b.takeDatagrams()
    expect(resets.map((d) => typeOf(d.bytes))).toEqual([PacketType.Reset])
    expect(ports.a.receive("b", resets[0]!.bytes, 4)._tag).toBe("Delivered")
    expect(dialled.state).toBe("Reset")
    expect(dialled.takeEvents()).toContainEqual({ _tag: "Reset" })
    // A RESET is never answered.
    expect(ports.b.receive("a", resets[0]!.bytes, 5)).toEqual({ _tag: "Refused", reason: "NoConnection" })
    expect(ports.b.takeDatagrams()).toEqual([])
    ports.a.tick(6)
    expect(ports.a.size()).toBe(0)
  })

  it("refuses SYNs when not accepting or full, with a RESET the dialler takes", () => {
    const ports = { a: new UtpSockets(), b: new UtpSockets({ maxConnections: 1 }) }
    const first = ports.a.dial("b", 0)
    exchange(ports, 1)
    expect(first.state).toBe("Connected")
    const second = ports.a.dial("b", 2)
    expect(second.recvId).not.toBe(first.recvId)
    exchange(ports, 3)
    expect(second.state).toBe("Reset")
    expect(ports.b.size()).toBe(1)
    const closed = { a: new UtpSockets(), b: new UtpSockets({ accepting: false }) }
    const refused = closed.a.dial("b", 0)
    const syn = closed.a.takeDatagrams()[0]!
    expect(closed.b.receive("a", syn.bytes, 1)).toEqual({ _tag: "Refused", reason: "NotAccepting" })
    closed.a.receive("b", closed.b.takeDatagrams()[0]!.bytes, 2)
    expect(refused.state).toBe("Reset")
  })

  it("refuses what is not a uTP packet, without an answer", () => {
    const port = new UtpSockets()
    expect(port.receive("x", new TextEncoder().encode("d1:ad2:id20:"), 0)).toEqual({ _tag: "Refused", reason: "Malformed" })
    expect(port.takeDatagrams()).toEqual([])
  })

  it("bounds the RESETs it remembers, so that a flood of strays is answered only so far", () => {
    const port = new UtpSockets()
    for (let i = 0; i < 5000; i++) {
      const stray = encodeToBytes({
        type: PacketType.Data, connectionId: i & 0xffff, timestampMicros: 0, timestampDifferenceMicros: 0,
        windowSize: 0, seqNr: i >> 16, ackNr: 0, selectiveAck: undefined, payload: new Uint8Array(0)
      })
      port.receive("flood", stray, 0)
    }
    expect(port.takeDatagrams().length).toBe(1000)
    port.tick(10_000)
    expect(port.receive("flood", encodeToBytes({
      type: PacketType.State, connectionId: 1, timestampMicros: 0, timestampDifferenceMicros: 0,
      windowSize: 0, seqNr: 0, ackNr: 0, selectiveAck: undefined, payload: new Uint8Array(0)
    }), 10_000)._tag).toBe("Refused")
    expect(port.takeDatagrams().length).toBe(1)
  })

  it("drops a connection once both sides closed and the linger passed", () => {
    const ports = { a: new UtpSockets({ lingerMs: 1000 }), b: new UtpSockets({ lingerMs: 1000 }) }
    const dialled = ports.a.dial("b", 0)
    exchange(ports, 1)
    const accepted = ports.b.connections()[0]!.connection
    dialled.end(2)
    exchange(ports, 2)
    accepted.takeEvents()
    accepted.end(3)
    exchange(ports, 3)
    expect([dialled.state, accepted.state]).toEqual(["Closed", "Closed"])
    ports.a.tick(4)
    ports.b.tick(4)
    expect([ports.a.size(), ports.b.size()]).toEqual([1, 1])
    ports.a.tick(1004)
    ports.b.tick(1004)
    expect([ports.a.size(), ports.b.size()]).toEqual([0, 0])
  })
})
