import { describe, expect, it } from "@effect/vitest"
import { RequestPipeline } from "../../../src/services/peer/RequestPipeline.js"
import { type BlockRequest } from "../../../src/domain/Block.js"
import { limits } from "../../../src/services/peer/PeerLimits.js"

const blocks = (piece: number, count: number): Array<BlockRequest> =>
  Array.from({ length: count }, (_, i) => ({ piece, offset: i * 16384, length: 16384 }))

describe("RequestPipeline", () => {
  it("tops up in batches: all of the depth when empty, then only once a batch fits", () => {
    const p = new RequestPipeline()
    expect(p.room()).toBe(limits.initialDepth)
    p.add(blocks(0, limits.initialDepth), 0)
    expect(p.room()).toBe(0)
    // A quarter of the depth (below the request batch) must be free before it is worth a write.
    for (let i = 0; i < limits.initialDepth / 4 - 1; i++) p.take(0, i * 16384, 16384)
    expect(p.room()).toBe(0)
    p.take(0, (limits.initialDepth / 4 - 1) * 16384, 16384)
    expect(p.room()).toBe(limits.initialDepth / 4)
  })

  it("keeps within what the peer said it queues (reqq), topping up by a quarter of that", () => {
    const p = new RequestPipeline()
    expect(p.room(10)).toBe(10)
    p.add(blocks(0, 10), 0)
    expect(p.room(10)).toBe(0)
    p.take(0, 0, 16384)
    expect(p.room(10)).toBe(0)
    p.take(0, 16384, 16384)
    p.take(0, 2 * 16384, 16384)
    // 3 free of 10: more than a quarter of the peer's limit, though far below a quarter of our depth.
    expect(p.room(10)).toBe(3)
    // A limit above our depth changes nothing.
    expect(p.room(10_000)).toBe(p.room())
  })

  it("takes a request only for its exact piece, offset and length", () => {
    const p = new RequestPipeline()
    p.add(blocks(3, 2), 0)
    expect(p.take(3, 16384, 1000)).toBeUndefined()
    expect(p.take(3 + 2 ** 21, 16384, 16384)).toBeUndefined()
    expect(p.take(3, 16384, 16384)).toEqual({ piece: 3, offset: 16384, length: 16384 })
    expect(p.take(3, 16384, 16384)).toBeUndefined()
    expect(p.takeAll()).toEqual([{ piece: 3, offset: 0, length: 16384 }])
    expect(p.size).toBe(0)
  })

  it("slow start: each block widens the pipeline until a tick has measured the rate", () => {
    const p = new RequestPipeline()
    const depth = () => p.room() // empty: the whole depth
    p.tick(0, 0, 0) // the first tick, at once: no rate yet, no change
    for (let i = 0; i < 100; i++) p.received()
    expect(depth()).toBe(limits.initialDepth + 100)
    // A tick later the rate rules: 1 MB/s wants 2 s of blocks (123), shrinking by 8 a tick.
    p.tick(limits.tickMs, 0, 1_000_000)
    expect(depth()).toBe(limits.initialDepth + 100 - 8)
    for (let i = 0; i < 100; i++) p.received()
    expect(depth()).toBe(limits.initialDepth + 100 - 8)
    // Never beyond the maximum.
    const fast = new RequestPipeline()
    for (let i = 0; i < 2 * limits.maxDepth; i++) fast.received()
    expect(fast.room()).toBe(limits.maxDepth)
  })

  it("follows the peer's service latency: twice the blocks it serves in it, plus a batch", () => {
    const p = new RequestPipeline()
    p.tick(limits.tickMs, 0, 0)
    // A batch asked with nothing outstanding, its first block 4 ms later: the service time.
    p.add(blocks(0, 8), 1000)
    p.take(0, 0, 16384, 1004)
    expect(p.latency).toBe(4)
    // 100 MB/s for 4 ms is 25 blocks: 50 kept, plus a batch of top-up.
    p.takeAll()
    p.tick(2000, 0, 100_000_000)
    expect(p.room()).toBe(Math.ceil((2 * 100_000_000 * 4) / 1000 / 16384) + limits.requestBatch)
  })

  it("keeps the least time; once it is old, drains for a clean sample that replaces it", () => {
    const p = new RequestPipeline()
    p.tick(limits.tickMs, 0, 0)
    p.add(blocks(0, 4), 0)
    p.take(0, 0, 16384, 2)
    // A later batch behind a queue: 30 ms, not the peer's service time.
    p.add(blocks(1, 4), 100)
    p.take(1, 0, 16384, 130)
    expect(p.latency).toBe(2)
    // The window is over: the pipeline drains (no room while requests are outstanding) ...
    p.tick(limits.latencyWindowMs + 10, 0, 1_000_000)
    expect(p.size).toBeGreaterThan(0)
    expect(p.room()).toBe(0)
    p.takeAll()
    // ... then a batch asked with nothing ahead of it gives the new least time, even above the old.
    p.add(blocks(2, 4), 20_000)
    p.take(2, 0, 16384, 20_003)
    expect(p.latency).toBe(3)
  })

  it("a reject or a cancel of the timed block gives no sample", () => {
    const p = new RequestPipeline()
    p.add(blocks(0, 4), 0)
    p.take(0, 0, 16384)
    expect(p.latency).toBeUndefined()
    // The next batch is timed instead.
    p.add(blocks(1, 1), 10)
    p.take(1, 0, 16384, 15)
    expect(p.latency).toBe(5)
  })

  it("a block that crosses our cancel is known as late, once, and only for the exact request given up", () => {
    const p = new RequestPipeline()
    p.add(blocks(0, 4), 0)
    expect(p.cancel(0, 0, 16384)).toEqual({ piece: 0, offset: 0, length: 16384 })
    expect(p.cancel(0, 0, 16384)).toBeUndefined()
    expect(p.size).toBe(3)
    expect(p.late(0, 0, 1000)).toBe(false)
    expect(p.late(0, 0, 16384)).toBe(true)
    expect(p.late(0, 0, 16384)).toBe(false)
    // Never asked for: not late.
    expect(p.late(7, 0, 16384)).toBe(false)
    // Dropped at a choke: late too (BEP 6 peers still send allowed fast pieces).
    p.takeAll()
    expect([1, 2, 3].map((i) => p.late(0, i * 16384, 16384))).toEqual([true, true, true])
  })

  it("remembers at most maxDepth requests given up, the oldest forgotten first", () => {
    const p = new RequestPipeline()
    p.add(blocks(0, limits.maxDepth + 1), 0)
    for (let i = 0; i <= limits.maxDepth; i++) p.cancel(0, i * 16384, 16384)
    expect(p.late(0, 0, 16384)).toBe(false)
    expect(p.late(0, 16384, 16384)).toBe(true)
    expect(p.late(0, limits.maxDepth * 16384, 16384)).toBe(true)
  })
})
