/**
 * Scripted peers for swarm tests: real wire protocol over the in-memory network, with behaviour that a
 * bt-effect peer would never show. A fake peer listens on host:port, answers the handshake, sends its
 * bitfield, and then behaves as told.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type { Bitfield } from "../../src/domain/Bitfield.js"
import type { InfoHash } from "../../src/domain/InfoHash.js"
import * as Layout from "../../src/domain/Layout.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as Extension from "../../src/protocol/Extension.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import * as Message from "../../src/protocol/Message.js"
import type { MemoryNetwork } from "../../src/services/wire/MemoryNetwork.js"

export type Behaviour =
  /** Advertises its pieces, never unchokes: it only adds to availability. */
  | { readonly _tag: "Advertise" }
  /** Unchokes, then never answers a request. */
  | { readonly _tag: "Stall" }
  /** Unchokes and serves `blocks` blocks from `payload`, then drops the connection. */
  | { readonly _tag: "ServeThenVanish"; readonly blocks: number; readonly payload: Uint8Array }

export interface FakePeerLog {
  /** Requests received, in order. */
  readonly requests: Array<{ readonly piece: number; readonly offset: number; readonly length: number }>
  connections: number
  keepAlives: number
}

export const fakePeer = (options: {
  readonly network: MemoryNetwork
  readonly host: string
  readonly port: number
  readonly infoHash: InfoHash
  readonly layout: Layout.Layout
  readonly has: Bitfield
  readonly behaviour: Behaviour
  /** Speaks BEP 10 and says it queues this many requests (`reqq`). */
  readonly reqq?: number
}): Effect.Effect<FakePeerLog, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const log: FakePeerLog = { requests: [], connections: 0, keepAlives: 0 }
    // Writes run in the test's runtime, so that they see its (Test)Clock like everything else.
    const runFork = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    const net = options.network.host(options.host)
    const ours = Handshake.encode({
      reserved: Handshake.reserved({ extensions: options.reqq !== undefined }),
      infoHash: options.infoHash,
      peerId: PeerId.make(Buffer.from(options.host.padEnd(12, "f")))
    })
    yield* net.listen({ port: options.port, host: options.host }, (connection) =>
      Effect.gen(function* () {
        log.connections++
        const parser = FrameParser.make({ handshake: true })
        let served = 0
        const out: Array<Uint8Array> = []
        yield* connection.run((chunk) => {
          parser.push(chunk, (frame) => {
            if (frame._tag === "Handshake") {
              out.push(ours, Message.encode(Message.bitfield(options.has.toBytes())))
              if (options.reqq !== undefined) {
                const handshake = Extension.encodeHandshake({ m: new Map(), reqq: options.reqq })
                out.push(Message.encode(Message.extended(Extension.handshakeId, handshake)))
              }
              if (options.behaviour._tag !== "Advertise") out.push(Message.encode(Message.unchoke))
            } else if (frame._tag === "KeepAlive") {
              log.keepAlives++
            } else if (frame._tag === "Request") {
              log.requests.push({ piece: frame.index, offset: frame.begin, length: frame.length })
              const b = options.behaviour
              if (b._tag === "ServeThenVanish" && served < b.blocks) {
                served++
                const at = Layout.pieceOffset(options.layout, frame.index) + frame.begin
                out.push(Message.encode(Message.piece(frame.index, frame.begin, b.payload.subarray(at, at + frame.length))))
              }
            }
          })
          if (out.length > 0) runFork(connection.write(out.splice(0)))
          if (options.behaviour._tag === "ServeThenVanish" && served >= options.behaviour.blocks) {
            runFork(connection.close)
          }
        }).pipe(Effect.ignore)
      })
    )
    return log
  })
