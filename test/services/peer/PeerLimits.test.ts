/**
 * The request pipeline's depth: what a peer's rate earns, within 16 and 500 outstanding requests.
 */
import { describe, expect, it } from "@effect/vitest"
import { limits, nextDepth } from "../../../src/services/peer/PeerLimits.js"

const KiB = 1024
const MiB = 1024 * KiB

describe("the request pipeline", () => {
  it("keeps 2 s of the peer's rate requested, in 16 KiB blocks", () => {
    expect(nextDepth(limits.initialDepth, 2 * MiB)).toBe(256)
  })

  it("never more than 500 outstanding, however fast the peer", () => {
    expect(nextDepth(limits.initialDepth, 1024 * MiB)).toBe(500)
    expect(limits.maxDepth).toBe(500)
  })

  it("never fewer than 16, and shrinks 8 a tick when the peer slows", () => {
    expect(nextDepth(300, 0)).toBe(292)
    let depth = 300
    for (let tick = 0; tick < 100; tick++) depth = nextDepth(depth, 0)
    expect(depth).toBe(16)
  })
})
