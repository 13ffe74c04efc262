import { describe, expect, it } from "@effect/vitest"
import { RateMeter } from "../../src/domain/Rate.js"

describe("RateMeter", () => {
  it("averages over the window, counts everything in total, and forgets old seconds", () => {
    const m = new RateMeter(5)
    expect(m.rate(0)).toBe(0)
    for (let s = 0; s < 5; s++) m.add(1000, s * 1000)
    expect(m.total).toBe(5000)
    expect(m.rate(5000)).toBeCloseTo(1000, 5)
    // Ten quiet seconds later, nothing is left in the window.
    expect(m.rate(15_000)).toBe(0)
    expect(m.total).toBe(5000)
  })

  it("gives a rate from the first second on", () => {
    const m = new RateMeter(5)
    m.add(0, 0)
    m.add(500, 500)
    expect(m.rate(1000)).toBeCloseTo(500, 5)
  })
})
