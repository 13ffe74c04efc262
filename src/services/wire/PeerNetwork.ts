/**
 * The peer network port: byte-stream connections to and from peers, over TCP (TcpNetwork.ts) or over an
 * in-process medium for whole swarms in one test (MemoryNetwork.ts).
 *
 * The TCP layer wraps `node:net` directly rather than `@effect/platform` `Socket` / `NodeSocketServer`,
 * because that abstraction does not fit a peer connection:
 * - `NodeSocket.makeNet` opens the socket lazily inside `run`, so `connect` could not fail with Connect or
 *   Timeout before handing out a connection, and writes wait until a reader runs;
 * - its net.Socket is reachable only from effects forked by the handler, so writes cannot be corked
 *   (one `write` per chunk, each through a latch) and every chunk pays an Effect round trip;
 * - a peer that closes cleanly ends `run` with a `SocketCloseError` rather than success.
 * Here `run` calls its handler synchronously as bytes arrive (no copy, no fiber per chunk), and `write`
 * corks the chunks of one call into a single writev. Outbound sockets read into one buffer of their own
 * (Node's `onread`) instead of a fresh 64 KiB allocation per read: on a download that is most of the
 * garbage, and fresh memory costs page faults.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../domain/Errors.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"

export interface Connection {
  /** The other end, as "host:port" (PeerAddress.format) and as a value. */
  readonly remote: string
  readonly address: PeerAddress
  /** Every byte goes through RC4 (MSE, MseConnection.ts); absent on a plaintext connection. */
  readonly encrypted?: boolean
  /** Over uTP (UtpLink.ts); absent: TCP, or the in-memory network's stream. */
  readonly transport?: "utp"
  /** Runs until the connection ends (success when the other side closes cleanly), calling `onChunk`
   *  synchronously, in order, for every chunk received. A chunk is valid only during the call: the
   *  transport may read the next bytes into the same memory, so copy what must outlive it. */
  readonly run: (onChunk: (chunk: Uint8Array) => void) => Effect.Effect<void, NetworkError>
  /** Writes the chunks in order (corked together on TCP, no concatenation); completes when the
   *  transport has taken them (this is the backpressure). Fails with Closed after close. */
  readonly write: (chunks: ReadonlyArray<Uint8Array>) => Effect.Effect<void, NetworkError>
  /** Closes the connection (idempotent). Also done when the scope that made it closes. */
  readonly close: Effect.Effect<void>
}

export interface PeerNetworkService {
  /** An outbound connection; fails with Connect or Timeout. */
  readonly connect: (
    address: PeerAddress,
    options?: { readonly timeout?: Duration.DurationInput }
  ) => Effect.Effect<Connection, NetworkError, Scope.Scope>
  /** Listens on host:port (no host: the bound addresses, else every address, IPv6 too where the machine
   *  has it; port 0 picks one) and runs `onConnection` in its own
   *  fiber for every inbound connection (closed when the handler ends), until the scope closes.
   *  Returns the bound port. Fails with Listen (e.g. port in use: say so in the detail). */
  readonly listen: (
    options: { readonly port: number; readonly host?: string },
    onConnection: (connection: Connection) => Effect.Effect<void>
  ) => Effect.Effect<{ readonly port: number }, NetworkError, Scope.Scope>
  /** A peer said to speak uTP (PEX flag 0x04): dialled over uTP first (PeerTransports.ts); absent where
   *  there is no uTP. */
  readonly speaksUtp?: (address: PeerAddress) => void
  /** The transports this network speaks (PeerTransports.ts); absent: TCP, or the in-memory stream. */
  readonly transports?: { readonly utp: boolean; readonly tcp: boolean }
}

export class PeerNetwork extends Context.Tag("bt-effect/PeerNetwork")<PeerNetwork, PeerNetworkService>() {}

/** The default bound on opening an outbound TCP connection. */
export const defaultConnectTimeout: Duration.Duration = Duration.seconds(10)
