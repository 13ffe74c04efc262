/**
 * Token buckets for rate limits: a second's worth at most (a block at least), refilled with time, spent
 * as data is asked for or sent; 0 is no limit; a Throttle allows what its emptiest bucket holds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Throttle, TokenBucket } from "../../src/domain/TokenBucket.js"

describe("TokenBucket", () => {
  it("starts full with one second's worth, refills at its rate, never beyond a second's worth", () => {
    const b = new TokenBucket(100_000, 0)
    expect(b.available(0)).toBe(100_000)
    b.spend(100_000)
    expect(b.available(0)).toBe(0)
    expect(b.available(250)).toBe(25_000)
    expect(b.available(10_000)).toBe(100_000)
  })

  it("holds at least one block, so that a limit below 16 KiB/s still moves whole blocks", () => {
    const b = new TokenBucket(1000, 0)
    expect(b.available(0)).toBe(16_384)
    b.spend(16_384)
    expect(b.available(1000)).toBe(1000)
  })

  it("a rate of 0 is no limit; a new rate applies from now", () => {
    const b = new TokenBucket(0, 0)
    expect(b.available(0)).toBe(Infinity)
    b.setRate(50_000, 0)
    b.spend(50_000)
    expect(b.available(500)).toBe(25_000)
    b.setRate(0, 500)
    expect(b.available(500)).toBe(Infinity)
  })

  it("a Throttle allows what its emptiest bucket holds and spends from all", () => {
    const torrent = new TokenBucket(200_000, 0)
    const session = new TokenBucket(50_000, 0)
    const t = new Throttle({ down: [torrent, session], up: [] })
    expect(t.available("down", 0)).toBe(50_000)
    expect(t.available("up", 0)).toBe(Infinity)
    t.spend("down", 50_000)
    expect([torrent.available(0), session.available(0)]).toEqual([150_000, 0])
  })
})
