import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as TestClock from "effect/TestClock"
import { createHash, randomBytes } from "node:crypto"
import type { NetworkError } from "../../../src/domain/Errors.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as MemoryNetwork from "../../../src/services/wire/MemoryNetwork.js"
import { type Connection, PeerNetwork, type PeerNetworkService } from "../../../src/services/wire/PeerNetwork.js"
import * as TcpNetwork from "../../../src/services/wire/TcpNetwork.js"

const MiB = 1024 * 1024
const bounded = 5_000

/** Views of `bytes` in uneven sizes, from 1 byte to 64 KiB. */
const split = (bytes: Uint8Array): Array<Uint8Array> => {
  const sizes = [1, 7, 1000, 16384, 65536, 3, 40000, 16397]
  const chunks: Array<Uint8Array> = []
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const end = Math.min(bytes.length, offset + sizes[i % sizes.length]!)
    chunks.push(bytes.subarray(offset, end))
    offset = end
  }
  return chunks
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Writes the chunks eight per `write`. */
const writeAll = (connection: Connection, chunks: ReadonlyArray<Uint8Array>) =>
  Effect.forEach(
    Array.from({ length: Math.ceil(chunks.length / 8) }, (_, i) => chunks.slice(i * 8, i * 8 + 8)),
    (batch) => connection.write(batch),
    { discard: true }
  )

/** Reads to the end of the stream. */
const readAll = (connection: Connection) =>
  Effect.suspend(() => {
    const hash = createHash("sha256")
    let bytes = 0
    return connection.run((chunk) => {
      hash.update(chunk)
      bytes += chunk.byteLength
    }).pipe(Effect.map(() => ({ digest: hash.digest("hex"), bytes })))
  })

const text = (chunks: ReadonlyArray<Uint8Array>): string => Buffer.concat(chunks).toString("latin1")
const bytesOf = (s: string): Uint8Array => Buffer.from(s, "latin1")

/**
 * 4 MiB each way at once: the client writes `up` while it reads `down` from the listener, closes once it
 * has all of it, and the listener's `run` then ends with everything the client sent.
 */
const exchange = (client: PeerNetworkService, server: PeerNetworkService, host: string | undefined, target: string) =>
  Effect.gen(function*() {
    const up = randomBytes(4 * MiB)
    const down = randomBytes(4 * MiB)
    const downChunks = split(down)
    const atServer = yield* Deferred.make<{ digest: string; bytes: number; remote: PeerAddress }>()
    const { port } = yield* server.listen(host === undefined ? { port: 0 } : { port: 0, host }, (connection) =>
      Effect.gen(function*() {
        const writer = yield* Effect.fork(writeAll(connection, downChunks))
        const got = yield* readAll(connection)
        yield* Fiber.join(writer)
        yield* Deferred.succeed(atServer, { ...got, remote: connection.address })
      }).pipe(Effect.orDie))
    const connection = yield* client.connect(new PeerAddress({ host: target, port }))
    // Chunks are kept (the memory test checks they are the very objects written) and hashed as they come,
    // since a TCP chunk is valid only during the call.
    const received: Array<Uint8Array> = []
    const hash = createHash("sha256")
    let count = 0
    const all = yield* Deferred.make<void>()
    const reader = yield* Effect.fork(connection.run((chunk) => {
      received.push(chunk)
      hash.update(chunk)
      count += chunk.byteLength
      if (count === down.length) Deferred.unsafeDone(all, Exit.void)
    }))
    yield* writeAll(connection, split(up))
    yield* Deferred.await(all)
    yield* connection.close
    const server_ = yield* Deferred.await(atServer)
    expect(yield* Fiber.join(reader)).toBeUndefined()
    expect(server_.bytes).toBe(up.length)
    expect(server_.digest).toBe(sha256(up))
    expect(hash.digest("hex")).toBe(sha256(down))
    return { port, connection, received, downChunks, remote: server_.remote }
  })

const reasonOf = (error: NetworkError) => ({ reason: error.reason, detail: error.detail })

