/**
 * uTP (BEP 29) on one UDP socket: the connections of utp/UtpSockets driven by the datagrams that arrive
 * and by a timer, each one a peer `Connection` (UtpLink.ts). The socket is the peer port's number, shared
 * with the DHT (SharedDatagram.ts: uTP takes the datagrams whose first byte opens a uTP header).
 *
 * Everything per packet is synchronous, as on TCP's read path: a datagram is routed to its connection,
 * whose bytes go to the reader and whose answers go out, in the socket's own callback; no fiber and no
 * Effect per packet. The timer (retransmissions, the LEDBAT clock, connections given up or lingering)
 * ticks every `tickMs` while any connection exists, and not at all otherwise: an idle daemon pays
 * nothing for uTP. Time is Effect's Clock, so the in-memory network runs it under TestClock.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { NetworkError } from "../../domain/Errors.js"
import { format, parseHostPort, type PeerAddress } from "../../domain/PeerAddress.js"
import { headerSize, looksLikeUtp } from "../../protocol/UtpPacket.js"
import type { UtpOptions } from "../utp/UtpConnection.js"
import { type Datagram, UtpSockets } from "../utp/UtpSockets.js"
import { DatagramNetwork, type DatagramSocket, type Endpoint } from "./Datagram.js"
import type { Connection } from "./PeerNetwork.js"
import { type LinkIo, UtpLink } from "./UtpLink.js"

export interface UtpEndpoint {
  readonly port: number
  /** The host the socket is bound to ("::" is both families). */
  readonly host: string
  /** Whether the socket can send to this address's family. */
  readonly reaches: (address: PeerAddress) => boolean
  /** An outbound uTP connection, once the peer has answered; fails with Connect (reset) or Timeout. */
  readonly connect: (address: PeerAddress, timeout: Duration.DurationInput) => Effect.Effect<Connection, NetworkError, Scope.Scope>
  /** Connections open now (for tests and logs). */
  readonly connections: () => number
}

export interface UtpEndpointOptions {
  readonly port: number
  readonly host: string
  /** Runs every inbound connection (closed when it ends); without it, SYNs are answered with RESET. */
  readonly accept?: (connection: Connection) => Effect.Effect<void>
  readonly maxConnections?: number
  readonly utp?: UtpOptions
  /** Between timer ticks while connections exist (default 100 ms; the retransmission timer is 500 ms at least). */
  readonly tickMs?: number
}

/** The UDP socket's receive buffer: a window's burst of 1400-byte packets (slow start sends hundreds at
 *  once on loopback) without drops; the kernel caps it at net.core.rmem_max. */
export const socketReceiveBuffer = 4 * 1024 * 1024

/** A datagram for uTP: a header's worth of bytes, a first byte of a uTP header (the DHT's start with "d"). */
export const isUtpDatagram = (bytes: Uint8Array): boolean => bytes.length >= headerSize && looksLikeUtp(bytes[0]!)

/**
 * The ACKs owed go out once the datagrams that arrived together are handled (after Node's poll phase):
 * one ACK for a burst rather than one per packet, half the datagrams a download sends.
 */
const ackBatch = (now: () => number) => {
  const owed = new Set<UtpLink>()
  let scheduled = false
  const send = () => {
    scheduled = false
    const t = now()
    for (const link of owed) {
      link.utp.flushAck(t)
      link.service()
    }
    owed.clear()
  }
  return (link: UtpLink) => {
    owed.add(link)
    if (!scheduled) {
      scheduled = true
      setImmediate(send)
    }
  }
}

/** An outbound connection on `sockets`, once the peer answers within `timeout`. */
const dial = (
  sockets: UtpSockets,
  adopt: (link: UtpLink) => void,
  io: LinkIo,
  address: PeerAddress,
  timeout: Duration.DurationInput
) =>
  Effect.gen(function*() {
    const remote = format(address)
    const link = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const link = new UtpLink(sockets.dial(remote, io.now()), { host: address.host, port: address.port }, io)
        adopt(link)
        link.service()
        return link
      }),
      (link) => link.connection.close
    )
    yield* link.whenConnected.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new NetworkError({ reason: "Timeout", address: remote, detail: `no uTP answer within ${Duration.format(timeout)}` })
      }),
      // A dial that failed lets its connection go now, not when the caller's scope closes.
      Effect.onError(() => link.connection.close)
    )
    return link.connection
  })

