/**
 * A download never waits on a timer while a peer that has the blocks it misses is connected or known
 * (`bt-effect demo`, about 1 run in 32: one downloader sat at 99.8% with no peer for 28 s, until an address's
 * 30 s retry delay ran out). In-memory swarms under TestClock, one for each way there was to get there:
 *
 * - an honest peer dropped in endgame for the blocks that crossed our CANCELs ("too many blocks we did not
 *   request"), its address never dialled again;
 * - the connection to the peer with the blocks breaks, and its address waits 30 s like one that never
 *   answered; or the peer had dialled us, and we did not keep where it listens; or the peer, which has
 *   not seen the old connection break yet, refuses the new one as a duplicate;
 * - the peer with the blocks left while others still had pieces we wanted, and once they have no more,
 *   nothing brings it back before its retry delay;
 * - both sides dial each other at once, each keeps the connection it opened and refuses the other's as a
 *   duplicate, and neither connection survives (30 s later they dial each other again, at once);
 * - and, so that a peer that dialled us is not dialled where it listens (which would now replace the
 *   connection we have), a PEX address of a connected peer is not dialled.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Throttle, TokenBucket } from "../../src/domain/TokenBucket.js"
import type * as Torrent from "../../src/services/torrent/Torrent.js"
import { withClock } from "../support/clock.js"
import { address, all, announceUrl, makeSwarm } from "../support/swarm.js"

/** Until the member has `pieces` pieces (polled on the clock, so that `withClock` drives it). */
const untilPieces = (member: Torrent.TorrentHandle, pieces: number) =>
  Effect.gen(function* () {
    while ((yield* member.stats).piecesDone < pieces) yield* Effect.sleep("10 millis")
  })

