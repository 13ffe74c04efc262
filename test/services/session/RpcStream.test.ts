/**
 * The daemon's `/stream/<info hash>/<file number>` over real HTTP on 127.0.0.1, against a memory session
 * given a torrent's files: behind the Host check and the login as the RPC, a range of the file, a torrent
 * not running, and a player that leaves while its read waits for a piece.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as http from "node:http"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import { make } from "../../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../../src/services/session/RpcServer.js"
import { SessionControl } from "../../../src/services/session/SessionControl.js"
import type { StreamSource } from "../../../src/services/stream/StreamServer.js"
import type { TorrentEvent } from "../../../src/services/torrent/TorrentHandle.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const pieceLength = 16384
const torrent = makeTorrent({ name: "album", pieceLength, files: [{ path: ["one.flac"], data: randomBytes(40_000) }, { path: ["two.flac"], data: randomBytes(9_000, 2) }] })
const hash = Buffer.from(torrent.metainfo.infoHash!).toString("hex")
const auth = { username: "u", password: "p" }
const login = `Basic ${Buffer.from("u:p").toString("base64")}`

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

const request = (port: number, path: string, headers: http.OutgoingHttpHeaders = {}, method = "GET") =>
  Effect.async<Answer, Error>((resume) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

/** A server whose session streams `torrent` with the pieces of `have`; `reads` lists the pieces read. */
const serve = (have: Bitfield) =>
  Effect.gen(function*() {
    const events = yield* PubSub.unbounded<TorrentEvent>()
    const reads: Array<number> = []
    const source: StreamSource = {
      metainfo: torrent.metainfo,
      pieces: Effect.sync(() => have.copy()),
      events,
      read: (piece, offset, length) =>
        Effect.sync(() => {
          reads.push(piece)
          return torrent.payload.slice(piece * pieceLength + offset, piece * pieceLength + offset + length)
        })
    }
    const memory = yield* make({ streams: new Map([[hash, source]]) })
    const { port } = yield* RpcServer.make({ port: 0, auth }).pipe(Effect.provideService(SessionControl, memory))
    return { port, events, reads }
  })

describe("RpcServer: /stream/", () => {
  it.scopedLive("serves a range of a running torrent's file, behind the Host check and the login", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(Bitfield.full(torrent.metainfo.pieceCount))
      const path = `/stream/${hash}/2`
      const range = yield* request(port, path, { authorization: login, range: "bytes=100-199" })
      expect(range.status).toBe(206)
      expect(range.headers["content-range"]).toBe("bytes 100-199/9000")
      expect(range.headers["content-type"]).toBe("audio/flac")
      expect(range.body.equals(Buffer.from(torrent.payload.subarray(40_100, 40_200)))).toBe(true)
      const head = yield* request(port, path, { authorization: login }, "HEAD")
      expect(head.status).toBe(200)
      expect(head.headers["content-length"]).toBe("9000")
      expect((yield* request(port, path)).status).toBe(401)
      expect((yield* request(port, path, { authorization: login, host: "evil.example" })).status).toBe(421)
      expect((yield* request(port, `/stream/${"0".repeat(40)}/1`, { authorization: login })).status).toBe(404)
      expect((yield* request(port, `/stream/${hash}/3`, { authorization: login })).status).toBe(404)
    }))

  it.scopedLive("ends the read of a player that left while it waited for a piece", () =>
    Effect.gen(function*() {
      const have = Bitfield.empty(torrent.metainfo.pieceCount)
      have.set(0)
      const { events, port, reads } = yield* serve(have)
      yield* Effect.async<void>((resume) => {
        const req = http.request({ host: "127.0.0.1", port, path: `/stream/${hash}/1`, headers: { authorization: login }, agent: false }, (res) => {
          res.once("data", () => {
            req.destroy()
            resume(Effect.void)
          })
        })
        req.on("error", () => {})
        req.end()
      })
      yield* Effect.sleep("100 millis")
      have.set(1)
      yield* PubSub.publish(events, { _tag: "PieceVerified", piece: 1 })
      yield* Effect.sleep("100 millis")
      expect(reads).toEqual([0])
    }))
})
