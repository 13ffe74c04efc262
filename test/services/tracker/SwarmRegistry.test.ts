import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { AnnounceEvent } from "../../../src/domain/Announce.js"
import { format } from "../../../src/domain/PeerAddress.js"
import { type SwarmAnnounce, SwarmRegistry, type SwarmRegistryOptions } from "../../../src/services/tracker/SwarmRegistry.js"

const id = (name: string) => new Uint8Array(Buffer.from(name.padEnd(20, "-"), "latin1"))

const registry = (options: Partial<SwarmRegistryOptions> = {}) =>
  new SwarmRegistry({ ttlMs: 120_000, maxTorrents: 100, maxPeersPerTorrent: 100, ...options })

const announce = (
  r: SwarmRegistry,
  now: number,
  peer: string,
  port: number,
  overrides: Partial<Omit<SwarmAnnounce, "peerId">> & { readonly event?: AnnounceEvent } = {}
) =>
  r.announce({ infoHash: "aa", peerId: id(peer), host: "10.0.0.1", port, left: 100, event: "started", numwant: 50, ...overrides }, now)

const ok = <A>(e: Either.Either<A, string>): A => Either.getOrThrowWith(e, (reason) => new Error(reason))

const addresses = (peers: ReadonlyArray<{ readonly host: string; readonly port: number }>) => peers.map(format).sort()

const ports = (peers: ReadonlyArray<{ readonly port: number }>) => peers.map((p) => p.port).sort((a, b) => a - b)

