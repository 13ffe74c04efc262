/**
 * The peer network of the commands: TCP and uTP side by side behind the one `PeerNetwork` port, so that
 * the handshake, MSE and the sessions above never ask which one a connection rides on.
 *
 * Listening: TCP on the port, then uTP on the same number over UDP (UtpEndpoint.ts), a port it shares with
 * the DHT. uTP binds to `--bind`'s address (the IPv4 one when both are given), else dual stack ("::", or
 * "0.0.0.0" where the machine has no IPv6). A UDP port that cannot be had turns uTP off with a warning:
 * TCP alone still reaches most peers. With `tcp: false` (`--no-tcp`) uTP is the only way, in and out.
 *
 * Dialling, as the issue of this work and libtorrent both have it: uTP first for a peer known to speak it
 * (it dialled us over uTP, whose source port is its listening port; PEX said so with flag 0x04; an earlier
 * uTP connection worked), else TCP first. TCP falls back to uTP when the connection is refused, and marks
 * the address for uTP first next time when the peer closes a TCP connection before sending a byte (a
 * uTP-only libtorrent accepts TCP and closes it at once); MSE's `prefer` dials again after such a close,
 * which then goes over uTP. A uTP attempt that fails forgets what was known and falls back to TCP.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { type Bind, unbound } from "../../domain/BindAddress.js"
import { NetworkError } from "../../domain/Errors.js"
import { format, type PeerAddress } from "../../domain/PeerAddress.js"
import { DatagramNetwork } from "./Datagram.js"
import { type Connection, defaultConnectTimeout, PeerNetwork, type PeerNetworkService } from "./PeerNetwork.js"
import * as TcpNetwork from "./TcpNetwork.js"
import * as UtpEndpoint from "./UtpEndpoint.js"

export interface Transports {
  /** uTP (`--utp`, the default; `--no-utp` turns it off). */
  readonly utp: boolean
  /** TCP (the default; `--no-tcp`: uTP only). */
  readonly tcp: boolean
}

export const bothTransports: Transports = { utp: true, tcp: true }

/** Addresses remembered (known to speak uTP, or to close TCP at once), the oldest forgotten first. */
const maxRemembered = 4096
/** A uTP attempt before TCP, or after a refused TCP: libtorrent's uTP connect timeout. */
const utpFirstTimeout = Duration.seconds(3)

/** A set that forgets its oldest entries past `max`. */
class Remembered {
  private readonly keys = new Set<string>()
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.keys.has(key)
  }
  add(key: string): void {
    this.keys.delete(key)
    this.keys.add(key)
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!)
  }
  delete(key: string): void {
    this.keys.delete(key)
  }
}

/** A TCP connection that reports a close before any byte arrived (a peer that takes TCP and drops it). */
const watched = (connection: Connection, onSilentEnd: () => void): Connection => {
  let heard = false
  return {
    ...connection,
    run: (onChunk) =>
      connection.run((chunk) => {
        heard = true
        onChunk(chunk)
      }).pipe(Effect.ensuring(Effect.sync(() => {
        if (!heard) onSilentEnd()
      })))
  }
}

const shorter = (a: Duration.DurationInput, b: Duration.Duration) => Duration.min(Duration.decode(a), b)

/** TCP and uTP behind one PeerNetwork, over `tcp` and the DatagramNetwork of the context. */
export const make = Effect.fn("PeerTransports.make")(function*(tcp: PeerNetworkService, transports: Transports, bind: Bind) {
  const datagrams = yield* DatagramNetwork
  const endpoints: Array<UtpEndpoint.UtpEndpoint> = []
  const speaksUtp = new Remembered(maxRemembered)
  const dropsTcp = new Remembered(maxRemembered)

  /** uTP on `port`: the host asked for, the bound address, else dual stack (IPv4 only without IPv6). */
  const bindUtp = (port: number, host: string | undefined, accept: (connection: Connection) => Effect.Effect<void>) => {
    const on = (host: string) => UtpEndpoint.make({ port, host, accept }).pipe(Effect.provideService(DatagramNetwork, datagrams))
    const chosen = host ?? bind.ipv4 ?? bind.ipv6
    return chosen !== undefined ? on(chosen) : on("::").pipe(Effect.orElse(() => on("0.0.0.0")))
  }

  const listen: PeerNetworkService["listen"] = (options, onConnection) =>
    Effect.gen(function*() {
      const tcpPort = transports.tcp ? (yield* tcp.listen(options, onConnection)).port : undefined
      if (!transports.utp) return { port: tcpPort ?? options.port }
      const accept = (connection: Connection) => Effect.suspend(() => {
        speaksUtp.add(connection.remote)
        return onConnection(connection)
      })
      const bound = bindUtp(tcpPort ?? options.port, options.host, accept)
      const endpoint = tcpPort === undefined
        ? yield* bound
        : yield* bound.pipe(Effect.catchAll((error) => Effect.as(Effect.logWarning(`uTP off: ${error.message}`), undefined)))
      if (endpoint === undefined) return { port: tcpPort ?? options.port }
      yield* Effect.acquireRelease(Effect.sync(() => endpoints.push(endpoint)), () =>
        Effect.sync(() => {
          const i = endpoints.indexOf(endpoint)
          if (i >= 0) endpoints.splice(i, 1)
        }))
      return { port: tcpPort ?? endpoint.port }
    })

  // Decided when the dial runs, not when its Effect is made: what is known of the peer changes between.
  const connect = (address: PeerAddress, options?: { readonly timeout?: Duration.DurationInput }): Effect.Effect<Connection, NetworkError, Scope.Scope> =>
    Effect.suspend(() => choose(address, options))

  const choose = (address: PeerAddress, options?: { readonly timeout?: Duration.DurationInput }): Effect.Effect<Connection, NetworkError, Scope.Scope> => {
    const key = format(address)
    const timeout = options?.timeout ?? defaultConnectTimeout
    const endpoint = endpoints.find((e) => e.reaches(address))
    const viaUtp = (within: Duration.DurationInput) =>
      endpoint === undefined
        ? Effect.fail(new NetworkError({ reason: "Connect", address: key, detail: "uTP is not listening for this address family" }))
        : endpoint.connect(address, within).pipe(Effect.tap(() => speaksUtp.add(key)))
    if (!transports.tcp) return viaUtp(timeout)
    const viaTcp = tcp.connect(address, options).pipe(Effect.map((connection) => watched(connection, () => dropsTcp.add(key))))
    if (endpoint === undefined) return viaTcp
    if (speaksUtp.has(key) || dropsTcp.has(key)) {
      return viaUtp(shorter(timeout, utpFirstTimeout)).pipe(
        Effect.catchAll(() =>
          Effect.suspend(() => {
            speaksUtp.delete(key)
            dropsTcp.delete(key)
            return viaTcp
          })
        )
      )
    }
    return viaTcp.pipe(
      Effect.catchAll((error) =>
        error.reason === "Connect" ? viaUtp(shorter(timeout, utpFirstTimeout)).pipe(Effect.mapError(() => error)) : Effect.fail(error)
      )
    )
  }

  return PeerNetwork.of({ connect, listen, speaksUtp: (address) => speaksUtp.add(format(address)), transports })
})

/** TCP (bound to `bind`) and uTP as chosen, on the DatagramNetwork provided. */
export const layer = (transports: Transports = bothTransports, bind: Bind = unbound): Layer.Layer<PeerNetwork, never, DatagramNetwork> =>
  Layer.effect(PeerNetwork, Effect.flatMap(TcpNetwork.makeBound(bind), (tcp) => make(tcp, transports, bind)))
