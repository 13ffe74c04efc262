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
import * as fs from "node:fs"
import * as path from "node:path"
import { RemoteError } from "../../domain/Errors.js"
import { formatBytes, formatDuration, formatRate } from "../../domain/Units.js"
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

/** One POST of the body; a 409 gives the session id to send (its reply is not read), any other status the reply. */
const exchange = (options: RemoteOptions, body: string, sessionId: string | undefined) =>
  Effect.gen(function* () {
    const fail = (detail: string) => unreachable(options, detail)
    const client = HttpClient.withScope(HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false))
    const headers: Record<string, string> = {}
    if (options.auth !== undefined) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`
    if (sessionId !== undefined) headers["x-transmission-session-id"] = sessionId
    const response = yield* client.post(options.url, { headers, body: HttpBody.text(body, "application/json") }).pipe(
      Effect.mapError((e) => fail(UntrustedHttp.transportText(e)))
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

/** Ids as the RPC takes them: numbers, info hashes, or every torrent. */
export const idsOf = (which: ReadonlyArray<string>): Record<string, unknown> =>
  which.length === 1 && which[0] === "all" ? {} : { ids: which.map((w) => (/^\d+$/.test(w) ? Number(w) : w)) }

export const add = (options: RemoteOptions, source: string, addOptions: { readonly downloadDir?: string; readonly paused: boolean }) =>
  Effect.gen(function* () {
    const isLink = /^(magnet:|https?:\/\/)/i.test(source)
    const args: Record<string, unknown> = {
      ...(addOptions.downloadDir !== undefined ? { "download-dir": path.resolve(addOptions.downloadDir) } : {}),
      paused: addOptions.paused
    }
    if (isLink) args.filename = source
    else {
      const bytes = yield* Effect.tryPromise({
        try: () => fs.promises.readFile(source),
        catch: (e) => new RemoteError({ reason: "Input", detail: `cannot read ${source}: ${errorText(e)}` })
      })
      args.metainfo = bytes.toString("base64")
    }
    const reply = yield* call(options, "torrent-add", args)
    const added = (reply["torrent-added"] ?? reply["torrent-duplicate"]) as { id: number; name: string } | undefined
    if (added === undefined) return yield* new RemoteError({ reason: "Failed", detail: "torrent-add: no torrent in the answer" })
    return `${reply["torrent-added"] !== undefined ? "added" : "already there"}: ${added.id} ${added.name}`
  })

interface Row {
  readonly id: number
  readonly name: string
  readonly status: number
  readonly percentDone: number
  readonly totalSize: number
  readonly rateDownload: number
  readonly rateUpload: number
  readonly eta: number
  readonly peersConnected: number
  readonly errorString: string
}

export const list = (options: RemoteOptions) =>
  Effect.gen(function* () {
    const reply = yield* call(options, "torrent-get", {
      fields: ["id", "name", "status", "percentDone", "totalSize", "rateDownload", "rateUpload", "eta", "peersConnected", "errorString"]
    })
    const rows = (reply.torrents ?? []) as ReadonlyArray<Row>
    const lines = ["  ID   Done       Size  Status       Down        Up  Peers  ETA       Name"]
    for (const r of rows) {
      const eta = r.percentDone >= 1 ? "done" : r.eta < 0 ? "-" : formatDuration(r.eta)
      const status = r.errorString !== "" ? "Error" : statusWords[r.status] ?? String(r.status)
      lines.push(
        `${String(r.id).padStart(4)}  ${`${(r.percentDone * 100).toFixed(1)}%`.padStart(6)}  ${formatBytes(r.totalSize).padStart(9)}  ` +
          `${status.padEnd(11)} ${formatRate(r.rateDownload).padStart(9)} ${formatRate(r.rateUpload).padStart(9)}  ` +
          `${String(r.peersConnected).padStart(5)}  ${eta.padEnd(8)}  ${r.name}${r.errorString !== "" ? ` (${r.errorString})` : ""}`
      )
    }
    return lines.join("\n")
  })

export const act = (options: RemoteOptions, method: "torrent-start" | "torrent-stop" | "torrent-remove", which: ReadonlyArray<string>, deleteData = false) =>
  call(options, method, { ...idsOf(which), ...(method === "torrent-remove" ? { "delete-local-data": deleteData } : {}) }).pipe(Effect.asVoid)
