/**
 * One listening port for many torrents: each inbound connection is read up to the info hash in its
 * handshake (the first 48 bytes), then handed to the torrent with that hash, which reads the handshake
 * again from the start, as if it had accepted the connection itself. A connection for no torrent of ours,
 * or that does not say which within the handshake timeout, is closed.
 *
 * The hand-over replays the bytes read so far (copied: a chunk is valid only during its callback); then a
 * plaintext connection's own reader runs again for its new owner (the router's was stopped: nothing sits
 * between the socket and the session), and an encrypted one's chunks are forwarded as they are decrypted.
 *
 * A connection whose first bytes are not 19 and "BitTorrent protocol" is taken for Message Stream
 * Encryption (MseConnection.ts): the torrent is found by HASH('req2', info hash), kept for each one
 * registered, and handed the payload's connection. The policy of the moment decides: `off` closes such
 * connections, `require` closes plaintext ones.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Handshake from "../../protocol/Handshake.js"
import * as Mse from "../../protocol/Mse.js"
import * as MseConnection from "./MseConnection.js"
import { type Connection, PeerNetwork } from "./PeerNetwork.js"

/** What a torrent needs of a shared port (TorrentOptions.listener). */
export interface SharedListener {
  readonly port: number
  /** Sends the connections for `infoHash` to `onConnection` until the scope closes. */
  readonly register: (
    infoHash: Uint8Array,
    onConnection: (connection: Connection) => Effect.Effect<void>
  ) => Effect.Effect<void, never, Scope.Scope>
}

const prefixBytes = 48
const routeTimeout = "10 seconds"

/** A plaintext connection whose first bytes were read already (its reader stopped since): they are given
 *  again, then the connection's own `run` reads on, with nothing between it and `onChunk`. */
const handover = (connection: Connection, held: ReadonlyArray<Uint8Array>): Connection => {
  let first = held
  return {
    remote: connection.remote,
    address: connection.address,
    ...(connection.transport !== undefined ? { transport: connection.transport } : {}),
    write: connection.write,
    close: connection.close,
    run: (onChunk) =>
      Effect.suspend(() => {
        const replay = first
        first = []
        for (const chunk of replay) onChunk(chunk)
        return connection.run(onChunk)
      })
  }
}

/** A connection whose first bytes were read already: they are given again to whoever runs it. */
const replaying = (connection: Connection, attach: (forward: (chunk: Uint8Array) => void) => void, ended: Deferred.Deferred<void, NetworkError>): Connection => ({
  remote: connection.remote,
  address: connection.address,
  ...(connection.transport !== undefined ? { transport: connection.transport } : {}),
  write: connection.write,
  close: connection.close,
  run: (onChunk) => Effect.zipRight(Effect.sync(() => attach(onChunk)), Deferred.await(ended))
})

export const make = Effect.fn("PeerRouter.make")(function* (options: {
  readonly port: number
  readonly host?: string
  /** The policy for inbound connections now (default prefer): `off` refuses MSE, `require` plaintext. */
  readonly encryption?: () => Mse.Policy
}) {
  const network = yield* PeerNetwork
  const routes = new Map<string, (connection: Connection) => Effect.Effect<void>>()
  // MSE names the torrent by HASH('req2', info hash): each one served, by that hash.
  const byReq2 = new Map<string, Uint8Array>()
  const policy = options.encryption ?? (() => "prefer" as const)

  /** An MSE handshake answered, then the connection's payload routed as a plaintext one would be. */
  const routeEncrypted = (connection: Connection) =>
    Effect.gen(function* () {
      const rule = policy()
      if (rule === "off") return yield* connection.close
      const done = yield* Effect.option(MseConnection.respond(connection, rule, (req2) => byReq2.get(toHex(req2))))
      const handler = done._tag === "Some" ? routes.get(toHex(done.value.infoHash)) : undefined
      if (handler === undefined || done._tag === "None") return yield* connection.close
      yield* handler(done.value.connection)
    })

  const route = (connection: Connection) =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<void, NetworkError>()
      const identified = yield* Deferred.make<string | undefined>()
      let encrypted = false
      let held: Array<Uint8Array> = []
      let heldBytes = 0
      let forward: ((chunk: Uint8Array) => void) | undefined
      let decided = false
      const attach = (onChunk: (chunk: Uint8Array) => void) => {
        for (const chunk of held) onChunk(chunk)
        held = []
        forward = onChunk
      }
      const reader = yield* connection
        .run((chunk) => {
          if (forward !== undefined) return forward(chunk)
          held.push(Uint8Array.prototype.slice.call(chunk))
          heldBytes += chunk.length
          if (!decided && Mse.classify(held.length === 1 ? held[0]! : Buffer.concat(held)) === "encrypted") {
            decided = encrypted = true
            Deferred.unsafeDone(identified, Exit.succeed(undefined))
          }
          if (heldBytes >= prefixBytes && !decided) {
            decided = true
            const prefix = Handshake.decodePrefix(Buffer.concat(held))
            Deferred.unsafeDone(identified, Exit.succeed(Either.isRight(prefix) ? toHex(prefix.right.infoHash) : undefined))
          }
        })
        .pipe(
          Effect.exit,
          Effect.flatMap((exit) => Effect.zipRight(Deferred.done(ended, exit), Deferred.succeed(identified, undefined))),
          Effect.forkScoped
        )
      const hash = yield* Deferred.await(identified).pipe(Effect.timeoutTo({ duration: routeTimeout, onTimeout: () => undefined, onSuccess: (h) => h }))
      if (encrypted) return yield* routeEncrypted(replaying(connection, attach, ended))
      const handler = hash === undefined || policy() === "require" ? undefined : routes.get(hash)
      if (handler === undefined) return yield* connection.close
      // Chunks that come until the reader has stopped are held with the others.
      yield* Fiber.interrupt(reader)
      yield* handler(handover(connection, held))
    }).pipe(Effect.scoped)

  const listening = yield* network.listen({ port: options.port, ...(options.host !== undefined ? { host: options.host } : {}) }, route)

  const listener: SharedListener = {
    port: listening.port,
    register: (infoHash, onConnection) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          routes.set(toHex(infoHash), onConnection)
          byReq2.set(toHex(Mse.req2(infoHash)), infoHash)
        }),
        () => Effect.sync(() => {
          routes.delete(toHex(infoHash))
          byReq2.delete(toHex(Mse.req2(infoHash)))
        })
      )
  }
  return listener
})
