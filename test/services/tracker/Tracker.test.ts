import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as dgram from "node:dgram"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { AnnounceRequest } from "../../../src/domain/Announce.js"
import { InfoHash } from "../../../src/domain/InfoHash.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { PeerId } from "../../../src/domain/PeerId.js"
import { bytes, dict } from "../../../src/domain/Bencode.js"
import { encode } from "../../../src/protocol/Bencode.js"
import { encodeAnnounceResponse, encodeFailure } from "../../../src/protocol/TrackerHttp.js"
import { decodeRequest, encodeResponse, type UdpRequest } from "../../../src/protocol/TrackerUdp.js"
import type { Family } from "../../../src/protocol/CompactPeers.js"
import * as Tracker from "../../../src/services/tracker/Tracker.js"
import * as MemoryTracker from "../../../src/services/tracker/MemoryTracker.js"
import * as NetworkTracker from "../../../src/services/tracker/NetworkTracker.js"

// 0x00, space and 0xff must reach the tracker as %00, %20 and %FF; 'A' and '~' as they are.
const infoHash = InfoHash.make(new Uint8Array([0x00, 0x20, 0xff, 0x41, 0x7e, ...new Array<number>(15).fill(0x01)]))
const infoHashEncoded = "%00%20%FFA~" + "%01".repeat(15)
const peerIdA = PeerId.make(new Uint8Array(Buffer.from("-EF0100-aaaaaaaaaaaa", "latin1")))
const peerIdB = PeerId.make(new Uint8Array(Buffer.from("-EF0100-bbbbbbbbbbbb", "latin1")))
const peer = (host: string, port: number) => new PeerAddress({ host, port })

const request = (overrides: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId: peerIdA,
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  event: "started",
  numwant: 50,
  key: 0xdeadbeef,
  compact: true,
  ...overrides
})

const live = (options: Tracker.TrackerOptions = {}) =>
  NetworkTracker.layerWith(options).pipe(Layer.provide(NodeHttpClient.layerUndici))

const announce = (url: string, req: AnnounceRequest) => Effect.flatMap(Tracker.Tracker, (t) => t.announce(url, req))

const portOf = (address: string | AddressInfo | null): number =>
  typeof address === "object" && address !== null ? address.port : -1

// ---------------------------------------------------------------------------------------------------------
// A local HTTP server

