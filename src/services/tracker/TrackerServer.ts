/**
 * bt-effect's own tracker, for a private swarm, a demo or a test: HTTP announce (BEP 3) with compact
 * IPv4 peers (BEP 23) and `peers6` (BEP 7), HTTP scrape (BEP 48), and UDP connect, announce and scrape
 * (BEP 15), both on one port number. The peer table is a SwarmRegistry in memory.
 *
 * HTTP is `node:http` rather than @effect/platform's HttpServer: the announce query carries binary
 * `info_hash` and `peer_id` that must be percent-decoded to bytes by hand, and node gives the raw request
 * target, while the platform's request parses it with URL (UTF-8) first; a tracker needs no routing,
 * bodies or middleware, and a handler here is a synchronous function of the target.
 *
 * Peer addresses are the request's source address. The `ip` parameter (HTTP) or field (UDP) is used only
 * when the request comes from loopback and names a loopback or private address: that lets a local demo
 * announce peers on other local addresses, and nobody elsewhere point the swarm at a third party.
 *
 * An HTTP announce whose peer is on IPv4 may give its IPv6 address as `ipv6=` (BEP 7: "addr", "[addr]" or
 * "[addr]:port", the port by default the announce's): it becomes the peer's second address, handed out to
 * others in `peers6` (SwarmRegistry.ts keeps one per peer). Only a unicast address that others could use
 * is taken (see `secondAddress`); anything else is ignored, and the announce stands.
 *
 * Time comes from the Clock of the context `make` runs in (read synchronously in socket handlers), so a
 * test under TestClock moves the tracker's time too.
 */
import { randomBytes } from "node:crypto"
import * as dgram from "node:dgram"
import * as http from "node:http"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type Bencode, dict, keyFromBytes } from "../../domain/Bencode.js"
import { NetworkError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import { format } from "../../domain/PeerAddress.js"
import { encode } from "../../protocol/Bencode.js"
import { type Family, canonicalHost, formatIPv4, formatIPv6, parseIp, parseIPv6 } from "../../protocol/CompactPeers.js"
import { encodeAnnounceResponse, encodeFailure } from "../../protocol/TrackerHttp.js"
import { decodeAnnounceQuery, decodeScrapeQuery } from "../../protocol/TrackerHttpRequest.js"
import { decodeRequest, encodeResponse, type UdpRequest, type UdpResponse } from "../../protocol/TrackerUdp.js"
import { type SwarmAnnounce, type SwarmPeer, SwarmRegistry } from "./SwarmRegistry.js"

export interface TrackerServerOptions {
  /** HTTP and UDP both listen on this port; 0 picks a free one. */
  readonly port: number
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Seconds between a client's announces, as the tracker asks (default 60: a local tracker). */
  readonly interval?: number
  /** Seconds after its last announce that a peer is dropped (default 2 * interval). */
  readonly peerTtl?: number
}

export interface TrackerServer {
  readonly httpPort: number
  readonly udpPort: number
  /** http://host:P/announce */
  readonly httpUrl: string
  /** udp://host:P */
  readonly udpUrl: string
  /** The addresses of the live peers of a torrent (second IPv6 addresses too), by its hex info hash. */
  readonly peers: (infoHashHex: string) => Effect.Effect<ReadonlyArray<SwarmPeer>>
}

export const limits = {
  maxTorrents: 10_000,
  maxPeersPerTorrent: 10_000,
  defaultNumwant: 50,
  maxNumwant: 200,
  /** Longest HTTP request head (request line and headers), in bytes. */
  maxHeaderBytes: 8 * 1024,
  maxHttpConnections: 1024,
  /** Longer datagrams are no BEP 15 request (an announce is 98 bytes, a full scrape 1496). */
  maxDatagramBytes: 2048,
  connectionIdLifetimeMs: 120_000,
  /** Connection ids remembered at once; the oldest is forgotten first. */
  maxConnectionIds: 100_000
} as const

/** Peers to hand out for a `numwant` (negative: the client leaves it to us). */
const numwant = (n: number): number => (n < 0 ? limits.defaultNumwant : Math.min(n, limits.maxNumwant))

// ---------------------------------------------------------------------------------------------------------
// Addresses

/** An IPv4 client on a dual-stack socket shows as "::ffff:a.b.c.d". */
const unmapped = (host: string): string =>
  host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : canonicalHost(host)

const isLoopback = (host: string): boolean => {
  const ip = parseIp(host)
  if (ip === undefined) return false
  return ip.family === 4 ? ip.bytes[0] === 127 : ip.bytes.every((b, i) => b === (i === 15 ? 1 : 0))
}

const isPrivate = (host: string): boolean => {
  const ip = parseIp(host)
  if (ip === undefined) return false
  const [a = 0, b = 0] = ip.bytes
  return ip.family === 4 ? a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) : (a & 0xfe) === 0xfc
}

