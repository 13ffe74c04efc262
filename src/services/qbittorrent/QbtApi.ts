/**
 * The qBittorrent WebUI API v2 (`/api/v2/<scope>/<method>`) on the daemon's RPC port, so that the tools
 * people drive qBittorrent with (Sonarr, Radarr, Prowlarr, autobrr, cross-seed, VueTorrent, Flood,
 * qbittorrent-api scripts) drive bt-effect. A route of RpcServer (whose Host check comes first); every
 * request then passes qBittorrent's checks in its order (src/webui/webapplication.cpp):
 * - an Origin or Referer naming another host than the request's Host: 401 (a page elsewhere cannot drive
 *   the daemon with the browser's cookie);
 * - an address banned after failed logins: 403;
 * - `auth/login` and `auth/logout` (QbtAuth.ts); every other call needs the session cookie (403);
 * - an unknown scope or method: 404; GET to what changes anything: 405; a method but GET and POST: 400;
 * - the parameters: the query string's, then the body's (urlencoded or multipart/form-data).
 * The endpoints are in the scope files (QbtScopes.ts puts them together); each answers as qBittorrent does.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as http from "node:http"
import { boundaryOf, formFields, type MultipartPart, parseMultipart } from "../../protocol/Multipart.js"
import type { Reply, Route, RouteRequest } from "../session/RpcServer.js"
import { SessionControl } from "../session/SessionControl.js"
import type { QbtAuth } from "./QbtAuth.js"
import { type Endpoints, failure, type QbtParams, type QbtReply, text } from "./QbtEndpoint.js"

export const prefix = "/api/v2/"

/** What every answer carries, as qBittorrent's (its page may not be framed nor sniffed). */
const commonHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "same-origin",
  "content-security-policy": "default-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
}

const toReply = (reply: QbtReply): Reply => ({
  status: reply.status,
  headers: {
    ...commonHeaders,
    ...(reply.untyped === true ? {} : { "content-type": reply.json ? "application/json" : "text/plain; charset=UTF-8" }),
    ...reply.headers
  },
  body: reply.body
})

/** The SID cookie a request carries. */
export const sidOf = (headers: http.IncomingHttpHeaders): string | undefined => {
  for (const part of (headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=")
    if (at > 0 && part.slice(0, at).trim() === "SID") return part.slice(at + 1).trim()
  }
  return undefined
}

/** host[:port] of a URL (an Origin or a Referer), lower case; undefined when it is no URL. */
const authorityOf = (url: string): string | undefined => {
  try {
    return new URL(url).host.toLowerCase()
  } catch {
    return undefined
  }
}

/** qBittorrent's cross-site check: an Origin or Referer, when sent, names the host the request was sent to. */
export const sameOrigin = (headers: http.IncomingHttpHeaders): boolean => {
  const host = (headers.host ?? "").toLowerCase()
  for (const name of ["origin", "referer"] as const) {
    const value = headers[name]
    if (value === undefined || value === "" || value === "null") continue
    // An Origin "null" (a sandboxed page, a file) names no host: it is refused as another's.
    if (authorityOf(value) !== host) return false
  }
  return headers.origin !== "null"
}

/** The parameters of a request: its query string's, then its body's; a malformed body is the error's text. */
export const paramsOf = (request: RouteRequest): Either.Either<QbtParams, string> => {
  const query = new URL(request.url, "http://localhost").searchParams
  const contentType = request.headers["content-type"] ?? ""
  let form: URLSearchParams | undefined
  let parts: ReadonlyArray<MultipartPart> = []
  if (request.body.length > 0) {
    if (/^multipart\/form-data/i.test(contentType)) {
      const boundary = boundaryOf(contentType)
      if (boundary === undefined) return Either.left("multipart/form-data without a boundary")
      const parsed = parseMultipart(request.body, boundary)
      if (Either.isLeft(parsed)) return Either.left(parsed.left.message)
      parts = parsed.right
    } else {
      form = new URLSearchParams(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString("utf8"))
    }
  }
  const fields = formFields(parts)
  return Either.right({
    text: (name) => query.get(name) ?? form?.get(name) ?? fields.text(name) ?? undefined,
    files: (name) => fields.files(name)
  })
}

export interface ApiOptions {
  readonly auth: QbtAuth
  /** The endpoints of each scope but `auth` (QbtScopes.ts). */
  readonly scopes: { readonly [scope: string]: Endpoints }
}

const banned = "Your IP address has been banned after too many failed authentication attempts."

/** auth/login and auth/logout. */
const authCall = (auth: QbtAuth, method: string, request: RouteRequest, params: QbtParams): QbtReply => {
  const sid = sidOf(request.headers)
  if (method === "login") {
    const outcome = auth.login(request.remoteAddress, params.text("username") ?? "", params.text("password") ?? "", sid)
    if (outcome._tag === "Banned") return failure(403, banned)
    if (outcome._tag === "Fails") return text("Fails.")
    return outcome.sid === undefined
      ? text("Ok.")
      : { ...text("Ok."), headers: { "set-cookie": `SID=${outcome.sid}; HttpOnly; path=/; SameSite=Strict` } }
  }
  if (method === "logout") {
    if (auth.required && !auth.check(sid)) return failure(403)
    auth.logout(sid)
    return { ...text(), headers: { "set-cookie": `SID=; expires=${new Date(Date.now() - 86_400_000).toUTCString()}; path=/` } }
  }
  return failure(404)
}

/** The API as a route of the daemon's HTTP server. */
export const route = (options: ApiOptions): Route => ({
  prefix,
  basicAuth: false,
  handle: (request) =>
    Effect.gen(function*() {
      if (!sameOrigin(request.headers)) return failure(401)
      const [scope = "", method = "", ...more] = new URL(request.url, "http://localhost").pathname.slice(prefix.length).split("/")
      // A banned address: its logins are told why (qBittorrent's words), anything else is Forbidden.
      if (options.auth.banned(request.remoteAddress)) return failure(403, scope === "auth" && method === "login" && more.length === 0 ? banned : undefined)
      // qBittorrent's answer to any other method: 400 with an empty body and no content type; it closes the connection.
      if (request.method !== "GET" && request.method !== "POST") return { ...failure(400, ""), untyped: true, headers: { connection: "close" } }
      const sid = sidOf(request.headers)
      const login = scope === "auth" && more.length === 0
      // Before the body is parsed: a client without a session costs no more than reading what it sent.
      if (!login && options.auth.required && !options.auth.check(sid)) return failure(403)
      const parsed = paramsOf(request)
      if (Either.isLeft(parsed)) return failure(400, parsed.left)
      if (login) {
        if (request.method !== "POST") return method === "login" || method === "logout" ? failure(405) : failure(404)
        return authCall(options.auth, method, request, parsed.right)
      }
      // Own keys only: "constructor" or "__proto__" name no endpoint.
      const endpoints = Object.hasOwn(options.scopes, scope) ? options.scopes[scope] : undefined
      const endpoint = more.length === 0 && endpoints !== undefined && Object.hasOwn(endpoints, method) ? endpoints[method] : undefined
      if (endpoint === undefined) return failure(404)
      if (endpoint.post && request.method !== "POST") return failure(405)
      const control = yield* SessionControl
      return yield* endpoint.run({ params: parsed.right, control, client: sid ?? request.remoteAddress })
    }).pipe(
      Effect.catchAllCause(() => Effect.succeed(failure(500))),
      Effect.map(toReply)
    )
})