/** A server on 127.0.0.1 and the request targets (path and query) it received, raw. */
const httpServer = (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) =>
  Effect.gen(function*() {
    const targets: Array<string> = []
    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server>((resume) => {
        const server = http.createServer((req, res) => {
          targets.push(req.url ?? "")
          handler(req, res)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    return { port: portOf(server.address()), targets }
  })

const body = (res: http.ServerResponse, bytes: Uint8Array, status = 200) => {
  res.writeHead(status, { "content-type": "text/plain" })
  res.end(Buffer.from(bytes))
}

describe("HTTP", () => {
  it.scopedLive("sends the query byte-exactly and decodes a compact response", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, res) =>
        body(
          res,
          encodeAnnounceResponse(
            { interval: 900, minInterval: 60, complete: 3, incomplete: 4, peers: [peer("10.0.0.1", 6881), peer("2001:db8::1", 51413)] },
            { compact: true }
          )
        )
      )
      const res = yield* announce(`http://127.0.0.1:${server.port}/announce?passkey=x%2Fy`, request())
      expect(server.targets).toEqual([
        `/announce?passkey=x%2Fy&info_hash=${infoHashEncoded}&peer_id=-EF0100-aaaaaaaaaaaa&port=6881&uploaded=0` +
        "&downloaded=0&left=1000&compact=1&numwant=50&key=DEADBEEF&event=started"
      ])
      expect(res).toEqual({
        interval: 900,
        minInterval: 60,
        complete: 3,
        incomplete: 4,
        peers: [peer("10.0.0.1", 6881), peer("2001:db8::1", 51413)]
      })
    }).pipe(Effect.provide(live())))

  it.scopedLive("decodes a dictionary peer list and follows a redirect with the query intact", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((req, res) => {
        if (req.url?.startsWith("/old") === true) {
          res.writeHead(302, { location: req.url.replace("/old", "/new") })
          res.end()
          return
        }
        body(res, encodeAnnounceResponse({ interval: 1800, peers: [peer("192.168.1.2", 7000)] }, { compact: false }))
      })
      const res = yield* announce(`http://127.0.0.1:${server.port}/old`, request({ event: "none", compact: false }))
      expect(res).toEqual({ interval: 1800, peers: [peer("192.168.1.2", 7000)] })
      expect(server.targets.length).toBe(2)
      expect(server.targets[1]).toBe(
        `/new?info_hash=${infoHashEncoded}&peer_id=-EF0100-aaaaaaaaaaaa&port=6881&uploaded=0&downloaded=0&left=1000` +
          "&compact=0&numwant=50&key=DEADBEEF"
      )
    }).pipe(Effect.provide(live())))

  it.scopedLive("a failure reason is a Failure with the tracker's text", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, res) => body(res, encodeFailure("torrent not registered")))
      const url = `http://127.0.0.1:${server.port}/announce`
      const error = yield* Effect.flip(announce(url, request()))
      expect([error.reason, error.url, error.detail]).toEqual(["Failure", url, "torrent not registered"])
    }).pipe(Effect.provide(live())))

  it.scopedLive("a status other than 2xx is Http with the status", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, res) => body(res, encodeFailure("ignored"), 500))
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${server.port}/announce`, request()))
      expect([error.reason, error.detail]).toEqual(["Http", "HTTP status 500"])
    }).pipe(Effect.provide(live())))

  it.scopedLive("a body that is not a response is Malformed", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, res) => body(res, encode(dict([["interval", bytes("soon")]]))))
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${server.port}/announce`, request()))
      expect(error.reason).toBe("Malformed")
    }).pipe(Effect.provide(live())))

  it.live("a refused connection is Unreachable", () =>
    Effect.gen(function*() {
      // A port that was just free: bind, read the port, close.
      const port = yield* Effect.scoped(Effect.map(httpServer(() => {}), (s) => s.port))
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${port}/announce`, request()))
      expect(error.reason).toBe("Unreachable")
      expect(error.detail).toContain("ECONNREFUSED")
    }).pipe(Effect.provide(live())))

  it.scopedLive("a server that never answers is a Timeout", () =>
    Effect.gen(function*() {
      const server = yield* httpServer(() => {})
      const started = Date.now()
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${server.port}/announce`, request()))
      expect(error.reason).toBe("Timeout")
      expect(Date.now() - started).toBeLessThan(2000)
    }).pipe(Effect.provide(live({ httpTimeout: "200 millis" }))))

  it.scopedLive("a body over 8 MiB is refused without reading it all", () =>
    Effect.gen(function*() {
      let written = 0
      const server = yield* httpServer((_, res) => {
        res.writeHead(200) // chunked: no length announced
        const chunk = Buffer.alloc(64 * 1024, 0x61)
        const more = () => {
          while (written < 64 * 1024 * 1024) {
            written += chunk.length
            if (!res.write(chunk)) return void res.once("drain", more)
          }
          res.end()
        }
        more()
      })
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${server.port}/announce`, request()))
      expect([error.reason, error.detail]).toEqual(["Malformed", `response larger than ${8 * 1024 * 1024} bytes`])
      expect(written).toBeLessThan(64 * 1024 * 1024)
    }).pipe(Effect.provide(live())))

  it.scopedLive("a declared length over the limit is refused at once", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, res) => body(res, new Uint8Array(2000)))
      const error = yield* Effect.flip(announce(`http://127.0.0.1:${server.port}/announce`, request()))
      expect([error.reason, error.detail]).toEqual(["Malformed", "response larger than 1000 bytes"])
    }).pipe(Effect.provide(live({ httpMaxBytes: 1000 }))))

  it.effect("other schemes are Unsupported", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(announce("wss://tracker.example/announce", request()))
      expect([error.reason, error.url]).toEqual(["Unsupported", "wss://tracker.example/announce"])
      const noPort = yield* Effect.flip(announce("udp://127.0.0.1/announce", request()))
      expect(noPort.reason).toBe("Unsupported")
    }).pipe(Effect.provide(live())))
})

