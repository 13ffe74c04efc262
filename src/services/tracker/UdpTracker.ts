/**
 * Announcing to a UDP tracker (BEP 15): connect for a connection id, then announce with it, each exchange
 * retransmitted on a doubling timeout.
 *
 * One socket per address family serves every tracker; replies are routed to the waiting exchange by
 * transaction id, synchronously in the socket's message handler. Anything that is not the awaited reply
 * (short, malformed, unknown transaction, wrong action) is dropped and the exchange keeps waiting.
 */
import * as dgram from "node:dgram"
import * as dns from "node:dns"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type { AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import { type Bind, isBound } from "../../domain/BindAddress.js"
import { TrackerError } from "../../domain/Errors.js"
import type { Family } from "../../protocol/CompactPeers.js"
import { displayText } from "../../protocol/TrackerHttp.js"
import {
  decodeResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  fromAnnounceRequest,
  toAnnounceResponse,
  type UdpResponse
} from "../../protocol/TrackerUdp.js"

export interface UdpTrackerOptions {
  /** The first retransmission timeout; the n-th waits `initialTimeout * 2^n`. */
  readonly initialTimeout: Duration.DurationInput
  /** Retransmissions after the first send before the exchange fails with "Timeout". */
  readonly maxRetries: number
  /** `--bind`: the socket of each family takes the bound address of that family; a family not bound is
   *  not used (a name is resolved in a bound family). */
  readonly bind?: Bind
}

export type Announce = (url: string, request: AnnounceRequest) => Effect.Effect<AnnounceResponse, TrackerError>

/** How long a connection id may be used (BEP 15). */
const connectionIdLifetimeMs = 60_000

interface Endpoint {
  /** The tracker as the URL names it ("host:port"), the key of the connection id cache. */
  readonly key: string
  readonly address: string
  readonly port: number
  readonly family: Family
}

interface Waiter {
  readonly expect: "Connect" | "Announce"
  readonly reply: Deferred.Deferred<UdpResponse>
}

interface Transport {
  readonly socket: dgram.Socket
  readonly family: Family
  readonly waiting: Map<number, Waiter>
}

const failure = (reason: TrackerError["reason"], url: string, detail: string) =>
  new TrackerError({ reason, url, detail })

/** Host and port of a `udp://host:port/...` URL; IPv6 literals lose their brackets. */
const parseUrl = (url: string): Either.Either<{ readonly host: string; readonly port: number }, TrackerError> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left(failure("Unsupported", url, "not a valid URL"))
  }
  const port = Number(parsed.port)
  if (parsed.port === "" || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Either.left(failure("Unsupported", url, "a UDP tracker URL needs a port"))
  }
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname
  if (host === "") return Either.left(failure("Unsupported", url, "no host in the URL"))
  return Either.right({ host, port })
}

const resolve = (url: string, only: Family | undefined): Effect.Effect<Endpoint, TrackerError> =>
  Effect.flatMap(parseUrl(url), ({ host, port }) =>
    Effect.async<Endpoint, TrackerError>((resume) => {
      dns.lookup(host, { verbatim: true, family: only ?? 0 }, (err, address, family) => {
        if (err !== null) resume(Effect.fail(failure("Unreachable", url, `cannot resolve ${host}: ${err.code ?? err.message}`)))
        else resume(Effect.succeed({ key: `${host}:${port}`, address, port, family: family === 6 ? 6 : 4 }))
      })
    }))

/** Hands a datagram to the exchange waiting for it, if any. Runs in the socket's event handler. */
const route = (transport: Transport, datagram: Uint8Array): void => {
  const decoded = decodeResponse(datagram, transport.family)
  if (Either.isLeft(decoded)) return
  const reply = decoded.right
  const waiter = transport.waiting.get(reply.transactionId)
  if (waiter === undefined || (reply._tag !== waiter.expect && reply._tag !== "Error")) return
  transport.waiting.delete(reply.transactionId)
  Deferred.unsafeDone(waiter.reply, Exit.succeed(reply))
}

const open = (family: Family, url: string, local: string | undefined): Effect.Effect<Transport, TrackerError> =>
  Effect.async<Transport, TrackerError>((resume) => {
    const socket = dgram.createSocket(family === 4 ? "udp4" : "udp6")
    const transport: Transport = { socket, family, waiting: new Map() }
    const onBindError = (err: Error) => {
      socket.close()
      resume(Effect.fail(failure("Unreachable", url, `cannot open a UDP socket: ${err.message}`)))
    }
    socket.once("error", onBindError)
    socket.on("message", (datagram) => route(transport, datagram))
    socket.bind({ port: 0, ...(local !== undefined ? { address: local } : {}) }, () => {
      socket.off("error", onBindError)
      // Send failures are reported to the send callback; without a listener an 'error' would crash us.
      socket.on("error", () => {})
      resume(Effect.succeed(transport))
    })
  })

