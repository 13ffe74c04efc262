/**
 * Whole swarms in memory under TestClock: every peer but the scripted ones is a real bt-effect torrent.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as path from "node:path"
import { Bitfield } from "../../src/domain/Bitfield.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import * as HashThreads from "../../src/services/pieces/HashThreads.js"
import type { TorrentEvent } from "../../src/services/torrent/Torrent.js"
import { withClock } from "../support/clock.js"
import { fakePeer } from "../support/fakePeer.js"
import { address, all, makeSwarm } from "../support/swarm.js"
import { randomBytes } from "../support/torrents.js"

const verifiedOrder = (events: ReadonlyArray<TorrentEvent>) =>
  events.flatMap((e) => (e._tag === "PieceVerified" ? [e.piece] : []))

describe("swarm", () => {
  it.scoped("a leecher downloads from one seeder", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 1024 * 1024 + 12345, pieceLength: 32768 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const leecher = yield* swarm.member("10.0.0.2")
      yield* leecher.completed
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      const stats = yield* leecher.stats
      expect([stats.complete, stats.hashFailures, stats.piecesDone]).toEqual([true, 0, 33])
      // The tracker saw started and completed (sent as the download completes).
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      const events = swarm.tracker.announces.filter((a) => a.request.ip === "10.0.0.2").map((a) => a.event)
      expect(events).toEqual(["started", "completed"])
    }))

  it.scoped("requests the rarest pieces first", () =>
    Effect.gen(function* () {
      // 40 pieces of one block each. Four scripted peers advertise nested subsets and never unchoke, so the
      // seeder (which has all) serves everything and the order of its requests shows the picker's choice.
      const swarm = yield* makeSwarm({ size: 40 * 16384, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const bands = [8, 16, 24, 32] // advertiser k has pieces [0, bands[k])
      for (const [k, upTo] of bands.entries()) {
        const has = Bitfield.empty(40)
        for (let i = 0; i < upTo; i++) has.set(i)
        yield* fakePeer({ network: swarm.network, host: `10.0.1.${k}`, port: 6881, infoHash: m.infoHash!, layout: layoutOf(m), has, behaviour: { _tag: "Advertise" } })
      }
      // The seeder's link is slow to start, so that every advertiser's bitfield is known before it unchokes.
      yield* swarm.member("10.0.0.1", { pieces: all, link: { latency: "1 second" } })
      const leecher = yield* swarm.member("10.0.0.2", { peers: bands.map((_, k) => address(`10.0.1.${k}`)) })
      const events = yield* PubSub.subscribe(leecher.events)
      yield* withClock(leecher.completed, { step: "500 millis", maxVirtual: "100 seconds" })
      const order = verifiedOrder(Chunk.toReadonlyArray(yield* Queue.takeAll(events)))
      const availability = (piece: number) => 1 + bands.filter((upTo) => piece < upTo).length
      // After the first four (random, to have something to trade quickly), availability never decreases.
      const rest = order.slice(4).map(availability)
      expect(rest).toEqual([...rest].sort((a, b) => a - b))
      expect(order.length).toBe(40)
      // The eight pieces only the seeder has come first, right after the random start.
      const rare = [32, 33, 34, 35, 36, 37, 38, 39].filter((p) => !order.slice(0, 4).includes(p))
      expect([...order.slice(4, 4 + rare.length)].sort((a, b) => a - b)).toEqual(rare)
    }))

  it.scoped("completes with correct data when one seeder lies, and bans it", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 65536 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* swarm.member("10.0.0.2", { pieces: all })
      yield* swarm.member("10.0.0.3", { pieces: all, corrupt: all })
      const leecher = yield* swarm.member("10.0.0.9")
      yield* leecher.completed
      expect(Buffer.compare(swarm.contents("10.0.0.9")!, swarm.torrent.payload)).toBe(0)
      const stats = yield* leecher.stats
      expect(stats.banned).toEqual(["10.0.0.3"])
      expect(stats.hashFailures).toBeGreaterThan(0)
      expect((yield* leecher.peers).map((p) => p.key)).not.toContain("10.0.0.3:6881")
    }))

  it.scoped("with hashing threads: completes with correct data when one seeder lies, and bans it", () =>
    Effect.gen(function* () {
      const threads = yield* HashThreads.make(1, path.resolve("dist/digest-worker.cjs"))
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 65536 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* swarm.member("10.0.0.3", { pieces: all, corrupt: (piece) => piece % 3 === 0 })
      const leecher = yield* swarm.member("10.0.0.9", { hashThreads: threads })
      yield* leecher.completed
      expect(Buffer.compare(swarm.contents("10.0.0.9")!, swarm.torrent.payload)).toBe(0)
      const stats = yield* leecher.stats
      expect(stats.banned).toEqual(["10.0.0.3"])
      expect(stats.hashFailures).toBeGreaterThan(0)
    }))

  it.scoped("gives the blocks of a peer that vanishes mid-piece to the others", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 1024 * 1024, pieceLength: 262144 })
      const m = swarm.torrent.metainfo
      const vanisher = yield* fakePeer({
        network: swarm.network, host: "10.0.1.1", port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
        has: Bitfield.full(m.pieceCount), behaviour: { _tag: "ServeThenVanish", blocks: 5, payload: swarm.torrent.payload }
      })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { latency: "1 second" } })
      const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.1")] })
      yield* withClock(leecher.completed, { step: "500 millis", maxVirtual: "100 seconds" })
      // It was asked for more than the five blocks it sent before vanishing mid-piece.
      expect(vanisher.requests.length).toBeGreaterThanOrEqual(5)
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("drops a peer that stalls after the request timeout, and its blocks go to others", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 1024 * 1024, pieceLength: 262144 })
      const m = swarm.torrent.metainfo
      const staller = yield* fakePeer({
        network: swarm.network, host: "10.0.1.1", port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
        has: Bitfield.full(m.pieceCount), behaviour: { _tag: "Stall" }
      })
      const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.1")] })
      const dropped = Effect.gen(function* () {
        while ((yield* leecher.peers).length > 0 || staller.requests.length === 0) yield* Effect.sleep("1 second")
      })
      yield* withClock(dropped, { step: "1 second", maxVirtual: "70 seconds" })
      expect(staller.requests.length).toBeGreaterThan(0)
      // The blocks it held go to the seeder that comes later.
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "60 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("keeps no more requests outstanding at a peer than the queue it announced (BEP 10 reqq)", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 1024 * 1024, pieceLength: 262144 })
      const m = swarm.torrent.metainfo
      const peer = (host: string, reqq?: number) =>
        fakePeer({
          network: swarm.network, host, port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
          has: Bitfield.full(m.pieceCount), behaviour: { _tag: "Stall" }, ...(reqq !== undefined ? { reqq } : {})
        })
      const small = yield* peer("10.0.1.1", 5)
      const unsaid = yield* peer("10.0.1.2")
      yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.1"), address("10.0.1.2")] })
      const asked = Effect.gen(function* () {
        while (small.requests.length === 0 || unsaid.requests.length === 0) yield* Effect.sleep("1 second")
        yield* Effect.sleep("5 seconds")
      })
      yield* withClock(asked, { step: "1 second", maxVirtual: "20 seconds" })
      expect(small.requests.length).toBe(5)
      // Without a reqq, our own depth bounds it (64 blocks at first).
      expect(unsaid.requests.length).toBeGreaterThan(5)
    }))

  it.scoped("keeps a quiet connection alive with keep-alives, and drops a peer silent for 120 s", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const silent = yield* fakePeer({
        network: swarm.network, host: "10.0.1.1", port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
        has: Bitfield.full(m.pieceCount), behaviour: { _tag: "Advertise" }
      })
      const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.1")] })
      const connected = Effect.gen(function* () {
        while ((yield* leecher.peers).length === 0) yield* Effect.sleep("1 second")
      })
      yield* withClock(connected, { step: "1 second", maxVirtual: "10 seconds" })
      const dropped = Effect.gen(function* () {
        while ((yield* leecher.peers).length > 0) yield* Effect.sleep("1 second")
      })
      yield* withClock(dropped, { step: "1 second", maxVirtual: "130 seconds" })
      // It said nothing after its bitfield: dropped after 120 s, having had a keep-alive from us at 90 s.
      expect(silent.keepAlives).toBeGreaterThanOrEqual(1)
    }))

  it.scoped("downloads a multi-file torrent whose pieces span files", () =>
    Effect.gen(function* () {
      const sizes = [0, 1, 16383, 16385, 100_000, 0, 7, 65536, 3, 250_000]
      const files = sizes.map((n, i) => ({ path: ["d" + (i % 3), `f${i}.bin`], data: randomBytes(n, i + 1) }))
      const swarm = yield* makeSwarm({ files, pieceLength: 32768 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* swarm.member("10.0.0.2", { pieces: (i) => i % 2 === 0 })
      yield* swarm.member("10.0.0.3", { pieces: (i) => i % 2 === 1 })
      const leecher = yield* swarm.member("10.0.0.4")
      yield* leecher.completed
      expect(Buffer.compare(swarm.contents("10.0.0.4")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("moves 64 MiB from two seeders in a few seconds of wall time", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 * 1024, pieceLength: 256 * 1024 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* swarm.member("10.0.0.2", { pieces: all })
      const started = performance.now()
      const leecher = yield* swarm.member("10.0.0.3")
      yield* leecher.completed
      const seconds = (performance.now() - started) / 1000
      expect(Buffer.compare(swarm.contents("10.0.0.3")!, swarm.torrent.payload)).toBe(0)
      console.log(`64 MiB in-memory swarm: download took ${seconds.toFixed(2)} s of wall time`)
    }), 20_000)
})
