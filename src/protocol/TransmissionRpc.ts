/**
 * The Transmission RPC as messages: requests parsed from either dialect, responses built for it, and
 * the arguments of each method decoded. Pure; RpcMethods runs the calls against a session.
 *
 * Two dialects share one set of methods. The classic one (rpc-version 17, what transmission-remote 3.00
 * and the 4.0 web client speak) is `{method, arguments, tag}` answered by `{result, arguments, tag}`, with
 * kebab-case and camelCase names mixed as each method happens to use them. The JSON-RPC 2.0 one
 * (Transmission 4.1) is `{jsonrpc: "2.0", method, params, id}` with snake_case names throughout, errors
 * as error objects, and no answer to a notification (a request without `id`).
 *
 * Internally every name is snake_case: incoming method names and argument keys are normalised to it
 * (Transmission 4.1 accepts all three spellings in both dialects), and results are built in it and
 * renamed to the classic spelling of their method on the way out.
 */
import type { FileChange, FileIndices } from "../domain/FileChoices.js"
import { maxTorrentBytes } from "./TorrentFile.js"

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

export type Dialect = "classic" | "jsonrpc"

/** JSON-RPC error codes: the standard ones and Transmission's own (libtransmission/rpcimpl.h). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  PathNotAbsolute: 3,
  SystemError: 5,
  HttpError: 8,
  CorruptTorrent: 9
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const errorMessages: Record<ErrorCode, string> = {
  [-32700]: "Parse error",
  [-32600]: "Invalid Request",
  [-32601]: "Method not found",
  [-32602]: "Invalid params",
  [-32603]: "Internal error",
  3: "path is not absolute",
  5: "system error",
  8: "HTTP error from backend service",
  9: "invalid or corrupt torrent file"
}

/** What a classic client reads in `result` when the error carries no detail of its own. */
const classicMessages: Partial<Record<ErrorCode, string>> = {
  [-32700]: "invalid JSON",
  [-32600]: "invalid request",
  [-32601]: "method name not recognized"
}

/** The id of a JSON-RPC request (undefined: a notification) or the tag of a classic one. */
export type CallId = string | number | null | undefined

/** One request, whichever dialect: the method and argument keys in snake_case. */
export interface RpcCall {
  readonly dialect: Dialect
  readonly method: string
  readonly args: { readonly [key: string]: unknown }
  readonly id: CallId
}

/** A request answered with an error before any method runs (bad JSON, no method, bad `jsonrpc`). */
export interface RpcRejection {
  readonly dialect: Dialect
  readonly code: ErrorCode
  readonly detail: string
  readonly id: CallId
}

export type ParsedBody =
  | { readonly _tag: "Single"; readonly item: RpcCall | RpcRejection }
  | { readonly _tag: "Batch"; readonly items: ReadonlyArray<RpcCall | RpcRejection> }

/** How a method ended: its result (snake_case keys) or an error. */
export type Outcome =
  | { readonly _tag: "Success"; readonly result: JsonObject }
  | { readonly _tag: "Failure"; readonly code: ErrorCode; readonly detail: string }

export const success = (result: JsonObject = {}): Outcome => ({ _tag: "Success", result })
export const failure = (code: ErrorCode, detail: string): Outcome => ({ _tag: "Failure", code, detail })

export const isCall = (item: RpcCall | RpcRejection): item is RpcCall => "method" in item

// ---------------------------------------------------------------------------------------------------------
// Names

/**
 * A name conversion remembered: the same few dozen names are converted for every torrent of every
 * torrent-get (a list of 1,000 torrents converts 60,000 names). Bounded, since names come from clients.
 */
const remembered = (convert: (name: string) => string): ((name: string) => string) => {
  const known = new Map<string, string>()
  return (name) => {
    let out = known.get(name)
    if (out === undefined) {
      out = convert(name)
      if (known.size < 4096) known.set(name, out)
    }
    return out
  }
}

/** "peer-limit", "hashString", "isUTP" and "delete_local_data" all to snake_case. */
export const toSnake = remembered((name) => name.replace(/-/g, "_").replace(/([a-z0-9])([A-Z]+)/g, "$1_$2").toLowerCase())

