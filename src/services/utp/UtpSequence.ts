/**
 * uTP's 16-bit sequence and ACK numbers, which wrap: comparisons are made on the distance modulo 2^16, so
 * that 65535 comes just before 0. A connection never has more than a few thousand packets in flight, far
 * below half the space, so "a before b" is always well defined where it is asked.
 */

export const seqMask = 0xffff

/** b - a, modulo 2^16: how many steps forward from a to b. */
export const seqDistance = (a: number, b: number): number => (b - a) & seqMask

export const seqAdd = (a: number, n: number): number => (a + n) & seqMask

/** True when a comes strictly before b (within half the space). */
export const seqBefore = (a: number, b: number): boolean => {
  const d = seqDistance(a, b)
  return d !== 0 && d < 0x8000
}

/** uTP timestamps: microseconds modulo 2^32. */
export const micros = (nowMs: number): number => Math.floor(nowMs * 1000) % 4294967296

/** True when the 32-bit timestamp difference a is smaller than b, by the same wrap-around rule. */
export const microsBefore = (a: number, b: number): boolean => ((a - b) | 0) < 0
