/**
 * uTP on a datagram socket as peer Connections (src/services/wire/UtpEndpoint.ts, UtpLink.ts): over the
 * in-memory network under TestClock, with loss and latency, bytes arrive exactly and in order both ways,
 * a write waits for room and completes, the peer's FIN ends `run` cleanly after every byte, a dial to a
 * port that accepts nothing is refused (RESET) and one to nobody times out; the DHT's datagrams on the same port never reach uTP; and over real UDP on loopback
 * a transfer arrives whole.
 */
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { DatagramNetwork } from "../../../src/services/wire/Datagram.js"
import * as MemoryDatagram from "../../../src/services/wire/MemoryDatagram.js"
import type { Connection } from "../../../src/services/wire/PeerNetwork.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"
import * as UtpEndpoint from "../../../src/services/wire/UtpEndpoint.js"
import { withClock } from "../../support/clock.js"

const bytes = (n: number, seed: number) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}
const sha1 = (chunks: ReadonlyArray<Uint8Array>) => {
  const h = createHash("sha1")
  for (const c of chunks) h.update(c)
  return h.digest("hex")
}

/** Reads a connection to its end (or until `size` bytes came), keeping copies of what arrived. */
const readAll = (connection: Connection, size = Number.POSITIVE_INFINITY) =>
  Effect.gen(function*() {
    const got: Array<Uint8Array> = []
    let total = 0
    const enough = yield* Deferred.make<void>()
    const exit = yield* Effect.exit(Effect.raceFirst(
      connection.run((chunk) => {
        got.push(Uint8Array.prototype.slice.call(chunk))
        total += chunk.length
        if (total >= size) Deferred.unsafeDone(enough, Exit.void)
      }),
      Deferred.await(enough)
    ))
    return { got, total, exit }
  })

/** Writes `data` in blocks of 16 KiB, as a peer session writes pieces. */
const writeAll = (connection: Connection, data: Uint8Array) =>
  Effect.gen(function*() {
    for (let at = 0; at < data.length; at += 16384) yield* connection.write([data.subarray(at, Math.min(data.length, at + 16384))])
  })

const memory = (options: MemoryDatagram.MemoryDatagramOptions) => Layer.scoped(DatagramNetwork, MemoryDatagram.make(options))