// ---------------------------------------------------------------------------------------------------------
// A local UDP tracker, written with the codecs

/** `respond` gets each request and its index, and returns the datagrams to send back (none: dropped). */
const udpServer = (
  family: Family,
  respond: (req: UdpRequest, index: number) => ReadonlyArray<Uint8Array>
) =>
  Effect.gen(function*() {
    const received: Array<UdpRequest> = []
    const socket = yield* Effect.acquireRelease(
      Effect.async<dgram.Socket>((resume) => {
        const socket = dgram.createSocket(family === 4 ? "udp4" : "udp6")
        socket.on("message", (msg, rinfo) => {
          const decoded = decodeRequest(msg)
          if (decoded._tag === "Left") return
          received.push(decoded.right)
          for (const out of respond(decoded.right, received.length - 1)) socket.send(out, rinfo.port, rinfo.address)
        })
        socket.bind(0, family === 4 ? "127.0.0.1" : "::1", () => resume(Effect.succeed(socket)))
      }),
      (socket) => Effect.sync(() => socket.close())
    )
    return { port: socket.address().port, received }
  })

/** An honest tracker: connection id 0x1122334455667700 + the number of connects so far. */
const honest = (family: Family, peers: ReadonlyArray<PeerAddress>) => {
  let connects = 0
  return (req: UdpRequest): ReadonlyArray<Uint8Array> => {
    switch (req._tag) {
      case "Connect":
        return [
          encodeResponse({ _tag: "Connect", transactionId: req.transactionId, connectionId: 0x1122334455667700n + BigInt(connects++) }, family)
        ]
      case "Announce":
        return [
          encodeResponse({ _tag: "Announce", transactionId: req.transactionId, interval: 1200, leechers: 5, seeders: 6, peers }, family)
        ]
      case "Scrape":
        return []
    }
  }
}

type UdpServer = Effect.Effect.Success<ReturnType<typeof udpServer>>
const tags = (s: UdpServer) => s.received.map((r) => r._tag)
const connectionIds = (s: UdpServer) => s.received.flatMap((r) => (r._tag === "Announce" ? [r.connectionId] : []))

