/**
 * The embedded tracker and BEP 7's `ipv6=`: a peer that announces over IPv4 and gives its IPv6 address is
 * handed out at both, the second in `peers6`, to others only; the forms "addr", "[addr]" and
 * "[addr]:port" are read, and what is no usable IPv6 address is ignored without failing the announce.
 * Real HTTP on 127.0.0.1, with the project's tracker client and raw requests.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as http from "node:http"
import type { AnnounceRequest } from "../../../src/domain/Announce.js"
import { type Bencode, isBytes, isDict } from "../../../src/domain/Bencode.js"
import { InfoHash, toHex } from "../../../src/domain/InfoHash.js"
import { decode } from "../../../src/protocol/Bencode.js"
import { decodeCompact } from "../../../src/protocol/CompactPeers.js"
import { percentEncode } from "../../../src/protocol/TrackerHttp.js"
import * as TrackerServer from "../../../src/services/tracker/TrackerServer.js"
import { addresses, announce, announceRequest, peerIdOf, trackerClient } from "../../support/announces.js"

const infoHash = InfoHash.make(new Uint8Array(20).fill(0x42))
const peerId = peerIdOf
const request = (name: string, port: number, overrides: Partial<AnnounceRequest> = {}) => announceRequest(infoHash, name, port, overrides)
const client = trackerClient

/** GET `path` from the server on 127.0.0.1, the body as bencode. */
const get = (port: number, path: string) =>
  Effect.async<Bencode, Error>((resume) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed(Either.getOrThrow(decode(new Uint8Array(Buffer.concat(chunks)))).value)))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

const announceQuery = (name: string, port: number, extra: Record<string, string> = {}) =>
  Object.entries({
    info_hash: percentEncode(infoHash),
    peer_id: percentEncode(peerId(name)),
    port: String(port),
    uploaded: "0",
    downloaded: "0",
    left: "10",
    ...extra
  }).map(([k, v]) => `${k}=${v}`).join("&")

/** The compact `peers` and `peers6` of an announce response, as addresses. */
const compactPeers = (body: Bencode) => {
  const field = (key: string, family: 4 | 6) => {
    const v = isDict(body) ? body.get(key) : undefined
    return v === undefined ? [] : addresses(Either.getOrThrow(decodeCompact(isBytes(v) ? v : new Uint8Array(1), family)))
  }
  if (isDict(body) && body.has("failure reason")) throw new Error("the announce failed")
  return { peers: field("peers", 4), peers6: field("peers6", 6) }
}

describe("TrackerServer and ipv6= (BEP 7)", () => {
  it.scopedLive("an IPv4 peer's ipv6= reaches others in peers6, never itself, and goes when the peer stops", () =>
    Effect.gen(function*() {
      const t = yield* TrackerServer.make({ port: 0 })
      // The project's client sends ipv6= (HttpTracker.ts): plain address, the announce's port.
      yield* announce(t.httpUrl, request("a", 7000, { ipv6: "2001:db8::a" }))
      const b = yield* announce(t.httpUrl, request("b", 7001))
      expect(addresses(b.peers)).toEqual(["127.0.0.1:7000", "[2001:db8::a]:7000"])
      const own = yield* announce(t.httpUrl, request("a", 7000, { event: "none", ipv6: "2001:db8::a" }))
      expect(addresses(own.peers)).toEqual(["127.0.0.1:7001"])
      // On the wire: the first address in peers, the second in peers6; "[addr]:port" gives its own port.
      yield* get(t.httpPort, `/announce?${announceQuery("c", 7002, { ipv6: percentEncode(Buffer.from("[2001:DB8::c]:7100")) })}`)
      expect(compactPeers(yield* get(t.httpPort, `/announce?${announceQuery("b", 7001)}`))).toEqual({
        peers: ["127.0.0.1:7000", "127.0.0.1:7002"],
        peers6: ["[2001:db8::a]:7000", "[2001:db8::c]:7100"]
      })
      // "[addr]" without a port, and the peer's next announce replaces its second address.
      yield* get(t.httpPort, `/announce?${announceQuery("c", 7002, { ipv6: "%5B2001:db8::d%5D" })}`)
      expect(addresses(yield* t.peers(toHex(infoHash)))).toEqual([
        "127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002", "[2001:db8::a]:7000", "[2001:db8::d]:7002"
      ])
      yield* announce(t.httpUrl, request("a", 7000, { event: "stopped", ipv6: "2001:db8::a" }))
      const after = yield* announce(t.httpUrl, request("b", 7001, { event: "none" }))
      expect(addresses(after.peers)).toEqual(["127.0.0.1:7002", "[2001:db8::d]:7002"])
    }).pipe(Effect.provide(client)), 10_000)

  it.scopedLive("what is no usable IPv6 address is ignored, and the announce stands", () =>
    Effect.gen(function*() {
      const t = yield* TrackerServer.make({ port: 0 })
      const ignored = [
        "garbage", "10.0.0.1", "::", "::ffff:10.0.0.1", "::10.0.0.1", "ff02::1", "fe80::1", "2001:db8::1%25eth0",
        "%5B2001:db8::1%5D:0", "%5B2001:db8::1%5D:70000", "%5B2001:db8::1%5D:", "%5B2001:db8::1", "2001:db8::g"
      ]
      for (const [i, ipv6] of ignored.entries()) {
        const body = yield* get(t.httpPort, `/announce?${announceQuery(`p${i}`, 8000 + i, { ipv6 })}`)
        expect(compactPeers(body).peers.length).toBe(i)
      }
      expect((yield* t.peers(toHex(infoHash))).every((p) => p.host === "127.0.0.1")).toBe(true)
      // A peer that is itself on IPv6 (here a loopback client naming a private IPv6 address) has no second.
      yield* get(t.httpPort, `/announce?${announceQuery("v6", 9000, { ip: "fd00::1", ipv6: "2001:db8::9" })}`)
      expect(compactPeers(yield* get(t.httpPort, `/announce?${announceQuery("p0", 8000)}`)).peers6).toEqual(["[fd00::1]:9000"])
      // Loopback is taken from a loopback client (a local demo), as the ip parameter is.
      yield* get(t.httpPort, `/announce?${announceQuery("local", 9001, { ipv6: "::1" })}`)
      expect(compactPeers(yield* get(t.httpPort, `/announce?${announceQuery("p0", 8000)}`)).peers6).toEqual([
        "[::1]:9001", "[fd00::1]:9000"
      ])
    }), 10_000)
})
