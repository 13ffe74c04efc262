/**
 * The datagram port: one bound UDP socket that sends datagrams and hands every datagram it receives to a
 * handler, over `node:dgram` (UdpDatagram.ts) or an in-process medium under Effect's Clock (MemoryDatagram.ts). The DHT is its user.
 *
 * The handler is called synchronously from the socket's event (no fiber per datagram): a datagram is
 * small and its handling starts with a pure decode, so the user decides what deserves a fiber. UDP is lossy
 * anyway, so a send that fails (unreachable, socket closed) is logged at debug level and forgotten.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../domain/Errors.js"

export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface DatagramSocket {
  readonly port: number
  /** Sends one datagram; failures (unreachable, closed) are swallowed and logged at debug: UDP is lossy anyway. */
  readonly send: (to: Endpoint, bytes: Uint8Array) => Effect.Effect<void>
  /** Sends one datagram at once, from plain code, and forgets it (uTP sends a packet per call, many a
   *  millisecond: no Effect per packet). `bytes` may be reused once it returns. */
  readonly post: (to: Endpoint, bytes: Uint8Array) => void
}

export interface DatagramNetworkService {
  /** Binds host:port (host default: --bind's address, else "0.0.0.0"; port 0 picks one); `onMessage` is
   *  called synchronously per datagram, until the scope closes. Fails with NetworkError "Listen" (say why,
   *  e.g. port in use).
   *
   *  Two users may share one port (SharedDatagram.ts): uTP and the DHT on the peer port, as every client
   *  does. The one that gives `accepts` gets the datagrams it accepts, the other the rest. */
  readonly bind: (
    options: {
      readonly port: number
      readonly host?: string
      readonly accepts?: (bytes: Uint8Array) => boolean
      /** The socket's receive buffer (the kernel caps it at net.core.rmem_max): uTP asks for room for a
       *  burst of its datagrams, which a full buffer would drop. Absent: the system's default. */
      readonly receiveBufferBytes?: number
    },
    onMessage: (bytes: Uint8Array, from: Endpoint) => void
  ) => Effect.Effect<DatagramSocket, NetworkError, Scope.Scope>
}

export class DatagramNetwork extends Context.Tag("bt-effect/DatagramNetwork")<DatagramNetwork, DatagramNetworkService>() {}