const toCamel = remembered((snake) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
const toKebab = remembered((snake) => snake.replace(/_/g, "-"))

interface ClassicStyle {
  readonly base: "camel" | "kebab"
  readonly exceptions: { readonly [snake: string]: string }
}

/** Keys Transmission 4.1 added, which it sends in snake_case to classic clients too (no older name). */
const since41 = (...keys: ReadonlyArray<string>) => Object.fromEntries(keys.map((k) => [k, k]))

/** Torrent objects nested in torrent-get results (files, peers, trackerStats...). */
const torrentStyle: ClassicStyle = {
  base: "camel",
  exceptions: { is_utp: "isUTP", ...since41("begin_piece", "end_piece", "peer_id", "bytes_to_peer", "bytes_to_client", "downloader_count") }
}

/** How each method's result keys were spelled before 4.1 (from rpc-spec.md of 4.0). */
const classicStyles: { readonly [method: string]: ClassicStyle } = {
  session_get: {
    base: "kebab",
    exceptions: { seed_ratio_limit: "seedRatioLimit", seed_ratio_limited: "seedRatioLimited", ...since41("preferred_transports", "sequential_download") }
  },
  session_stats: { base: "camel", exceptions: { current_stats: "current-stats", cumulative_stats: "cumulative-stats" } },
  torrent_add: { base: "camel", exceptions: { torrent_added: "torrent-added", torrent_duplicate: "torrent-duplicate" } },
  free_space: { base: "kebab", exceptions: { total_size: "total_size" } },
  torrent_get: torrentStyle
}

const isObject = (v: unknown): v is { readonly [key: string]: unknown } =>
  typeof v === "object" && v !== null && !Array.isArray(v)

const rename = (value: Json, style: ClassicStyle): Json => {
  if (Array.isArray(value)) return value.map((v: Json) => rename(v, style))
  if (!isObject(value)) return value
  const out: { [key: string]: Json } = {}
  const object = value as JsonObject
  for (const key in object) {
    const name = style.exceptions[key] ?? (style.base === "camel" ? toCamel(key) : toKebab(key))
    out[name] = rename(object[key]!, style)
  }
  return out
}

/** A method's result as a classic client expects it. */
export const classicResult = (method: string, result: JsonObject): JsonObject => {
  const style = classicStyles[method]
  if (style === undefined) return result
  if (method !== "torrent_get") return rename(result, style) as JsonObject
  // torrent-get's top-level keys are the names the client asked for; only nested objects are renamed.
  const out: { [key: string]: Json } = {}
  for (const [key, v] of Object.entries(result)) {
    out[key] = key === "torrents" && Array.isArray(v) ? v.map(renameTorrent) : v
  }
  return out
}

const renameTorrent = (torrent: Json): Json => {
  if (!isObject(torrent)) return torrent // a row of the "table" format: values only
  const out: { [key: string]: Json } = {}
  const object = torrent as JsonObject
  for (const key in object) out[key] = rename(object[key]!, torrentStyle)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Requests

const normaliseKeys = (args: { readonly [key: string]: unknown }): { readonly [key: string]: unknown } => {
  const out: { [key: string]: unknown } = {}
  for (const [key, v] of Object.entries(args)) {
    const snake = toSnake(key)
    if (!(snake in out) || snake === key) out[snake] = v // the snake_case spelling wins over an alias
  }
  return out
}

const validId = (v: unknown): v is string | number | null =>
  v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v))

const parseOne = (value: unknown, inBatch: boolean): RpcCall | RpcRejection => {
  if (!isObject(value)) {
    return { dialect: "jsonrpc", code: ErrorCode.InvalidRequest, detail: "request must be an Object", id: null }
  }
  const jsonrpc = value["jsonrpc"]
  if (jsonrpc !== undefined || inBatch) {
    if (jsonrpc !== "2.0") {
      return { dialect: "jsonrpc", code: ErrorCode.InvalidRequest, detail: "JSON-RPC version is not 2.0", id: null }
    }
    const id = value["id"]
    if (id !== undefined && !validId(id)) {
      return { dialect: "jsonrpc", code: ErrorCode.InvalidRequest, detail: "id type must be String, Number, or Null", id: null }
    }
    const method = value["method"]
    if (typeof method !== "string") {
      return { dialect: "jsonrpc", code: ErrorCode.InvalidRequest, detail: "method must be a String", id: id ?? null }
    }
    const params = value["params"]
    return { dialect: "jsonrpc", method: toSnake(method), args: isObject(params) ? normaliseKeys(params) : {}, id }
  }
  const tag = value["tag"]
  const id = typeof tag === "number" && Number.isInteger(tag) ? tag : undefined
  const method = value["method"]
  if (typeof method !== "string" || method === "") {
    return { dialect: "classic", code: ErrorCode.MethodNotFound, detail: "no method name", id }
  }
  const args = value["arguments"]
  return { dialect: "classic", method: toSnake(method), args: isObject(args) ? normaliseKeys(args) : {}, id }
}

