/**
 * The dialer's loop sleeps until it has something to do: an address learnt, a session or a connect ended,
 * or a failed address falling due again. A torrent with nothing to dial (a seed whose peers come to it)
 * costs no timer, which is what lets a daemon hold a thousand of them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as Dialer from "../../../src/services/torrent/Dialer.js"
import { PeerCandidates, retryDelayMs } from "../../../src/services/torrent/PeerCandidates.js"
import * as MemoryNetwork from "../../../src/services/wire/MemoryNetwork.js"

const dialerOn = (candidates: PeerCandidates, counts: { rounds: number; dials: number }) =>
  Effect.flatMap(MemoryNetwork.make(), (network) =>
    Dialer.make({
      candidates,
      maxSessions: 10,
      halfOpen: 10,
      connectTimeout: "1 second",
      forgiveOnConnect: true,
      session: () => Effect.void,
      ended: (key) => Effect.sync(() => {
        counts.dials++
        candidates.failed(key, 0, false)
      }),
      afterRound: Effect.sync(() => void counts.rounds++)
    }).pipe(Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.0.1" }))))

describe("Dialer", () => {
  it.scoped("with nothing to dial, the loop does not wake", () =>
    Effect.gen(function* () {
      const counts = { rounds: 0, dials: 0 }
      yield* dialerOn(new PeerCandidates(10), counts)
      yield* TestClock.adjust("10 minutes")
      expect(counts.rounds).toBeLessThanOrEqual(1)
    }))

  it.scoped("an address that failed is dialled again when it falls due, not before, and woken for nothing else", () =>
    Effect.gen(function* () {
      const counts = { rounds: 0, dials: 0 }
      const candidates = new PeerCandidates(10)
      const dialer = yield* dialerOn(candidates, counts)
      // Nobody listens at 10.0.0.9: the dial fails, and the address waits retryDelayMs(1).
      dialer.learn([new PeerAddress({ host: "10.0.0.9", port: 6881 })])
      yield* TestClock.adjust("100 millis")
      expect(counts.dials).toBe(1)
      const roundsAfterFirst = counts.rounds
      yield* TestClock.adjust(retryDelayMs(1) - 1_000)
      expect(counts.dials).toBe(1)
      expect(counts.rounds - roundsAfterFirst).toBeLessThanOrEqual(1)
      yield* TestClock.adjust("2 seconds")
      expect(counts.dials).toBe(2)
    }))
})
