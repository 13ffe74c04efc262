/**
 * The embedded tracker over real sockets on 127.0.0.1: the project's own tracker client and raw HTTP and
 * UDP requests against it, expiry under TestClock, and an aria2c seeder announcing to it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as dgram from "node:dgram"
import * as http from "node:http"
import type { AnnounceRequest } from "../../../src/domain/Announce.js"
import { type Bencode, isBytes, isDict, isList, keyFromBytes } from "../../../src/domain/Bencode.js"
import { InfoHash, toHex } from "../../../src/domain/InfoHash.js"
import { format } from "../../../src/domain/PeerAddress.js"
import { decode } from "../../../src/protocol/Bencode.js"
import { decodeAnnounce, percentEncode } from "../../../src/protocol/TrackerHttp.js"
import { decodeResponse, encodeRequest, type UdpAnnounceRequest, type UdpRequest } from "../../../src/protocol/TrackerUdp.js"
import * as TrackerServer from "../../../src/services/tracker/TrackerServer.js"
import { addresses, announce, announceRequest, peerIdOf, trackerClient } from "../../support/announces.js"
import * as Interop from "../../support/interop.js"
import { makePayload } from "../../support/payload.js"

// 0x00, space, '%', 0xff and '+': the bytes that a careless decoder mangles.
const infoHash = InfoHash.make(new Uint8Array([0x00, 0x20, 0x25, 0xff, 0x2b, ...new Array<number>(15).fill(0x41)]))
const otherHash = InfoHash.make(new Uint8Array(20).fill(0x07))
const peerId = peerIdOf
const request = (name: string, port: number, overrides: Partial<AnnounceRequest> = {}) => announceRequest(infoHash, name, port, overrides)
const client = trackerClient

const server = (options: Partial<TrackerServer.TrackerServerOptions> = {}) => TrackerServer.make({ port: 0, ...options })

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP and UDP

/** GET `path` (sent exactly as given) from the server. No Effect timeout: TestClock tests use it too. */
const get = (port: number, path: string, method = "GET") =>
  Effect.async<{ readonly status: number; readonly body: Uint8Array }, Error>((resume) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) })))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

const bencoded = (body: Uint8Array): Bencode => Either.getOrThrow(decode(body)).value

const entry = (v: Bencode | undefined, key: string): Bencode | undefined => (v !== undefined && isDict(v) ? v.get(key) : undefined)

const failureOf = (body: Uint8Array): string | undefined => {
  const reason = entry(bencoded(body), "failure reason")
  return reason !== undefined && isBytes(reason) ? Buffer.from(reason).toString("utf8") : undefined
}