/**
 * A request body: one object, or an array of JSON-RPC requests (a batch). Bad JSON is answered in the
 * dialect the text seems to be in, since it cannot be parsed to tell.
 */
export const parseBody = (text: string): ParsedBody => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    const dialect: Dialect = text.includes("\"jsonrpc\"") ? "jsonrpc" : "classic"
    const detail = dialect === "classic" ? "invalid JSON" : e instanceof Error ? e.message : String(e)
    return { _tag: "Single", item: { dialect, code: ErrorCode.ParseError, detail, id: null } }
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return { _tag: "Single", item: { dialect: "jsonrpc", code: ErrorCode.InvalidRequest, detail: "empty batch", id: null } }
    }
    return { _tag: "Batch", items: value.map((v) => parseOne(v, true)) }
  }
  return { _tag: "Single", item: parseOne(value, false) }
}

// ---------------------------------------------------------------------------------------------------------
// Responses

/** The answer to one call; undefined for a JSON-RPC notification. */
export const buildResponse = (call: { readonly dialect: Dialect; readonly method?: string; readonly id: CallId }, outcome: Outcome): JsonObject | undefined => {
  if (call.dialect === "jsonrpc") {
    if (call.id === undefined) return undefined
    if (outcome._tag === "Success") return { jsonrpc: "2.0", result: outcome.result, id: call.id }
    const error: JsonObject = outcome.detail === ""
      ? { code: outcome.code, message: errorMessages[outcome.code] }
      : { code: outcome.code, message: errorMessages[outcome.code], data: { error_string: outcome.detail } }
    return { jsonrpc: "2.0", error, id: call.id }
  }
  const result = outcome._tag === "Success"
    ? "success"
    : outcome.detail !== "" ? outcome.detail : classicMessages[outcome.code] ?? errorMessages[outcome.code]
  const args = outcome._tag === "Success" && call.method !== undefined ? classicResult(call.method, outcome.result) : {}
  return call.id === undefined || call.id === null ? { arguments: args, result } : { arguments: args, result, tag: call.id }
}

export const rejectionResponse = (r: RpcRejection): JsonObject | undefined =>
  buildResponse({ dialect: r.dialect, id: r.dialect === "jsonrpc" && r.id === undefined ? null : r.id }, failure(r.code, r.detail))

// ---------------------------------------------------------------------------------------------------------
// Arguments

/** Which torrents: all of them (no `ids`), the recently active ones, or these ids and hashes. */
export type Ids =
  | { readonly _tag: "All" }
  | { readonly _tag: "RecentlyActive" }
  | { readonly _tag: "List"; readonly ids: ReadonlyArray<number | string> }

const idItem = (v: unknown): number | string | undefined =>
  typeof v === "number" && Number.isSafeInteger(v) ? v : typeof v === "string" && /^[0-9a-fA-F]{40}$/.test(v) ? v.toLowerCase() : undefined

/** As Transmission: entries of the wrong type are skipped, and an empty list names no torrent. */
export const decodeIds = (args: { readonly [key: string]: unknown }): Ids => {
  const ids = args["ids"]
  if (ids === undefined) return { _tag: "All" }
  if (ids === "recently-active" || ids === "recently_active") return { _tag: "RecentlyActive" }
  const items = Array.isArray(ids) ? ids : [ids]
  return { _tag: "List", ids: items.map(idItem).filter((x): x is number | string => x !== undefined) }
}

