/**
 * The Transmission RPC over HTTP (POST /transmission/rpc), and the web interface's files beside it.
 *
 * Every request passes, in Transmission's order: the Host check (against DNS rebinding: a page on
 * evil.example whose name is made to resolve to 127.0.0.1 must not drive the daemon; 421), then Basic
 * authentication when configured (401), then, for the RPC, the CSRF token: a request without this run's
 * X-Transmission-Session-Id gets 409 with the id in that header, and clients resend with it. Bodies are
 * limited to a 32 MiB .torrent in base64 (413), and to two such at once across requests (503).
 * Behind the same checks, `/stream/<info hash>/<file number>` serves a running torrent's file to a player
 * (stream/StreamServer: ranges, bytes only once verified). Routes handed in by the daemon (`routes`: the
 * qBittorrent API, /metrics) are served after the Host check, behind the Basic authentication or, when the
 * route has its own (the qBittorrent API's session cookie), without it; their bodies are read within the same
 * limits.
 *
 * `node:http` rather than @effect/platform's HttpServer: the 409/421/401 answers need exact headers and
 * bodies and nothing else, and a request is one body to one handler. Handlers run as Effects against
 * SessionControl on a FiberSet runtime, so that closing the scope interrupts the requests in flight.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as http from "node:http"
import { isIPv4, isIPv6 } from "node:net"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import { NetworkError } from "../../domain/Errors.js"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import * as NodeServer from "../http/NodeServer.js"
import { serveFile } from "../stream/StreamServer.js"
import { makeHandler } from "./RpcMethods.js"
import { SessionControl } from "./SessionControl.js"

export interface StaticFile {
  readonly contentType: string
  readonly body: string | Uint8Array
}

export interface RpcServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** 0 picks a free port. */
  readonly port: number
  readonly auth?: { readonly username: string; readonly password: string }
  /** Host names allowed besides localhost, IP literals and the bound address (Transmission's rpc-host-whitelist); "*.example.org" allowed. */
  readonly allowedHosts?: ReadonlyArray<string>
  /** Served for GET by exact path ("/" the web page...). */
  readonly staticFiles?: ReadonlyMap<string, StaticFile>
  /** More paths served beside the RPC (the qBittorrent API, /metrics), behind the same Host check. */
  readonly routes?: ReadonlyArray<Route>
}

/** A request to a route, its body read whole (within the RPC's limits). */
export interface RouteRequest {
  readonly method: string
  /** The path and query string, as sent. */
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly remoteAddress: string
  readonly body: Uint8Array
}

/** Paths served beside the RPC. */
export interface Route {
  /** The paths it answers: this one and those below it. */
  readonly prefix: string
  /** Whether the RPC's Basic authentication is asked first (false: the route has its own, as the
   *  qBittorrent API's session cookie). */
  readonly basicAuth: boolean
  readonly handle: (request: RouteRequest) => Effect.Effect<Reply, never, SessionControl>
}

export const limits = {
  /** A 32 MiB .torrent in base64, with room for the rest of the request. */
  maxBodyBytes: Math.ceil(maxTorrentBytes / 3) * 4 + 64 * 1024,
  /** All bodies being read or handled at once: two of the largest. */
  maxBodyBytesInFlight: 2 * (Math.ceil(maxTorrentBytes / 3) * 4 + 64 * 1024),
  maxHeaderBytes: 16 * 1024,
  maxConnections: 64
}

export const rpcPaths = new Set(["/transmission/rpc", "/transmission/rpc/"])
const webRedirects = new Set(["/transmission/web", "/transmission/web/", "/transmission", "/transmission/"])

export interface Reply {
  readonly status: number
  readonly headers?: { readonly [name: string]: string }
  readonly body: string | Uint8Array
}

const text = (status: number, body: string, headers: { readonly [name: string]: string } = {}): Reply => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8", ...headers },
  body: `<h1>${status}: ${http.STATUS_CODES[status] ?? ""}</h1><p>${body}</p>\n`
})