/** The address to hand out for a peer: its source, or the address it asks for under the rule above. */
const peerHost = (source: string, asked: string | undefined): string =>
  asked !== undefined && isLoopback(source) && (isLoopback(asked) || isPrivate(asked)) ? unmapped(asked) : source

/** An IPv6 address that other peers could connect to: not unspecified, loopback (unless `loopbackOk`),
 *  IPv4-mapped or -compatible (an IPv4 address in disguise, which the `ip` rule did not check), multicast
 *  or link-local (meaningless without the peer's interface). */
const usableIPv6 = (b: Uint8Array, loopbackOk: boolean): boolean => {
  const zeros = (n: number) => b.subarray(0, n).every((x) => x === 0)
  if (zeros(15) && b[15] === 1) return loopbackOk
  if (zeros(12) || (zeros(10) && b[10] === 0xff && b[11] === 0xff)) return false
  return b[0] !== 0xff && !(b[0] === 0xfe && (b[1]! & 0xc0) === 0x80)
}

/**
 * The second address of a peer at `host` from BEP 7's `ipv6=` ("addr", "[addr]" or "[addr]:port"; the port
 * defaults to the announce's `port`): only for a peer on IPv4 (one on IPv6 is reachable where it is), and
 * only a usable IPv6 address (loopback only from a loopback client). Undefined otherwise.
 */
const secondAddress = (source: string, host: string, given: string | undefined, port: number) => {
  if (given === undefined || parseIp(host)?.family !== 4) return undefined
  const bracketed = /^\[([^\]]*)\](?::([0-9]{1,5}))?$/.exec(given)
  const at = bracketed?.[2] === undefined ? port : Number(bracketed[2])
  const bytes = parseIPv6(bracketed === null ? given : bracketed[1]!)
  if (bytes === undefined || at < 1 || at > 65535 || !usableIPv6(bytes, isLoopback(source))) return undefined
  return { host: formatIPv6(bytes), port: at }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers

interface Handlers {
  readonly http: (method: string, target: string, source: string) => { readonly status: number; readonly body: Uint8Array }
  readonly udp: (datagram: Uint8Array, source: string) => UdpResponse | undefined
  readonly sweep: () => void
}

const notFound = { status: 404, body: new TextEncoder().encode("not found\n") }

