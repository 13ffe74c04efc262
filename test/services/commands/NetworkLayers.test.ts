/**
 * Announcing from `--bind`'s address (commands/NetworkLayers.ts): an HTTP announce leaves from the bound
 * IPv4 address and says `ipv6=` (BEP 7) for a bound global IPv6 address, a UDP announce leaves from it.
 * Real sockets on loopback: the tracker is a bare server on 127.0.0.1 that notes where requests came from.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as dgram from "node:dgram"
import * as http from "node:http"
import { InfoHash } from "../../../src/domain/InfoHash.js"
import { encodeAnnounceResponse } from "../../../src/protocol/TrackerHttp.js"
import * as NetworkLayers from "../../../src/services/commands/NetworkLayers.js"
import * as NetworkTracker from "../../../src/services/tracker/NetworkTracker.js"
import { Tracker } from "../../../src/services/tracker/Tracker.js"
import * as Layer from "effect/Layer"
import { announceRequest } from "../../support/announces.js"

const request = announceRequest(InfoHash.make(new Uint8Array(20).fill(7)), "-EF0100-aaaaaaaaaaaa", 6881)

/** An HTTP tracker on 127.0.0.1 with no peers: each request's source address and target. */
const httpTracker = Effect.acquireRelease(
  Effect.async<{ readonly server: http.Server; readonly url: string; readonly seen: Array<{ from: string; target: string }> }>((resume) => {
    const seen: Array<{ from: string; target: string }> = []
    const server = http.createServer((req, res) => {
      seen.push({ from: req.socket.remoteAddress ?? "?", target: req.url ?? "" })
      res.end(Buffer.from(encodeAnnounceResponse({ interval: 60, peers: [] }, { compact: true })))
    })
    server.listen(0, "127.0.0.1", () => {
      const a = server.address()
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}/announce`, seen }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

const announce = (url: string) => Effect.flatMap(Tracker, (t) => t.announce(url, request))

describe("announcing from --bind's address", () => {
  it.live("HTTP: from the bound IPv4 address, with ipv6= for a global IPv6 one", () =>
    Effect.gen(function*() {
      const tracker = yield* httpTracker
      yield* announce(tracker.url)
      expect(tracker.seen.map((s) => s.from)).toEqual(["127.0.0.2"])
      expect(tracker.seen[0]!.target).toContain("&ipv6=2001%3Adb8%3A%3A7")
    }).pipe(Effect.scoped, Effect.provide(NetworkLayers.layer({ ipv4: "127.0.0.2", ipv6: "2001:db8::7" }))), 20_000)

  it.live("HTTP: no ipv6= for an address no one else can reach, and from any address unbound", () =>
    Effect.gen(function*() {
      const tracker = yield* httpTracker
      yield* announce(tracker.url).pipe(Effect.provide(NetworkLayers.layer({ ipv4: "127.0.0.3", ipv6: "fd00::7" })))
      yield* announce(tracker.url).pipe(Effect.provide(NetworkLayers.layer()))
      expect(tracker.seen.map((s) => s.from)).toEqual(["127.0.0.3", "127.0.0.1"])
      expect(tracker.seen.map((s) => s.target.includes("ipv6="))).toEqual([false, false])
    }).pipe(Effect.scoped), 20_000)

  it.live("UDP: the tracker's socket is bound to the bound address; a family not bound is not used", () =>
    Effect.gen(function*() {
      const from: Array<string> = []
      const socket = yield* Effect.acquireRelease(
        Effect.async<dgram.Socket>((resume) => {
          const s = dgram.createSocket("udp4")
          s.on("message", (_m, info) => from.push(info.address))
          s.bind(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const layer = NetworkTracker.layerWith({ bind: { ipv4: "127.0.0.2" }, udpInitialTimeout: "100 millis", udpMaxRetries: 0 }).pipe(
        Layer.provide(NetworkLayers.httpClient({ ipv4: "127.0.0.2" }))
      )
      const timedOut = yield* Effect.flip(announce(`udp://127.0.0.1:${socket.address().port}`).pipe(Effect.provide(layer)))
      expect(timedOut.reason).toBe("Timeout")
      expect(from).toEqual(["127.0.0.2"])
      const v6 = yield* Effect.flip(announce("udp://[::1]:6969").pipe(Effect.provide(layer)))
      expect({ reason: v6.reason, detail: v6.detail }).toEqual({ reason: "Unreachable", detail: "no IPv6 address bound (--bind)" })
    }).pipe(Effect.scoped), 20_000)
})
