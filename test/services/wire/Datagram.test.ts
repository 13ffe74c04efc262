/**
 * The datagram port on both layers: real UDP on 127.0.0.1 (node:dgram) and the in-memory network the DHT
 * tests run on. Both must deliver a datagram with the sender's endpoint, refuse a port in use with a
 * Listen error that says so, and swallow sends that cannot go anywhere; the memory layer must delay by
 * its latency on Effect's Clock and lose what its seeded loss says, the same way every run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Exit from "effect/Exit"
import * as Datagram from "../../../src/services/wire/Datagram.js"
import * as MemoryDatagram from "../../../src/services/wire/MemoryDatagram.js"
import { realTurn } from "../../support/clock.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"

const text = (s: string) => new TextEncoder().encode(s)
const read = (b: Uint8Array) => new TextDecoder().decode(b)

/** A socket whose received datagrams go to a queue. */
const receiver = (network: Datagram.DatagramNetworkService, options: { readonly port: number; readonly host?: string }) =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<{ readonly text: string; readonly from: Datagram.Endpoint }>()
    const socket = yield* network.bind(options, (bytes, from) => {
      // The datagram's memory belongs to the transport once the handler returns: copy.
      Queue.unsafeOffer(inbox, { text: read(Uint8Array.from(bytes)), from })
    })
    return { socket, inbox }
  })

describe("Datagram over UDP", () => {
  it.live("delivers datagrams both ways with the sender's endpoint", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const network = yield* Datagram.DatagramNetwork
        const a = yield* receiver(network, { port: 0, host: "127.0.0.1" })
        const b = yield* receiver(network, { port: 0, host: "127.0.0.1" })
        expect(a.socket.port).toBeGreaterThan(0)
        yield* a.socket.send({ host: "127.0.0.1", port: b.socket.port }, text("ping"))
        const got = yield* Queue.take(b.inbox)
        expect(got).toEqual({ text: "ping", from: { host: "127.0.0.1", port: a.socket.port } })
        yield* b.socket.send(got.from, text("pong"))
        expect(yield* Queue.take(a.inbox)).toEqual({ text: "pong", from: { host: "127.0.0.1", port: b.socket.port } })
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))

  it.live("a dual-stack socket (::) talks with IPv4 hosts under their plain addresses", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const network = yield* Datagram.DatagramNetwork
        const dual = yield* receiver(network, { port: 0, host: "::" })
        const v4 = yield* receiver(network, { port: 0, host: "127.0.0.1" })
        yield* dual.socket.send({ host: "127.0.0.1", port: v4.socket.port }, text("ping"))
        const got = yield* Queue.take(v4.inbox)
        expect(got).toEqual({ text: "ping", from: { host: "127.0.0.1", port: dual.socket.port } })
        yield* v4.socket.send(got.from, text("pong"))
        // Seen as 127.0.0.1, not ::ffff:127.0.0.1, so that one host has one key.
        expect(yield* Queue.take(dual.inbox)).toEqual({ text: "pong", from: { host: "127.0.0.1", port: v4.socket.port } })
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))

  it.live("refuses a port in use with a Listen error naming it", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const network = yield* Datagram.DatagramNetwork
        const a = yield* receiver(network, { port: 0, host: "127.0.0.1" })
        const error = yield* Effect.flip(network.bind({ port: a.socket.port, host: "127.0.0.1" }, () => {}))
        expect([error.reason, error.detail]).toEqual(["Listen", `UDP port ${a.socket.port} is already in use`])
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))

  it.live("swallows sends to nowhere and sends after close, and keeps receiving after a handler throws", () =>
    Effect.gen(function*() {
      const network = yield* Datagram.DatagramNetwork
      const scope = yield* Scope.make()
      let calls = 0
      const thrower = yield* network.bind({ port: 0, host: "127.0.0.1" }, () => {
        calls++
        throw new Error("handler bug")
      }).pipe(Scope.extend(scope))
      const b = yield* receiver(network, { port: 0, host: "127.0.0.1" }).pipe(Scope.extend(scope))
      yield* b.socket.send({ host: "127.0.0.1", port: thrower.port }, text("one"))
      yield* b.socket.send({ host: "127.0.0.1", port: thrower.port }, text("two"))
      // A port nobody listens on, and a port out of range: no failure.
      yield* b.socket.send({ host: "127.0.0.1", port: 9 }, text("lost"))
      yield* b.socket.send({ host: "127.0.0.1", port: 70000 }, text("lost"))
      while (calls < 2) yield* Effect.sleep("5 millis")
      expect(calls).toBe(2)
      yield* Scope.close(scope, Exit.void)
      const after = yield* Effect.exit(b.socket.send({ host: "127.0.0.1", port: thrower.port }, text("late")))
      expect(Exit.isSuccess(after)).toBe(true)
    }).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))
})

