/**
 * A .torrent fetched by its URL for the session (TorrentUrl.ts), from servers on 127.0.0.1 that behave
 * and that do not: redirects (followed on every HttpClient, to HTTP(S) only, 20 at most), error statuses,
 * a refused connection, bodies past the .torrent limit (declared or streamed) and a server that never
 * answers (30 s of TestClock). Each failure is a ControlError Io whose detail names the URL and the reason.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as http from "node:http"
import type { ControlError } from "../../../src/domain/Errors.js"
import { maxTorrentBytes } from "../../../src/protocol/TorrentFile.js"
import * as TorrentUrl from "../../../src/services/session/TorrentUrl.js"
import { eventually, httpTracker as httpServer, reply, stream, type Streamed } from "../../support/hostileTracker.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const torrent = makeTorrent({ name: "fetched", pieceLength: 16384, files: [{ path: ["f.bin"], data: randomBytes(50_000, 3) }] })
const userAgent = "bt-effect/test"

const fetchTorrent = (url: string) => Effect.flatMap(TorrentUrl.make({ userAgent }), (fetch) => fetch(url))

/** The reason and detail of a fetch that must fail. */
const failure = (url: string) => Effect.map(Effect.flip(fetchTorrent(url)), (e: ControlError) => [e.reason, e.detail] as const)

const clients: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["node:http", NodeHttpClient.layer],
  ["fetch", FetchHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici]
]

/** Answers `/t.torrent` with the torrent; `/hop/N` redirects to N-1 and `/hop/0` to the torrent. */
const redirecting = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const hop = /^\/hop\/(\d+)$/.exec(req.url ?? "")
  if (hop !== null) {
    const n = Number(hop[1])
    res.writeHead(302, { location: n === 0 ? "/t.torrent" : `/hop/${n - 1}` })
    return res.end()
  }
  if (req.url === "/file") {
    res.writeHead(301, { location: "file:///etc/passwd" })
    return res.end()
  }
  if (req.url === "/t.torrent") return reply(res, torrent.bytes)
  res.writeHead(404)
  res.end()
}

describe("TorrentUrl", () => {
  for (const [name, client] of clients) {
    it.scopedLive(`${name}: follows 20 redirects to the .torrent, not 21, and never to a file: URL`, () =>
      Effect.gen(function*() {
        const agents: Array<string | undefined> = []
        const server = yield* httpServer((req, res) => {
          agents.push(req.headers["user-agent"])
          redirecting(req, res)
        })
        const base = `http://127.0.0.1:${server.port}`
        const bytes = yield* fetchTorrent(`${base}/hop/19`)
        expect(Buffer.compare(bytes, torrent.bytes)).toBe(0)
        expect(server.targets.length).toBe(21)
        expect(new Set(agents)).toEqual(new Set([userAgent]))
        expect(yield* failure(`${base}/hop/20`)).toEqual(["Io", `cannot fetch ${base}/hop/20: more than 20 redirects`])
        expect(server.targets.length).toBe(21 + 21)
        expect(yield* failure(`${base}/file`)).toEqual(["Io", `cannot fetch ${base}/file: redirect to something that is not an HTTP(S) URL`])
        expect(yield* eventually(() => server.open.size === 0)).toBe(true)
      }).pipe(Effect.provide(client)))
  }

  it.scopedLive("an error status or a refused connection is the reason, after the URL", () =>
    Effect.gen(function*() {
      const server = yield* httpServer(redirecting)
      const missing = `http://127.0.0.1:${server.port}/none.torrent`
      expect(yield* failure(missing)).toEqual(["Io", `cannot fetch ${missing}: HTTP 404`])
      // A port nobody listens on: the one of a server just closed.
      const closed = yield* Effect.async<number>((resume) => {
        const s = http.createServer().listen(0, "127.0.0.1", () => {
          const address = s.address()
          s.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
        })
      })
      const refused = `http://127.0.0.1:${closed}/t.torrent`
      expect(yield* failure(refused)).toEqual(["Io", `cannot fetch ${refused}: connect ECONNREFUSED 127.0.0.1:${closed}`])
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scopedLive("a body of the .torrent limit is read; one byte more is refused from its declared length, or while it streams", () =>
    Effect.gen(function*() {
      const whole: Streamed = { bytes: 0, cut: false }
      const atLimit = yield* httpServer((_, res) => stream(res, whole, { total: maxTorrentBytes }))
      expect((yield* fetchTorrent(`http://127.0.0.1:${atLimit.port}/`)).length).toBe(maxTorrentBytes)

      const declared = yield* httpServer((_, res) => {
        res.writeHead(200, { "content-length": maxTorrentBytes + 1 })
        res.write("d8:announce") // and nothing more
      })
      const declaredUrl = `http://127.0.0.1:${declared.port}/`
      expect(yield* failure(declaredUrl)).toEqual(["Io", `cannot fetch ${declaredUrl}: larger than ${maxTorrentBytes} bytes`])
      expect(yield* eventually(() => declared.open.size === 0)).toBe(true)

      // No length, and never ended: a client that read to the end before counting would wait 30 s.
      const streamed: Streamed = { bytes: 0, cut: false }
      const endless = yield* httpServer((_, res) => stream(res, streamed, { total: 4 * maxTorrentBytes, end: false }))
      const endlessUrl = `http://127.0.0.1:${endless.port}/`
      const started = Date.now()
      expect(yield* failure(endlessUrl)).toEqual(["Io", `cannot fetch ${endlessUrl}: larger than ${maxTorrentBytes} bytes`])
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(yield* eventually(() => streamed.cut)).toBe(true)
      expect(streamed.bytes).toBeLessThan(2 * maxTorrentBytes)
    }).pipe(Effect.provide(NodeHttpClient.layer)), 60_000)

  it.scoped("a server that never answers, or stops halfway through the body, fails at 30 s", () =>
    Effect.gen(function*() {
      const silent = yield* httpServer(() => {})
      const halfway = yield* httpServer((_, res) => {
        res.writeHead(200, { "content-length": 100 })
        res.write("d8:announce")
      })
      for (const server of [silent, halfway]) {
        const url = `http://127.0.0.1:${server.port}/t.torrent`
        const fiber = yield* Effect.fork(failure(url))
        expect(yield* eventually(() => server.targets.length === 1)).toBe(true)
        yield* TestClock.adjust("29 seconds")
        expect(yield* Fiber.poll(fiber)).toEqual(Option.none())
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toEqual(["Io", `cannot fetch ${url}: no answer within 30s`])
        // The connection is closed, not left to the server.
        expect(yield* eventually(() => server.open.size === 0)).toBe(true)
      }
    }).pipe(Effect.provide(NodeHttpClient.layer)))
})