const makeHandlers = (registry: SwarmRegistry, interval: number, now: () => number): Handlers => {
  const announce = (infoHash: Uint8Array, a: Omit<SwarmAnnounce, "infoHash">) =>
    registry.announce({ infoHash: toHex(infoHash), ...a }, now())

  const httpAnnounce = (query: string, source: string): Uint8Array =>
    Either.match(decodeAnnounceQuery(query), {
      onLeft: (e) => encodeFailure(e.detail),
      onRight: (a) => {
        const host = peerHost(source, a.ip)
        const ipv6 = secondAddress(source, host, a.ipv6, a.port)
        return Either.match(announce(a.infoHash, {
          peerId: a.peerId,
          host,
          port: a.port,
          left: a.left,
          event: a.event,
          numwant: numwant(a.numwant),
          ...(ipv6 === undefined ? {} : { ipv6 })
        }), {
          onLeft: encodeFailure,
          onRight: (r) => encodeAnnounceResponse({ interval, ...r }, { compact: a.compact })
        })
      }
    })

  const httpScrape = (query: string): Uint8Array =>
    Either.match(decodeScrapeQuery(query), {
      onLeft: (e) => encodeFailure(e.detail),
      onRight: (hashes) => {
        const files = hashes.map((h): readonly [string, Bencode] => {
          const s = registry.scrape(toHex(h), now())
          return [keyFromBytes(h), dict([["complete", s.complete], ["downloaded", s.downloaded], ["incomplete", s.incomplete]])]
        })
        return encode(dict([["files", dict(files)]]))
      }
    })

  // Connection id -> the source IP it was given to and when it stops being valid (BEP 15 ties it to the IP).
  const connections = new Map<bigint, { readonly host: string; readonly expiresAt: number }>()

  const connected = (id: bigint, host: string): boolean => {
    const c = connections.get(id)
    return c !== undefined && c.host === host && c.expiresAt > now()
  }

  const udp = (datagram: Uint8Array, source: string): UdpResponse | undefined => {
    if (datagram.length > limits.maxDatagramBytes) return undefined
    const decoded = decodeRequest(datagram)
    if (Either.isLeft(decoded)) return undefined
    const req: UdpRequest = decoded.right
    const transactionId = req.transactionId
    if (req._tag === "Connect") {
      if (connections.size >= limits.maxConnectionIds) {
        const oldest = connections.keys().next()
        if (oldest.done !== true) connections.delete(oldest.value)
      }
      const connectionId = randomBytes(8).readBigUInt64BE()
      connections.set(connectionId, { host: source, expiresAt: now() + limits.connectionIdLifetimeMs })
      return { _tag: "Connect", transactionId, connectionId }
    }
    if (!connected(req.connectionId, source)) return { _tag: "Error", transactionId, message: "invalid connection id" }
    if (req._tag === "Scrape") {
      return { _tag: "Scrape", transactionId, files: req.infoHashes.map((h) => registry.scrape(toHex(h), now())) }
    }
    if (req.port === 0) return { _tag: "Error", transactionId, message: "port 0 is not 1-65535" }
    const asked = req.ip === 0 ? undefined : formatIPv4(new Uint8Array([req.ip >>> 24, req.ip >>> 16, req.ip >>> 8, req.ip]))
    const result = announce(req.infoHash, {
      peerId: req.peerId,
      host: peerHost(source, asked),
      port: req.port,
      left: Number(req.left),
      event: req.event,
      numwant: numwant(req.numWant)
    })
    return Either.match(result, {
      onLeft: (message): UdpResponse => ({ _tag: "Error", transactionId, message }),
      onRight: (r): UdpResponse => ({
        _tag: "Announce",
        transactionId,
        interval,
        leechers: r.incomplete,
        seeders: r.complete,
        peers: r.peers
      })
    })
  }

  const http = (method: string, target: string, source: string) => {
    const q = target.indexOf("?")
    const path = q < 0 ? target : target.slice(0, q)
    const query = q < 0 ? "" : target.slice(q + 1)
    if (method !== "GET") return notFound
    if (path === "/announce") return { status: 200, body: httpAnnounce(query, source) }
    if (path === "/scrape") return { status: 200, body: httpScrape(query) }
    return notFound
  }

  const sweep = () => {
    const t = now()
    registry.sweep(t)
    for (const [id, c] of connections) if (c.expiresAt <= t) connections.delete(id)
  }

  return { http, udp, sweep }
}

// ---------------------------------------------------------------------------------------------------------
// Sockets

const errorCode = (e: unknown): string | undefined => {
  const code = e instanceof Error ? Reflect.get(e, "code") : undefined
  return typeof code === "string" ? code : undefined
}

const listenError = (address: string, e: unknown): NetworkError =>
  new NetworkError({
    reason: "Listen",
    address,
    detail: errorCode(e) === "EADDRINUSE" ? "address already in use" : `cannot listen: ${e instanceof Error ? e.message : String(e)}`
  })