export const make = Effect.fn("UtpEndpoint.make")(function*(options: UtpEndpointOptions) {
  const clock = yield* Effect.clock
  const now = () => clock.unsafeCurrentTimeMillis()
  const runFork = yield* FiberSet.makeRuntime<never, void, never>()
  const sockets = new UtpSockets({
    deferAcks: true,
    ...options.utp,
    accepting: options.accept !== undefined,
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {})
  })
  const links = new Map<object, UtpLink>()
  const work = yield* Queue.sliding<void>(1)
  let socket: DatagramSocket | undefined

  const post = (to: Endpoint, bytes: Uint8Array) => socket?.post(to, bytes)
  const io: LinkIo = { now, post }

  /** RESETs go to addresses that may have no link: their key is parsed back. */
  const sendResets = (resets: ReadonlyArray<Datagram>) => {
    for (const reset of resets) {
      const to = parseHostPort(reset.remote)
      if (to !== undefined) post(to, reset.bytes)
    }
  }

  const oweAck = ackBatch(now)

  const adopt = (link: UtpLink) => {
    links.set(link.utp, link)
    work.unsafeOffer(undefined)
  }

  const onDatagram = (bytes: Uint8Array, from: Endpoint) => {
    const routed = sockets.receive(format(from), bytes, now())
    switch (routed._tag) {
      case "Refused":
        return sendResets(sockets.takeResets())
      case "Accepted": {
        const link = new UtpLink(routed.connection, from, io)
        adopt(link)
        link.service()
        const accept = options.accept
        if (accept !== undefined) {
          runFork(
            accept(link.connection).pipe(
              Effect.ensuring(link.connection.close),
              Effect.catchAllDefect((defect) => Effect.logError(`uTP: handler for ${link.remote} died`, defect))
            )
          )
        }
        return
      }
      case "Delivered": {
        const link = links.get(routed.connection)
        // A connection nobody holds any more, lingering to acknowledge a FIN sent again: it answers itself.
        if (link === undefined) {
          routed.connection.flushAck(now())
          for (const bytes of routed.connection.takePackets()) post(from, bytes)
          return
        }
        link.service()
        return oweAck(link)
      }
    }
  }

  socket = yield* (yield* DatagramNetwork).bind(
    { port: options.port, host: options.host, accepts: isUtpDatagram, receiveBufferBytes: socketReceiveBuffer },
    onDatagram
  )

  const tick = () => {
    sockets.tick(now())
    for (const link of links.values()) {
      link.service()
      // Its entry in `sockets` may linger to answer a FIN sent again; the link is no one's any more.
      if (link.done) links.delete(link.utp)
    }
    // The RESETs, and what lingering connections (no link any more) have to say.
    sendResets(sockets.takeDatagrams())
  }
  const tickEvery = Duration.millis(options.tickMs ?? 100)
  // Ticks while any connection exists; waits for one otherwise.
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.suspend(() =>
        links.size === 0 && sockets.size() === 0
          ? Queue.take(work)
          : Effect.zipRight(Effect.sleep(tickEvery), Effect.sync(tick))
      )
    )
  )
  // Closed with the scope: every connection reset, so that peers learn it now rather than by timeouts.
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const link of links.values()) {
        link.utp.abort(now())
        link.service()
      }
      links.clear()
    })
  )

  const host = options.host
  const reaches = (address: PeerAddress) => host === "::" || address.host.includes(":") === host.includes(":")

  const connect = (address: PeerAddress, timeout: Duration.DurationInput) =>
    reaches(address)
      ? dial(sockets, adopt, io, address, timeout)
      : Effect.fail(new NetworkError({ reason: "Connect", address: format(address), detail: `uTP on ${host} cannot reach this address family` }))

  const endpoint: UtpEndpoint = { port: socket.port, host, reaches, connect, connections: () => links.size }
  return endpoint
})