describe("Datagram: one port for two users (SharedDatagram)", () => {
  it.live("uTP's datagrams go to the user that accepts them, the rest to the other; freed when both leave", () =>
    Effect.gen(function*() {
      const network = yield* Datagram.DatagramNetwork
      const scope = yield* Scope.make()
      const dht = yield* receiver(network, { port: 0, host: "127.0.0.1" }).pipe(Scope.extend(scope))
      const port = dht.socket.port
      const utp = yield* Queue.unbounded<string>()
      const shared = yield* network.bind({ port, host: "127.0.0.1", accepts: (b) => b[0] === 0x41 }, (b) => {
        Queue.unsafeOffer(utp, read(Uint8Array.from(b)))
      }).pipe(Scope.extend(scope))
      expect(shared.port).toBe(port)
      // A third user that wants every datagram is refused, as before: the port is in use.
      const error = yield* Effect.flip(network.bind({ port, host: "127.0.0.1" }, () => {}))
      expect(error.detail).toBe(`UDP port ${port} is already in use`)
      const sender = yield* receiver(network, { port: 0, host: "127.0.0.1" })
      yield* sender.socket.send({ host: "127.0.0.1", port }, text("AuTP-ish"))
      yield* sender.socket.send({ host: "127.0.0.1", port }, text("d1:y1:qe"))
      expect(yield* Queue.take(utp)).toBe("AuTP-ish")
      expect((yield* Queue.take(dht.inbox)).text).toBe("d1:y1:qe")
      yield* Scope.close(scope, Exit.void)
      // Both gone: the port is free for anyone.
      const again = yield* network.bind({ port, host: "127.0.0.1" }, () => {})
      expect(again.port).toBe(port)
    }).pipe(Effect.scoped, Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))

  it.live("the IPv4 wildcard shares a dual-stack socket and hears IPv4 senders only", () =>
    Effect.gen(function*() {
      const network = yield* Datagram.DatagramNetwork
      const utp = yield* network.bind({ port: 0, host: "::", accepts: (b) => b[0] === 0x41 }, () => {})
      const dht = yield* receiver(network, { port: utp.port, host: "0.0.0.0" })
      expect(dht.socket.port).toBe(utp.port)
      const v4 = yield* receiver(network, { port: 0, host: "127.0.0.1" })
      yield* v4.socket.send({ host: "127.0.0.1", port: utp.port }, text("d4:from4e"))
      expect(yield* Queue.take(dht.inbox)).toEqual({ text: "d4:from4e", from: { host: "127.0.0.1", port: v4.socket.port } })
    }).pipe(Effect.scoped, Effect.provide(UdpDatagram.layer), Effect.timeout("5 seconds")))
})

describe("Datagram in memory", () => {
  it.scoped("delivers after the latency on the test clock, to the bound host and port only", () =>
    Effect.gen(function*() {
      const network = yield* MemoryDatagram.make({ latencyMs: 50 })
      const a = yield* receiver(network, { port: 6881, host: "10.0.0.1" })
      const b = yield* receiver(network, { port: 0, host: "10.0.0.2" })
      expect(b.socket.port).toBe(49152)
      const bytes = text("hello")
      yield* a.socket.send({ host: "10.0.0.2", port: b.socket.port }, bytes)
      // The sender may reuse its buffer at once.
      bytes.fill(0)
      yield* a.socket.send({ host: "10.0.0.3", port: 6881 }, text("nobody there"))
      const taking = yield* Effect.fork(Queue.take(b.inbox))
      yield* TestClock.adjust("49 millis")
      for (let i = 0; i < 3; i++) yield* realTurn
      expect(yield* Fiber.poll(taking)).toEqual(expect.objectContaining({ _tag: "None" }))
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(taking)).toEqual({ text: "hello", from: { host: "10.0.0.1", port: 6881 } })
      for (let i = 0; i < 3; i++) yield* realTurn
      expect(network.counts()).toEqual({ sent: 2, delivered: 1, lost: 0, unbound: 1 })
      const error = yield* Effect.flip(network.bind({ port: 6881, host: "10.0.0.1" }, () => {}))
      expect([error.reason, error.detail]).toEqual(["Listen", "UDP port 6881 is already in use"])
    }))

  it.scoped("loses the same datagrams for the same seed, about the given fraction", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.scoped(
          Effect.gen(function*() {
            const network = yield* MemoryDatagram.make({ loss: 0.3, seed })
            const a = yield* receiver(network, { port: 1, host: "10.0.0.1" })
            const b = yield* receiver(network, { port: 1, host: "10.0.0.2" })
            for (let i = 0; i < 1000; i++) yield* a.socket.send({ host: "10.0.0.2", port: 1 }, text(String(i)))
            while (network.counts().delivered + network.counts().lost < 1000) yield* realTurn
            return (yield* Queue.takeAll(b.inbox)).pipe((all) => [...all].map((d) => d.text))
          })
        )
      const first = yield* run(7)
      expect(yield* run(7)).toEqual(first)
      expect(yield* run(8)).not.toEqual(first)
      expect(first.length).toBeGreaterThan(620)
      expect(first.length).toBeLessThan(780)
      // In sending order.
      expect(first.map(Number)).toEqual([...first.map(Number)].sort((x, y) => x - y))
    }))
})