const listenHttp = (host: string, port: number, handle: Handlers["http"]) =>
  Effect.async<http.Server, NetworkError>((resume) => {
    const server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 10_000 }, (req, res) => {
      req.resume() // a body is never read; drained so that the connection can be reused
      const source = req.socket.remoteAddress
      if (source === undefined) return void res.destroy() // the client is already gone
      let reply: { readonly status: number; readonly body: Uint8Array }
      try {
        reply = handle(req.method ?? "", req.url ?? "", unmapped(source))
      } catch {
        // A bug here must cost one request, not the process (this runs outside any fiber).
        reply = { status: 500, body: new Uint8Array(0) }
      }
      res.writeHead(reply.status, { "content-type": "text/plain", "content-length": reply.body.length })
      res.end(reply.body)
    })
    server.keepAliveTimeout = 5_000
    server.maxConnections = limits.maxHttpConnections
    const onError = (e: Error) => resume(Effect.fail(listenError(format({ host, port }), e)))
    server.once("error", onError)
    server.listen({ host, port }, () => {
      server.off("error", onError)
      server.on("error", () => {})
      resume(Effect.succeed(server))
    })
  })

const closeHttp = (server: http.Server) =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

const listenUdp = (host: string, family: Family, port: number, handle: Handlers["udp"]) =>
  Effect.async<dgram.Socket, NetworkError>((resume) => {
    const socket = dgram.createSocket(family === 4 ? "udp4" : "udp6")
    const onError = (e: Error) => {
      socket.close()
      resume(Effect.fail(listenError(format({ host, port }), e)))
    }
    socket.once("error", onError)
    socket.on("message", (datagram, remote) => {
      let reply: UdpResponse | undefined
      try {
        reply = handle(datagram, unmapped(remote.address))
      } catch {
        reply = undefined // as for HTTP: one lost request rather than a crashed process
      }
      if (reply !== undefined) socket.send(encodeResponse(reply, family), remote.port, remote.address)
    })
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off("error", onError)
      socket.on("error", () => {}) // send errors (unreachable client) are not ours to handle
      resume(Effect.succeed(socket))
    })
  })

const closeUdp = (socket: dgram.Socket) =>
  Effect.async<void>((resume) => {
    socket.close(() => resume(Effect.void))
  })

const portOf = (server: http.Server): number => {
  const a = server.address()
  return typeof a === "object" && a !== null ? a.port : 0
}

/** HTTP then UDP on its port number; with port 0, a new HTTP port when that UDP port is taken. */
const listenBoth = (host: string, port: number, handlers: Handlers) =>
  Effect.gen(function*() {
    const family: Family = parseIp(host)?.family ?? 4
    for (let attempt = 1; ; attempt++) {
      const server = yield* listenHttp(host, port, handlers.http)
      const socket = yield* Effect.either(listenUdp(host, family, portOf(server), handlers.udp))
      if (Either.isRight(socket)) return { server, socket: socket.right }
      yield* closeHttp(server)
      if (port !== 0 || attempt >= 5) return yield* Effect.fail(socket.left)
    }
  })

// ---------------------------------------------------------------------------------------------------------
// The server

/** Starts the tracker; it stops when the scope closes. */
export const make = (options: TrackerServerOptions): Effect.Effect<TrackerServer, NetworkError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const interval = options.interval ?? 60
    const ttlMs = (options.peerTtl ?? 2 * interval) * 1000
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const registry = new SwarmRegistry({
      ttlMs,
      maxTorrents: limits.maxTorrents,
      maxPeersPerTorrent: limits.maxPeersPerTorrent
    })
    const handlers = makeHandlers(registry, interval, now)
    const { server, socket } = yield* Effect.acquireRelease(
      listenBoth(host, options.port, handlers),
      ({ server, socket }) => Effect.zipRight(closeUdp(socket), closeHttp(server))
    )
    yield* Effect.forkScoped(
      Effect.repeat(Effect.sync(handlers.sweep), Schedule.spaced(Duration.millis(Math.max(1_000, ttlMs / 2))))
    )
    const port = portOf(server)
    const where = format({ host, port })
    return {
      httpPort: port,
      udpPort: socket.address().port,
      httpUrl: `http://${where}/announce`,
      udpUrl: `udp://${where}`,
      peers: (infoHashHex: string) => Effect.sync(() => registry.peers(infoHashHex.toLowerCase(), now()))
    }
  })

/** The `tracker` command: serves until interrupted, after one line with its URLs on stdout. */
export const run = (options: TrackerServerOptions): Effect.Effect<never, NetworkError> =>
  Effect.scoped(
    Effect.flatMap(make(options), (server) =>
      Effect.zipRight(Console.log(`tracker: ${server.httpUrl} ${server.udpUrl}`), Effect.never))
  )