describe("UtpEndpoint in memory", () => {
  it.scoped("carries 2 MB each way at once over a lossy link, exactly", () =>
    withClock(
      Effect.gen(function*() {
        const up = bytes(2_000_000, 1)
        const down = bytes(2_000_000, 2)
        const accepted = yield* Deferred.make<{ got: Array<Uint8Array>; exit: Exit.Exit<void, unknown> }>()
        const server = yield* UtpEndpoint.make({
          port: 6881,
          host: "10.0.0.1",
          accept: (c) =>
            Effect.gen(function*() {
              const reading = yield* Effect.fork(readAll(c, up.length))
              yield* writeAll(c, down)
              const read = yield* Fiber.join(reading)
              yield* c.close
              yield* Deferred.succeed(accepted, { got: read.got, exit: read.exit })
            }).pipe(Effect.orDie)
        })
        const client = yield* UtpEndpoint.make({ port: 6881, host: "10.0.0.2" })
        const connection = yield* client.connect(new PeerAddress({ host: "10.0.0.1", port: server.port }), "10 seconds")
        expect(connection.transport).toBe("utp")
        const reading = yield* Effect.fork(readAll(connection, down.length))
        yield* writeAll(connection, up)
        const ours = yield* Fiber.join(reading)
        yield* connection.close
        const theirs = yield* Deferred.await(accepted)
        expect(Exit.isSuccess(theirs.exit)).toBe(true)
        expect(sha1(theirs.got)).toBe(sha1([up]))
        expect(Exit.isSuccess(ours.exit)).toBe(true)
        expect(sha1(ours.got)).toBe(sha1([down]))
      }).pipe(Effect.provide(memory({ latencyMs: 20, loss: 0.02, seed: 5 }))),
      { step: "20 millis", maxVirtual: "120 seconds" }
    ))

  it.scoped("a dial to a port that accepts nothing is refused (RESET); one to nobody times out", () =>
    withClock(
      Effect.gen(function*() {
        const silent = yield* UtpEndpoint.make({ port: 6881, host: "10.0.0.1" })
        const client = yield* UtpEndpoint.make({ port: 6881, host: "10.0.0.2" })
        const refused = yield* Effect.flip(client.connect(new PeerAddress({ host: "10.0.0.1", port: silent.port }), "10 seconds"))
        expect(refused.reason).toBe("Connect")
        const nobody = yield* Effect.flip(client.connect(new PeerAddress({ host: "10.0.0.9", port: 6881 }), "3 seconds"))
        expect(nobody.reason).toBe("Timeout")
        expect(nobody.detail).toContain("no uTP answer within 3s")
      }).pipe(Effect.provide(memory({ latencyMs: 5 }))),
      { step: "50 millis", maxVirtual: "30 seconds" }
    ))

  it.scoped("the dialler's close (its FIN) ends the peer's run cleanly; the DHT's datagrams on the shared port never reach uTP", () =>
    withClock(
      Effect.gen(function*() {
        const network = yield* DatagramNetwork
        const dhtHeard: Array<string> = []
        const server = yield* UtpEndpoint.make({
          port: 6881,
          host: "10.0.0.1",
          accept: (c) => Effect.flatMap(readAll(c), ({ exit }) => Effect.sync(() => void (runs.push(exit))))
        })
        const runs: Array<Exit.Exit<void, unknown>> = []
        // The DHT binds the same port (it takes what uTP does not).
        const dht = yield* network.bind({ port: server.port, host: "10.0.0.1" }, (b) => void dhtHeard.push(new TextDecoder().decode(b)))
        expect(dht.port).toBe(server.port)
        const other = yield* network.bind({ port: 0, host: "10.0.0.3" }, () => {})
        yield* other.send({ host: "10.0.0.1", port: server.port }, new TextEncoder().encode("d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe"))
        const client = yield* UtpEndpoint.make({ port: 6881, host: "10.0.0.2" })
        const scope = yield* Scope.make()
        const connection = yield* client.connect(new PeerAddress({ host: "10.0.0.1", port: server.port }), "10 seconds").pipe(Scope.extend(scope))
        yield* connection.write([bytes(1000, 3)])
        yield* Effect.sleep("200 millis")
        // The connection's scope closing closes it: a FIN after the bytes written.
        yield* Scope.close(scope, Exit.void)
        yield* Effect.sleep("200 millis")
        expect(dhtHeard).toHaveLength(1)
        expect(dhtHeard[0]).toContain("4:ping")
        expect(runs).toHaveLength(1)
        expect(Exit.isSuccess(runs[0]!)).toBe(true)
      }).pipe(Effect.provide(memory({ latencyMs: 5 }))),
      { step: "20 millis", maxVirtual: "10 seconds" }
    ))

  it.scoped("a reader that has not started holds the writer back (the window closes), and reading frees it", () =>
    withClock(
      Effect.gen(function*() {
        const data = bytes(3_000_000, 4)
        const started = yield* Deferred.make<void>()
        const done = yield* Deferred.make<Array<Uint8Array>>()
        const server = yield* UtpEndpoint.make({
          port: 6881,
          host: "10.0.0.1",
          accept: (c) =>
            Effect.gen(function*() {
              yield* Deferred.await(started)
              const r = yield* readAll(c)
              yield* Deferred.succeed(done, r.got)
            }).pipe(Effect.ignore)
        })
        const client = yield* UtpEndpoint.make({ port: 6881, host: "10.0.0.2" })
        const connection = yield* client.connect(new PeerAddress({ host: "10.0.0.1", port: server.port }), "10 seconds")
        const writing = yield* Effect.fork(Effect.zipRight(writeAll(connection, data), connection.close))
        yield* Effect.sleep("5 seconds")
        // 1 MiB waits in the reader's buffer and 1 MiB in the writer's: 3 MB cannot all be taken.
        expect((yield* Fiber.poll(writing))._tag).toBe("None")
        yield* Deferred.succeed(started, undefined)
        yield* Fiber.join(writing)
        expect(sha1(yield* Deferred.await(done))).toBe(sha1([data]))
      }).pipe(Effect.provide(memory({ latencyMs: 10 }))),
      { step: "20 millis", maxVirtual: "60 seconds" }
    ))
})

describe("UtpEndpoint over UDP on loopback", () => {
  it.live("carries 8 MB from 127.0.0.3 to 127.0.0.2 exactly", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const data = bytes(8_000_000, 9)
        const done = yield* Deferred.make<{ got: Array<Uint8Array>; exit: Exit.Exit<void, unknown> }>()
        const server = yield* UtpEndpoint.make({
          port: 0,
          host: "127.0.0.2",
          accept: (c) => Effect.flatMap(readAll(c), (r) => Deferred.succeed(done, { got: r.got, exit: r.exit }))
        })
        const client = yield* UtpEndpoint.make({ port: 0, host: "127.0.0.3" })
        const connection = yield* client.connect(new PeerAddress({ host: "127.0.0.2", port: server.port }), "5 seconds")
        yield* writeAll(connection, data)
        yield* connection.close
        const r = yield* Deferred.await(done)
        expect(Exit.isSuccess(r.exit)).toBe(true)
        expect(sha1(r.got)).toBe(sha1([data]))
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("30 seconds")))
})