// ---------------------------------------------------------------------------------------------------------
// Checks

const isIpLiteral = (host: string): boolean =>
  isIPv4(host) || (host.startsWith("[") && host.endsWith("]") && isIPv6(host.slice(1, -1)))

/** The Host header's name, without the port; undefined when malformed. */
export const hostName = (header: string): string | undefined => {
  const h = header.trim().toLowerCase()
  if (h.startsWith("[")) {
    const end = h.indexOf("]")
    return end < 0 ? undefined : h.slice(0, end + 1)
  }
  const colon = h.indexOf(":")
  return colon < 0 ? h : h.slice(0, colon)
}

/**
 * Whether a Host header names this server in a way DNS rebinding cannot fake: localhost, an IP literal
 * (no DNS is involved; Transmission allows them all too), the bound address, or an allowed name.
 */
export const hostAllowed = (header: string | undefined, boundHost: string, allowed: ReadonlyArray<string>): boolean => {
  if (header === undefined) return false
  const name = hostName(header)
  if (name === undefined || name === "") return false
  const bare = name.endsWith(".") ? name.slice(0, -1) : name
  if (bare === "localhost" || isIpLiteral(bare) || bare === boundHost.toLowerCase()) return true
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase()
    return p.startsWith("*.") ? bare.endsWith(p.slice(1)) : p === bare
  })
}

const digest = (s: string) => createHash("sha256").update(s).digest()

/** Basic credentials compared in constant time (over hashes, so that lengths leak nothing either). */
export const authorized = (header: string | undefined, auth: { readonly username: string; readonly password: string }): boolean => {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (match === null) return false
  const given = Buffer.from(match[1]!, "base64").toString("utf8")
  return timingSafeEqual(digest(given), digest(`${auth.username}:${auth.password}`))
}

// ---------------------------------------------------------------------------------------------------------
// Sockets

/** `/stream/<info hash>/<file number>`: the hash (hex) and the file's index (0-based). */
const streamPath = /^\/stream\/([0-9a-fA-F]{40})\/([0-9]{1,9})$/

/** Sends the reply; none: the handler answered itself (a stream). */
const send = (res: http.ServerResponse, reply: Reply | undefined) => {
  if (reply === undefined || res.headersSent || res.destroyed) return
  const body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body
  // A 204 carries no Content-Length (RFC 9110 8.6).
  res.writeHead(reply.status, reply.status === 204 ? { ...reply.headers } : { ...reply.headers, "content-length": String(body.length) })
  res.end(body)
}

/** Bytes of request bodies held at once, across requests, so that many large uploads cannot exhaust memory. */
interface BodyBudget {
  used: number
}

type Body = { readonly _tag: "Bytes"; readonly bytes: Buffer } | { readonly _tag: "TooLarge" } | { readonly _tag: "Busy" }

/**
 * Reads a body of at most `limits.maxBodyBytes`, counted against the shared budget until the scope
 * closes (the handler is done with it). Past either limit, the rest is not kept. Reading stays
 * interruptible (a stalled client must not hold up closing); an interrupted read gives its bytes back.
 */
const readBody = (req: http.IncomingMessage, budget: BodyBudget) =>
  Effect.acquireRelease(
    Effect.interruptible(Effect.async<{ readonly body: Body; readonly held: number }>((resume) => {
      const chunks: Array<Buffer> = []
      let size = 0
      let done = false
      const finish = (body: Body, held: number) => {
        if (done) return
        done = true
        req.off("data", onData)
        if (held === 0) budget.used -= size
        resume(Effect.succeed({ body, held }))
      }
      const stop = (body: Body) => finish(body, 0)
      const onData = (c: Buffer) => {
        size += c.length
        budget.used += c.length
        if (size > limits.maxBodyBytes) stop({ _tag: "TooLarge" })
        else if (budget.used > limits.maxBodyBytesInFlight) stop({ _tag: "Busy" })
        else chunks.push(c)
      }
      req.on("data", onData)
      req.on("end", () => finish({ _tag: "Bytes", bytes: Buffer.concat(chunks) }, size))
      // A client gone mid-body releases what it sent (its answer goes nowhere).
      req.on("error", () => stop({ _tag: "TooLarge" }))
      req.on("close", () => stop({ _tag: "TooLarge" }))
      return Effect.sync(() => stop({ _tag: "TooLarge" }))
    })),
    ({ held }) => Effect.sync(() => void (budget.used -= held))
  )

