/**
 * The limits every peer session keeps, with both of its sides: ours (the request pipeline to the peer) and
 * the peer's (its requests to us, floods, timeouts).
 */
import * as Layout from "../../domain/Layout.js"

/** Timeouts and limits of a session. */
export const limits = {
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  keepAliveMs: 90_000,
  tickMs: 1_000,
  /** Request pipeline depth: starts here and follows the peer's rate and latency, between min and max. */
  initialDepth: 64,
  minDepth: 16,
  maxDepth: 500,
  /** Seconds of the peer's rate to keep requested while its latency is not known yet. */
  pipelineSeconds: 2,
  /** Blocks kept requested per block the peer serves within its least request-to-block time: twice the
   *  bandwidth-delay product, so that the peer always has a queue and never waits for our next request. */
  latencyGain: 2,
  /** How long the least request-to-block time seen stands; then the pipeline drains once so that the next
   *  batch measures the peer's service time without a queue ahead of it (BBR's ProbeRTT). */
  latencyWindowMs: 10_000,
  /**
   * Requests from a peer that we queue at most (more are dropped, or rejected with BEP 6); we announce it as
   * our `reqq` (BEP 10), which clients keep their requests within. Why so many: Transmission tops its
   * requests up once a second, to ten seconds of its rate, within our `reqq`, so a client like it gets at
   * most `reqq` blocks a second from us whatever our speed (500 held it at 7.5 MiB/s). 16,384 blocks a
   * second is 256 MiB/s; a queued request costs 12 bytes (UploadQueue.ts).
   */
  maxUploadQueue: 16_384,
  /**
   * Requests refused since we last unchoked the peer (choked, queue full, invalid, a piece we lack) before
   * it is dropped: an honest peer has at most its queue in flight when we choke it, a flood has no end.
   */
  maxRefusedRequests: 2 * 16_384,
  /** Keep-alives within one tick before the peer is dropped: honest peers send one every minute or two. */
  maxKeepAlivesPerTick: 100,
  /** Blocks served to the peer per write (one writev of views into the pieces): a tenth of a second of
   *  its rate, between these bounds, so that a slow peer's control messages never wait long behind
   *  blocks while a fast one gets few large writes. */
  minUploadBatch: 8,
  uploadBatch: 64,
  /** Requests are topped up once this many can go (or the pipeline is empty): one write for many. */
  requestBatch: 32,
  /** Unrequested blocks tolerated before the peer is dropped; a block whose request we gave up (it crossed
   *  our CANCEL in endgame) is not one: an honest peer far away sends hundreds of them (RequestPipeline). */
  maxUnrequested: 128,
  /** A peer we want data from that sends no block for this long is snubbed (no regular unchoke). */
  snubMs: 60_000
}

/**
 * Requests to keep outstanding to a peer after a tick. With its service latency known (the least time from
 * a request to its block, over `latencyWindowMs`): `latencyGain` times the blocks it serves in that time,
 * plus a batch of top-up, as BBR keeps twice the bandwidth-delay product in flight. Before that:
 * `pipelineSeconds` of its rate. Within [minDepth, maxDepth]; it grows at once and shrinks by a quarter a
 * tick at most (by 8 on the rate alone), so that a pause does not empty it.
 *
 * Why not always seconds of the rate: a client that allocates per queued request (aria2c) spends more CPU
 * the deeper its queue, 5 CPU s/GiB at 500 against 2.2 at 32 (issue 9), while on loopback its service time
 * is a few milliseconds, so a few dozen blocks keep it busy.
 */
export const nextDepth = (depth: number, bytesPerSecond: number, latencyMs?: number): number => {
  const target = latencyMs === undefined
    ? Math.ceil((bytesPerSecond * limits.pipelineSeconds) / Layout.BLOCK_SIZE)
    : Math.ceil((limits.latencyGain * bytesPerSecond * latencyMs) / 1000 / Layout.BLOCK_SIZE) + limits.requestBatch
  // Down by a quarter at most a tick when it follows the latency (the rate it is computed from may dip for a
  // moment); by 8 when it follows the rate alone.
  const lower = latencyMs === undefined ? depth - 8 : Math.floor((3 * depth) / 4)
  return Math.min(limits.maxDepth, Math.max(limits.minDepth, target, depth > target ? lower : target))
}
