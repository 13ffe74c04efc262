import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as StreamServer from "../../../src/services/stream/StreamServer.js"
import type { TorrentEvent } from "../../../src/services/torrent/TorrentHandle.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const pieceLength = 16384
const torrent = makeTorrent({
  name: "show",
  pieceLength,
  files: [
    { path: ["notes.txt"], data: randomBytes(1000, 3) },
    { path: ["movie.mp4"], data: randomBytes(100_000, 4) },
    { path: ["page.html"], data: new TextEncoder().encode("<script>alert(1)</script>") }
  ]
})
const movieStart = 1000
const movieSize = 100_000

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

let scope: Scope.CloseableScope
let port: number
let have: Bitfield
let events: PubSub.PubSub<TorrentEvent>
let reads: Array<number>

beforeEach(async () => {
  scope = Effect.runSync(Scope.make())
  have = Bitfield.full(torrent.metainfo.pieceCount)
  reads = []
  events = Effect.runSync(PubSub.unbounded<TorrentEvent>())
  const source: StreamServer.StreamSource = {
    metainfo: torrent.metainfo,
    pieces: Effect.sync(() => have.copy()),
    events,
    read: (piece, offset, length) =>
      Effect.sync(() => {
        reads.push(piece)
        const at = piece * pieceLength + offset
        return torrent.payload.slice(at, at + length)
      })
  }
  port = (await Effect.runPromise(Scope.extend(StreamServer.make({ host: "127.0.0.1", port: 0, source: Effect.succeed(source) }), scope))).port
})

afterEach(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const request = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end()
  })

const movie = (from: number, to: number) => Buffer.from(torrent.payload.subarray(movieStart + from, movieStart + to))
const verify = (piece: number) => {
  have.set(piece)
  Effect.runSync(PubSub.publish(events, { _tag: "PieceVerified", piece }))
}

describe("StreamServer", () => {
  it("names each file by its number and name", () => {
    expect(StreamServer.filePath(torrent.metainfo, 1)).toBe("/2/show/movie.mp4")
  })

  it("answers a range with 206, Content-Range, Accept-Ranges and the type of the file", async () => {
    const reply = await request("/2/show/movie.mp4", { range: "bytes=100-20099" })
    expect(reply.status).toBe(206)
    expect(reply.headers["content-range"]).toBe(`bytes 100-20099/${movieSize}`)
    expect(reply.headers["accept-ranges"]).toBe("bytes")
    expect(reply.headers["content-type"]).toBe("video/mp4")
    expect(reply.headers["content-length"]).toBe("20000")
    expect(reply.body.equals(movie(100, 20100))).toBe(true)
  })

  it("answers without a range with the whole file, a suffix with the file's end, past the end with 416", async () => {
    const whole = await request("/2/movie.mp4")
    expect(whole.status).toBe(200)
    expect(whole.body.equals(movie(0, movieSize))).toBe(true)
    const suffix = await request("/2/movie.mp4", { range: "bytes=-500" })
    expect(suffix.status).toBe(206)
    expect(suffix.headers["content-range"]).toBe(`bytes ${movieSize - 500}-${movieSize - 1}/${movieSize}`)
    expect(suffix.body.equals(movie(movieSize - 500, movieSize))).toBe(true)
    const past = await request("/2/movie.mp4", { range: `bytes=${movieSize}-` })
    expect(past.status).toBe(416)
    expect(past.headers["content-range"]).toBe(`bytes */${movieSize}`)
    const text = await request("/1/notes.txt")
    expect(text.headers["content-type"]).toBe("text/plain")
    expect(text.body.equals(Buffer.from(torrent.payload.subarray(0, 1000)))).toBe(true)
    expect((await request("/4/none")).status).toBe(404)
  })

  it("sends a page (as SVG and XML) as bytes, never as something the browser runs on this origin", async () => {
    const page = await request("/3/page.html")
    expect(page.status).toBe(200)
    expect(page.headers["content-type"]).toBe("application/octet-stream")
    expect(page.headers["x-content-type-options"]).toBe("nosniff")
  })

  it("answers HEAD with the headers alone", async () => {
    const reply = await request("/2/movie.mp4", {}, "HEAD")
    expect(reply.status).toBe(200)
    expect(reply.headers["content-length"]).toBe(String(movieSize))
    expect(reply.body.length).toBe(0)
    expect(reads).toEqual([])
  })

  it("waits for a piece not verified yet, and sends it once it is", async () => {
    have = Bitfield.empty(torrent.metainfo.pieceCount)
    verify(0)
    let done = false
    const pending = request("/2/movie.mp4", { range: "bytes=0-40000" }).then((r) => {
      done = true
      return r
    })
    await new Promise((r) => setTimeout(r, 150))
    expect(done).toBe(false)
    expect(reads).toEqual([0])
    verify(2) // not yet the one it waits for
    verify(1)
    const reply = await pending
    expect(reply.status).toBe(206)
    expect(reply.body.equals(movie(0, 40001))).toBe(true)
    expect(reads).toEqual([0, 1, 2])
  })

  it("stops reading when the connection closes", async () => {
    have = Bitfield.empty(torrent.metainfo.pieceCount)
    verify(0)
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path: "/2/movie.mp4" }, (res) => {
        res.once("data", () => {
          req.destroy()
          resolve()
        })
      })
      req.on("error", () => {})
      req.on("close", () => resolve())
      req.end()
      setTimeout(() => reject(new Error("no data")), 2000)
    })
    await new Promise((r) => setTimeout(r, 100))
    verify(1)
    await new Promise((r) => setTimeout(r, 100))
    expect(reads).toEqual([0])
  })
})
