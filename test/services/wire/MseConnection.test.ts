/**
 * MSE on connections (src/services/wire/MseConnection.ts) through the router's port (PeerRouter.ts), over
 * the in-memory network: each policy of the dialling side against each of the answering side, the bytes
 * of the payload intact both ways (and the buffers written never changed), plaintext kept apart from MSE
 * as the policies say, and `prefer`'s one plaintext retry.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as PeerId from "../../../src/domain/PeerId.js"
import { infoHash } from "../../../src/domain/InfoHash.js"
import * as Handshake from "../../../src/protocol/Handshake.js"
import type { Policy } from "../../../src/protocol/Mse.js"
import * as MemoryNetwork from "../../../src/services/wire/MemoryNetwork.js"
import * as MseConnection from "../../../src/services/wire/MseConnection.js"
import type * as PeerNetwork from "../../../src/services/wire/PeerNetwork.js"
import * as PeerRouter from "../../../src/services/wire/PeerRouter.js"
import { withClock } from "../../support/clock.js"

const hashA = infoHash(new Uint8Array(20).fill(0xaa))
const hashB = infoHash(new Uint8Array(20).fill(0xbb))
const handshake = Handshake.encode({ reserved: Handshake.reserved({}), infoHash: hashA, peerId: PeerId.make(Buffer.from("mse-test!!")) })
const payload = Buffer.concat([handshake, new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff)])
const reply = new Uint8Array(50_000).map((_, i) => (i * 13) & 0xff)

interface Seen {
  readonly encrypted: boolean
  readonly bytes: Uint8Array
}

/** Dials the router (answering under `inbound`) with `outbound`; what the torrent got and what came back. */
const session = (outbound: Policy, inbound: Policy) =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork.make()
    const router = yield* PeerRouter.make({ port: 7000, host: "10.0.0.1", encryption: () => inbound }).pipe(
      Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.0.1" }))
    )
    const seen = yield* Deferred.make<Seen>()
    const onConnection = (connection: PeerNetwork.Connection) =>
      Effect.gen(function* () {
        const got: Array<Uint8Array> = []
        let size = 0
        const done = yield* Deferred.make<void>()
        yield* Effect.fork(connection.run((chunk) => {
          got.push(Uint8Array.prototype.slice.call(chunk))
          size += chunk.length
          if (size >= payload.length) Deferred.unsafeDone(done, Effect.void)
        }))
        yield* Deferred.await(done)
        const shared = Uint8Array.from(reply)
        yield* connection.write([shared.subarray(0, 10), shared.subarray(10)])
        // The written buffers are never encrypted in place.
        expect(Buffer.compare(shared, reply)).toBe(0)
        yield* Deferred.succeed(seen, { encrypted: connection.encrypted === true, bytes: Buffer.concat(got) })
        yield* Effect.never
      }).pipe(Effect.ignore)
    yield* router.register(hashB, () => Effect.void)
    yield* router.register(hashA, onConnection)
    const client = yield* Effect.scoped(Effect.gen(function* () {
      const connection = yield* MseConnection.dial(new PeerAddress({ host: "10.0.0.1", port: router.port }), { infoHash: hashA, policy: outbound, timeout: "5 seconds" })
      const back: Array<Uint8Array> = []
      let size = 0
      const done = yield* Deferred.make<void>()
      yield* Effect.fork(connection.run((chunk) => {
        back.push(Uint8Array.prototype.slice.call(chunk))
        size += chunk.length
        if (size >= reply.length) Deferred.unsafeDone(done, Effect.void)
      }))
      const sent = Uint8Array.from(payload)
      yield* connection.write([sent.subarray(0, 68), sent.subarray(68)])
      expect(Buffer.compare(sent, payload)).toBe(0)
      yield* Deferred.await(done)
      const server = yield* Deferred.await(seen)
      return { encrypted: connection.encrypted === true, back: Buffer.concat(back), server }
    })).pipe(Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.0.2" })))
    return client
  })

const run = (outbound: Policy, inbound: Policy) =>
  withClock(session(outbound, inbound), { step: "100 millis", maxVirtual: "30 seconds" }).pipe(Effect.either)

describe("MseConnection", () => {
  it.scoped("prefer to prefer: the handshake obfuscated, the payload plaintext, every byte intact", () =>
    Effect.gen(function* () {
      const result = yield* run("prefer", "prefer")
      expect(result._tag).toBe("Right")
      if (result._tag !== "Right") return
      expect(result.right.encrypted).not.toBe(true)
      expect(result.right.server.encrypted).not.toBe(true)
      expect(Buffer.compare(result.right.server.bytes, payload)).toBe(0)
      expect(Buffer.compare(result.right.back, reply)).toBe(0)
    }))

  for (const [outbound, inbound] of [["require", "require"], ["require", "prefer"], ["prefer", "require"]] as const) {
    it.scoped(`${outbound} to ${inbound}: RC4 both ways, every byte intact`, () =>
      Effect.gen(function* () {
        const result = yield* run(outbound, inbound)
        expect(result._tag).toBe("Right")
        if (result._tag !== "Right") return
        expect(result.right.encrypted).toBe(true)
        expect(result.right.server.encrypted).toBe(true)
        expect(Buffer.compare(result.right.server.bytes, payload)).toBe(0)
        expect(Buffer.compare(result.right.back, reply)).toBe(0)
      }))
  }

  it.scoped("prefer falls back to plaintext, once, when the other side refuses MSE", () =>
    Effect.gen(function* () {
      const result = yield* run("prefer", "off")
      expect(result._tag).toBe("Right")
      if (result._tag !== "Right") return
      expect(result.right.encrypted).toBe(false)
      expect(result.right.server.encrypted).toBe(false)
      expect(Buffer.compare(result.right.server.bytes, payload)).toBe(0)
      expect(Buffer.compare(result.right.back, reply)).toBe(0)
    }))

  it.scoped("off to off: plaintext, the connection as the network made it", () =>
    Effect.gen(function* () {
      const result = yield* run("off", "off")
      expect(result._tag === "Right" && !result.right.encrypted && !result.right.server.encrypted).toBe(true)
    }))

  it.scoped("require meets a side that refuses MSE: no connection", () =>
    Effect.gen(function* () {
      const result = yield* run("require", "off")
      expect(result._tag).toBe("Left")
    }))

  it.scoped("a plaintext handshake to a side that requires MSE: refused", () =>
    Effect.gen(function* () {
      const result = yield* run("off", "require")
      expect(result._tag).toBe("Left")
    }))
})
