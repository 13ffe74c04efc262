/**
 * What an endpoint of the qBittorrent WebUI API (`/api/v2/<scope>/<method>`) is here: a function from the
 * request's parameters to a reply, against the session (SessionControl). QbtApi.ts routes to them, after
 * the checks every request passes (the session cookie, the Origin/Referer check, POST for what changes
 * anything), and answers as qBittorrent 4.x does: a short text/plain body or JSON, the statuses of its
 * catalog (400 missing or bad parameter, 404 unknown hash, 409 conflict, 415 not a torrent).
 */
import * as http from "node:http"
import type * as Effect from "effect/Effect"
import type { ControlError } from "../../domain/Errors.js"
import type { MultipartPart } from "../../protocol/Multipart.js"
import type { Selection, SessionControlService } from "../session/SessionControl.js"

/** The request's parameters: the query string's, then the body's (urlencoded or multipart) for POST. */
export interface QbtParams {
  /** A text parameter (the first of that name). */
  readonly text: (name: string) => string | undefined
  /** The file parts of that name (a multipart body's). */
  readonly files: (name: string) => ReadonlyArray<MultipartPart>
}

export interface QbtCall {
  readonly params: QbtParams
  readonly control: SessionControlService
  /** Who is asking, for what the API remembers per client (sync/maindata's rid): its session cookie, or
   *  its address when no login is needed. */
  readonly client: string
}

export interface QbtReply {
  readonly status: number
  readonly body: string
  readonly json: boolean
  /** No Content-Type at all (qBittorrent's bare 400 to a method it does not serve). */
  readonly untyped?: boolean
  readonly headers?: { readonly [name: string]: string }
}

/** One endpoint: POST only when it changes anything (GET is 405 then, as in qBittorrent). */
export interface Endpoint {
  readonly post: boolean
  readonly run: (call: QbtCall) => Effect.Effect<QbtReply>
}

/** The endpoints of one scope ("torrents", "app"...), by method name. */
export type Endpoints = { readonly [method: string]: Endpoint }

export const text = (body = "", status = 200): QbtReply => ({ status, body, json: false })
export const json = (value: unknown): QbtReply => ({ status: 200, body: JSON.stringify(value), json: true })
/** An error as qBittorrent answers it: its own words, or the status's reason phrase. */
export const failure = (status: number, body?: string): QbtReply => ({ status, body: body ?? http.STATUS_CODES[status] ?? "", json: false })

export const missing = failure(400)

/** A session error in qBittorrent's statuses: an unknown torrent 404, a bad value 400, a conflict 409. */
export const fromControl = (e: ControlError): QbtReply => {
  switch (e.reason) {
    case "NotFound":
      return failure(404)
    case "Invalid":
      return failure(400, e.detail)
    case "Forbidden":
      return failure(403, e.detail)
    case "Conflict":
    case "Duplicate":
    case "Io":
      return failure(409, e.detail)
  }
}

/** `hashes=a|b|c` or `all`: the torrents named (hex info hashes, as the session selects them). */
export const hashesOf = (params: QbtParams, name = "hashes"): Selection | undefined => {
  const value = params.text(name)
  if (value === undefined) return undefined
  if (value === "all") return "all"
  return value.split("|").map((h) => h.trim()).filter((h) => h !== "")
}

/** qBittorrent's booleans: "true" / "false" (any case); anything else undefined. */
export const boolOf = (value: string | undefined): boolean | undefined => {
  const v = value?.toLowerCase()
  return v === "true" ? true : v === "false" ? false : undefined
}

/** A number parameter; undefined when absent or not a number. */
export const numberOf = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}
