/**
 * A torrent's files over HTTP while it downloads, for players that seek (browsers, mpv, VLC, ffmpeg):
 * HTTP/1.1 single ranges (domain/ByteRange: 206 with Content-Range, suffix ranges, 416), HEAD,
 * Accept-Ranges and a Content-Type from the file's extension.
 *
 * The bytes come from torrent/TorrentReader.ts: a byte is sent only once its piece is verified (never
 * zeros), and the pieces under the read position get deadlines in the picker. The body goes out a slice
 * at a time, the next read only once the socket has taken the last one (backpressure: a paused player
 * holds no memory), and a closed connection interrupts the request's fiber, which ends the read and drops
 * its subscription and its deadlines.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import { contentRange, parseRange, unsatisfiedRange } from "../../domain/ByteRange.js"
import { NetworkError, type StorageError } from "../../domain/Errors.js"
import { type Metainfo, relativePath } from "../../domain/Metainfo.js"
import { mimeTypeOf } from "../../domain/MimeTypes.js"
import * as NodeServer from "../http/NodeServer.js"
import * as TorrentReader from "../torrent/TorrentReader.js"
import type { ReadableTorrent } from "../torrent/TorrentReader.js"

/** What the server needs of a running torrent (torrent/TorrentReader.ts). */
export type StreamSource = ReadableTorrent

/** Types a browser would run or render as a page of this origin (HTML, SVG, XML, scripts). The daemon
 *  serves streams on the RPC's origin: a torrent's page must not script it with the user's login, so
 *  these go as plain bytes, and nosniff keeps the browser from guessing otherwise. */
const activeType = /html|xml|svg|script/

const servedType = (name: string): string => {
  const type = mimeTypeOf(name)
  return activeType.test(type) ? "application/octet-stream" : type
}

/** A file's path on the server: its number as `info` shows it (1-based), then its name, each part escaped. */
export const filePath = (metainfo: Metainfo, index: number): string =>
  `/${index + 1}/${relativePath(metainfo, metainfo.files[index]!).map(encodeURIComponent).join("/")}`

/** Waits until the socket has taken what was written (or is gone). */
const drained = (res: http.ServerResponse) =>
  Effect.async<void>((resume) => {
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.off("drain", done)
      res.off("close", done)
    })
  })

/** Sends the torrent's bytes `start` to `end` (included), each piece once it is verified, the next slice
 *  only once the socket has taken the last. */
const sendBytes = (source: StreamSource, res: http.ServerResponse, start: number, end: number) =>
  TorrentReader.bytes(source, start, end).pipe(
    Stream.takeWhile(() => !res.destroyed),
    Stream.runForEach((slice) => (res.write(slice) ? Effect.void : drained(res))),
    Effect.zipRight(Effect.sync(() => void res.end()))
  )

const plain = (res: http.ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

/** The answer to a GET or HEAD of file `index` (0-based) of the source. */
export const serveFile = (source: StreamSource, index: number, req: http.IncomingMessage, res: http.ServerResponse) =>
  Effect.suspend(() => {
    const metainfo = source.metainfo
    const file = metainfo.files[index]
    if (file === undefined || file.pad) return Effect.sync(() => plain(res, 404, "No such file.\n"))
    if (req.method !== "GET" && req.method !== "HEAD") {
      return Effect.sync(() => {
        res.setHeader("allow", "GET, HEAD")
        plain(res, 405, "Only GET and HEAD.\n")
      })
    }
    const size = file.length
    const fileStart = TorrentReader.fileStart(metainfo, index)
    const answer = parseRange(req.headers.range, size)
    const headers: Record<string, string> = {
      "accept-ranges": "bytes",
      "content-type": servedType(relativePath(metainfo, file).join("/")),
      "x-content-type-options": "nosniff",
      "cache-control": "no-store"
    }
    if (answer._tag === "Unsatisfiable") {
      return Effect.sync(() => {
        res.writeHead(416, { ...headers, "content-range": unsatisfiedRange(size), "content-length": "0" })
        res.end()
      })
    }
    const range = answer._tag === "Partial" ? answer.range : { start: 0, end: size - 1 }
    const length = range.end + 1 - range.start
    res.writeHead(answer._tag === "Partial" ? 206 : 200, {
      ...headers,
      "content-length": String(length),
      ...(answer._tag === "Partial" ? { "content-range": contentRange(range, size) } : {})
    })
    if (req.method === "HEAD" || length === 0) return Effect.sync(() => void res.end())
    return sendBytes(source, res, fileStart + range.start, fileStart + range.end)
  })

/**
 * Runs a request's answer in its own fiber, interrupted when the connection closes first (the read it
 * waits on ends); a failure to read cuts the connection (the headers are out: nothing else can say so).
 */
export const runRequest = (
  runtime: Runtime.Runtime<never>,
  res: http.ServerResponse,
  answer: Effect.Effect<void, StorageError>
): void => {
  const fiber = Runtime.runFork(runtime)(answer.pipe(
    Effect.catchAllCause((cause) => Effect.zipRight(Effect.logDebug("stream: read failed", cause), Effect.sync(() => void res.destroy())))
  ))
  res.on("close", () => {
    if (!res.writableFinished) Runtime.runFork(runtime)(Fiber.interrupt(fiber))
  })
  fiber.addObserver(() => {
    if (!res.writableEnded) res.destroy()
  })
}

/** The file number of a path `/<n>/...` (0-based index), or undefined. */
const fileIndexOf = (url: string | undefined): number | undefined => {
  const match = /^\/([0-9]{1,9})(?:\/|$|\?)/.exec(url ?? "")
  return match === null ? undefined : Number(match[1]) - 1
}

/** Serves the source's files at `/<n>/<name>` on host:port (0 picks a port) until the scope closes. The
 *  source may come later (a request waits for it): the port is bound first, so that one in use fails at
 *  once, before the torrent's data is checked. */
export const make = (options: { readonly host: string; readonly port: number; readonly source: Effect.Effect<StreamSource> }): Effect.Effect<
  { readonly port: number },
  NetworkError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const onRequest: http.RequestListener = (req, res) => {
      const index = fileIndexOf(req.url)
      if (index === undefined) return plain(res, 404, "No such file.\n")
      runRequest(runtime, res, Effect.flatMap(options.source, (source) => serveFile(source, index, req, res)))
    }
    const server = yield* NodeServer.serve(http.createServer(onRequest), options.host, options.port)
    const address = server.address()
    return { port: typeof address === "object" && address !== null ? address.port : options.port }
  })