const query = (fields: Record<string, string | Uint8Array>) =>
  Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : percentEncode(v)}`).join("&")

const announceQuery = (name: string, port: number, extra: Record<string, string | Uint8Array> = {}) =>
  query({ info_hash: infoHash, peer_id: peerId(name), port: String(port), uploaded: "0", downloaded: "0", left: "10", ...extra })

const udpSocket = Effect.gen(function*() {
  const replies = yield* Queue.unbounded<Uint8Array>()
  const socket = yield* Effect.acquireRelease(
    Effect.async<dgram.Socket>((resume) => {
      const socket = dgram.createSocket("udp4")
      socket.on("message", (m) => Queue.unsafeOffer(replies, new Uint8Array(m)))
      socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.close())
  )
  return { socket, replies }
})

const exchange = (
  udp: Effect.Effect.Success<typeof udpSocket>,
  port: number,
  req: UdpRequest | Uint8Array,
  wait: "1 second" | "300 millis" = "1 second"
) =>
  Effect.gen(function*() {
    const bytes = req instanceof Uint8Array ? req : encodeRequest(req)
    udp.socket.send(bytes, port, "127.0.0.1")
    const reply = yield* Effect.timeout(Queue.take(udp.replies), wait).pipe(Effect.option)
    return Option.map(reply, (r) => Either.getOrThrow(decodeResponse(r, 4)))
  })

const connectId = (udp: Effect.Effect.Success<typeof udpSocket>, port: number) =>
  Effect.flatMap(exchange(udp, port, { _tag: "Connect", transactionId: 7 }), (r) =>
    Option.isSome(r) && r.value._tag === "Connect" ? Effect.succeed(r.value.connectionId) : Effect.die("no connect"))

// ---------------------------------------------------------------------------------------------------------

describe("TrackerServer over HTTP", () => {
  it.scopedLive("two peers each see the other, never themselves, with swarm counts", () =>
    Effect.gen(function*() {
      const t = yield* server()
      expect(t.udpPort).toBe(t.httpPort)
      expect(t.httpUrl).toBe(`http://127.0.0.1:${t.httpPort}/announce`)
      expect(t.udpUrl).toBe(`udp://127.0.0.1:${t.httpPort}`)
      const first = yield* announce(t.httpUrl, request("a", 6001))
      expect(first).toEqual({ interval: 60, complete: 0, incomplete: 1, peers: [] })
      const b = yield* announce(t.httpUrl, request("b", 6002, { left: 0 }))
      expect([addresses(b.peers), b.complete, b.incomplete]).toEqual([["127.0.0.1:6001"], 1, 1])
      const a = yield* announce(t.httpUrl, request("a", 6001, { event: "none", compact: false }))
      expect([addresses(a.peers), a.complete, a.incomplete]).toEqual([["127.0.0.1:6002"], 1, 1])
      expect(yield* t.peers(toHex(infoHash))).toEqual([
        { host: "127.0.0.1", port: 6001, left: 1000 },
        { host: "127.0.0.1", port: 6002, left: 0 }
      ])
    }).pipe(Effect.provide(client)), 10_000)

  it.scopedLive("compact by default, a dictionary list with compact=0, IPv6 peers in peers6", () =>
    Effect.gen(function*() {
      const t = yield* server()
      // A loopback client may announce a loopback or private address instead of its own.
      yield* get(t.httpPort, `/announce?${announceQuery("v6", 7000, { ip: "fd00::1" })}`)
      yield* get(t.httpPort, `/announce?${announceQuery("v4", 7001, { ip: "10.1.2.3" })}`)
      const compact = bencoded((yield* get(t.httpPort, `/announce?${announceQuery("me", 7002)}`)).body)
      expect(entry(compact, "peers")).toEqual(new Uint8Array([10, 1, 2, 3, 0x1b, 0x59]))
      expect(entry(compact, "peers6")).toEqual(new Uint8Array([0xfd, ...new Array<number>(14).fill(0), 1, 0x1b, 0x58]))
      const full = (yield* get(t.httpPort, `/announce?${announceQuery("me", 7002, { compact: "0" })}`)).body
      expect(isList(entry(bencoded(full), "peers"))).toBe(true)
      const decoded = Either.getOrThrow(decodeAnnounce(full))
      expect(addresses(decoded.peers)).toEqual(["10.1.2.3:7001", "[fd00::1]:7000"])
      // A public address is not taken from the query: the source address is used.
      yield* get(t.httpPort, `/announce?${announceQuery("v4", 7001, { ip: "8.8.8.8" })}`)
      expect(addresses(yield* t.peers(toHex(infoHash)))).toContain("127.0.0.1:7001")
    }), 10_000)

  it.scopedLive("numwant limits the peers handed out (default 50, at most 200)", () =>
    Effect.gen(function*() {
      const t = yield* server()
      yield* Effect.forEach(
        Array.from({ length: 210 }, (_, i) => i),
        (i) => get(t.httpPort, `/announce?${announceQuery(`p${i}`, 10_000 + i)}`),
        { concurrency: 16 }
      )
      const count = (extra: Record<string, string>) =>
        Effect.map(get(t.httpPort, `/announce?${announceQuery("me", 9999, extra)}`), ({ body }) => {
          const v = bencoded(body)
          const peers = isDict(v) ? v.get("peers") : undefined
          return isBytes(peers) ? peers.length / 6 : -1
        })
      expect(yield* count({ numwant: "3" })).toBe(3)
      expect(yield* count({})).toBe(50)
      expect(yield* count({ numwant: "-1" })).toBe(50)
      expect(yield* count({ numwant: "1000" })).toBe(200)
      expect(yield* count({ numwant: "0" })).toBe(0)
    }), 20_000)

  it.scopedLive("stopped removes the peer; scrape counts seeders, leechers and completions", () =>
    Effect.gen(function*() {
      const t = yield* server()
      yield* announce(t.httpUrl, request("a", 6001))
      yield* announce(t.httpUrl, request("b", 6002))
      yield* announce(t.httpUrl, request("b", 6002, { event: "completed", left: 0 }))
      yield* announce(t.httpUrl, request("c", 6003, { infoHash: otherHash }))
      const scrape = bencoded((yield* get(t.httpPort, `/scrape?${query({ info_hash: infoHash })}&${query({ info_hash: otherHash })}`)).body)
      const files = isDict(scrape) ? scrape.get("files") : undefined
      const stats = (h: Uint8Array) => (isDict(files) ? files.get(keyFromBytes(h)) : undefined)
      expect(stats(infoHash)).toEqual(new Map([["complete", 1], ["downloaded", 1], ["incomplete", 1]]))
      expect(stats(otherHash)).toEqual(new Map([["complete", 0], ["downloaded", 0], ["incomplete", 1]]))
      expect(isDict(files) ? [...files.keys()].length : 0).toBe(2)

      const stopped = yield* announce(t.httpUrl, request("b", 6002, { event: "stopped" }))
      expect(stopped.peers).toEqual([])
      const a = yield* announce(t.httpUrl, request("a", 6001, { event: "none" }))
      expect([a.peers, a.complete, a.incomplete]).toEqual([[], 0, 1])
      expect(addresses(yield* t.peers(toHex(infoHash)))).toEqual(["127.0.0.1:6001"])
    }).pipe(Effect.provide(client)), 10_000)

  it.scopedLive("a binary info hash and a '+' in a peer id round-trip byte-exactly", () =>
    Effect.gen(function*() {
      const t = yield* server()
      // '+' and '~' sent literally: '+' is a byte 0x2b here, not a space.
      const id = "-XX0001-a+b~c+d+e+f+"
      const q = `info_hash=%00%20%25%ff+${"A".repeat(15)}&peer_id=${id}&port=6881&uploaded=0&downloaded=0&left=0`
      expect(failureOf((yield* get(t.httpPort, `/announce?${q}`)).body)).toBeUndefined()
      expect(yield* t.peers("0020" + "25ff2b" + "41".repeat(15))).toEqual([{ host: "127.0.0.1", port: 6881, left: 0 }])
      const scrape = bencoded((yield* get(t.httpPort, `/scrape?info_hash=${percentEncode(infoHash)}`)).body)
      const files = isDict(scrape) ? scrape.get("files") : undefined
      expect(isDict(files) ? [...files.keys()] : []).toEqual([keyFromBytes(infoHash)])
      // The same peer id written with escapes is the same peer: stopping it (from another port, so that
      // only the id can match) empties the swarm.
      const escaped = `peer_id=${percentEncode(new Uint8Array(Buffer.from(id, "latin1")))}`
      const stop = q.replace(`peer_id=${id}`, escaped).replace("port=6881", "port=6882")
      yield* get(t.httpPort, `/announce?${stop}&event=stopped`)
      expect(yield* t.peers(toHex(infoHash))).toEqual([])
    }), 10_000)

  it.scopedLive("bad requests get a failure reason with status 200; other paths and methods 404", () =>
    Effect.gen(function*() {
      const t = yield* server()
      const reason = (q: string) => Effect.map(get(t.httpPort, `/announce?${q}`), (r) => [r.status, failureOf(r.body)])
      expect(yield* reason("")).toEqual([200, "missing info_hash"])
      expect(yield* reason(announceQuery("a", 1).replace("%2B", ""))).toEqual([200, "info_hash is 19 bytes, not 20"])
      expect(yield* reason(query({ info_hash: infoHash, port: "1" }))).toEqual([200, "missing peer_id"])
      expect(yield* reason(announceQuery("a", 0))).toEqual([200, "port 0 is not 1-65535"])
      expect(yield* reason(announceQuery("a", 70000))).toEqual([200, "port 70000 is not 1-65535"])
      expect(yield* reason(announceQuery("a", 1, { port: "12ab" }))).toEqual([200, "port is not an integer"])
      expect(yield* reason(announceQuery("a", 1, { left: "-5" }))).toEqual([200, "left is not an integer"])
      expect(yield* reason(announceQuery("a", 1, { event: "paused" }))).toEqual([200, "unknown event"])
      expect(yield* reason(announceQuery("a", 1, { numwant: "lots" }))).toEqual([200, "numwant is not an integer"])
      expect(yield* reason(`${announceQuery("a", 1)}&key=%4`)).toEqual([200, 'bad percent-escape "%4"'])
      expect(yield* reason(announceQuery("a", 1).replace("&left=10", ""))).toEqual([200, "missing left"])
      const scrape = yield* get(t.httpPort, "/scrape")
      expect([scrape.status, failureOf(scrape.body)]).toEqual([200, "scrape needs an info_hash"])
      expect((yield* get(t.httpPort, "/")).status).toBe(404)
      expect((yield* get(t.httpPort, "/announce.php?x=1")).status).toBe(404)
      expect((yield* get(t.httpPort, `/announce?${announceQuery("a", 1)}`, "POST")).status).toBe(404)
      const tooLong = yield* Effect.either(get(t.httpPort, `/announce?${"x".repeat(10_000)}`))
      expect(Either.isLeft(tooLong) || tooLong.right.status === 431).toBe(true)
      expect(yield* t.peers(toHex(infoHash))).toEqual([])
    }), 10_000)
})

