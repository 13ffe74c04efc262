/**
 * The choker in a whole swarm, under TestClock: a seeder with one regular upload slot and four
 * downloaders that stay interested (the seeder's link is slow). Who is unchoked is read from the seeder
 * every round.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { withClock } from "../support/clock.js"
import { all, makeSwarm } from "../support/swarm.js"

describe("swarm: the choker", () => {
  it.scoped("unchokes one peer by rate and one optimistically, rotating the optimistic slot every 30 s", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 16 * 1024 * 1024, pieceLength: 65536 })
      // 16 KiB/s out of every member: the downloaders stay interested for the whole test.
      const seeder = yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 16 * 1024 }, uploadSlots: 1 })
      for (const host of ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]) {
        yield* swarm.member(host, { link: { bandwidth: 16 * 1024 } })
      }
      const rounds: Array<ReadonlyArray<string>> = []
      const observe = Effect.gen(function* () {
        for (let round = 0; round < 13; round++) {
          yield* Effect.sleep("10 seconds")
          const peers = yield* seeder.peers
          rounds.push(peers.filter((p) => !p.amChoking).map((p) => p.key.split(":")[0]!).sort())
        }
      })
      yield* withClock(observe, { step: "1 second", maxVirtual: "140 seconds" })
      // Every round: the regular slot and the optimistic one, no more.
      for (const unchoked of rounds) expect(unchoked.length).toBe(2)
      // Over two minutes the optimistic slot has gone to several peers.
      expect(new Set(rounds.flat()).size).toBeGreaterThanOrEqual(3)
      // Between two rotations (30 s) the set of unchoked peers holds still at least once.
      const steady = rounds.slice(1).filter((r, i) => r.join() === rounds[i]!.join()).length
      expect(steady).toBeGreaterThanOrEqual(4)
    }), 60_000)
})
