/**
 * PEX with IPv6 peers (BEP 11's added6): in an in-memory swarm whose hosts are IPv6 addresses, two
 * leechers that know only the seeder meet through the seeder's PEX, which can name them in `added6` only
 * (an IPv6 address has no place in `added`), and the leecher told dials the address it was given.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { withClock } from "../support/clock.js"
import { all, announceUrl, makeSwarm, port } from "../support/swarm.js"

const v6 = (host: string) => new PeerAddress({ host, port })

describe("PEX over IPv6", () => {
  it.scoped("a leecher that knows only the seeder meets the other leecher through added6, named [fd00::3]:port", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 512 * 1024 })
      swarm.tracker.fail(announceUrl, "Unreachable")
      yield* swarm.member("fd00::1", { pieces: all, link: { bandwidth: 16384 } })
      const b = yield* swarm.member("fd00::3", { peers: [v6("fd00::1")] })
      const a = yield* swarm.member("fd00::2", { peers: [v6("fd00::1")] })
      const keys = (handle: typeof a) => Effect.map(handle.peers, (ps) => ps.map((p) => p.key))
      const met = Effect.gen(function* () {
        while (true) {
          const seen = [...(yield* keys(a)), ...(yield* keys(b))]
          if (seen.some((k) => k.startsWith("[fd00::3]:") || k.startsWith("[fd00::2]:"))) return seen
          yield* Effect.sleep("500 millis")
        }
      })
      const seen = yield* withClock(met, { step: "1 second", maxVirtual: "65 seconds" })
      expect(seen).toEqual(expect.arrayContaining([`[fd00::1]:${port}`]))
      yield* withClock(Effect.all([a.completed, b.completed]), { step: "1 second", maxVirtual: "600 seconds" })
      expect(Buffer.compare(swarm.contents("fd00::2")!, swarm.torrent.payload)).toBe(0)
    }))
})
