/**
 * A small, fast, seeded pseudo-random generator (mulberry32) for synchronous code on hot paths: the
 * picker's and the choker's choices. Seed it from Effect's `Random`, so that a seeded Random makes them
 * deterministic in tests.
 */
export interface Prng {
  /** A number in [0, 1). */
  readonly next: () => number
  /** An integer in [0, n). */
  readonly below: (n: number) => number
}

export const make = (seed: number): Prng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, below: (n) => Math.floor(next() * n) }
}
