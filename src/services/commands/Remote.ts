/**
 * `bt-effect add|list|start|stop|remove`: a running daemon driven through its Transmission RPC (classic
 * dialect), as transmission-remote does, over the HttpClient of the context: the X-Transmission-Session-Id
 * handshake (409, then again with the id it gave), optional Basic authentication, 30 s for each exchange, a
 * bounded reply, one line of error when the daemon cannot be reached.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as path from "node:path"
import { RemoteError } from "../../domain/Errors.js"
import * as Magnet from "../../domain/Magnet.js"
import { type Column, textTable } from "../../domain/TextTable.js"
import { formatBytes, formatDuration, formatRate } from "../../domain/Units.js"
import { loadTorrent } from "../torrent/TorrentSource.js"
import * as UntrustedHttp from "../http/UntrustedHttp.js"

export const defaultRpcUrl = "http://127.0.0.1:9091/transmission/rpc"

export interface RemoteOptions {
  readonly url: string
  /** "user:password" */
  readonly auth?: string
}

const statusWords = ["Stopped", "Check wait", "Checking", "Queued", "Downloading", "Seed wait", "Seeding"]

/** Each exchange with the daemon: request, headers and reply. */
const timeout: Duration.DurationInput = "30 seconds"

/** The largest reply read: `list` asks 10 fields, some 250 bytes a torrent, so this is some 250,000 torrents. */
export const maxReplyBytes = 64 * 1024 * 1024

type Reply = { result?: unknown; arguments?: Record<string, unknown> }

const unreachable = (options: RemoteOptions, detail: string) =>
  new RemoteError({ reason: "Unreachable", detail: `daemon at ${options.url}: ${detail}` })

/** Nothing listens there: the usual case is a daemon not started, or another --rpc-url. */
const noDaemon = (options: RemoteOptions) =>
  new RemoteError({ reason: "Unreachable", detail: `no daemon answers at ${options.url} (is 'bt-effect daemon' running there?)` })