/** A body not read: too large (413), or too many large ones at once (503). */
const refusedBody = (body: { readonly _tag: "TooLarge" | "Busy" }): Reply =>
  body._tag === "TooLarge"
    ? text(413, `Requests are limited to ${limits.maxBodyBytes} bytes.`, { connection: "close" })
    : text(503, "Too many large requests at once; try again.", { connection: "close", "retry-after": "1" })

/** The RPC's server, its limits set: header size, request time, keep-alive, connections. */
const rpcServer = (onRequest: http.RequestListener) => {
  const server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 60_000 }, onRequest)
  server.keepAliveTimeout = 5_000
  server.maxConnections = limits.maxConnections
  return server
}

// ---------------------------------------------------------------------------------------------------------
// The server

/** Serves the RPC until the scope closes; `port` is the one bound. */
/** A refused client, logged once a minute per address and reason: a client retrying in a loop must not
 *  flood the log. */
const refusalLog = () => {
  const last = new Map<string, number>()
  return (req: http.IncomingMessage, why: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const now = Date.now()
      const from = req.socket.remoteAddress ?? "?"
      const key = `${from} ${why}`
      if (now - (last.get(key) ?? -Infinity) < 60_000) return Effect.void
      if (last.size > 1000) last.clear()
      last.set(key, now)
      return Effect.logWarning(`rpc: refused ${from}: ${why}`)
    })
}