describe("TrackerServer over UDP", () => {
  it.scopedLive("two peers announce with the project's client and each sees the other", () =>
    Effect.gen(function*() {
      const t = yield* server()
      yield* announce(t.udpUrl, request("a", 6001))
      const b = yield* announce(t.udpUrl, request("b", 6002, { left: 0 }))
      expect([addresses(b.peers), b.complete, b.incomplete]).toEqual([["127.0.0.1:6001"], 1, 1])
      const a = yield* announce(t.udpUrl, request("a", 6001, { event: "none" }))
      expect(addresses(a.peers)).toEqual(["127.0.0.1:6002"])
      // HTTP and UDP share one swarm.
      const c = yield* announce(t.httpUrl, request("c", 6003))
      expect(addresses(c.peers)).toEqual(["127.0.0.1:6001", "127.0.0.1:6002"])
    }).pipe(Effect.provide(client)), 10_000)

  it.scopedLive("announce and scrape need a valid connection id; malformed packets are ignored", () =>
    Effect.gen(function*() {
      const t = yield* server()
      const udp = yield* udpSocket
      const announceWith = (connectionId: bigint, port = 6001): UdpAnnounceRequest => ({
        _tag: "Announce", connectionId, transactionId: 42, infoHash, peerId: peerId("u"), downloaded: 0n,
        left: 5n, uploaded: 0n, event: "started", ip: 0, key: 0, numWant: -1, port
      })
      expect(yield* exchange(udp, t.udpPort, announceWith(12345n))).toEqual(
        Option.some({ _tag: "Error", transactionId: 42, message: "invalid connection id" })
      )
      expect(yield* exchange(udp, t.udpPort, { _tag: "Scrape", connectionId: 1n, transactionId: 43, infoHashes: [infoHash] }))
        .toEqual(Option.some({ _tag: "Error", transactionId: 43, message: "invalid connection id" }))
      expect(yield* exchange(udp, t.udpPort, new Uint8Array(15), "300 millis")).toEqual(Option.none())
      expect(yield* exchange(udp, t.udpPort, new Uint8Array(16).fill(0xff), "300 millis")).toEqual(Option.none())

      const id = yield* connectId(udp, t.udpPort)
      expect(yield* exchange(udp, t.udpPort, announceWith(id))).toEqual(
        Option.some({ _tag: "Announce", transactionId: 42, interval: 60, leechers: 1, seeders: 0, peers: [] })
      )
      expect(yield* exchange(udp, t.udpPort, announceWith(id, 0))).toEqual(
        Option.some({ _tag: "Error", transactionId: 42, message: "port 0 is not 1-65535" })
      )
      expect(yield* exchange(udp, t.udpPort, { _tag: "Scrape", connectionId: id, transactionId: 44, infoHashes: [infoHash, otherHash] }))
        .toEqual(Option.some({
          _tag: "Scrape",
          transactionId: 44,
          files: [{ complete: 0, downloaded: 0, incomplete: 1 }, { complete: 0, downloaded: 0, incomplete: 0 }]
        }))
      expect(yield* exchange(udp, t.udpPort, { ...announceWith(id), event: "stopped" })).toEqual(
        Option.some({ _tag: "Announce", transactionId: 42, interval: 60, leechers: 0, seeders: 0, peers: [] })
      )
    }), 10_000)

  it.scoped("a connection id expires after 2 minutes", () =>
    Effect.gen(function*() {
      const t = yield* server()
      const udp = yield* udpSocket
      const id = yield* connectId(udp, t.udpPort)
      const scrape: UdpRequest = { _tag: "Scrape", connectionId: id, transactionId: 1, infoHashes: [infoHash] }
      yield* TestClock.adjust("119 seconds")
      expect(Option.map(yield* exchange(udp, t.udpPort, scrape), (r) => r._tag)).toEqual(Option.some("Scrape"))
      yield* TestClock.adjust("2 seconds")
      expect(Option.map(yield* exchange(udp, t.udpPort, scrape), (r) => r._tag)).toEqual(Option.some("Error"))
    }), 10_000)
})

