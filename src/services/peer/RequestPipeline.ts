/**
 * Our requests to one peer: which blocks are outstanding, how many may be (the pipeline's depth), and when
 * to top it up.
 *
 * Depth: until the peer's rate has been measured over a tick, each block received widens the pipeline by
 * one, doubling it every round trip (as TCP's slow start), so that a fast peer is not held to the first
 * depth for a second; from then on it follows the rate and the peer's service latency (`nextDepth`).
 * Top-ups come in batches: a request write per received chunk would cost a system call and a wake-up of
 * the peer each.
 *
 * Latency: the first block of a batch is timed from its request to its arrival, one sample in flight at a
 * time. The least sample over `latencyWindowMs` stands for the peer's service time; when it is that old,
 * the pipeline drains once (no top-up until every request is answered), so that the next batch finds no
 * queue ahead of it at the peer and measures the service time alone, as BBR's ProbeRTT does.
 *
 * Requests given up (cancelled in endgame, dropped at a choke) are remembered for a while: their blocks may
 * be on the way already (a CANCEL crosses them on the wire, and a deep pipeline across a slow link holds
 * hundreds), and such a block is wasted, not a block the peer sent unasked.
 */
import { type BlockRequest } from "../../domain/Block.js"
import { limits, nextDepth } from "./PeerLimits.js"

/** A block's key among the requests: a number, no string per block. Exact for every piece index a torrent
 *  can have (below 2^21); a peer's wilder numbers may collide, so a request found is compared as well. */
const keyOf = (piece: number, offset: number) => piece * 0x1_0000_0000 + offset

export class RequestPipeline {
  private readonly outstanding = new Map<number, BlockRequest>()
  /** Requests given up whose blocks may still come: key -> length, oldest first, at most maxDepth. */
  private readonly givenUp = new Map<number, number>()
  private depth = limits.initialDepth
  private slowStart = true
  /** The block being timed (its key, -1 for none) and when its request left. */
  private sampleKey = -1
  private sampleSentAt = 0
  /** The block being timed was asked for with nothing outstanding: its time has no queue in it. */
  private sampleClean = false
  /** The least request-to-block time in the window (ms) and when it was seen; Infinity until one is. */
  private minLatency = Infinity
  private minLatencyAt = 0
  /** Draining for a fresh latency sample: no top-up until every request is answered. */
  private draining = false
  /** A drain was asked for, and its clean sample, whatever it is, becomes the service time. */
  private probing = false
  /** When the first drain after slow start is due: the first service time, measured as the connection
   *  opened, often carries the peer's start-up (opening files), so it is measured again soon. */
  private firstProbe = true

  /** Requests outstanding. */
  get size(): number {
    return this.outstanding.size
  }

  /**
   * How many requests to make now: the free depth once it is worth a write, or all of it when empty.
   * `limit` is what the peer said it queues without dropping (BEP 10's `reqq`), when it said.
   */
  room(limit: number = Infinity): number {
    if (this.draining) {
      if (this.outstanding.size > 0) return 0
      this.draining = false
    }
    const depth = Math.min(this.depth, limit)
    const room = depth - this.outstanding.size
    return this.outstanding.size > 0 && room < Math.min(limits.requestBatch, depth / 4) ? 0 : room
  }

  /** Requests sent at `now`. */
  add(blocks: ReadonlyArray<BlockRequest>, now: number): void {
    const first = blocks[0]
    if (first !== undefined && this.sampleKey < 0) {
      this.sampleKey = keyOf(first.piece, first.offset)
      this.sampleSentAt = now
      this.sampleClean = this.outstanding.size === 0
    }
    for (const b of blocks) this.outstanding.set(keyOf(b.piece, b.offset), b)
  }

  /**
   * The request that a block (or a reject, or our cancel) answers, taken out; undefined when none is.
   * `arrivedAt`: when its block arrived (not given for a reject or a cancel).
   */
  take(piece: number, offset: number, length: number, arrivedAt?: number): BlockRequest | undefined {
    const key = keyOf(piece, offset)
    const block = this.outstanding.get(key)
    if (block === undefined || block.piece !== piece || block.offset !== offset || block.length !== length) return undefined
    this.outstanding.delete(key)
    if (key === this.sampleKey) {
      this.sampleKey = -1
      if (arrivedAt !== undefined) this.sampled(arrivedAt - this.sampleSentAt, arrivedAt, this.sampleClean)
    }
    return block
  }

