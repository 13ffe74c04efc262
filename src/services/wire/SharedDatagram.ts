/**
 * One UDP port for two users: uTP and the DHT both live on the peer port's number, as in libtorrent and
 * Transmission (a peer that learns our port from a tracker or PEX reaches us on it by TCP and by uTP, and
 * a DHT node that hears us there answers there). `share` wraps a DatagramNetwork's `bind` so that a second
 * bind of a port already bound gets the same socket instead of "port in use": each datagram goes to the
 * user whose `accepts` takes it (uTP: the first byte of a uTP header), else to the user without
 * `accepts` (the DHT, whose messages start with "d"). The socket closes when its last user's scope does.
 * Two users without `accepts` would both want every datagram: the second is refused as before, port in use.
 *
 * A user that asks for the IPv4 wildcard ("0.0.0.0", the DHT's default) of a port bound dual-stack ("::",
 * uTP's default) shares it, and sees only the datagrams from IPv4 senders: it keeps the IPv4 world it
 * asked for, and its sends to IPv4 hosts go out mapped, as every send of that socket does.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { DatagramNetworkService, DatagramSocket, Endpoint } from "./Datagram.js"

type Handler = (bytes: Uint8Array, from: Endpoint) => void

interface User {
  readonly accepts: ((bytes: Uint8Array) => boolean) | undefined
  readonly onMessage: Handler
}

interface Shared {
  /** The host asked for by the user that bound it (undefined: the network's default). */
  readonly host: string | undefined
  readonly socket: DatagramSocket
  readonly scope: Scope.CloseableScope
  readonly users: Array<User>
}

const ipv4Only = (onMessage: Handler): Handler => (bytes, from) => {
  if (!from.host.includes(":")) onMessage(bytes, from)
}

/** Whether a bind of `host` may use a socket bound for `existing`. */
const compatible = (existing: string | undefined, host: string | undefined): "same" | "ipv4" | false =>
  host === existing || host === undefined ? "same" : host === "0.0.0.0" && existing === "::" ? "ipv4" : false

/** `bind`, with ports shared between users (see the header); one registry per call. */
export const share = (bind: DatagramNetworkService["bind"]): DatagramNetworkService["bind"] => {
  const ports = new Map<number, Shared>()

  const dispatch = (users: ReadonlyArray<User>): Handler => (bytes, from) => {
    let fallback: User | undefined
    for (const user of users) {
      if (user.accepts === undefined) fallback ??= user
      else if (user.accepts(bytes)) return user.onMessage(bytes, from)
    }
    fallback?.onMessage(bytes, from)
  }

  const join = (shared: Shared, user: User) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        shared.users.push(user)
        return shared.socket
      }),
      () =>
        Effect.suspend(() => {
          const i = shared.users.indexOf(user)
          if (i >= 0) shared.users.splice(i, 1)
          if (shared.users.length > 0) return Effect.void
          if (ports.get(shared.socket.port) === shared) ports.delete(shared.socket.port)
          return Scope.close(shared.scope, Exit.void)
        })
    )

  return (options, onMessage) =>
    Effect.gen(function*() {
      const existing = options.port === 0 ? undefined : ports.get(options.port)
      // Two users that would both take every datagram cannot share: the second is refused, port in use.
      const fit = existing === undefined || (options.accepts === undefined && existing.users.some((u) => u.accepts === undefined))
        ? false
        : compatible(existing.host, options.host)
      if (existing !== undefined && fit !== false) {
        return yield* join(existing, { accepts: options.accepts, onMessage: fit === "ipv4" ? ipv4Only(onMessage) : onMessage })
      }
      // The socket lives in a scope of its own: it outlasts its first user while another one uses it.
      const scope = yield* Scope.make()
      const users: Array<User> = []
      const socket = yield* bind({
        port: options.port,
        ...(options.host !== undefined ? { host: options.host } : {}),
        ...(options.receiveBufferBytes !== undefined ? { receiveBufferBytes: options.receiveBufferBytes } : {})
      }, dispatch(users)).pipe(
        Scope.extend(scope),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      const shared: Shared = { host: options.host, socket, scope, users }
      if (!ports.has(socket.port)) ports.set(socket.port, shared)
      return yield* join(shared, { accepts: options.accepts, onMessage })
    })
}
