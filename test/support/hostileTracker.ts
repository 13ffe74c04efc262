/**
 * Misbehaving trackers on 127.0.0.1, for checking bt-effect's real tracker clients against them: an HTTP
 * server whose every answer is scripted (node:http), a UDP server whose replies are scripted per datagram
 * (node:dgram), and a driver of virtual time that lets real I/O land between the steps of TestClock.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as dgram from "node:dgram"
import * as http from "node:http"
import type { AnnounceRequest } from "../../src/domain/Announce.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { decodeRequest, encodeResponse, type UdpRequest } from "../../src/protocol/TrackerUdp.js"
import * as Tracker from "../../src/services/tracker/Tracker.js"
import * as NetworkTracker from "../../src/services/tracker/NetworkTracker.js"
import { announceRequest } from "./announces.js"

/** The client of the CLI (src/main.ts): the real Tracker layer on node:http. */
export const realTracker = (options: Tracker.TrackerOptions = {}): Layer.Layer<Tracker.Tracker> =>
  NetworkTracker.layerWith(options).pipe(Layer.provide(NodeHttpClient.layer))

export const announce = (url: string, request: AnnounceRequest) =>
  Effect.flatMap(Tracker.Tracker, (t) => t.announce(url, request))

export const request = (overrides: Partial<AnnounceRequest> = {}): AnnounceRequest =>
  announceRequest(InfoHash.make(new Uint8Array(20).fill(0x42)), "-EF0100-hostiletests", 6881, overrides)

// ---------------------------------------------------------------------------------------------------------
// HTTP

export interface HttpTracker {
  readonly port: number
  /** http://127.0.0.1:P/announce */
  readonly url: string
  /** Request targets (path and query) in the order received. */
  readonly targets: Array<string>
  /** Requests (by index) whose response is still open: neither ended by us nor closed by the client. */
  readonly open: Set<number>
}

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void

/** An HTTP server on 127.0.0.1 answering every request with `handler`; closed (connections cut) with the scope. */
export const httpTracker = (handler: HttpHandler): Effect.Effect<HttpTracker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const targets: Array<string> = []
    const open = new Set<number>()
    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server>((resume) => {
        const server = http.createServer((req, res) => {
          const index = targets.push(req.url ?? "") - 1
          open.add(index)
          res.on("close", () => open.delete(index))
          // A response cut by the client's abort must not surface as an unhandled error here.
          res.on("error", () => {})
          handler(req, res, index)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return { port, url: `http://127.0.0.1:${port}/announce`, targets, open }
  })

/** A 200 response with `body` and its length. */
export const reply = (res: http.ServerResponse, body: Uint8Array | string, headers: http.OutgoingHttpHeaders = {}) => {
  const bytes = typeof body === "string" ? Buffer.from(body, "latin1") : Buffer.from(body)
  res.writeHead(200, { "content-type": "text/plain", "content-length": bytes.length, ...headers })
  res.end(bytes)
}

/** What a streamed response came to: bytes the client took, and whether it cut the response short. */
export interface Streamed {
  bytes: number
  cut: boolean
}

/**
 * Writes `total` bytes of `fill` as fast as the client reads them, chunked (no length announced), and
 * counts them in `streamed`; the response is never ended when `end` is false.
 */
export const stream = (
  res: http.ServerResponse,
  streamed: Streamed,
  options: { readonly total: number; readonly end?: boolean; readonly headers?: http.OutgoingHttpHeaders }
) => {
  res.on("close", () => {
    if (!res.writableFinished) streamed.cut = true
  })
  res.writeHead(200, { "content-type": "text/plain", ...options.headers })
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  const more = () => {
    while (streamed.bytes < options.total && !res.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, options.total - streamed.bytes))
      streamed.bytes += piece.length
      if (!res.write(piece)) return void res.once("drain", more)
    }
    if (options.end !== false) res.end()
  }
  more()
}

// ---------------------------------------------------------------------------------------------------------
// UDP

export interface UdpTracker {
  readonly port: number
  /** udp://127.0.0.1:P/announce */
  readonly url: string
  /** Every request received, decoded (undecodable datagrams are not kept). */
  readonly received: Array<UdpRequest>
}

/** `respond` gets each request and its index and returns the datagrams to send back (none: dropped). */
export type UdpResponder = (req: UdpRequest, index: number) => ReadonlyArray<Uint8Array>

export const udpTracker = (respond: UdpResponder): Effect.Effect<UdpTracker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const received: Array<UdpRequest> = []
    const socket = yield* Effect.acquireRelease(
      Effect.async<dgram.Socket>((resume) => {
        const socket = dgram.createSocket("udp4")
        socket.on("error", () => {})
        socket.on("message", (datagram, from) => {
          const decoded = decodeRequest(datagram)
          if (Either.isLeft(decoded)) return
          received.push(decoded.right)
          for (const out of respond(decoded.right, received.length - 1)) socket.send(out, from.port, from.address)
        })
        socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
      }),
      (socket) => Effect.sync(() => socket.close())
    )
    const port = socket.address().port
    return { port, url: `udp://127.0.0.1:${port}/announce`, received }
  })

/** The connect reply an honest tracker gives (connection id 0x0123456789abcdef). */
export const connected = (req: UdpRequest): Uint8Array =>
  encodeResponse({ _tag: "Connect", transactionId: req.transactionId, connectionId: 0x0123456789abcdefn }, 4)

/** The tags of the requests received ("Connect", "Announce"). */
export const tags = (t: UdpTracker): Array<string> => t.received.map((r) => r._tag)

// ---------------------------------------------------------------------------------------------------------
// Virtual time with real I/O

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

/**
 * Advances TestClock by `total` in steps of `step`. Before each step it waits (real time, at most
 * `maxWaitMs`, default 5 s) until `settled` holds, so that requests the program made on real sockets are
 * answered before virtual time moves on: a step never overtakes I/O in flight unless it is stuck.
 */
export const advance = (
  total: Duration.DurationInput,
  options: {
    readonly step: Duration.DurationInput
    readonly settled: Effect.Effect<boolean>
    readonly maxWaitMs?: number
  }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const stepMs = Duration.toMillis(Duration.decode(options.step))
    const steps = Math.ceil(Duration.toMillis(Duration.decode(total)) / stepMs)
    const waitUntilSettled = Effect.gen(function*() {
      const deadline = Date.now() + (options.maxWaitMs ?? 5000)
      yield* realPause
      while (!(yield* options.settled) && Date.now() < deadline) yield* realPause
    })
    for (let i = 0; i < steps; i++) {
      yield* waitUntilSettled
      yield* TestClock.adjust(stepMs)
    }
    yield* waitUntilSettled
  })

/** Waits (real time, at most `maxMs`) until `check` holds; whether it does. */
export const eventually = (check: (() => boolean) | Effect.Effect<boolean>, maxMs = 5000): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const holds = Effect.isEffect(check) ? check : Effect.sync(check)
    const deadline = Date.now() + maxMs
    while (!(yield* holds) && Date.now() < deadline) yield* realPause
    return yield* holds
  })

/** Whether a fiber sleeps on TestClock until `seconds` of virtual time (a timeout or a delay set). */
export const sleepsUntil = (seconds: number): Effect.Effect<boolean> =>
  Effect.map(TestClock.sleeps(), (wakes) => Array.from(wakes).includes(seconds * 1000))

/** Virtual seconds now. */
export const virtualSeconds = Effect.map(Clock.currentTimeMillis, (ms) => ms / 1000)