/** Virtual milliseconds `effect` takes, under `withClock`. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    yield* withClock(effect, { step: "50 millis", maxVirtual: "25 seconds" })
    return (yield* Clock.currentTimeMillis) - start
  })

describe("swarm: no download waits on a timer while a peer with its blocks is known", () => {
  it.scoped("keeps a seeder far away whose blocks cross our cancels in endgame", () =>
    Effect.gen(function* () {
      // A near seeder (20 MB/s, 1 ms) and a far one (300 ms away): in endgame the far one is asked for the
      // blocks the near one holds, the near one sends them first, and the far one's copies, sent before our
      // CANCEL reached it, arrive later: 214 of them by the leecher's completion, 256 once all have landed,
      // past the 128 unasked blocks a peer may send.
      const swarm = yield* makeSwarm({ size: 32 * 1024 * 1024, pieceLength: 32768 })
      const far = yield* swarm.member("10.0.0.1", { pieces: all, link: { latency: "300 millis", bandwidth: 100_000_000 } })
      yield* swarm.member("10.0.0.2", { pieces: all, link: { latency: "1 millis", bandwidth: 20_000_000 } })
      const leecher = yield* swarm.member("10.0.0.9")
      yield* withClock(leecher.completed, { step: "20 millis", maxVirtual: "60 seconds" })
      expect((yield* leecher.peers).map((p) => p.key).sort()).toEqual(["10.0.0.1:6881", "10.0.0.2:6881"])
      // What makes the case: once the last copies have landed, the far seeder sent more than 128 blocks
      // beyond those the leecher kept.
      yield* withClock(Effect.sleep("1 second"), { step: "20 millis", maxVirtual: "2 seconds" })
      const sent = (yield* far.peers).find((p) => p.key.startsWith("10.0.0.9:"))!.uploaded
      const kept = (yield* leecher.peers).find((p) => p.key === "10.0.0.1:6881")!.downloaded
      expect((sent - kept) / 16384).toBeGreaterThan(128)
    }), 60_000)

  it.scoped("dials the seeder again at once when the connection to it breaks mid-download", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 32768 })
      const seeder = yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 1_000_000 } })
      const leecher = yield* swarm.member("10.0.0.2")
      yield* withClock(untilPieces(leecher, 16), { step: "50 millis", maxVirtual: "10 seconds" })
      const resetAt = yield* Clock.currentTimeMillis
      yield* swarm.network.disconnect("10.0.0.1")
      // The seeder, busy writing, sees its end of the old connection break only a little later (113 ms):
      // the leecher's new connection comes while it still holds the old one, and takes its place.
      const back = Effect.gen(function* () {
        while (!(yield* seeder.peers).some((p) => p.connectedAt > resetAt)) yield* Effect.sleep("10 millis")
      })
      expect(yield* timed(back)).toBeLessThan(100)
      // 48 pieces of 32 KiB left at 1 MB/s: under 2 s. Waiting on the retry delay: 30 s.
      const ms = yield* timed(leecher.completed)
      expect(ms).toBeLessThan(5_000)
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }), 60_000)

  it.scoped("dials a seeder that had dialled us, where it listens, when the connection breaks", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 32768 })
      // The leecher knows no address: the seeder, told of it, dials it, and says its port in BEP 10's `p`.
      const leecher = yield* swarm.member("10.0.0.2", { pex: false })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 1_000_000 }, peers: [address("10.0.0.2")] })
      yield* withClock(untilPieces(leecher, 16), { step: "50 millis", maxVirtual: "10 seconds" })
      yield* swarm.network.disconnect("10.0.0.1")
      // The seeder wants nothing: it is the leecher that must come back, at once.
      const ms = yield* timed(leecher.completed)
      expect(ms).toBeLessThan(5_000)
    }), 60_000)

  it.scoped("comes back to a seeder that left once the peers still here have nothing more it wants", () =>
    Effect.gen(function* () {
      // The seeder's connections break early; a peer with every even piece stays, so the leecher goes on
      // with it (the seeder waits its retry delay meanwhile). The odd pieces only the seeder has: once the
      // peer has nothing more the leecher wants, the seeder is dialled again, not 30 s after it left.
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 32768 })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 2_000_000 } })
      yield* swarm.member("10.0.0.3", { pieces: (i) => i % 2 === 0, link: { bandwidth: 2_000_000 } })
      const leecher = yield* swarm.member("10.0.0.2")
      yield* withClock(untilPieces(leecher, 8), { step: "50 millis", maxVirtual: "10 seconds" })
      yield* swarm.network.disconnect("10.0.0.1")
      const ms = yield* timed(leecher.completed)
      expect(ms).toBeLessThan(5_000)
    }), 60_000)

  it.scoped("two leechers that learn of each other at once and dial each other keep one connection, not none", () =>
    Effect.gen(function* () {
      // No tracker: a hub tells both leechers of each other through PEX in the same tick (both connected
      // to it at once), so that their dials cross on links 20 ms long. Each has half the pieces, and the
      // hub, held to 1 byte/s, passes on almost nothing: they need a connection to each other.
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 32768 })
      swarm.tracker.fail(announceUrl, "Unreachable")
      const link = { bandwidth: 1_000_000, latency: "20 millis" } as const
      const trickle = () => new TokenBucket(1, 0)
      yield* swarm.member("10.0.0.1", { link, throttle: new Throttle({ down: [trickle()], up: [trickle()] }) })
      const a = yield* swarm.member("10.0.0.2", { link, pieces: (i) => i % 2 === 0, peers: [address("10.0.0.1")] })
      const b = yield* swarm.member("10.0.0.3", { link, pieces: (i) => i % 2 === 1, peers: [address("10.0.0.1")] })
      // 1 MiB each way at 1 MB/s: about a second once connected. Each keeping its own dial and refusing
      // the other's left them with none, and both dialled again 30 s later, to cross again.
      const ms = yield* timed(Effect.zip(a.completed, b.completed))
      expect(ms).toBeLessThan(5_000)
      expect((yield* a.peers).map((p) => p.key)).toContain("10.0.0.3:6881")
    }), 60_000)

  it.scoped("does not dial a peer connected to it from another port, when PEX names where it listens", () =>
    Effect.gen(function* () {
      // The seeder dials the leecher (it had it from the tracker); a third peer connected to both then
      // names the seeder's listening address to the leecher through PEX. Dialling it would open a second
      // connection to the same peer, which one side or the other must end (Swarm.attach).
      const swarm = yield* makeSwarm({ size: 2 * 1024 * 1024, pieceLength: 32768 })
      const leecher = yield* swarm.member("10.0.0.2")
      yield* swarm.member("10.0.0.4", { peers: [address("10.0.0.2")] })
      yield* swarm.member("10.0.0.3", { pieces: all, link: { bandwidth: 1_000_000 } })
      yield* withClock(leecher.completed, { step: "50 millis", maxVirtual: "25 seconds" })
      const seederSessions = (yield* leecher.peers).filter((p) => p.key.startsWith("10.0.0.3:"))
      expect(seederSessions).toHaveLength(1)
      expect(seederSessions[0]!.key).not.toBe("10.0.0.3:6881")
      expect(seederSessions[0]!.connectedAt).toBeLessThan(1_000)
    }), 60_000)
})