describe("TrackerServer", () => {
  it.scoped("a peer that does not re-announce within the TTL is no longer handed out", () =>
    Effect.gen(function*() {
      const t = yield* server({ interval: 10 }) // TTL 20 s
      const count = (name: string, port: number) =>
        Effect.map(get(t.httpPort, `/announce?${announceQuery(name, port)}`), ({ body }) => {
          const v = bencoded(body)
          const peers = isDict(v) ? v.get("peers") : undefined
          return isBytes(peers) ? peers.length / 6 : -1
        })
      expect(yield* count("a", 1)).toBe(0)
      yield* TestClock.adjust("15 seconds")
      expect(yield* count("b", 2)).toBe(1)
      yield* TestClock.adjust("10 seconds") // a: 25 s old, b: 10 s
      expect(yield* count("c", 3)).toBe(1)
      expect(addresses(yield* t.peers(toHex(infoHash)))).toEqual(["127.0.0.1:2", "127.0.0.1:3"])
      yield* TestClock.adjust("60 seconds")
      expect(yield* t.peers(toHex(infoHash))).toEqual([])
    }), 10_000)

  it.scopedLive("a port in use is a Listen error", () =>
    Effect.gen(function*() {
      const t = yield* server()
      const error = yield* Effect.flip(server({ port: t.httpPort }))
      expect([error._tag, error.reason]).toEqual(["NetworkError", "Listen"])
    }), 10_000)

  it.live("run prints its URLs and serves until interrupted", () =>
    Effect.gen(function*() {
      const lines = yield* Queue.unbounded<string>()
      const console: Console.Console = {
        ...(yield* Effect.console),
        log: (...args: ReadonlyArray<unknown>) => Queue.offer(lines, args.join(" ")).pipe(Effect.asVoid)
      }
      const fiber = yield* Effect.fork(Effect.withConsole(TrackerServer.run({ port: 0 }), console))
      const line = yield* Effect.timeoutFail(Queue.take(lines), { duration: "5 seconds", onTimeout: () => "no line" })
      const match = /^tracker: http:\/\/127\.0\.0\.1:(\d+)\/announce udp:\/\/127\.0\.0\.1:(\d+)$/.exec(line)
      expect(match?.[1]).toBe(match?.[2])
      const port = Number(match?.[1])
      expect((yield* get(port, "/nothing")).status).toBe(404)
      yield* Fiber.interrupt(fiber)
      expect(Either.isLeft(yield* Effect.either(get(port, "/nothing")))).toBe(true)
    }), 10_000)

  it.scopedLive("aria2c seeding announces to it over HTTP and is registered", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(Effect.sync(() => Interop.tempDir("bt-effect-tracker-")), (d) => Effect.sync(d.remove))
      const payload = makePayload(dir.path, "single", { size: 512 * 1024, pieceLength: 64 * 1024 })
      const t = yield* server()
      const seeder = yield* Effect.acquireRelease(
        Effect.promise(() =>
          Interop.startAria2Seeder({
            torrent: payload.torrentPath,
            dataDir: payload.dataDir,
            tracker: harnessTracker(t, payload.infoHash),
            timeoutMs: 20_000
          })
        ),
        (s) => Effect.promise(() => s.stop())
      )
      expect(yield* t.peers(payload.infoHash)).toEqual([{ host: "127.0.0.2", port: seeder.port, left: 0 }])
    }), 30_000)
})

/** Our server in the shape the interop harness expects of its tracker; only the URLs and the wait are used. */
const harnessTracker = (t: TrackerServer.TrackerServer, infoHashHex: string): Interop.Tracker => {
  const announces: Array<Interop.Announce> = []
  const poll = Effect.map(t.peers(infoHashHex), (peers) =>
    peers.map((p): Interop.Announce => ({
      event: "start", type: "http", addr: format(p), infoHash: infoHashHex, peerId: "", left: p.left
    })))
  return {
    pid: Number.NaN, // no process of its own: nothing may be signalled
    exited: new Promise(() => {}),
    hasExited: () => false,
    stop: () => Promise.resolve(),
    httpUrl: t.httpUrl,
    udpUrl: t.udpUrl,
    announces,
    stderr: () => "",
    waitForAnnounce: (predicate, timeoutMs = 30_000) =>
      Effect.runPromise(
        poll.pipe(
          Effect.flatMap((seen) => Effect.fromNullable(seen.find(predicate))),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`no such announce within ${timeoutMs} ms`) })
        )
      )
  }
}
