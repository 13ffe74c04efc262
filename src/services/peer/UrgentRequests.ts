/**
 * Requests for pieces with critical deadlines (a player waiting on `stream`'s URL: pieces/Deadlines.ts) sent at
 * once, not after the pipeline has room for a batch: a peer serves requests in order, so a block asked for
 * behind a full pipeline comes only after all of it (seconds on a slow peer, a minute on a very slow one).
 * The newest requests for other pieces (those of farther deadlines too: a paused reader's window must not
 * hold up another reader's seek) are cancelled to keep a short queue ahead of the urgent ones (and of
 * those asked of the peer before for a piece that became critical)
 * (`aheadSeconds` of the peer's rate), given back to the picker, and asked for again later; a block of
 * theirs that crosses our CANCEL is counted late, not as unasked (RequestPipeline).
 */
import type { Bitfield } from "../../domain/Bitfield.js"
import type { BlockRequest, PeerKey } from "../../domain/Block.js"
import * as Layout from "../../domain/Layout.js"
import type { Picker } from "../pieces/PiecePicker.js"
import { limits } from "./PeerLimits.js"
import type { RequestPipeline } from "./RequestPipeline.js"

/** Requests left ahead of urgent ones: this many seconds of the peer's rate, at least `minAhead` blocks. */
const aheadSeconds = 0.5
const minAhead = 2

export interface Urgent {
  /** Blocks to request now, ahead of the pipeline's next batch. */
  readonly requests: ReadonlyArray<BlockRequest>
  /** Requests given up to make room: CANCEL each (the picker has them back). */
  readonly cancelled: ReadonlyArray<BlockRequest>
}

const none: Urgent = { requests: [], cancelled: [] }

/** The urgent requests to make of a peer that has `has`, within `affordable` blocks. */
export const urgentRequests = (
  picker: Picker,
  peer: PeerKey,
  has: Bitfield,
  pipeline: RequestPipeline,
  bytesPerSecond: number,
  affordable: number
): Urgent => {
  const requests = picker.pickUrgent(peer, has, Math.min(limits.requestBatch, affordable))
  // Blocks of those pieces asked of this peer before (rarest first got there first) may sit deep in its
  // queue: the requests ahead of them go as well.
  if (requests.length === 0 && !pipeline.holdsAny(picker.isCritical)) return none
  const keep = Math.max(minAhead, Math.ceil((bytesPerSecond * aheadSeconds) / Layout.BLOCK_SIZE))
  const cancelled = pipeline.cancelNewest(keep, picker.isCritical)
  picker.release(peer, cancelled)
  return { requests, cancelled }
}
