import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import { ReadWindows } from "../../../src/services/pieces/ReadWindows.js"
import * as SequentialOrder from "../../../src/services/pieces/SequentialOrder.js"
import { BLOCK, bits, layoutOf, seeded } from "../../support/picker.js"

// Deadlines (streaming): pieces someone reads come before all others, the soonest first; the most urgent
// are asked of several peers; a verified or cleared piece loses its deadline.
describe("picker deadlines", () => {
  it("asks for pieces with deadlines first, soonest first, then the strategy's order", () => {
    const count = 100
    const picker = Effect.runSync(seeded(RarestFirst.make(layoutOf(BLOCK, count), Bitfield.empty(count))))
    const seed = Bitfield.full(count)
    picker.addPeer("p:1", seed)
    picker.setDeadline(90, 1)
    picker.setDeadline(70, 0)
    picker.setDeadline(80, 5)
    const picked = picker.pick("p:1", seed, 5).map((b) => b.piece)
    expect(picked.slice(0, 3)).toEqual([70, 90, 80])
    expect(picked.slice(3).every((p) => ![70, 80, 90].includes(p))).toBe(true)
  })

  it("skips pieces the peer lacks, and deadlines on verified or unwanted pieces are ignored", () => {
    const count = 10
    const picker = Effect.runSync(SequentialOrder.make(layoutOf(BLOCK, count), bits(count, [3]), bits(count, [0, 1, 2, 3, 4, 5])))
    const has = bits(count, [0, 1, 2, 3, 5, 8])
    picker.addPeer("p:1", has)
    picker.setDeadline(3, 0) // verified
    picker.setDeadline(8, 0) // not wanted
    picker.setDeadline(4, 0) // the peer lacks it
    picker.setDeadline(5, 1)
    expect(picker.hasDeadline(3)).toBe(false)
    expect(picker.hasDeadline(8)).toBe(false)
    expect(picker.pick("p:1", has, 3).map((b) => b.piece)).toEqual([5, 0, 1])
  })

  it("pickUrgent gives only critical blocks, and those go to a second peer too", () => {
    const count = 20
    const picker = Effect.runSync(seeded(RarestFirst.make(layoutOf(4 * BLOCK, count), Bitfield.empty(count))))
    const seed = Bitfield.full(count)
    picker.addPeer("slow:1", seed)
    picker.addPeer("fast:1", seed)
    const before = picker.deadlineVersion
    picker.setDeadline(12, 0)
    picker.setDeadline(13, 5)
    expect(picker.deadlineVersion).not.toBe(before)
    // Urgent: the critical piece only (13's deadline is far: it comes through `pick`, first).
    const slow = picker.pickUrgent("slow:1", seed, 100)
    expect(slow.map((b) => `${b.piece}:${b.offset / BLOCK}`)).toEqual(["12:0", "12:1", "12:2", "12:3"])
    expect(picker.isCritical(12)).toBe(true)
    expect(picker.isCritical(13)).toBe(false)
    expect(picker.pick("slow:1", seed, 4).map((b) => b.piece)).toEqual([13, 13, 13, 13])
    // The fast one is asked for the critical piece's blocks too, not for 13's.
    const fast = picker.pickUrgent("fast:1", seed, 100)
    expect(fast.map((b) => b.piece)).toEqual([12, 12, 12, 12])
    // Whoever answers first, the other is cancelled.
    const r = picker.blockReceived("fast:1", fast[0]!)
    expect(r.accepted).toBe(true)
    expect(r.cancel).toEqual(["slow:1"])
    // No deadline left that the peers can help with: nothing urgent.
    for (const b of fast.slice(1)) picker.blockReceived("fast:1", b)
    picker.pieceVerified(12)
    expect(picker.hasDeadline(12)).toBe(false)
    expect(picker.pickUrgent("fast:1", seed, 100)).toEqual([])
    picker.clearDeadline(13)
    expect(picker.pickUrgent("slow:1", seed, 100)).toEqual([])
  })
})

describe("read windows", () => {
  it("gives the pieces under a read deadlines by distance, moves them on a seek and drops them on close", () => {
    const count = 1000
    const pieceLength = 1024 * 1024
    const picker = Effect.runSync(seeded(RarestFirst.make(layoutOf(pieceLength, count), Bitfield.empty(count))))
    const windows = new ReadWindows(picker, pieceLength, count)
    const reader = windows.open()
    reader.moveTo(10 * pieceLength + 5, count * pieceLength - 1)
    // 8 MiB ahead: pieces 10..17.
    expect([9, 10, 17, 18].map(picker.hasDeadline)).toEqual([false, true, true, false])
    // A short range: only its pieces.
    reader.moveTo(500 * pieceLength, 500 * pieceLength + 10)
    expect([10, 500, 501].map(picker.hasDeadline)).toEqual([false, true, false])
    // Two readers: a piece both want keeps the nearer deadline; one closing leaves the other's.
    const other = windows.open()
    other.moveTo(499 * pieceLength, 503 * pieceLength)
    reader.close()
    expect([499, 500, 503, 504].map(picker.hasDeadline)).toEqual([true, true, true, false])
    other.close()
    expect([499, 500, 503].map(picker.hasDeadline)).toEqual([false, false, false])
  })
})
