/**
 * `--bind` at the socket level (TcpNetwork.layerBound, UdpDatagram.layerBound) and listening on both
 * families without it: real sockets on loopback (127.0.0.2 is a second loopback address; ::1 where the
 * machine has IPv6).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as dgram from "node:dgram"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { DatagramNetwork } from "../../../src/services/wire/Datagram.js"
import { type Connection, PeerNetwork } from "../../../src/services/wire/PeerNetwork.js"
import * as TcpNetwork from "../../../src/services/wire/TcpNetwork.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"

const bounded = 20_000

/** Whether something accepts TCP connections at host:port. */
const accepts = (host: string, port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.createConnection({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

/** A plain node:net server on host: the address each connection came from. */
const observer = (host: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly port: number; readonly from: Array<string> }>((resume) => {
      const from: Array<string> = []
      const server = Net.createServer((socket) => {
        from.push(socket.remoteAddress ?? "?")
        socket.destroy()
      })
      server.listen(0, host, () => {
        const a = server.address()
        resume(Effect.succeed({ server, port: typeof a === "object" && a !== null ? a.port : 0, from }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

const hasIpv6 = await new Promise<boolean>((resolve) => {
  const server = Net.createServer()
  server.once("error", () => resolve(false))
  server.listen(0, "::1", () => server.close(() => resolve(true)))
})

describe("--bind over TCP", () => {
  it.live("bound to 127.0.0.2: listens there only and dials from there", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { port } = yield* network.listen({ port: 0 }, (c) => c.close)
      expect(yield* accepts("127.0.0.2", port)).toBe(true)
      expect(yield* accepts("127.0.0.1", port)).toBe(false)
      const seen = yield* observer("127.0.0.1")
      yield* network.connect(new PeerAddress({ host: "127.0.0.1", port: seen.port }))
      yield* Effect.sleep("50 millis")
      expect(seen.from).toEqual(["127.0.0.2"])
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layerBound({ ipv4: "127.0.0.2" }))), bounded)

  it.live("bound to IPv4 only: an IPv6 peer is not dialled by another route", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const error = yield* Effect.flip(network.connect(new PeerAddress({ host: "::1", port: 6881 })))
      expect({ reason: error.reason, detail: error.detail }).toEqual({ reason: "Connect", detail: "no address of its family bound (--bind)" })
      expect(error.address).toBe("[::1]:6881")
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layerBound({ ipv4: "127.0.0.2" }))), bounded)

  it.live("an address this machine does not have fails with Listen, in words", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const error = yield* Effect.flip(network.listen({ port: 0 }, (c) => c.close))
      expect({ reason: error.reason, detail: error.detail }).toEqual({ reason: "Listen", detail: "address not available on this machine" })
      expect(error.message).toBe("192.0.2.1:0: address not available on this machine")
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layerBound({ ipv4: "192.0.2.1" }))), bounded)

  it.live.skipIf(!hasIpv6)("bound to 127.0.0.2 and ::1: the same port on both, each family dialled from its own", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { port } = yield* network.listen({ port: 0 }, (c) => c.close)
      expect(yield* accepts("127.0.0.2", port)).toBe(true)
      expect(yield* accepts("::1", port)).toBe(true)
      expect(yield* accepts("127.0.0.1", port)).toBe(false)
      const v6 = yield* observer("::1")
      yield* network.connect(new PeerAddress({ host: "::1", port: v6.port }))
      const v4 = yield* observer("127.0.0.1")
      yield* network.connect(new PeerAddress({ host: "127.0.0.1", port: v4.port }))
      yield* Effect.sleep("50 millis")
      expect(v6.from).toEqual(["::1"])
      expect(v4.from).toEqual(["127.0.0.2"])
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layerBound({ ipv4: "127.0.0.2", ipv6: "::1" }))), bounded)

  it.live.skipIf(!hasIpv6)("unbound: one port hears IPv4 and IPv6 peers, each named as it is ([::1]:port)", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const accepted = yield* Deferred.make<Array<Connection>>()
      const got: Array<Connection> = []
      const { port } = yield* network.listen({ port: 0 }, (c) =>
        Effect.suspend(() => {
          got.push(c)
          return got.length === 2 ? Deferred.succeed(accepted, got) : Effect.never
        }))
      const a = yield* network.connect(new PeerAddress({ host: "127.0.0.1", port }))
      yield* Effect.sleep("50 millis")
      const b = yield* network.connect(new PeerAddress({ host: "::1", port }))
      expect(b.remote).toBe(`[::1]:${port}`)
      const both = yield* Deferred.await(accepted)
      expect(both.map((c) => c.address.host)).toEqual(["127.0.0.1", "::1"])
      expect(both[1]!.remote).toMatch(/^\[::1\]:\d+$/)
      yield* a.close
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)
})

describe("--bind over UDP", () => {
  it.live("a socket asked for without a host takes the bound address", () =>
    Effect.gen(function*() {
      const udp = yield* DatagramNetwork
      const from = yield* Deferred.make<string>()
      const receiver = yield* Effect.acquireRelease(
        Effect.async<dgram.Socket>((resume) => {
          const s = dgram.createSocket("udp4")
          s.on("message", (_m, info) => Deferred.unsafeDone(from, Effect.succeed(info.address)))
          s.bind(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const socket = yield* udp.bind({ port: 0 }, () => {})
      yield* socket.send({ host: "127.0.0.1", port: receiver.address().port }, new Uint8Array([1]))
      expect(yield* Deferred.await(from)).toBe("127.0.0.2")
    }).pipe(Effect.scoped, Effect.provide(UdpDatagram.layerBound({ ipv4: "127.0.0.2" }))), bounded)
})