export const make = (options: RpcServerOptions): Effect.Effect<{ readonly port: number }, NetworkError, SessionControl | Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const allowed = options.allowedHosts ?? []
    const files = options.staticFiles ?? new Map<string, StaticFile>()
    const routes = options.routes ?? []
    const sessionId = randomBytes(36).toString("base64url")
    const handler = yield* makeHandler({ sessionId })
    const run = yield* FiberSet.makeRuntime<SessionControl>()
    const boundName = host.includes(":") ? `[${host}]` : host
    const budget: BodyBudget = { used: 0 }

    const rpc = (req: http.IncomingMessage) =>
      Effect.gen(function*() {
        if (req.headers["x-transmission-session-id"] !== sessionId) {
          return text(409, "Your request had an invalid session-id header.</p><p>To fix this, follow these steps:<ol>" +
            "<li> When reading a response, get its X-Transmission-Session-Id header and remember it" +
            "<li> Add the updated header to your outgoing requests" +
            "<li> When you get this 409 error message, resend your request with the updated header</ol>",
            { "x-transmission-session-id": sessionId })
        }
        if (req.method !== "POST") return text(405, "The RPC takes POST requests.", { allow: "POST" })
        const { body } = yield* readBody(req, budget)
        if (body._tag !== "Bytes") return refusedBody(body)
        const response = yield* handler.handle(body.bytes.toString("utf8"))
        if (response === undefined) return { status: 204, body: "" }
        return { status: 200, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify(response) }
      }).pipe(Effect.scoped)

    /** A route's answer, its body read first (none for GET and HEAD). */
    const routed = (route: Route, req: http.IncomingMessage) =>
      Effect.gen(function*() {
        const read = req.method === "GET" || req.method === "HEAD" ? undefined : yield* readBody(req, budget)
        if (read !== undefined && read.body._tag !== "Bytes") return refusedBody(read.body)
        return yield* route.handle({
          method: req.method ?? "GET",
          url: req.url ?? "/",
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress ?? "",
          body: read?.body._tag === "Bytes" ? read.body.bytes : new Uint8Array(0)
        })
      }).pipe(Effect.scoped)

    /** A file of a running torrent, answered on `res` itself (its body may wait for pieces). */
    const stream = (req: http.IncomingMessage, res: http.ServerResponse, match: RegExpExecArray) =>
      Effect.scoped(Effect.gen(function*() {
        const source = yield* (yield* SessionControl).streamSource(match[1]!)
        if (source === undefined) return text(404, "No such torrent running.")
        yield* serveFile(source, Number(match[2]) - 1, req, res).pipe(
          Effect.catchAll(() => Effect.sync(() => void res.destroy()))
        )
        return undefined
      }))

    const refusals = refusalLog()
    const route = (req: http.IncomingMessage, res: http.ServerResponse): Effect.Effect<Reply | undefined, never, SessionControl> => {
      if (!hostAllowed(req.headers.host, boundName, allowed)) {
        return Effect.as(refusals(req, `host name '${req.headers.host ?? ""}' not allowed (--allowed-host)`), text(421, "bt-effect received your request, but the hostname was unrecognized.</p>" +
          "<p>To fix this, choose one of the following options:<ul><li>Open the page by its IP address or localhost" +
          "<li>Add this host name to the daemon's allowed hosts</ul>" +
          "<p>This requirement has been added to help prevent DNS rebinding attacks."))
      }
      const path = (req.url ?? "/").split("?")[0]!
      const route = routes.find((r) => path === r.prefix || path.startsWith(r.prefix.endsWith("/") ? r.prefix : `${r.prefix}/`))
      if (route !== undefined && !route.basicAuth) return routed(route, req)
      if (options.auth !== undefined && !authorized(req.headers.authorization, options.auth)) {
        const reply = text(401, "Unauthorized User", { "www-authenticate": "Basic realm=\"Transmission\"" })
        // A browser asks without a login first, as it should: only a wrong one is worth a line.
        return req.headers.authorization === undefined ? Effect.succeed(reply) : Effect.as(refusals(req, "wrong login"), reply)
      }
      if (route !== undefined) return routed(route, req)
      if (rpcPaths.has(path)) return rpc(req)
      const streamed = streamPath.exec(path)
      if (streamed !== null) return stream(req, res, streamed)
      if (req.method !== "GET" && req.method !== "HEAD") return Effect.succeed(text(405, "Only GET here.", { allow: "GET, HEAD" }))
      // Temporary: a browser must not remember it for a port where real Transmission may run one day.
      if (webRedirects.has(path)) return Effect.succeed({ status: 302, headers: { location: "/" }, body: "" })
      const file = files.get(path)
      if (file === undefined) return Effect.succeed(text(404, "Not found."))
      return Effect.succeed({
        status: 200,
        // The page can delete data: it runs only its own script and may not be framed by another site.
        headers: {
          "content-type": file.contentType,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
          "x-frame-options": "DENY"
        },
        body: req.method === "HEAD" ? "" : file.body
      })
    }

    const onRequest: http.RequestListener = (req, res) => {
      const fiber = run(route(req, res).pipe(
        Effect.catchAllCause(() => Effect.succeed(text(500, "Internal error."))),
        Effect.tap((reply) => Effect.sync(() => send(res, reply)))
      ))
      // A request left unanswered when the server closes is cut off rather than left hanging.
      fiber.addObserver(() => {
        if (!res.headersSent) res.destroy()
      })
      req.on("close", () => {
        if (!res.writableFinished && !req.complete) res.destroy()
      })
      // A player gone: its stream's read (perhaps waiting for a piece) ends with it.
      if (streamPath.test((req.url ?? "").split("?")[0]!)) {
        res.on("close", () => {
          if (!res.writableFinished) fiber.unsafeInterruptAsFork(FiberId.none)
        })
      }
    }

    const server = yield* NodeServer.serve(rpcServer(onRequest), host, options.port)
    const address = server.address()
    return { port: typeof address === "object" && address !== null ? address.port : options.port }
  })