describe("SwarmRegistry", () => {
  it("hands out the other peers, never the announcer, with swarm counts", () => {
    const r = registry()
    expect(ok(announce(r, 0, "a", 1))).toEqual({ peers: [], complete: 0, incomplete: 1 })
    expect(ok(announce(r, 0, "b", 2, { left: 0 }))).toEqual({
      peers: [{ host: "10.0.0.1", port: 1, left: 100 }],
      complete: 1,
      incomplete: 1
    })
    expect(ports(ok(announce(r, 0, "a", 1, { event: "none" })).peers)).toEqual([2])
    expect(ports(r.peers("aa", 0))).toEqual([1, 2])
    expect(r.peers("bb", 0)).toEqual([])
  })

  it("a new peer id at a known address replaces the old entry; a peer that moves is found at its new address", () => {
    const r = registry()
    announce(r, 0, "a", 1)
    announce(r, 0, "b", 2)
    const res = ok(announce(r, 0, "a2", 1))
    expect(ports(res.peers)).toEqual([2])
    expect(res.incomplete).toBe(2)
    announce(r, 0, "b", 3) // b moves from port 2 to 3
    expect(ports(r.peers("aa", 0))).toEqual([1, 3])
    // Port 2 is free again: a newcomer there does not remove b.
    announce(r, 0, "c", 2)
    expect(ports(r.peers("aa", 0))).toEqual([1, 2, 3])
  })

  it("stopped removes the peer (by id, or by address) and the torrent when it was the last", () => {
    const r = registry()
    announce(r, 0, "a", 1)
    announce(r, 0, "b", 2)
    expect(ok(announce(r, 0, "b", 2, { event: "stopped" }))).toEqual({ peers: [], complete: 0, incomplete: 1 })
    expect(ports(r.peers("aa", 0))).toEqual([1])
    expect(ok(announce(r, 0, "restarted", 1, { event: "stopped" }))).toEqual({ peers: [], complete: 0, incomplete: 0 })
    expect(r.torrentCount).toBe(0)
    expect(ok(announce(r, 0, "x", 1, { infoHash: "cc", event: "stopped" }))).toEqual({ peers: [], complete: 0, incomplete: 0 })
    expect(r.torrentCount).toBe(0)
  })

  it("counts a completion once per peer", () => {
    const r = registry()
    announce(r, 0, "a", 1)
    announce(r, 0, "a", 1, { event: "completed", left: 0 })
    announce(r, 0, "a", 1, { event: "completed", left: 0 })
    announce(r, 0, "b", 2, { event: "completed", left: 0 })
    expect(r.scrape("aa", 0)).toEqual({ complete: 2, downloaded: 2, incomplete: 0 })
    expect(r.scrape("bb", 0)).toEqual({ complete: 0, downloaded: 0, incomplete: 0 })
  })

  it("expires peers older than the TTL on read, and sweep drops empty torrents", () => {
    const r = registry({ ttlMs: 1000 })
    announce(r, 0, "a", 1)
    announce(r, 500, "b", 2)
    expect(ports(r.peers("aa", 1000))).toEqual([1, 2]) // exactly the TTL old: still there
    expect(ports(r.peers("aa", 1001))).toEqual([2])
    expect(ok(announce(r, 1400, "c", 3)).peers.map((p) => p.port)).toEqual([2])
    announce(r, 0, "z", 9, { infoHash: "zz" })
    r.sweep(1600)
    expect(r.torrentCount).toBe(1)
    r.sweep(2401)
    expect(r.torrentCount).toBe(0)
  })

  it("numwant caps the peers handed out, a random sample", () => {
    let n = 0
    const r = registry({ random: () => ((n++ * 0.37) % 1) })
    for (let port = 1; port <= 10; port++) announce(r, 0, `p${port}`, port)
    const res = ok(announce(r, 0, "me", 100, { numwant: 3 }))
    expect(res.peers.length).toBe(3)
    expect(new Set(res.peers.map((p) => p.port)).size).toBe(3)
    expect(res.incomplete).toBe(11)
    expect(ok(announce(r, 0, "me", 100, { numwant: 0 })).peers).toEqual([])
    expect(ok(announce(r, 0, "me", 100, { numwant: 50 })).peers.length).toBe(10)
  })

  it("refuses torrents and peers beyond the limits, after dropping expired ones", () => {
    const r = registry({ maxTorrents: 2, maxPeersPerTorrent: 2, ttlMs: 1000 })
    announce(r, 0, "a", 1, { infoHash: "t1" })
    announce(r, 0, "a", 1, { infoHash: "t2" })
    expect(announce(r, 0, "a", 1, { infoHash: "t3" })).toEqual(Either.left("tracker is full: it tracks 2 torrents"))
    announce(r, 0, "b", 2, { infoHash: "t1" })
    expect(announce(r, 0, "c", 3, { infoHash: "t1" })).toEqual(Either.left("torrent is full: it has 2 peers"))
    // Known peers still re-announce, and stopping is always allowed.
    expect(Either.isRight(announce(r, 0, "b", 2, { infoHash: "t1", event: "none" }))).toBe(true)
    // Once the others have expired there is room again.
    expect(Either.isRight(announce(r, 2000, "c", 3, { infoHash: "t1" }))).toBe(true)
    expect(Either.isRight(announce(r, 2000, "a", 1, { infoHash: "t3" }))).toBe(true)
    expect(r.torrentCount).toBe(2)
  })

  it("a peer's second address (IPv6) goes to others with its first, never to itself; replaced, dropped with the peer", () => {
    const r = registry({ ttlMs: 1000 })
    const v6 = (host: string, port = 1) => ({ ipv6: { host, port } })
    announce(r, 0, "a", 1, v6("2001:db8::1"))
    expect(addresses(ok(announce(r, 0, "b", 2)).peers)).toEqual(["10.0.0.1:1", "[2001:db8::1]:1"])
    expect(addresses(ok(announce(r, 0, "a", 1, v6("2001:db8::1"))).peers)).toEqual(["10.0.0.1:2"])
    // Counts are of peers, not addresses.
    expect(ok(announce(r, 0, "b", 2)).incomplete).toBe(2)
    // One second address per peer: the next announce replaces it, or drops it when it gives none.
    announce(r, 0, "a", 1, v6("2001:db8::2", 7))
    expect(addresses(ok(announce(r, 0, "b", 2)).peers)).toEqual(["10.0.0.1:1", "[2001:db8::2]:7"])
    announce(r, 0, "a", 1)
    expect(addresses(ok(announce(r, 0, "b", 2)).peers)).toEqual(["10.0.0.1:1"])
    // Gone with the peer: stopped, or expired.
    announce(r, 0, "a", 1, v6("2001:db8::1"))
    announce(r, 0, "a", 1, { event: "stopped" })
    expect(addresses(r.peers("aa", 0))).toEqual(["10.0.0.1:2"])
    announce(r, 100, "a", 1, v6("2001:db8::1"))
    announce(r, 900, "b", 2)
    expect(addresses(r.peers("aa", 1000))).toEqual(["10.0.0.1:1", "10.0.0.1:2", "[2001:db8::1]:1"])
    expect(addresses(r.peers("aa", 1101))).toEqual(["10.0.0.1:2"])
    // numwant counts peers: a peer's second address comes with it.
    expect(addresses(ok(announce(r, 1101, "c", 3, { numwant: 1 })).peers)).toEqual(["10.0.0.1:2"])
  })

  it("an address is handed out once: another peer's first address is no second address, and a claim takes it", () => {
    const r = registry()
    const v6 = (host: string) => ({ ipv6: { host, port: 1 } })
    announce(r, 0, "a", 1, v6("2001:db8::1"))
    // b is at that address (over IPv6): it is b's now, and no longer a's second.
    announce(r, 0, "b", 1, { host: "2001:db8::1" })
    expect(addresses(r.peers("aa", 0))).toEqual(["10.0.0.1:1", "[2001:db8::1]:1"])
    // c names b's address as its second: ignored.
    announce(r, 0, "c", 3, v6("2001:db8::1"))
    expect(addresses(r.peers("aa", 0))).toEqual(["10.0.0.1:1", "10.0.0.1:3", "[2001:db8::1]:1"])
    // d and e both name 2001:db8::5: the later claim wins.
    announce(r, 0, "d", 4, v6("2001:db8::5"))
    announce(r, 0, "e", 5, v6("2001:db8::5"))
    const seen = addresses(r.peers("aa", 0))
    expect(seen.filter((x) => x === "[2001:db8::5]:1").length).toBe(1)
    expect(addresses(ok(announce(r, 0, "e", 5, v6("2001:db8::5"))).peers)).not.toContain("[2001:db8::5]:1")
    expect(addresses(ok(announce(r, 0, "d", 4)).peers)).toContain("[2001:db8::5]:1")
  })
})
