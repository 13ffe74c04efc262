import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Choker, type ChokerOptions, type ChokerPeer, defaultOptions } from "../../../src/services/torrent/Choker.js"

/** A small seeded generator (mulberry32), so that every draw is reproducible. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Rounds start late enough that peers connected at 0 are no longer new. */
const T0 = 100_000
const ROUND = defaultOptions.roundMs

const peer = (key: string, fields: Partial<Omit<ChokerPeer, "key">> = {}): ChokerPeer => ({
  key,
  interested: true,
  downloadRate: 0,
  uploadRate: 0,
  connectedAt: 0,
  snubbed: false,
  isSeed: false,
  ...fields
})

const choker = (seed = 1, options: Partial<ChokerOptions> = {}) =>
  new Choker({ ...defaultOptions, ...options }, mulberry32(seed))

const sorted = (keys: Iterable<string>) => [...keys].sort()

/** The unchoked peers other than the optimistic one. */
const regular = (c: Choker, unchoked: ReadonlySet<string>) => sorted([...unchoked].filter((k) => k !== c.optimistic))

describe("Choker", () => {
  it("downloading: the 4 fastest to download from hold the regular slots, one of the rest is optimistic", () => {
    const peers = [10, 50, 20, 40, 30, 60].map((rate, i) => peer(`p${i}`, { downloadRate: rate, uploadRate: 100 - rate }))
    const c = choker()
    const unchoked = c.round(peers, T0, false)
    expect(regular(c, unchoked)).toEqual(["p1", "p3", "p4", "p5"])
    expect(["p0", "p2"]).toContain(c.optimistic)
    expect(unchoked.size).toBe(5)
  })

  it("seeding: the 4 we upload to fastest hold the regular slots (fastest upload, not round-robin)", () => {
    const peers = [10, 50, 20, 40, 30, 60].map((rate, i) => peer(`p${i}`, { uploadRate: rate, downloadRate: 100 - rate }))
    const c = choker()
    const unchoked = c.round(peers, T0, true)
    expect(regular(c, unchoked)).toEqual(["p1", "p3", "p4", "p5"])
    expect(["p0", "p2"]).toContain(c.optimistic)
  })

  it("switching from downloading to seeding re-ranks by upload rate and drops the seeds", () => {
    const peers = [
      peer("a", { downloadRate: 900, uploadRate: 1 }),
      peer("b", { downloadRate: 800, uploadRate: 2, isSeed: true }),
      peer("c", { downloadRate: 1, uploadRate: 500 }),
      peer("d", { downloadRate: 2, uploadRate: 400 }),
      peer("s", { downloadRate: 0, uploadRate: 0, isSeed: true })
    ]
    const c = choker(7, { slots: 2 })
    const downloading = c.round(peers, T0, false)
    expect(regular(c, downloading)).toEqual(["a", "b"])
    const seeding = c.round(peers, T0 + ROUND, true)
    expect(regular(c, seeding)).toEqual(["c", "d"])
    expect(c.optimistic).toBe("a")
    expect(seeding.has("b") || seeding.has("s")).toBe(false)
  })

  it("the optimistic unchoke is kept for 3 rounds (30 s), however often round is called, then rotated", () => {
    const peers = ["a", "b", "c", "d", "e", "f"].map((k) => peer(k))
    const c = choker(42, { slots: 1 })
    let previous: string | undefined
    for (let rotation = 0; rotation < 20; rotation++) {
      const start = T0 + rotation * 3 * ROUND
      c.round(peers, start, false)
      const drawn = c.optimistic
      expect(drawn).toBeDefined()
      expect(drawn).not.toBe(previous)
      for (const at of [start + 1, start + ROUND, start + 15_000, start + 2 * ROUND, start + 3 * ROUND - 1]) {
        const unchoked = c.round(peers, at, false)
        expect(c.optimistic).toBe(drawn)
        expect(unchoked.has(drawn!)).toBe(true)
        expect(regular(c, unchoked)).toEqual(["a"])
      }
      previous = drawn
    }
  })

  it("the optimistic peer is drawn among interested peers outside the regular slots", () => {
    const peers = [
      peer("fast", { downloadRate: 1000 }),
      peer("idle", { interested: false }),
      peer("slow1", { downloadRate: 1 }),
      peer("slow2", { downloadRate: 2 })
    ]
    const seen = new Set<string>()
    for (let seed = 0; seed < 200; seed++) {
      const c = choker(seed, { slots: 1 })
      c.round(peers, T0, false)
      seen.add(c.optimistic!)
    }
    expect(sorted(seen)).toEqual(["slow1", "slow2"])
  })

  it("a new peer is 3 times as likely to be drawn optimistic (1000 seeds)", () => {
    const old = ["a", "b", "c"].map((k) => peer(k, { connectedAt: 0 }))
    const count = (newcomer: ChokerPeer) => {
      const counts = new Map<string, number>()
      for (let seed = 0; seed < 1000; seed++) {
        const c = choker(seed, { slots: 0 })
        c.round([...old, newcomer], T0, false)
        counts.set(c.optimistic!, (counts.get(c.optimistic!) ?? 0) + 1)
      }
      return counts
    }
    // Weights 3:1:1:1, so the newcomer is expected 500 times, each old peer ~167 (sd ~16 and ~12).
    const fresh = count(peer("n", { connectedAt: T0 - 59_999 }))
    expect(Math.abs(fresh.get("n")! - 500)).toBeLessThan(60)
    for (const k of ["a", "b", "c"]) expect(Math.abs(fresh.get(k)! - 1000 / 6)).toBeLessThan(50)
    // At newPeerMs it is an ordinary peer: 1 in 4.
    const aged = count(peer("n", { connectedAt: T0 - 60_000 }))
    expect(Math.abs(aged.get("n")! - 250)).toBeLessThan(50)
  })

  it("the weighted draw is exact: weights 1, 3, 1 in key order", () => {
    const peers = [peer("c"), peer("b", { connectedAt: T0 }), peer("a")]
    const pick = (r: number) => {
      const c = new Choker({ ...defaultOptions, slots: 0 }, () => r)
      c.round(peers, T0, false)
      return c.optimistic
    }
    expect([0, 0.199, 0.2, 0.799, 0.8, 0.999].map(pick)).toEqual(["a", "a", "b", "b", "c", "c"])
  })

  it("snubbed peers never hold a regular slot, but may be optimistic", () => {
    const peers = [
      peer("snub1", { downloadRate: 5000, snubbed: true }),
      peer("snub2", { downloadRate: 4000, snubbed: true }),
      peer("ok", { downloadRate: 1 })
    ]
    for (let seed = 0; seed < 50; seed++) {
      const c = choker(seed, { slots: 2 })
      const unchoked = c.round(peers, T0, false)
      expect(regular(c, unchoked)).toEqual(["ok"])
      expect(["snub1", "snub2"]).toContain(c.optimistic)
    }
  })

  it("seeds are never unchoked while seeding, not even optimistically", () => {
    const peers = [peer("s1", { uploadRate: 9000, isSeed: true }), peer("s2", { isSeed: true, connectedAt: T0 }), peer("l")]
    const c = choker(3)
    for (let i = 0; i < 10; i++) expect(sorted(c.round(peers, T0 + i * ROUND, true))).toEqual(["l"])
    expect(c.optimistic).toBeUndefined()
  })

  it("uninterested peers are never unchoked, and are reconsidered once interested", () => {
    const bored = peer("x", { interested: false, downloadRate: 9000, uploadRate: 9000 })
    const c = choker(5, { slots: 1 })
    expect(sorted(c.round([bored, peer("y")], T0, false))).toEqual(["y"])
    expect(sorted(c.round([bored, peer("y")], T0 + ROUND, true))).toEqual(["y"])
    expect(c.round([bored], T0 + 2 * ROUND, false).size).toBe(0)
    expect(sorted(c.round([{ ...bored, interested: true }, peer("y")], T0 + 3 * ROUND, false))).toEqual(["x", "y"])
  })

  it("with fewer peers than slots, every interested peer is unchoked and no one is optimistic", () => {
    const c = choker(9)
    expect(sorted(c.round([peer("a"), peer("b", { interested: false }), peer("c")], T0, false))).toEqual(["a", "c"])
    expect(c.optimistic).toBeUndefined()
    expect(c.round([], T0 + ROUND, false).size).toBe(0)
    // A fifth peer arriving mid-period is drawn optimistic at once.
    const five = ["a", "b", "c", "d", "e"].map((k, i) => peer(k, { downloadRate: 10 - i }))
    expect(sorted(c.round(five, T0 + ROUND + 1, false))).toEqual(["a", "b", "c", "d", "e"])
    expect(c.optimistic).toBe("e")
  })

  it("when the optimistic peer leaves or loses interest mid-period, another is drawn and kept 30 s from then", () => {
    const peers = ["a", "b", "c", "d", "e", "f"].map((k) => peer(k))
    const c = choker(11, { slots: 1 })
    c.round(peers, T0, false)
    const first = c.optimistic!
    const gone = peers.filter((p) => p.key !== first)
    c.round(gone, T0 + ROUND, false)
    const second = c.optimistic!
    expect(second).not.toBe(first)
    expect(gone.map((p) => p.key)).toContain(second)
    c.round(gone, T0 + 3 * ROUND, false)
    expect(c.optimistic).toBe(second)
    const bored = gone.map((p) => (p.key === second ? { ...p, interested: false } : p))
    const unchoked = c.round(bored, T0 + 3 * ROUND + 1, false)
    const third = c.optimistic!
    expect([first, second]).not.toContain(third)
    expect(unchoked.has(second)).toBe(false)
    c.round(bored, T0 + 6 * ROUND, false)
    expect(c.optimistic).toBe(third)
    c.round(bored, T0 + 6 * ROUND + 1, false)
    expect(c.optimistic).not.toBe(third)
    expect(c.optimistic).not.toBe(second)
  })

  it("an optimistic peer that wins a regular slot keeps it, and the optimistic slot is drawn again", () => {
    const c = choker(13, { slots: 1 })
    const peers = ["a", "b", "c"].map((k) => peer(k, { connectedAt: k === "a" ? 0 : 1 }))
    c.round(peers, T0, false)
    const lucky = c.optimistic!
    expect(lucky).not.toBe("a")
    const faster = peers.map((p) => (p.key === lucky ? { ...p, downloadRate: 100 } : p))
    const unchoked = c.round(faster, T0 + ROUND, false)
    expect(regular(c, unchoked)).toEqual([lucky])
    expect(c.optimistic).toBeDefined()
    expect(c.optimistic).not.toBe(lucky)
  })

  it("ties keep last round's regular peers in their slots rather than churn", () => {
    const c = choker(17, { slots: 2 })
    const peers = ["a", "b", "c", "d", "e"].map((k) => peer(k, { connectedAt: k < "c" ? 50 : 0 }))
    const first = c.round(peers.map((p) => (p.key < "c" ? { ...p, downloadRate: 100 } : p)), T0, false)
    expect(regular(c, first)).toEqual(["a", "b"])
    const optimistic = c.optimistic!
    // Every rate falls to 0: a and b stay, ahead of the older c, d, e and of the optimistic peer (unchoked
    // too, but not in a regular slot). Reversing the input changes nothing.
    const tied = c.round([...peers].reverse(), T0 + 1, false)
    expect(regular(c, tied)).toEqual(["a", "b"])
    expect(c.optimistic).toBe(optimistic)
    // Without a previous round, the older connections win the tie.
    const fresh = choker(17, { slots: 2 })
    expect(regular(fresh, fresh.round(peers, T0, false))).toEqual(["c", "d"])
  })

  it.prop(
    "any round: only interested peers, no seeds while seeding, no snubbed regulars, regulars outrank the choked",
    [
      FastCheck.array(
        FastCheck.record({
          interested: FastCheck.boolean(),
          downloadRate: FastCheck.integer({ min: 0, max: 5 }),
          uploadRate: FastCheck.integer({ min: 0, max: 5 }),
          connectedAt: FastCheck.integer({ min: 0, max: T0 }),
          snubbed: FastCheck.boolean(),
          isSeed: FastCheck.boolean()
        }),
        { maxLength: 12 }
      ),
      FastCheck.integer({ min: 0, max: 5 }),
      FastCheck.boolean(),
      FastCheck.integer()
    ],
    ([fields, slots, seeding, seed]) => {
      const peers = fields.map((f, i) => peer(`10.0.0.${i}:6881`, f))
      const c = choker(seed, { slots })
      const unchoked = c.round(peers, T0, seeding)
      const rate = (p: ChokerPeer) => (seeding ? p.uploadRate : p.downloadRate)
      const byKey = new Map(peers.map((p) => [p.key, p]))
      const eligible = peers.filter((p) => p.interested && !(seeding && p.isSeed))
      const regulars = regular(c, unchoked).map((k) => byKey.get(k)!)
      for (const k of unchoked) expect(eligible).toContain(byKey.get(k))
      for (const p of regulars) expect(p.snubbed).toBe(false)
      expect(regulars.length).toBe(Math.min(slots, eligible.filter((p) => !p.snubbed).length))
      const choked = eligible.filter((p) => !p.snubbed && !unchoked.has(p.key))
      for (const r of regulars) for (const p of choked) expect(rate(r)).toBeGreaterThanOrEqual(rate(p))
      expect(c.optimistic === undefined).toBe(eligible.length === regulars.length)
    }
  )
})