describe("UDP", () => {
  it.scopedLive("connects, then announces with the connection id", () =>
    Effect.gen(function*() {
      const server = yield* udpServer(4, honest(4, [peer("10.1.2.3", 6881), peer("10.1.2.4", 6882)]))
      const res = yield* announce(`udp://127.0.0.1:${server.port}/announce`, request({ left: 12345, port: 7777 }))
      expect(res).toEqual({ interval: 1200, complete: 6, incomplete: 5, peers: [peer("10.1.2.3", 6881), peer("10.1.2.4", 6882)] })
      expect(tags(server)).toEqual(["Connect", "Announce"])
      const sent = server.received[1]
      expect(sent?._tag === "Announce" && {
        connectionId: sent.connectionId,
        infoHash: Buffer.from(sent.infoHash).toString("hex"),
        event: sent.event,
        left: sent.left,
        port: sent.port,
        key: sent.key,
        numWant: sent.numWant
      }).toEqual({
        connectionId: 0x1122334455667700n,
        infoHash: Buffer.from(infoHash).toString("hex"),
        event: "started",
        left: 12345n,
        port: 7777,
        key: 0xdeadbeef,
        numWant: 50
      })
    }).pipe(Effect.provide(live())))

  it.scopedLive("over IPv6, with 18-byte peers", () =>
    Effect.gen(function*() {
      const server = yield* udpServer(6, honest(6, [peer("2001:db8::7", 6881), peer("::ffff:10.0.0.1", 80)]))
      const res = yield* announce(`udp://[::1]:${server.port}`, request())
      expect(res.peers).toEqual([peer("2001:db8::7", 6881), peer("::ffff:10.0.0.1", 80)])
    }).pipe(Effect.provide(live())))

  it.scoped("reuses the connection id for 60 seconds, then gets a new one", () =>
    Effect.gen(function*() {
      const server = yield* udpServer(4, honest(4, []))
      const url = `udp://127.0.0.1:${server.port}/announce`
      yield* announce(url, request())
      yield* TestClock.adjust("59 seconds")
      yield* announce(url, request({ event: "none" }))
      expect(tags(server)).toEqual(["Connect", "Announce", "Announce"])
      yield* TestClock.adjust("2 seconds")
      yield* announce(url, request({ event: "none" }))
      expect(tags(server)).toEqual(["Connect", "Announce", "Announce", "Connect", "Announce"])
      expect(connectionIds(server)).toEqual([0x1122334455667700n, 0x1122334455667700n, 0x1122334455667701n])
    }).pipe(Effect.provide(live())), 10_000)

  it.scopedLive("ignores replies with another transaction id, short or malformed ones", () =>
    Effect.gen(function*() {
      const inner = honest(4, [peer("10.9.9.9", 9999)])
      const server = yield* udpServer(4, (req) => {
        const right = inner(req)
        const wrongId = (req.transactionId + 1) >>> 0
        const connect = (transactionId: number) => encodeResponse({ _tag: "Connect", transactionId, connectionId: 98n }, 4)
        const announced = (transactionId: number) =>
          encodeResponse({ _tag: "Announce", transactionId, interval: 1, leechers: 0, seeders: 0, peers: [] }, 4)
        const noise = [
          new Uint8Array([0, 0, 0]), // short
          connect(wrongId),
          announced(wrongId),
          // the right id but the wrong action
          req._tag === "Connect" ? announced(req.transactionId) : connect(req.transactionId),
          // a peer list that is not a multiple of 6 bytes
          Buffer.concat([announced(req.transactionId), Buffer.from([1, 2, 3])])
        ]
        return [...noise, ...right]
      })
      const res = yield* announce(`udp://127.0.0.1:${server.port}/announce`, request())
      expect(res).toEqual({ interval: 1200, complete: 6, incomplete: 5, peers: [peer("10.9.9.9", 9999)] })
      // No retransmission was needed: the right replies were picked out of the noise.
      expect(tags(server)).toEqual(["Connect", "Announce"])
      expect(connectionIds(server)).toEqual([0x1122334455667700n])
    }).pipe(Effect.provide(live({ udpInitialTimeout: "2 seconds" }))))

  it.scopedLive("an error action is a Failure with the message", () =>
    Effect.gen(function*() {
      const inner = honest(4, [])
      const server = yield* udpServer(4, (req) =>
        req._tag === "Announce"
          ? [encodeResponse({ _tag: "Error", transactionId: req.transactionId, message: "info hash not allowed" }, 4)]
          : inner(req))
      const url = `udp://127.0.0.1:${server.port}/announce`
      const error = yield* Effect.flip(announce(url, request()))
      expect([error.reason, error.url, error.detail]).toEqual(["Failure", url, "info hash not allowed"])
      // An error drops the connection id: the next announce connects again.
      yield* Effect.flip(announce(url, request()))
      expect(tags(server)).toEqual(["Connect", "Announce", "Connect", "Announce"])
    }).pipe(Effect.provide(live())))

  it.scopedLive("retransmits when a packet is lost", () =>
    Effect.gen(function*() {
      const inner = honest(4, [peer("10.0.0.5", 5555)])
      // Drops the first connect and the first announce.
      const server = yield* udpServer(4, (req, i) => (i === 0 || i === 2 ? [] : inner(req)))
      const res = yield* announce(`udp://127.0.0.1:${server.port}/announce`, request())
      expect(res.peers).toEqual([peer("10.0.0.5", 5555)])
      expect(tags(server)).toEqual(["Connect", "Connect", "Announce", "Announce"])
      // A retransmission repeats the transaction.
      expect(server.received[0]?.transactionId).toBe(server.received[1]?.transactionId)
      expect(server.received[2]?.transactionId).toBe(server.received[3]?.transactionId)
    }).pipe(Effect.provide(live({ udpInitialTimeout: "30 millis" }))))

  it.scopedLive("gives up with Timeout after the retries", () =>
    Effect.gen(function*() {
      const server = yield* udpServer(4, () => [])
      const started = Date.now()
      const error = yield* Effect.flip(announce(`udp://127.0.0.1:${server.port}/announce`, request()))
      const elapsed = Date.now() - started
      expect(error.reason).toBe("Timeout")
      // 20 + 40 + 80 ms
      expect(tags(server)).toEqual(["Connect", "Connect", "Connect"])
      expect(elapsed).toBeGreaterThanOrEqual(130)
      expect(elapsed).toBeLessThan(2000)
    }).pipe(Effect.provide(live({ udpInitialTimeout: "20 millis", udpMaxRetries: 2 }))))
})