describe("PeerNetwork over TCP", () => {
  const loopback = "127.0.0.1"

  it.live("carries 4 MiB each way, in order, and names both ends", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { connection, port, received, remote } = yield* exchange(network, network, loopback, loopback)
      expect(connection.address).toEqual(new PeerAddress({ host: loopback, port }))
      expect(connection.remote).toBe(`127.0.0.1:${port}`)
      expect(remote.host).toBe(loopback)
      expect(remote.port).not.toBe(port)
      expect(remote.port).toBeGreaterThan(0)
      expect(received.length).toBeGreaterThan(1)
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)

  it.live("a close ends the other side's run cleanly, both ways", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      // The listener ends its handler after one write, which closes the connection.
      const { port } = yield* network.listen({ port: 0, host: loopback }, (c) => Effect.orDie(c.write([bytesOf("hi")])))
      const client = yield* network.connect(new PeerAddress({ host: loopback, port }))
      const got: Array<Uint8Array> = []
      yield* client.run((chunk) => got.push(chunk))
      expect(text(got)).toBe("hi")

      const ended = yield* Deferred.make<Exit.Exit<string, NetworkError>>()
      const second = yield* network.listen({ port: 0, host: loopback }, (c) =>
        Effect.suspend(() => {
          const seen: Array<Uint8Array> = []
          return c.run((chunk) => seen.push(chunk)).pipe(
            Effect.map(() => text(seen)),
            Effect.exit,
            Effect.flatMap((exit) => Deferred.succeed(ended, exit))
          )
        }))
      const other = yield* network.connect(new PeerAddress({ host: loopback, port: second.port }))
      yield* other.write([bytesOf("bye"), bytesOf("!")])
      yield* other.close
      expect(yield* Deferred.await(ended)).toEqual(Exit.succeed("bye!"))
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)

  it.live("a closed port refuses with Connect", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { port } = yield* Effect.scoped(network.listen({ port: 0, host: loopback }, () => Effect.void))
      const error = yield* Effect.flip(network.connect(new PeerAddress({ host: loopback, port })))
      expect(reasonOf(error)).toEqual({ reason: "Connect", detail: "connection refused" })
      expect(error.address).toBe(`127.0.0.1:${port}`)
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)

  it.live("a port in use fails with Listen", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { port } = yield* network.listen({ port: 0, host: loopback }, () => Effect.void)
      const error = yield* Effect.flip(network.listen({ port, host: loopback }, () => Effect.void))
      expect(reasonOf(error)).toEqual({ reason: "Listen", detail: `port ${port} is already in use` })
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)

  it.live("writes after close fail with Closed; close is idempotent; run after close ends at once", () =>
    Effect.gen(function*() {
      const network = yield* PeerNetwork
      const { port } = yield* network.listen({ port: 0, host: loopback }, (c) => c.run(() => {}).pipe(Effect.ignore))
      const client = yield* network.connect(new PeerAddress({ host: loopback, port }))
      yield* client.write([bytesOf("ok")])
      yield* client.close
      yield* client.close
      const error = yield* Effect.flip(client.write([bytesOf("late")]))
      expect(reasonOf(error)).toEqual({ reason: "Closed", detail: "connection closed" })
      expect(yield* Effect.exit(client.run(() => {}))).toEqual(Exit.void)
    }).pipe(Effect.scoped, Effect.provide(TcpNetwork.layer)), bounded)
})

