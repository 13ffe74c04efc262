/**
 * One listening port for many torrents: each inbound connection is read up to the info hash in its
 * handshake (the first 48 bytes), then handed to the torrent with that hash, which reads the handshake
 * again from the start, as if it had accepted the connection itself. A connection for no torrent of ours,
 * or that does not say which within the handshake timeout, is closed.
 *
 * The hand-over replays the bytes read so far (copied: a chunk is valid only during its callback) and
 * then forwards every chunk synchronously, in order, as `Connection.run` promises.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Handshake from "../../protocol/Handshake.js"
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

/** A connection whose first bytes were read already: they are given again to whoever runs it. */
const replaying = (connection: Connection, attach: (forward: (chunk: Uint8Array) => void) => void, ended: Deferred.Deferred<void, NetworkError>): Connection => ({
  remote: connection.remote,
  address: connection.address,
  write: connection.write,
  close: connection.close,
  run: (onChunk) => Effect.zipRight(Effect.sync(() => attach(onChunk)), Deferred.await(ended))
})

export const make = Effect.fn("PeerRouter.make")(function* (options: { readonly port: number; readonly host?: string }) {
  const network = yield* PeerNetwork
  const routes = new Map<string, (connection: Connection) => Effect.Effect<void>>()

  const route = (connection: Connection) =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<void, NetworkError>()
      const identified = yield* Deferred.make<string | undefined>()
      let held: Array<Uint8Array> = []
      let heldBytes = 0
      let forward: ((chunk: Uint8Array) => void) | undefined
      let decided = false
      const attach = (onChunk: (chunk: Uint8Array) => void) => {
        for (const chunk of held) onChunk(chunk)
        held = []
        forward = onChunk
      }
      yield* connection
        .run((chunk) => {
          if (forward !== undefined) return forward(chunk)
          held.push(Uint8Array.prototype.slice.call(chunk))
          heldBytes += chunk.length
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
      const handler = hash === undefined ? undefined : routes.get(hash)
      if (handler === undefined) return yield* connection.close
      yield* handler(replaying(connection, attach, ended))
    }).pipe(Effect.scoped)

  const listening = yield* network.listen({ port: options.port, host: options.host ?? "0.0.0.0" }, route)

  const listener: SharedListener = {
    port: listening.port,
    register: (infoHash, onConnection) =>
      Effect.acquireRelease(
        Effect.sync(() => void routes.set(toHex(infoHash), onConnection)),
        () => Effect.sync(() => void routes.delete(toHex(infoHash)))
      )
  }
  return listener
})
