/**
 * Connection limits in whole in-memory swarms: a torrent keeps at most `maxPeers` connections however
 * many peers it is told of, and opens at most `halfOpen` connections at once, so that addresses that never
 * answer (most of what trackers hand out, at times) cannot hold up the honest peers behind them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { Bitfield } from "../../src/domain/Bitfield.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import { realTurn, withClock } from "../support/clock.js"
import { fakePeer } from "../support/fakePeer.js"
import { address, all, makeSwarm } from "../support/swarm.js"


describe("swarm: connection limits", () => {
  it.scoped("keeps at most maxPeers connections among 20 willing peers", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 256 * 1024, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const hosts = Array.from({ length: 20 }, (_, i) => `10.0.2.${i + 1}`)
      for (const host of hosts) {
        yield* fakePeer({
          network: swarm.network, host, port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
          has: Bitfield.full(m.pieceCount), behaviour: { _tag: "Advertise" }
        })
      }
      const leecher = yield* swarm.member("10.0.0.2", { maxPeers: 5, peers: hosts.map(address) })
      let most = 0
      for (let step = 0; step < 60; step++) {
        for (let turn = 0; turn < 3; turn++) yield* realTurn
        most = Math.max(most, yield* swarm.network.connections("10.0.0.2"))
        yield* TestClock.adjust("500 millis")
      }
      expect(most).toBe(5)
      expect((yield* leecher.peers).length).toBe(5)
    }))

  it.scoped("opens at most 12 connections at once: 30 silent addresses do not hold up the seeder", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 256 * 1024, pieceLength: 16384 })
      const silent = Array.from({ length: 30 }, (_, i) => `10.0.3.${i + 1}`)
      for (const host of silent) swarm.network.blackhole(host)
      yield* swarm.member("10.0.0.1", { pieces: all })
      // The seeder comes last in the list: it is dialled once slots of the silent ones time out.
      const leecher = yield* swarm.member("10.0.0.2", { peers: [...silent.map(address), address("10.0.0.1")] })
      let most = 0
      const watch = Effect.gen(function* () {
        while (true) {
          most = Math.max(most, swarm.network.connecting())
          yield* realTurn
        }
      })
      yield* Effect.forkScoped(watch)
      yield* withClock(leecher.completed, { step: "500 millis", maxVirtual: "120 seconds" })
      expect(most).toBe(12)
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("asks a peer that never answers for 64 blocks and no more, then drops it after 60 s", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 4 * 1024 * 1024, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const staller = yield* fakePeer({
        network: swarm.network, host: "10.0.4.1", port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
        has: Bitfield.full(m.pieceCount), behaviour: { _tag: "Stall" }
      })
      const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.4.1")] })
      let connectedAt30s = 0
      for (let step = 0; step < 130; step++) {
        for (let turn = 0; turn < 3; turn++) yield* realTurn
        if (step === 60) connectedAt30s = (yield* leecher.peers).length
        yield* TestClock.adjust("500 millis")
      }
      expect(staller.requests.length).toBe(64)
      expect(connectedAt30s).toBe(1)
      expect((yield* leecher.peers).length).toBe(0)
    }))
})