describe("PeerNetwork in memory", () => {
  const seeder = "10.0.0.1"
  const leecher = "10.0.0.2"

  it.scoped("carries 4 MiB each way, in order, copied as a kernel would, with no clock advance", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const server = yield* Effect.provide(PeerNetwork, MemoryNetwork.layerHost(network, { host: seeder }))
      const client = network.host(leecher)
      const { connection, downChunks, port, received, remote } = yield* exchange(client, server, undefined, seeder)
      expect(connection.remote).toBe(`10.0.0.1:${port}`)
      expect(remote.host).toBe(leecher)
      expect(remote.port).toBeGreaterThanOrEqual(49152)
      // Copied: the sender may reuse its buffers once a write completes; the bytes are what was written.
      expect(received.some((chunk, i) => chunk === downChunks[i])).toBe(false)
      expect(Buffer.compare(Buffer.concat(received), Buffer.concat(downChunks))).toBe(0)
      expect(yield* network.connections(seeder)).toBe(0)
      expect(yield* network.connections(leecher)).toBe(0)
    }), bounded)

  it.scoped("listen on a given port, close ends the other run after the data, writes after close fail", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const ended = yield* Deferred.make<string, NetworkError>()
      const accepted = yield* Deferred.make<Connection>()
      yield* network.host(seeder).listen({ port: 6881 }, (c) =>
        Effect.suspend(() => {
          const seen: Array<Uint8Array> = []
          return Deferred.succeed(accepted, c).pipe(
            Effect.zipRight(c.run((chunk) => seen.push(chunk))),
            Effect.map(() => text(seen)),
            Effect.intoDeferred(ended)
          )
        }))
      const client = yield* network.host(leecher).connect(new PeerAddress({ host: seeder, port: 6881 }))
      expect(client.remote).toBe("10.0.0.1:6881")
      expect((yield* Deferred.await(accepted)).remote).toBe("10.0.0.2:49152")
      yield* client.write([bytesOf("a"), bytesOf("b")])
      yield* client.write([bytesOf("c")])
      yield* client.close
      yield* client.close
      expect(yield* Deferred.await(ended)).toBe("abc")
      expect(reasonOf(yield* Effect.flip(client.write([bytesOf("d")])))).toEqual({
        reason: "Closed",
        detail: "connection closed"
      })
      expect(yield* Effect.exit(client.run(() => {}))).toEqual(Exit.void)
    }), bounded)

  it.scoped("the end of a handler closes the connection; an interrupted run loses nothing", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const go = yield* Deferred.make<void>()
      yield* network.host(seeder).listen({ port: 1 }, (c) =>
        c.write([bytesOf("one")]).pipe(
          Effect.zipRight(Deferred.await(go)),
          Effect.zipRight(c.write([bytesOf("two")])),
          Effect.orDie
        ))
      const client = yield* network.host(leecher).connect(new PeerAddress({ host: seeder, port: 1 }))
      const got: Array<Uint8Array> = []
      const one = yield* Deferred.make<void>()
      const first = yield* Effect.fork(client.run((chunk) => {
        got.push(chunk)
        Deferred.unsafeDone(one, Exit.void)
      }))
      yield* Deferred.await(one)
      yield* Fiber.interrupt(first)
      expect(text(got)).toBe("one")
      yield* Deferred.succeed(go, undefined)
      yield* client.run((chunk) => got.push(chunk))
      expect(text(got)).toBe("onetwo")
    }), bounded)

  it.scoped("nothing listening refuses with Connect; a used port or another host's address fails with Listen", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const a = network.host(seeder)
      const b = network.host(leecher)
      const refused = yield* Effect.flip(b.connect(new PeerAddress({ host: seeder, port: 6881 })))
      expect(reasonOf(refused)).toEqual({ reason: "Connect", detail: "connection refused" })
      expect(refused.address).toBe("10.0.0.1:6881")
      yield* Effect.scoped(a.listen({ port: 6881 }, () => Effect.void))
      expect((yield* Effect.flip(b.connect(new PeerAddress({ host: seeder, port: 6881 })))).reason).toBe("Connect")
      expect(reasonOf(yield* Effect.flip(b.connect(new PeerAddress({ host: "10.9.9.9", port: 1 }))))).toEqual({
        reason: "Connect",
        detail: "connection refused"
      })

      yield* a.listen({ port: 6881, host: "0.0.0.0" }, () => Effect.void)
      const used = yield* Effect.flip(a.listen({ port: 6881 }, () => Effect.void))
      expect(reasonOf(used)).toEqual({ reason: "Listen", detail: "port 6881 is already in use" })
      expect((yield* Effect.flip(a.listen({ port: 7000, host: leecher }, () => Effect.void))).reason).toBe("Listen")
      expect((yield* b.listen({ port: 6881, host: leecher }, () => Effect.void)).port).toBe(6881)
      const picked = yield* a.listen({ port: 0 }, () => Effect.void)
      expect(picked.port).toBeGreaterThanOrEqual(49152)
    }), bounded)

  it.scoped("latency delays every chunk and the end of the stream on the TestClock", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({ latency: "100 millis" })
      const got: Array<string> = []
      const accepted = yield* Deferred.make<Fiber.RuntimeFiber<void, NetworkError>>()
      yield* network.host(seeder).listen({ port: 1 }, (c) =>
        Effect.fork(c.run((chunk) => got.push(text([chunk])))).pipe(
          Effect.flatMap((fiber) => Deferred.succeed(accepted, fiber)),
          Effect.zipRight(Effect.never)
        ))
      const client = yield* network.host(leecher).connect(new PeerAddress({ host: seeder, port: 1 }))
      const reader = yield* Deferred.await(accepted)
      yield* client.write([bytesOf("x")])
      yield* TestClock.adjust("50 millis")
      yield* client.write([bytesOf("y")])
      yield* client.close
      yield* TestClock.adjust("49 millis")
      expect(got).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(got).toEqual(["x"])
      yield* TestClock.adjust("49 millis")
      expect(got).toEqual(["x"])
      expect(Option.isNone(yield* Fiber.poll(reader))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(got).toEqual(["x", "y"])
      expect(yield* Fiber.await(reader)).toEqual(Exit.void)
    }), bounded)

  it.scoped("bandwidth holds back both the write and the data", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const got: Array<number> = []
      yield* network.host(seeder).listen({ port: 1 }, (c) => c.run((chunk) => got.push(chunk.length)).pipe(Effect.ignore))
      const slow = network.host(leecher, { bandwidth: 1000 })
      const client = yield* slow.connect(new PeerAddress({ host: seeder, port: 1 }))
      // One write of 500 bytes at 1000 B/s: it leaves, and arrives, after 500 ms; the next waits its turn.
      const writing = yield* Effect.fork(client.write([new Uint8Array(300), new Uint8Array(200)]))
      yield* TestClock.adjust("499 millis")
      expect(got).toEqual([])
      expect(Option.isNone(yield* Fiber.poll(writing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.await(writing)).toEqual(Exit.void)
      expect(got).toEqual([500])
      const second = yield* Effect.fork(client.write([new Uint8Array(100)]))
      yield* TestClock.adjust("99 millis")
      expect(got).toEqual([500])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.await(second)).toEqual(Exit.void)
      expect(got).toEqual([500, 100])
    }), bounded)

  it.scoped("disconnect resets every connection of a host and only those", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const third = "10.0.0.3"
      const ends = yield* Deferred.make<Exit.Exit<void, NetworkError>>()
      // Echoes through a queue: `run` feeds synchronous code, a fiber writes.
      const echo = (c: Connection) =>
        Effect.gen(function*() {
          const queue = yield* Queue.unbounded<Uint8Array>()
          yield* Effect.fork(Effect.forever(Effect.flatMap(Queue.take(queue), (chunk) => c.write([chunk]))))
          const exit = yield* Effect.exit(c.run((chunk) => Queue.unsafeOffer(queue, chunk)))
          yield* Deferred.succeed(ends, exit)
        })
      yield* network.host(seeder).listen({ port: 1 }, echo)
      yield* network.host(third).listen({ port: 1 }, () => Effect.never)
      const leecherNet = network.host(leecher)
      const toSeeder = yield* leecherNet.connect(new PeerAddress({ host: seeder, port: 1 }))
      const toThird = yield* leecherNet.connect(new PeerAddress({ host: third, port: 1 }))
      const seederToThird = yield* network.host(seeder).connect(new PeerAddress({ host: third, port: 1 }))
      expect(yield* network.connections(leecher)).toBe(2)
      expect(yield* network.connections(third)).toBe(2)
      const reading = yield* Effect.fork(toThird.run(() => {}))

      yield* network.disconnect(leecher)
      const reset = { reason: "Read", detail: "connection reset" }
      expect(reasonOf(yield* Effect.flip(Deferred.await(ends).pipe(Effect.flatten)))).toEqual(reset)
      expect(reasonOf(yield* Effect.flip(Fiber.join(reading)))).toEqual(reset)
      expect(reasonOf(yield* Effect.flip(toSeeder.run(() => {})))).toEqual(reset)
      expect(reasonOf(yield* Effect.flip(toSeeder.write([bytesOf("x")])))).toEqual({
        reason: "Closed",
        detail: "connection reset"
      })
      expect(yield* network.connections(leecher)).toBe(0)
      expect(yield* network.connections(seeder)).toBe(1)
      expect(yield* network.connections(third)).toBe(1)
      yield* seederToThird.write([bytesOf("still up")])

      // The host comes back: its listeners and connecting still work.
      const again = yield* leecherNet.connect(new PeerAddress({ host: seeder, port: 1 }))
      const echoed = yield* Deferred.make<string>()
      const back = yield* Effect.fork(again.run((chunk) => Deferred.unsafeDone(echoed, Exit.succeed(text([chunk])))))
      yield* again.write([bytesOf("ping")])
      expect(yield* Deferred.await(echoed)).toBe("ping")
      yield* Fiber.interrupt(back)
    }), bounded)
})