/** torrent-get's `fields`, as the client spelled them (answered under those names). */
export const decodeFields = (args: { readonly [key: string]: unknown }): ReadonlyArray<string> => {
  const fields = args["fields"]
  return Array.isArray(fields) ? fields.filter((f): f is string => typeof f === "string") : []
}

/** An argument's value of the type wanted, or undefined: Transmission ignores a value of the wrong type. */
export const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined)
export const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : typeof v === "number" ? v !== 0 : undefined)
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

/** Where torrent-add's torrent comes from: `filename` is a magnet, a URL or a path on this machine. */
export type AddFrom =
  | { readonly _tag: "Metainfo"; readonly bytes: Uint8Array }
  | { readonly _tag: "Magnet"; readonly uri: string }
  | { readonly _tag: "Url"; readonly url: string }
  | { readonly _tag: "Path"; readonly path: string }

export interface AddRequest {
  readonly from: AddFrom
  readonly downloadDir?: string
  readonly paused?: boolean
  /** files-wanted, files-unwanted and the priorities, when any is given. */
  readonly files?: FileChange
  /** Transmission 4's labels: bt-effect's tags. */
  readonly labels?: ReadonlyArray<string>
}

/** A list of labels: the strings of an array, anything else none. */
export const decodeLabels = (v: unknown): ReadonlyArray<string> | undefined =>
  Array.isArray(v) ? v.filter((l): l is string => typeof l === "string") : undefined

/** A list of file indices; an empty one means every file, as Transmission reads it. Not a list: none.
 *  What is not an integer is ignored; an index out of range is the session's to refuse. */
const fileIndices = (v: unknown): FileIndices | undefined => {
  if (!Array.isArray(v)) return undefined
  if (v.length === 0) return "all"
  return v.filter((i): i is number => typeof i === "number" && Number.isInteger(i))
}

/** The keys of torrent-set and torrent-add that choose files, snake_case. */
export const fileChangeKeys = ["files_wanted", "files_unwanted", "priority_high", "priority_normal", "priority_low"] as const

/** files-wanted, files-unwanted, priority-high, -normal and -low, or undefined when none is given. */
export const decodeFileChange = (args: { readonly [key: string]: unknown }): FileChange | undefined => {
  const entries = ([["wanted", "files_wanted"], ["unwanted", "files_unwanted"], ["high", "priority_high"], ["normal", "priority_normal"], [
    "low",
    "priority_low"
  ]] as const).flatMap(([name, key]) => {
    const indices = fileIndices(args[key])
    return indices === undefined ? [] : [[name, indices] as const]
  })
  return entries.length === 0 ? undefined : Object.fromEntries(entries) as FileChange
}

const base64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/

export const decodeAdd = (args: { readonly [key: string]: unknown }): AddRequest | string => {
  const files = decodeFileChange(args)
  const options = {
    ...(str(args["download_dir"]) === undefined || args["download_dir"] === "" ? {} : { downloadDir: str(args["download_dir"])! }),
    ...(bool(args["paused"]) === undefined ? {} : { paused: bool(args["paused"])! }),
    ...(files === undefined ? {} : { files }),
    ...(decodeLabels(args["labels"]) === undefined ? {} : { labels: decodeLabels(args["labels"])! })
  }
  const metainfo = str(args["metainfo"])
  if (metainfo !== undefined && metainfo !== "") {
    if (!base64.test(metainfo)) return "metainfo is not base64"
    const bytes = new Uint8Array(Buffer.from(metainfo, "base64"))
    if (bytes.length > maxTorrentBytes) return `torrent file larger than ${maxTorrentBytes} bytes`
    return { from: { _tag: "Metainfo", bytes }, ...options }
  }
  const filename = str(args["filename"])?.trim()
  if (filename === undefined || filename === "") return "no filename or metainfo specified"
  const lower = filename.toLowerCase()
  const from: AddFrom = lower.startsWith("magnet:")
    ? { _tag: "Magnet", uri: filename }
    : lower.startsWith("http://") || lower.startsWith("https://")
    ? { _tag: "Url", url: filename }
    : { _tag: "Path", path: filename }
  return { from, ...options }
}

export const decodeRemove = (args: { readonly [key: string]: unknown }): boolean => bool(args["delete_local_data"]) ?? false

export const decodeFreeSpace = (args: { readonly [key: string]: unknown }): string | undefined => str(args["path"])
