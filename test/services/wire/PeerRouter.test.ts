/**
 * One port for many torrents: the router reads each inbound connection up to the info hash of its
 * handshake and hands it to that torrent with every byte replayed, in order, however the bytes were cut;
 * connections for no torrent of ours, or silent ones, are closed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as PeerId from "../../../src/domain/PeerId.js"
import { infoHash } from "../../../src/domain/InfoHash.js"
import * as Handshake from "../../../src/protocol/Handshake.js"
import * as Message from "../../../src/protocol/Message.js"
import * as MemoryNetwork from "../../../src/services/wire/MemoryNetwork.js"
import * as PeerNetwork from "../../../src/services/wire/PeerNetwork.js"
import * as PeerRouter from "../../../src/services/wire/PeerRouter.js"
import { withClock } from "../../support/clock.js"

const hashA = infoHash(new Uint8Array(20).fill(0xaa))
const hashB = infoHash(new Uint8Array(20).fill(0xbb))
const handshakeFor = (hash: ReturnType<typeof infoHash>) =>
  Handshake.encode({ reserved: Handshake.reserved({}), infoHash: hash, peerId: PeerId.make(Buffer.from("router-test!")) })

describe("PeerRouter", () => {
  it.scoped("hands each connection to the torrent its handshake names, with every byte replayed in order", () =>
    Effect.gen(function* () {
      const network = yield* MemoryNetwork.make()
      const router = yield* PeerRouter.make({ port: 7000, host: "10.0.0.1" }).pipe(
        Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.0.1" }))
      )
      const received = { a: [] as Array<Uint8Array>, b: [] as Array<Uint8Array> }
      const gotA = yield* Deferred.make<void>()
      const gotB = yield* Deferred.make<void>()
      const expected = (hash: ReturnType<typeof infoHash>) => Buffer.concat([handshakeFor(hash), Message.encode(Message.interested), Message.encode(Message.have(7))])
      const collect = (into: Array<Uint8Array>, done: Deferred.Deferred<void>, want: number) =>
        (connection: PeerNetwork.Connection) =>
          connection.run((chunk) => {
            into.push(Uint8Array.prototype.slice.call(chunk))
            if (Buffer.concat(into).length >= want) Deferred.unsafeDone(done, Effect.void)
          }).pipe(Effect.ignore)
      yield* router.register(hashA, collect(received.a, gotA, expected(hashA).length))
      yield* router.register(hashB, collect(received.b, gotB, expected(hashB).length))

      const client = network.host("10.0.0.2")
      const send = (hash: ReturnType<typeof infoHash>, cuts: ReadonlyArray<number>) =>
        Effect.gen(function* () {
          const c = yield* client.connect(new PeerAddress({ host: "10.0.0.1", port: router.port }))
          const bytes = expected(hash)
          let at = 0
          // Cut where the router must wait: inside the info hash, and right after it.
          for (const cut of [...cuts, bytes.length]) {
            yield* c.write([bytes.subarray(at, cut)])
            at = cut
            yield* Effect.yieldNow()
          }
          return c
        })
      yield* send(hashA, [30, 48, 50])
      yield* send(hashB, [1, 47])
      yield* withClock(Effect.all([Deferred.await(gotA), Deferred.await(gotB)]), { step: "100 millis", maxVirtual: "5 seconds" })
      expect(Buffer.compare(Buffer.concat(received.a), expected(hashA))).toBe(0)
      expect(Buffer.compare(Buffer.concat(received.b), expected(hashB))).toBe(0)
    }))

  it.scoped("closes a connection for another torrent, and one that names none within 10 s", () =>
    Effect.gen(function* () {
      const network = yield* MemoryNetwork.make()
      const router = yield* PeerRouter.make({ port: 7000, host: "10.0.0.1" }).pipe(
        Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.0.1" }))
      )
      let handed = 0
      yield* router.register(hashA, () => Effect.sync(() => void handed++))
      const client = network.host("10.0.0.2")
      const ended = (bytes: Uint8Array) =>
        Effect.gen(function* () {
          const c = yield* client.connect(new PeerAddress({ host: "10.0.0.1", port: router.port }))
          yield* c.write([bytes])
          return yield* Effect.fork(c.run(() => {}).pipe(Effect.either))
        })
      const other = yield* ended(handshakeFor(hashB))
      const silent = yield* ended(handshakeFor(hashA).subarray(0, 20))
      yield* withClock(Fiber.join(other), { step: "100 millis", maxVirtual: "2 seconds" })
      // The silent one is still open before the timeout, closed after it.
      expect(silent.unsafePoll()).toBeNull()
      yield* withClock(Fiber.join(silent), { step: "1 second", maxVirtual: "15 seconds" })
      expect(handed).toBe(0)
    }).pipe(Effect.scoped))
})