// ---------------------------------------------------------------------------------------------------------
// The bittorrent-tracker package (webtorrent), as a real tracker

interface TrackerServer {
  readonly http: { address(): string | AddressInfo | null }
  readonly udp4: { address(): AddressInfo }
  listen(ports: { http: number; udp: number }, hosts: { http: string; udp: string; udp6: string }, cb: () => void): void
  close(cb: () => void): void
  on(event: "error" | "warning", listener: (err: Error) => void): void
}

type TrackerServerClass = new (options: { udp: boolean; http: boolean; ws: boolean; stats: boolean }) => TrackerServer

const isServerClass = (u: unknown): u is TrackerServerClass => typeof u === "function"

// The package has no type declarations; a specifier in a variable keeps the compiler from asking for them.
const packageName = "bittorrent-tracker"

const bittorrentTracker = Effect.acquireRelease(
  Effect.gen(function*() {
    const mod: unknown = yield* Effect.promise(() => import(packageName))
    const Server: unknown = typeof mod === "object" && mod !== null ? Reflect.get(mod, "Server") : undefined
    if (!isServerClass(Server)) return yield* Effect.die("bittorrent-tracker exports no Server")
    const server = new Server({ udp: true, http: true, ws: false, stats: false })
    server.on("warning", () => {})
    yield* Effect.async<void>((resume) => {
      server.listen({ http: 0, udp: 0 }, { http: "127.0.0.1", udp: "127.0.0.1", udp6: "::1" }, () => resume(Effect.void))
    })
    return server
  }),
  (server) => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
)

describe("bittorrent-tracker", () => {
  it.scopedLive("two clients, over HTTP and UDP, see each other", () =>
    Effect.gen(function*() {
      const server = yield* bittorrentTracker
      const httpUrl = `http://127.0.0.1:${portOf(server.http.address())}/announce`
      const udpUrl = `udp://127.0.0.1:${server.udp4.address().port}`
      const a = request({ peerId: peerIdA, port: 6001, left: 0 })
      const b = request({ peerId: peerIdB, port: 6002, left: 500 })

      // bittorrent-tracker lists the announcer too (it only leaves it out for WebRTC peers), in random order.
      const sorted = (peers: ReadonlyArray<PeerAddress>) => peers.map((p) => `${p.host}:${p.port}`).sort()
      const first = yield* announce(httpUrl, a)
      expect(sorted(first.peers)).toEqual(["127.0.0.1:6001"])
      // The same swarm over both transports: the binary info hash arrived intact both ways.
      const second = yield* announce(udpUrl, b)
      expect(sorted(second.peers)).toEqual(["127.0.0.1:6001", "127.0.0.1:6002"])
      expect([second.complete, second.incomplete]).toEqual([1, 1])
      const again = yield* announce(httpUrl, { ...a, event: "none" })
      expect(sorted(again.peers)).toEqual(["127.0.0.1:6001", "127.0.0.1:6002"])
      expect(again.interval).toBeGreaterThan(0)
    }).pipe(Effect.provide(live())))
})