/** One POST of the body; a 409 gives the session id to send (its reply is not read), any other status the reply. */
const exchange = (options: RemoteOptions, body: string, sessionId: string | undefined) =>
  Effect.gen(function* () {
    const fail = (detail: string) => unreachable(options, detail)
    const client = HttpClient.withScope(HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false))
    const headers: Record<string, string> = {}
    if (options.auth !== undefined) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`
    if (sessionId !== undefined) headers["x-transmission-session-id"] = sessionId
    const response = yield* client.post(options.url, { headers, body: HttpBody.text(body, "application/json") }).pipe(
      Effect.mapError((e) => {
        const detail = UntrustedHttp.transportText(e)
        return /ECONNREFUSED/.test(detail) ? noDaemon(options) : fail(detail)
      })
    )
    if (response.status === 409) return { _tag: "SessionId", sessionId: response.headers["x-transmission-session-id"] ?? "" } as const
    if (response.status === 401) return yield* fail("unauthorized (give --rpc-auth USER:PASSWORD)")
    if (response.status < 200 || response.status > 299) return yield* fail(`HTTP ${response.status}`)
    const reply = yield* UntrustedHttp.readBounded(response, maxReplyBytes).pipe(Effect.mapError((p) => fail(UntrustedHttp.describe(p))))
    const text = Buffer.from(reply).toString("utf8")
    return yield* Effect.try({ try: () => ({ _tag: "Reply", reply: JSON.parse(text) as Reply }) as const, catch: (e) => fail(errorText(e)) })
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => unreachable(options, `no answer within ${Duration.format(Duration.decode(timeout))}`)
    })
  )

/** One RPC call; the session id is learnt from the 409 and the call made again with it. */
export const call = (options: RemoteOptions, method: string, args: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const body = JSON.stringify({ method, arguments: args })
    let answer = yield* exchange(options, body, undefined)
    if (answer._tag === "SessionId") answer = yield* exchange(options, body, answer.sessionId)
    // A daemon that asks again for the id it was just given answers nothing.
    if (answer._tag === "SessionId") return yield* unreachable(options, "HTTP 409")
    const reply = answer.reply
    return reply.result === "success"
      ? reply.arguments ?? {}
      : yield* new RemoteError({ reason: "Failed", detail: `${method}: ${String(reply.result)}` })
  })

const errorText = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : ""
  return `${e.message}${cause}`
}

/** What `add` sends: a .torrent is read and checked here, so that a bad file gets the words and the exit
 *  code (2) that `download` gives it, not the daemon's; a magnet is checked the same way. */
const addSource = (source: string) =>
  Effect.gen(function* () {
    if (/^https?:\/\//i.test(source)) return { filename: source }
    if (/^magnet:/i.test(source)) {
      yield* Magnet.parse(source)
      return { filename: source }
    }
    yield* loadTorrent(source)
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(source).pipe(
      Effect.mapError((e) => new RemoteError({ reason: "Input", detail: `cannot read ${source}: ${e.message}` }))
    )
    return { metainfo: Buffer.from(bytes).toString("base64") }
  })

export const add = (options: RemoteOptions, source: string, addOptions: { readonly downloadDir?: string; readonly paused: boolean }) =>
  Effect.gen(function* () {
    const args: Record<string, unknown> = {
      ...(addOptions.downloadDir !== undefined ? { "download-dir": path.resolve(addOptions.downloadDir) } : {}),
      paused: addOptions.paused,
      ...(yield* addSource(source))
    }
    const reply = yield* call(options, "torrent-add", args)
    const added = (reply["torrent-added"] ?? reply["torrent-duplicate"]) as { id: number; name: string } | undefined
    if (added === undefined) return yield* new RemoteError({ reason: "Failed", detail: "torrent-add: no torrent in the answer" })
    return `${reply["torrent-added"] !== undefined ? "added" : "already there"}: ${added.id} ${added.name}`
  })

/** A torrent as `list` shows it and `list --json` gives it. */
export interface Listed {
  readonly id: number
  readonly name: string
  readonly hashString: string
  /** Stopped, Checking, Downloading, Seeding, ..., Metadata (a magnet still fetching its info), Error. */
  readonly state: string
  readonly percentDone: number
  /** Bytes; 0 while a magnet's size is unknown. */
  readonly totalSize: number
  readonly rateDownload: number
  readonly rateUpload: number
  readonly uploadedEver: number
  readonly uploadRatio: number
  /** Seconds; -1 when unknown. */
  readonly eta: number
  readonly peersConnected: number
  readonly downloadDir: string
  readonly error: string
}

const listFields = [
  "id", "name", "hashString", "status", "percentDone", "totalSize", "rateDownload", "rateUpload", "uploadedEver",
  "uploadRatio", "eta", "peersConnected", "downloadDir", "errorString", "metadataPercentComplete"
]

const num = (v: unknown, otherwise = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : otherwise)
const str = (v: unknown): string => (typeof v === "string" ? v : "")

const listedOf = (t: Record<string, unknown>): Listed => {
  const status = num(t.status)
  const error = str(t.errorString)
  const fetchingMetadata = num(t.metadataPercentComplete, 1) < 1
  return {
    id: num(t.id),
    name: str(t.name),
    hashString: str(t.hashString),
    state: error !== "" ? "Error" : fetchingMetadata && status !== 0 ? "Metadata" : statusWords[status] ?? String(status),
    percentDone: num(t.percentDone),
    totalSize: num(t.totalSize),
    rateDownload: num(t.rateDownload),
    rateUpload: num(t.rateUpload),
    uploadedEver: num(t.uploadedEver),
    uploadRatio: num(t.uploadRatio, -1),
    eta: num(t.eta, -1),
    peersConnected: num(t.peersConnected),
    downloadDir: str(t.downloadDir),
    error
  }
}

/** The daemon's torrents, in id order. */
export const torrents = (options: RemoteOptions) =>
  Effect.map(call(options, "torrent-get", { fields: listFields }), (reply) =>
    (Array.isArray(reply.torrents) ? (reply.torrents as ReadonlyArray<Record<string, unknown>>) : []).map(listedOf).sort((a, b) => a.id - b.id))

const listColumns: ReadonlyArray<Column> = [
  { title: "ID", align: "right" },
  { title: "Done", align: "right" },
  { title: "Size", align: "right" },
  { title: "Status", align: "left" },
  { title: "Down", align: "right" },
  { title: "Up", align: "right" },
  { title: "Ratio", align: "right" },
  { title: "Peers", align: "right" },
  { title: "ETA", align: "left" },
  { title: "Name", align: "left" }
]

const row = (t: Listed): ReadonlyArray<string> => [
  String(t.id),
  t.state === "Metadata" ? "-" : `${(t.percentDone * 100).toFixed(1)}%`,
  t.state === "Metadata" ? "?" : formatBytes(t.totalSize),
  t.state === "Metadata" ? "Fetching metadata" : t.state,
  formatRate(t.rateDownload),
  formatRate(t.rateUpload),
  t.uploadRatio < 0 ? "-" : t.uploadRatio.toFixed(2),
  String(t.peersConnected),
  t.percentDone >= 1 ? "done" : t.eta < 0 ? "-" : formatDuration(t.eta),
  `${t.name}${t.error !== "" ? ` (${t.error})` : ""}`
]

/** The table `list` prints: a row per torrent under aligned headings, and a line of totals. */
export const listText = (listed: ReadonlyArray<Listed>): string => {
  if (listed.length === 0) return "no torrents"
  const sum = (f: (t: Listed) => number) => listed.reduce((total, t) => total + f(t), 0)
  const totals = [
    "Sum", "", formatBytes(sum((t) => t.totalSize)), "", formatRate(sum((t) => t.rateDownload)), formatRate(sum((t) => t.rateUpload)),
    "", String(sum((t) => t.peersConnected)), "", `${listed.length} torrent${listed.length === 1 ? "" : "s"}`
  ]
  return textTable(listColumns, [...listed.map(row), totals]).join("\n")
}

export const list = (options: RemoteOptions, format: "text" | "json" = "text") =>
  Effect.map(torrents(options), (listed) => (format === "json" ? JSON.stringify(listed, null, 2) : listText(listed)))

const pastTense = { "torrent-start": "started", "torrent-stop": "stopped", "torrent-remove": "removed" } as const

/**
 * The torrents that `which` names (ids, info hashes, or all), or a failure naming those that are no
 * torrent of the daemon: acting on the rest would leave a typo unnoticed.
 */
const resolve = (options: RemoteOptions, which: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const all = yield* torrents(options)
    if (which.length === 1 && which[0] === "all") return all
    const found: Array<Listed> = []
    const unknown: Array<string> = []
    for (const w of which) {
      const t = /^\d+$/.test(w) ? all.find((l) => l.id === Number(w)) : all.find((l) => l.hashString.toLowerCase() === w.toLowerCase())
      if (t === undefined) unknown.push(w)
      else if (!found.includes(t)) found.push(t)
    }
    if (unknown.length > 0) {
      return yield* new RemoteError({
        reason: "Input",
        detail: `no torrent ${unknown.map((u) => `'${u}'`).join(", ")} in the daemon (give an ID or info hash from 'bt-effect list', or all); nothing was changed`
      })
    }
    return found
  })

/** Starts, stops or removes the torrents named; one line per torrent acted on. */
export const act = (options: RemoteOptions, method: "torrent-start" | "torrent-stop" | "torrent-remove", which: ReadonlyArray<string>, deleteData = false) =>
  Effect.gen(function* () {
    const chosen = yield* resolve(options, which)
    if (chosen.length === 0) return "no torrents"
    yield* call(options, method, {
      ids: chosen.map((t) => t.id),
      ...(method === "torrent-remove" ? { "delete-local-data": deleteData } : {})
    })
    const also = method === "torrent-remove" && deleteData ? " (and its data)" : ""
    return chosen.map((t) => `${pastTense[method]}: ${t.id} ${t.name}${also}`).join("\n")
  })
