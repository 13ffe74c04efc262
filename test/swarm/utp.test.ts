/**
 * uTP under the whole stack, in memory under TestClock: real bt-effect torrents whose peers connect over
 * uTP only (wire/PeerTransports with `tcp: false`) on an in-memory datagram network with latency and loss.
 * A uTP connection is a Connection like a TCP one: the handshake, the sessions, PEX and the picker run on
 * it unchanged, and the data arrives verified.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as MemoryDatagram from "../../src/services/wire/MemoryDatagram.js"
import { withClock } from "../support/clock.js"
import { all, makeSwarm } from "../support/swarm.js"

describe("swarm over uTP", () => {
  it.scoped("two leechers download from a seeder over uTP on a lossy link, and trade pieces with each other", () =>
    Effect.gen(function*() {
      const datagrams = yield* MemoryDatagram.make({ latencyMs: 10, loss: 0.01, seed: 3 })
      const swarm = yield* makeSwarm({ size: 3 * 1024 * 1024 + 777, pieceLength: 65536, seed: 11 })
      yield* swarm.member("10.0.0.1", { pieces: all, utpOver: datagrams })
      const a = yield* swarm.member("10.0.0.2", { utpOver: datagrams })
      const b = yield* swarm.member("10.0.0.3", { utpOver: datagrams })
      yield* withClock(Effect.all([a.completed, b.completed]), { step: "20 millis", maxVirtual: "300 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      expect(Buffer.compare(swarm.contents("10.0.0.3")!, swarm.torrent.payload)).toBe(0)
      const [sa, sb] = [yield* a.stats, yield* b.stats]
      expect([sa.hashFailures, sb.hashFailures]).toEqual([0, 0])
      // The leechers served each other too, over uTP.
      expect(sa.uploadedBytes + sb.uploadedBytes).toBeGreaterThan(0)
      // Every datagram went over the uTP network; some were lost, and the data still arrived whole.
      const counts = datagrams.counts()
      expect(counts.lost).toBeGreaterThan(0)
      expect(counts.delivered).toBeGreaterThan(3 * 1024 * 1024 / 1400)
    }))
})
