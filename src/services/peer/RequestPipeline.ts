/**
 * Our requests to one peer: which blocks are outstanding, how many may be (the pipeline's depth), and when
 * to top it up.
 *
 * Depth: until the peer's rate has been measured over a tick, each block received widens the pipeline by
 * one, doubling it every round trip (as TCP's slow start), so that a fast peer is not held to the first
 * depth for a second; from then on it follows the rate (`nextDepth`). Top-ups come in batches: a request
 * write per received chunk would cost a system call and a wake-up of the peer each.
 */
import { type BlockRequest } from "../../domain/Block.js"
import { limits, nextDepth } from "./PeerLimits.js"

/** A block's key among the requests: a number, no string per block. Exact for every piece index a torrent
 *  can have (below 2^21); a peer's wilder numbers may collide, so a request found is compared as well. */
const keyOf = (piece: number, offset: number) => piece * 0x1_0000_0000 + offset

export class RequestPipeline {
  private readonly outstanding = new Map<number, BlockRequest>()
  private depth = limits.initialDepth
  private slowStart = true

  /** Requests outstanding. */
  get size(): number {
    return this.outstanding.size
  }

  /**
   * How many requests to make now: the free depth once it is worth a write, or all of it when empty.
   * `limit` is what the peer said it queues without dropping (BEP 10's `reqq`), when it said.
   */
  room(limit: number = Infinity): number {
    const depth = Math.min(this.depth, limit)
    const room = depth - this.outstanding.size
    return this.outstanding.size > 0 && room < Math.min(limits.requestBatch, depth / 4) ? 0 : room
  }

  add(blocks: ReadonlyArray<BlockRequest>): void {
    for (const b of blocks) this.outstanding.set(keyOf(b.piece, b.offset), b)
  }

  /** The request that a block (or a reject, or our cancel) answers, taken out; undefined when none is. */
  take(piece: number, offset: number, length: number): BlockRequest | undefined {
    const key = keyOf(piece, offset)
    const block = this.outstanding.get(key)
    if (block === undefined || block.piece !== piece || block.offset !== offset || block.length !== length) return undefined
    this.outstanding.delete(key)
    return block
  }

  /** A block arrived for one of our requests. */
  received(): void {
    if (this.slowStart && this.depth < limits.maxDepth) this.depth++
  }

  /** Every outstanding request, taken out (to give back to the picker). */
  takeAll(): ReadonlyArray<BlockRequest> {
    const all = [...this.outstanding.values()]
    this.outstanding.clear()
    return all
  }

  /** A tick: the depth follows the rate, once the rate means something (a tick after `since`). */
  tick(now: number, since: number, bytesPerSecond: number): void {
    if (this.slowStart && now - since < limits.tickMs) return
    this.depth = nextDepth(this.depth, bytesPerSecond)
    this.slowStart = false
  }
}