// ---------------------------------------------------------------------------------------------------------
// The memory tracker

describe("memory tracker", () => {
  const url = "http://memory.test/announce"
  const member = (n: number, overrides: Partial<AnnounceRequest> = {}) =>
    request({
      peerId: PeerId.make(new Uint8Array(Buffer.from(`-EF0100-member${String(n).padStart(6, "0")}`, "latin1"))),
      ip: `10.0.0.${n}`,
      port: 7000 + n,
      ...overrides
    })

  it.effect("registers announcers and returns the others, never the announcer", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker.MemoryTracker({ interval: 600, minInterval: 60 })
      const first = yield* memory.announce(url, member(1, { left: 0 }))
      expect(first).toEqual({ interval: 600, minInterval: 60, complete: 1, incomplete: 0, peers: [] })
      const second = yield* memory.announce(url, member(2))
      expect(second).toEqual({ interval: 600, minInterval: 60, complete: 1, incomplete: 1, peers: [peer("10.0.0.1", 7001)] })
      const third = yield* memory.announce(url, member(1, { event: "none", left: 0 }))
      expect(third.peers).toEqual([peer("10.0.0.2", 7002)])
      expect(memory.peers(infoHash)).toEqual([peer("10.0.0.1", 7001), peer("10.0.0.2", 7002)])
      expect(memory.announces.map((a) => [a.url, a.event])).toEqual([[url, "started"], [url, "started"], [url, "none"]])
    }))

  it.effect("gives at most numwant peers, and keeps swarms apart", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker.MemoryTracker()
      for (let n = 1; n <= 5; n++) yield* memory.announce(url, member(n))
      const res = yield* memory.announce(url, member(6, { numwant: 3 }))
      expect(res.peers).toEqual([peer("10.0.0.1", 7001), peer("10.0.0.2", 7002), peer("10.0.0.3", 7003)])
      expect([res.complete, res.incomplete]).toEqual([0, 6])
      const other = InfoHash.make(new Uint8Array(20).fill(9))
      expect((yield* memory.announce(url, member(7, { infoHash: other }))).peers).toEqual([])
      expect(memory.peers(other)).toEqual([peer("10.0.0.7", 7007)])
    }))

  it.effect("stopped removes the announcer", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker.MemoryTracker()
      yield* memory.announce(url, member(1))
      yield* memory.announce(url, member(2))
      yield* memory.announce(url, member(1, { event: "stopped" }))
      expect(memory.peers(infoHash)).toEqual([peer("10.0.0.2", 7002)])
      expect((yield* memory.announce(url, member(3))).peers).toEqual([peer("10.0.0.2", 7002)])
    }))

  it.effect("fail() makes one URL fail through the layer, until recover()", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker.MemoryTracker()
      memory.fail(url, "Unreachable")
      memory.fail("udp://other.test:1", "Failure", "go away")
      const program = Effect.gen(function*() {
        const unreachable = yield* Effect.flip(announce(url, member(1)))
        expect([unreachable._tag, unreachable.reason, unreachable.url]).toEqual(["TrackerError", "Unreachable", url])
        const refused = yield* Effect.flip(announce("udp://other.test:1", member(1)))
        expect([refused.reason, refused.detail]).toEqual(["Failure", "go away"])
        expect((yield* announce("http://third.test/a", member(1))).peers).toEqual([])
        memory.recover(url)
        expect((yield* announce(url, member(2))).peers).toEqual([peer("10.0.0.1", 7001)])
      })
      yield* Effect.provide(program, MemoryTracker.layer(memory))
      expect(memory.announces.map((a) => a.failed)).toEqual(["Unreachable", "Failure", undefined, undefined])
    }))
})
