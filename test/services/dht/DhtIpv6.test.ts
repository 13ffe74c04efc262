/**
 * The DHT bound to an IPv6 address (`--bind ::1`, BEP 32): DhtSettings puts the node's socket on the bound
 * address, where it is a node of the IPv6 DHT: it keeps IPv6 nodes only, learns them from `nodes6`, and
 * finds peers announced over IPv6. Real UDP on ::1 (skipped where the machine has no IPv6).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as dgram from "node:dgram"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as DhtNode from "../../../src/services/dht/DhtNode.js"
import { dhtOptions } from "../../../src/services/dht/DhtSettings.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"

const idOf = (byte: number) => new Uint8Array(20).fill(byte)
const infoHash = idOf(0x81)

const hasIpv6 = await new Promise<boolean>((resolve) => {
  const socket = dgram.createSocket("udp6")
  socket.once("error", () => resolve(false))
  socket.bind(0, "::1", () => socket.close(() => resolve(true)))
})

/** A node as a command makes it with --bind: its options from DhtSettings. */
const options = (bind: { ipv4?: string; ipv6?: string }, bootstrap: string) => {
  const parsed = dhtOptions({ enabled: true, port: 0, bootstrap, bind }, 0, "/nonexistent", {})
  if (Either.isLeft(parsed) || parsed.right === undefined) throw new Error("no DHT options")
  const { stateFile: _unused, ...rest } = parsed.right
  return rest
}

describe("DHT bound to IPv6", () => {
  it("takes the bound IPv4 address when there is one, else the IPv6 one", () => {
    expect(options({ ipv6: "::1" }, "").host).toBe("::1")
    expect(options({ ipv4: "127.0.0.2", ipv6: "::1" }, "").host).toBe("127.0.0.2")
    expect(options({}, "").host).toBeUndefined()
  })

  it.live.skipIf(!hasIpv6)("three nodes on ::1 find each other through nodes6 and a peer one of them announced", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const start = (bootstrap: string, id: Uint8Array) =>
          Effect.tap(DhtNode.make({ ...options({ ipv6: "::1" }, bootstrap), nodeId: id }), (n) => n.bootstrapped)
        const a = yield* start("", idOf(0x10))
        const b = yield* start(`[::1]:${a.port}`, idOf(0x20))
        const c = yield* start(`[::1]:${b.port}`, idOf(0x30))
        // c learnt a from b's answer, which for an IPv6 requester holds nodes6 only.
        expect(c.table.entries().map((e) => [e.host, e.port]).sort()).toEqual([["::1", a.port], ["::1", b.port]].sort())
        const announced = yield* c.lookup(infoHash, { announcePort: 51413, onPeers: () => Effect.void })
        expect(announced.announcedTo).toBe(2)
        const found: Array<PeerAddress> = []
        yield* a.lookup(infoHash, { onPeers: (peers) => Effect.sync(() => void found.push(...peers)) })
        expect(found).toEqual([new PeerAddress({ host: "::1", port: 51413 })])
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("10 seconds")), 20_000)
})
