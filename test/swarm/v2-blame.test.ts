/**
 * Per-block blame in a v2 swarm (BEP 52): a liar serves corrupt pieces beside two honest peers, one of
 * which downloaded the torrent in this run and so holds the leaves to answer block-hash requests. Pieces
 * whose blocks came from the liar and an honest peer fail; their block hashes, asked of a v2 peer and proved
 * against the piece hashes, name the liar alone. Which rule bans it first depends on how its blocks fell
 * (a piece it sent alone strikes it at once; a retry's smart ban may come before the block hashes), so
 * the test holds what must hold whichever it is: the liar alone is banned, no honest peer though it shared
 * the failed pieces, and the download ends with the true bytes. The blame itself, step by step:
 * test/services/pieces/PieceBlame.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type { TorrentEvent } from "../../src/services/torrent/TorrentHandle.js"
import { withClock } from "../support/clock.js"
import { all, announceUrl, makeSwarm } from "../support/swarm.js"
import { randomBytes } from "../support/torrents.js"
import { makeV2Torrent } from "../support/v2Torrents.js"

const pieceLength = 64 * 1024

describe("per-block blame in a v2 swarm", () => {
  it.scoped("a liar among honest peers that hold the leaves is banned, and it alone, though honest peers shared its failed pieces", () =>
    Effect.gen(function* () {
      const t = makeV2Torrent({
        name: "blame",
        pieceLength,
        version: "v2",
        announce: announceUrl,
        files: [{ path: ["big.bin"], data: randomBytes(40 * pieceLength + 1234, 21) }, { path: ["small.bin"], data: randomBytes(30000, 22) }]
      })
      const swarm = yield* makeSwarm({ torrent: t })
      const honest = { bandwidth: 512 * 1024 }
      yield* swarm.member("10.0.0.1", { pieces: all, link: honest })
      // It downloads in this run: it keeps every piece's leaves, and answers requests for them.
      const relay = yield* swarm.member("10.0.0.2", { link: honest })
      yield* withClock(relay.completed, { step: "1 second", maxVirtual: "120 seconds" })
      // Slow, with pieces of 16 blocks: its few blocks land in pieces the honest peers fill, which join the
      // pieces in progress first (a piece it sent alone would take a strike of the v1 kind, the lone sender's).
      yield* swarm.member("10.0.0.3", { pieces: all, corrupt: all, link: { bandwidth: 64 * 1024 } })
      const leecher = yield* swarm.member("10.0.0.9")
      const seen = yield* PubSub.subscribe(leecher.events)
      yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "300 seconds" })
      // Block hashes asked for at the end come within a second or two.
      yield* withClock(Effect.sleep("5 seconds"), { step: "1 second", maxVirtual: "10 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.9")!, t.payload)).toBe(0)
      const stats = yield* leecher.stats
      expect(stats.banned).toEqual(["10.0.0.3"])
      const happened = Chunk.toReadonlyArray(yield* Queue.takeAll(seen)) as ReadonlyArray<TorrentEvent>
      const bans = happened.flatMap((e) => (e._tag === "PeerBanned" ? [e] : []))
      expect(bans.map((b) => b.host)).toEqual(["10.0.0.3"])
      expect(bans[0]!.reason).toMatch(/bad blocks shown by the block hashes of piece|sent corrupt data|pieces that failed their hash check/)
      // Honest peers shared failed pieces with it and were not struck out.
      const shared = happened.filter((e) => e._tag === "PieceFailed" && e.senders.length > 1)
      for (const e of shared) expect(e._tag === "PieceFailed" && e.senders.some((s) => s.startsWith("10.0.0.3:"))).toBe(true)
    }))
})