  /** We no longer want the block (another peer sent it: endgame): the request is taken out, and its block
   *  may still come (`late`). */
  cancel(piece: number, offset: number, length: number): BlockRequest | undefined {
    const block = this.take(piece, offset, length)
    if (block !== undefined) this.giveUp(block)
    return block
  }

  /** Whether a request outstanding is for a piece `of` names. */
  holdsAny(of: (piece: number) => boolean): boolean {
    for (const block of this.outstanding.values()) if (of(block.piece)) return true
    return false
  }

  /** The newest requests but the `keep` oldest, except those `spare` says to keep, given up (their blocks
   *  may still come): room near the front of the peer's queue for blocks wanted at once (deadlines). */
  cancelNewest(keep: number, spare: (piece: number) => boolean): ReadonlyArray<BlockRequest> {
    const out: Array<BlockRequest> = []
    let over = this.outstanding.size - keep
    if (over <= 0) return out
    const newestFirst = [...this.outstanding.values()].reverse()
    for (const block of newestFirst) {
      if (over === 0) break
      if (spare(block.piece)) continue
      if (this.cancel(block.piece, block.offset, block.length) !== undefined) out.push(block)
      over--
    }
    return out
  }

  /** Whether a block no request answers is one we gave up on (once for each). A reject of it says the
   *  same: nothing more will come for it. */
  late(piece: number, offset: number, length: number): boolean {
    const key = keyOf(piece, offset)
    if (this.givenUp.get(key) !== length) return false
    this.givenUp.delete(key)
    return true
  }

  private giveUp(block: BlockRequest): void {
    this.givenUp.delete(keyOf(block.piece, block.offset))
    this.givenUp.set(keyOf(block.piece, block.offset), block.length)
    if (this.givenUp.size > limits.maxDepth) this.givenUp.delete(this.givenUp.keys().next().value!)
  }

  /** Requests that may be outstanding now. */
  get currentDepth(): number {
    return this.depth
  }

  /** The peer's service latency as it stands (ms), once measured. */
  get latency(): number | undefined {
    return Number.isFinite(this.minLatency) ? this.minLatency : undefined
  }

  /** A lower time always stands; once the window is over, only a clean one replaces it (a time with a queue
   *  in it would raise the depth, and the queue with it). */
  private sampled(latency: number, now: number, clean: boolean): void {
    // Slow start ends once blocks queue up at the peer: a time well above its service time (HyStart's
    // delay test); from there the depth follows rate and latency.
    if (this.slowStart && Number.isFinite(this.minLatency) && latency > 2 * this.minLatency + 1) this.slowStart = false
    if (latency <= this.minLatency || (clean && (this.probing || now - this.minLatencyAt > limits.latencyWindowMs))) {
      this.minLatency = latency
      this.minLatencyAt = now
      this.probing = false
    }
  }

  /** A block arrived for one of our requests. */
  received(): void {
    if (this.slowStart && this.depth < limits.maxDepth) this.depth++
  }

  /** Every outstanding request, given up (to give back to the picker): the peer choked us. Under BEP 6 the
   *  blocks of its allowed fast pieces still come. */
  takeAll(): ReadonlyArray<BlockRequest> {
    const all = [...this.outstanding.values()]
    this.outstanding.clear()
    this.sampleKey = -1
    for (const block of all) this.giveUp(block)
    return all
  }

  /** A tick: the depth follows the rate and the latency, once the rate means something (a tick after
   *  `since`); a latency as old as the window asks for a drain. */
  tick(now: number, since: number, bytesPerSecond: number): void {
    if (this.slowStart && now - since < limits.tickMs) return
    this.depth = nextDepth(this.depth, bytesPerSecond, this.latency)
    this.slowStart = false
    if (this.latency !== undefined && (this.firstProbe || now - this.minLatencyAt > limits.latencyWindowMs)) {
      this.firstProbe = false
      this.draining = true
      this.probing = true
    }
  }
}
