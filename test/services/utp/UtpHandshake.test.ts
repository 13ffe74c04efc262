/**
 * The connection's handshake and its hostile input, packet by packet without a link: the ids (the dialler
 * receives on its SYN's id and sends on id + 1; the acceptor the other way round), the sequence numbers
 * the SYN and its answer set up, a SYN sent again answered again, and packets from a hostile peer (random
 * fields, ACKs of packets never sent, selective ACKs of anything) that must neither throw nor break the
 * connection's accounting.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { PacketType, type UtpPacket, decode } from "../../../src/protocol/UtpPacket.js"
import { UtpConnection } from "../../../src/services/utp/UtpConnection.js"
import { utpPacket } from "../../support/utpArbitraries.js"

const packets = (c: UtpConnection): Array<UtpPacket> =>
  c.takePackets().map((d) => Either.getOrThrowWith(decode(d), (e) => new Error(e.detail)))

const connected = () => {
  const a = UtpConnection.connect(0, { random: () => 0.5 })
  const [syn] = packets(a)
  const b = UtpConnection.accept(syn!, 10, { random: () => 0.25 })
  const [state] = packets(b)
  a.receive(state!, 20)
  return { a, b, syn: syn!, state: state! }
}

describe("UtpConnection handshake", () => {
  it("sets up the ids and sequence numbers as BEP 29 does", () => {
    const { a, b, syn, state } = connected()
    expect(syn.type).toBe(PacketType.Syn)
    expect(syn.connectionId).toBe(a.recvId)
    expect(a.sendId).toBe(a.recvId + 1)
    expect(b.recvId).toBe(a.sendId)
    expect(b.sendId).toBe(a.recvId)
    expect(syn.seqNr).toBe(1)
    expect(state.type).toBe(PacketType.State)
    expect(state.connectionId).toBe(b.sendId)
    expect(state.ackNr).toBe(1)
    expect(a.state).toBe("Connected")
    expect(a.takeEvents()).toEqual([{ _tag: "Connected" }])
    expect(b.takeEvents()).toEqual([{ _tag: "Connected" }])
    // The first data packets: a's is 2, b's is the number its answer carried.
    a.write(new Uint8Array([1]), 30)
    b.write(new Uint8Array([2]), 30)
    const [fromA] = packets(a)
    const [fromB] = packets(b)
    expect([fromA!.seqNr, fromA!.ackNr]).toEqual([2, state.seqNr - 1])
    expect([fromB!.seqNr, fromB!.ackNr]).toEqual([state.seqNr, 1])
    b.receive(fromA!, 40)
    expect(b.read().map((c) => [...c])).toEqual([[1]])
  })

  it("waits for the answer to its SYN: data that overtook it is dropped, and sent again later", () => {
    const a = UtpConnection.connect(0, { random: () => 0.5 })
    const b = UtpConnection.accept(packets(a)[0]!, 10, { random: () => 0.25 })
    const [state] = packets(b)
    b.write(new Uint8Array([7]), 20)
    b.write(new Uint8Array([8]), 21)
    const [, second] = packets(b)
    a.receive(second!, 30)
    expect(a.state).toBe("SynSent")
    a.receive(state!, 31)
    expect(a.state).toBe("Connected")
    expect(a.read()).toEqual([])
  })

  it("answers a SYN sent again, and ignores packets for another connection", () => {
    const { a, b, syn } = connected()
    b.receive(syn, 1000)
    expect(packets(b).map((p) => [p.type, p.ackNr])).toEqual([[PacketType.State, 1]])
    a.receive({ ...syn, type: PacketType.Reset, connectionId: (a.recvId + 7) & 0xffff }, 1000)
    a.receive({ ...syn, type: PacketType.Data, connectionId: a.sendId }, 1000)
    expect(a.state).toBe("Connected")
    expect(a.read()).toEqual([])
    a.receive({ ...syn, type: PacketType.Reset, connectionId: a.recvId }, 1000)
    expect(a.state).toBe("Reset")
    expect(a.takeEvents()).toContainEqual({ _tag: "Reset" })
  })

  it("takes a RESET with its send id too, as libutp answers a packet it has no connection for", () => {
    const { b, syn } = connected()
    b.receive({ ...syn, type: PacketType.Reset, connectionId: b.sendId }, 1000)
    expect(b.state).toBe("Reset")
  })

  it("takes hostile packets without throwing or breaking its accounting", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(utpPacket, { minLength: 1, maxLength: 30 }), (hostile) => {
        const { a } = connected()
        a.write(new Uint8Array(50_000), 30)
        let now = 40
        for (const p of hostile) {
          now += 7
          a.receive({ ...p, type: p.type === PacketType.Reset ? PacketType.State : p.type, connectionId: a.recvId }, now)
          a.tick(now)
          a.takePackets()
          a.read()
          const s = a.stats()
          expect(s.inFlightBytes).toBeGreaterThanOrEqual(0)
          expect(s.inFlightBytes).toBeLessThanOrEqual(50_000)
          expect(s.cwnd).toBeGreaterThanOrEqual(1380)
          expect(Number.isFinite(s.cwnd)).toBe(true)
        }
      }),
      { numRuns: 200 }
    )
  })
})
