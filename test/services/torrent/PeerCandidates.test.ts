/**
 * The candidate list: bounded, and a full list makes room for a new address by forgetting the least
 * promising one not in use (dead, then most failed, then oldest); addresses are dialled fewest failures
 * first, newest first among equals.
 */
import { describe, expect, it } from "@effect/vitest"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { PeerCandidates, retryDelayMs, returnDelayMs } from "../../../src/services/torrent/PeerCandidates.js"

const at = (n: number) => new PeerAddress({ host: `10.0.0.${n}`, port: 6881 })
const keys = (list: ReadonlyArray<{ readonly key: string }>) => list.map((c) => c.key)
const none = () => false

describe("PeerCandidates", () => {
  it("keeps at most max addresses, and a known one is not added twice", () => {
    const c = new PeerCandidates(3)
    expect([1, 2, 3, 1].map((n) => c.add(at(n), none))).toEqual([true, true, true, false])
    expect(c.size).toBe(3)
  })

  it("a full list forgets a dead address first, then the one that failed most, then the oldest untried", () => {
    const c = new PeerCandidates(3)
    for (const n of [1, 2, 3]) c.add(at(n), none)
    c.failed("10.0.0.2:6881", 0, false)
    c.failed("10.0.0.2:6881", 0, false)
    c.failed("10.0.0.3:6881", 0, true)
    c.add(at(4), none) // replaces 3 (dead)
    expect(c.get("10.0.0.3:6881")).toBeUndefined()
    c.add(at(5), none) // replaces 2 (two failures)
    expect(c.get("10.0.0.2:6881")).toBeUndefined()
    c.add(at(6), none) // replaces 1 (the oldest, never tried)
    expect(keys(c.due(0, none)).sort()).toEqual(["10.0.0.4:6881", "10.0.0.5:6881", "10.0.0.6:6881"])
  })

  it("never forgets an address in use; a list full of them takes nothing new", () => {
    const c = new PeerCandidates(2)
    c.add(at(1), none)
    c.add(at(2), none)
    expect(c.add(at(3), () => true)).toBe(false)
    expect(c.add(at(3), (key) => key === "10.0.0.1:6881")).toBe(true)
    expect(c.get("10.0.0.1:6881")).toBeDefined()
  })

  it("dials fewest failures first, newest first among equals; waits after a failure; never a dead one", () => {
    const c = new PeerCandidates(10)
    for (const n of [1, 2, 3, 4]) c.add(at(n), none)
    c.failed("10.0.0.4:6881", 1000, false)
    c.failed("10.0.0.1:6881", 1000, true)
    expect(keys(c.due(1000, none))).toEqual(["10.0.0.3:6881", "10.0.0.2:6881"])
    expect(keys(c.due(1000 + retryDelayMs(1), none))).toEqual(["10.0.0.3:6881", "10.0.0.2:6881", "10.0.0.4:6881"])
    expect(keys(c.due(1000, (x) => x.key === "10.0.0.3:6881"))).toEqual(["10.0.0.2:6881"])
  })

  it("retries after 30 s, doubling to at most 10 minutes", () => {
    expect([1, 2, 3, 5, 20].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 480_000, 600_000])
  })

  it("a peer that left with pieces we want waits as after a failure, until returnNow: then at once", () => {
    const c = new PeerCandidates(10)
    c.add(at(1), none)
    c.add(at(2), none)
    c.left(at(1), 1_000, true, none)
    // Unknown until it left (it had dialled us): added.
    c.left(at(3), 1_000, true, none)
    c.failed("10.0.0.2:6881", 1_000, false)
    expect(keys(c.due(2_000, none))).toEqual([])
    c.returnNow(2_000)
    // Those that left come back; one that failed to connect does not.
    expect(keys(c.due(2_000, none)).sort()).toEqual(["10.0.0.1:6881", "10.0.0.3:6881"])
    expect(c.nextDueAt((x) => x.key !== "10.0.0.2:6881")).toBe(1_000 + retryDelayMs(1))
  })

  it("returns to a peer that brings no block come later and later, then as after a failure", () => {
    const c = new PeerCandidates(10)
    const due: Array<number | undefined> = []
    for (let i = 0; i < 8; i++) {
      c.left(at(1), 0, false, none)
      c.returnNow(0)
      due.push(c.nextDueAt(none))
    }
    expect(due).toEqual([0, 1_000, 2_000, 4_000, 8_000, 16_000, retryDelayMs(7), retryDelayMs(8)])
    expect([1, 2, 6, 7].map(returnDelayMs)).toEqual([0, 1_000, 16_000, undefined])
    // A session that brings blocks starts the count again.
    c.left(at(1), 0, true, none)
    c.returnNow(0)
    expect(c.nextDueAt(none)).toBe(0)
  })

  it("a dead address is never returned to", () => {
    const c = new PeerCandidates(10)
    c.add(at(1), none)
    c.failed("10.0.0.1:6881", 0, true)
    c.left(at(1), 0, true, none)
    c.returnNow(0)
    expect(c.due(0, none)).toEqual([])
  })
})
