/**
 * Node ids: XOR distance compared byte by byte must order ids as the 160-bit numbers do, and the
 * prefix helpers must agree with a bit-by-bit reading, since the routing table's buckets rest on them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as NodeId from "../../src/domain/NodeId.js"

const id = FastCheck.uint8Array({ minLength: 20, maxLength: 20 })
const asBigInt = (b: Uint8Array) => BigInt(`0x${NodeId.toHex(b)}`)
const bitsOf = (b: Uint8Array) => [...b].map((x) => x.toString(2).padStart(8, "0")).join("")

describe("NodeId", () => {
  it.prop("compareDistance orders as the XOR of the ids read as 160-bit numbers", [id, id, id], ([target, a, b]) => {
    const da = asBigInt(a) ^ asBigInt(target)
    const db = asBigInt(b) ^ asBigInt(target)
    expect(Math.sign(NodeId.compareDistance(target, a, b))).toBe(da < db ? -1 : da > db ? 1 : 0)
    expect(asBigInt(NodeId.distance(a, target))).toBe(da)
  })

  it.prop("commonPrefixLength is the number of equal leading bits", [id, id], ([a, b]) => {
    const x = bitsOf(a)
    const y = bitsOf(b)
    let n = 0
    while (n < 160 && x[n] === y[n]) n++
    expect(NodeId.commonPrefixLength(a, b)).toBe(n)
    expect(NodeId.commonPrefixLength(a, a)).toBe(160)
    for (const i of [0, 7, 8, 159]) expect(NodeId.bit(a, i)).toBe(Number(x[i]))
  })

  it.prop(
    "randomWithPrefix keeps the prefix and flips the next bit when asked",
    [id, FastCheck.integer({ min: 0, max: 159 }), id],
    ([base, prefix, random]) => {
      const flipped = NodeId.randomWithPrefix(base, prefix, true, random)
      expect(NodeId.commonPrefixLength(base, flipped)).toBe(prefix)
      const free = NodeId.randomWithPrefix(base, prefix, false, random)
      expect(NodeId.commonPrefixLength(base, free)).toBeGreaterThanOrEqual(prefix)
      // Past the prefix (and the flipped bit), the bits are the random ones.
      expect(bitsOf(flipped).slice(prefix + 1)).toBe(bitsOf(random).slice(prefix + 1))
    }
  )

  it("closest first by sortByDistance, and equal ids are at distance 0", () => {
    const target = new Uint8Array(20)
    const near = new Uint8Array(20).fill(0)
    near[19] = 1
    const far = new Uint8Array(20).fill(0)
    far[0] = 0x80
    const mid = new Uint8Array(20).fill(0)
    mid[10] = 1
    expect(NodeId.sortByDistance(target, [{ id: far }, { id: near }, { id: mid }]).map((x) => x.id)).toEqual([near, mid, far])
    expect(NodeId.compareDistance(target, near, Uint8Array.from(near))).toBe(0)
    expect(NodeId.equals(near, Uint8Array.from(near))).toBe(true)
    expect(NodeId.equals(near, far)).toBe(false)
  })
})