const send = (transport: Transport, endpoint: Endpoint, url: string, packet: Uint8Array) =>
  Effect.async<void, TrackerError>((resume) => {
    transport.socket.send(packet, endpoint.port, endpoint.address, (err) => {
      resume(err === null ? Effect.void : Effect.fail(failure("Unreachable", url, `cannot send: ${err.message}`)))
    })
  })

/** The UDP announce function; its sockets are opened on first use and closed with the scope. */
export const make = (options: UdpTrackerOptions): Effect.Effect<Announce, never, Scope.Scope> =>
  Effect.gen(function*() {
    const initialMs = Duration.toMillis(Duration.decode(options.initialTimeout))
    const bind = options.bind ?? {}
    // Bound to one family only: trackers are resolved in it (one bound to both: either will do).
    const only: Family | undefined = bind.ipv4 === undefined ? (bind.ipv6 === undefined ? undefined : 6) : bind.ipv6 === undefined ? 4 : undefined
    const transports = new Map<Family, Transport>()
    const connectionIds = new Map<string, { readonly id: bigint; readonly at: number }>()
    const opening = yield* Effect.makeSemaphore(1)
    let closed = false

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const t of transports.values()) t.socket.close()
        transports.clear()
      })
    )

    const transport = (family: Family, url: string) =>
      opening.withPermits(1)(Effect.suspend(() => {
        const existing = transports.get(family)
        if (existing !== undefined) return Effect.succeed(existing)
        if (closed) return Effect.fail(failure("Unreachable", url, "the tracker client is closed"))
        const local = family === 4 ? bind.ipv4 : bind.ipv6
        if (isBound(bind) && local === undefined) return Effect.fail(failure("Unreachable", url, `no IPv${family} address bound (--bind)`))
        return Effect.tap(open(family, url, local), (t) => Effect.sync(() => transports.set(family, t)))
      }))

    /**
     * Sends `packet(transactionId)` and waits for the reply, retransmitting on a doubling timeout. The
     * packet is rebuilt for each retransmission (an announce may need a fresh connection id by then).
     */
    const exchange = (
      t: Transport,
      endpoint: Endpoint,
      url: string,
      expect: Waiter["expect"],
      packet: (transactionId: number) => Effect.Effect<Uint8Array, TrackerError>
    ): Effect.Effect<UdpResponse, TrackerError> =>
      Effect.gen(function*() {
        let transactionId = yield* Random.nextIntBetween(0, 0x1_0000_0000)
        while (t.waiting.has(transactionId)) transactionId = (transactionId + 1) >>> 0
        const reply = yield* Deferred.make<UdpResponse>()
        t.waiting.set(transactionId, { expect, reply })
        return yield* Effect.gen(function*() {
          for (let n = 0; n <= options.maxRetries; n++) {
            yield* send(t, endpoint, url, yield* packet(transactionId))
            const answer = yield* Effect.timeoutOption(Deferred.await(reply), Duration.millis(initialMs * 2 ** n))
            if (Option.isSome(answer)) return answer.value
          }
          const waited = initialMs * (2 ** (options.maxRetries + 1) - 1)
          return yield* failure("Timeout", url, `no answer within ${Duration.format(Duration.millis(waited))}`)
        }).pipe(Effect.ensuring(Effect.sync(() => t.waiting.delete(transactionId))))
      })

    const connectionId = (t: Transport, endpoint: Endpoint, url: string): Effect.Effect<bigint, TrackerError> =>
      Effect.gen(function*() {
        const cached = connectionIds.get(endpoint.key)
        if (cached !== undefined && (yield* Clock.currentTimeMillis) - cached.at < connectionIdLifetimeMs) {
          return cached.id
        }
        const reply = yield* exchange(t, endpoint, url, "Connect", (transactionId) =>
          Effect.succeed(encodeConnectRequest({ transactionId })))
        if (reply._tag !== "Connect") return yield* rejected(reply, url)
        connectionIds.set(endpoint.key, { id: reply.connectionId, at: yield* Clock.currentTimeMillis })
        return reply.connectionId
      })

    const rejected = (reply: UdpResponse, url: string): Effect.Effect<never, TrackerError> => {
      if (reply._tag !== "Error") return Effect.fail(failure("Malformed", url, `unexpected ${reply._tag} reply`))
      // The tracker's text is not trusted to be printable.
      const message = displayText(reply.message)
      return Effect.fail(failure("Failure", url, message === "" ? "an error without a message" : message))
    }

    return (url, request) =>
      Effect.gen(function*() {
        const endpoint = yield* resolve(url, only)
        const t = yield* transport(endpoint.family, url)
        const reply = yield* exchange(t, endpoint, url, "Announce", (transactionId) =>
          Effect.map(connectionId(t, endpoint, url), (id) =>
            encodeAnnounceRequest(fromAnnounceRequest(request, id, transactionId))))
        if (reply._tag === "Announce") return toAnnounceResponse(reply)
        // An error may mean the connection id is no longer accepted: get a new one next time.
        connectionIds.delete(endpoint.key)
        return yield* rejected(reply, url)
      })
  })
