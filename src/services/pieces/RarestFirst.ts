/**
 * The rarest-first strategy of the piece picker (its default Layer): which fresh piece to start next.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { Layout } from "../../domain/Layout.js"
import * as Prng from "../../domain/Prng.js"
import type { FreshOrder, Memo } from "./FreshOrder.js"
import { makePicker } from "./PickerState.js"
import { PiecePicker } from "./PiecePicker.js"

/** Until this many pieces are verified or begun, rarest first starts new pieces at random rather than
 *  rarest (as libtorrent does), so that we soon have something to trade. */
export const randomPiecesFirst = 4

/**
 * Rarest first, with the fresh pieces in buckets by availability (how many peers have them), as libtorrent
 * does: one array of the fresh pieces grouped by availability, rarest first, with where each bucket ends and
 * where each piece is. A HAVE (or a peer leaving) moves a piece to the next (previous) bucket by swapping it
 * with the last (first) piece of its bucket and moving the boundary, O(1); starting a piece removes it in
 * O(B) for B buckets (at most peers + 1). No allocation after make: 12 bytes per piece. (Pieces never
 * become fresh again: a failed piece stays in progress.)
 *
 * `next` looks in the buckets from the rarest (from the one the peer's memo names) for a piece the peer
 * has, at random among ties: O(B + s) for s pieces looked at that the peer lacks; s is 1 for a seed, about
 * 1 / f for a peer with a fraction f of a bucket, and the bucket's size when it has none there (the memo
 * then skips it next time). Until `randomPiecesFirst` pieces are owned or begun it looks among all buckets.
 *
 * Extent affinity (libtorrent's `piece_extent_affinity`): the piece right after the one last started is
 * taken before a random one when it lies in the same 4 MiB extent, is as rare as the best the peer has,
 * and the peer has it. Pieces then complete in runs that the writer stores in one call (PieceWriter.ts)
 * rather than a megabyte here and there, while the extents themselves still go rarest first at random.
 */
const probes = 16

/** Bytes of an extent (extent affinity). */
const extentBytes = 4 * 1024 * 1024

const availabilityBuckets = (have: Bitfield, random: Prng.Prng, pieceLength: number): FreshOrder => {
  const pieceCount = have.pieceCount
  const availability = new Int32Array(pieceCount)
  const pieces = new Int32Array(pieceCount)
  const position = new Int32Array(pieceCount).fill(-1)
  let size = 0
  for (let piece = 0; piece < pieceCount; piece++) {
    if (have.has(piece)) continue
    pieces[size] = piece
    position[piece] = size++
  }
  // ends[a]: one past the last piece of availability a in `pieces`; the last one is `size`.
  const ends: Array<number> = [size]
  const startOf = (a: number): number => (a === 0 ? 0 : ends[a - 1]!)
  const place = (piece: number, at: number): void => {
    pieces[at] = piece
    position[piece] = at
  }
  const swap = (i: number, j: number): void => {
    const x = pieces[i]!
    place(pieces[j]!, i)
    place(x, j)
  }
  const reach = (a: number): void => {
    while (ends.length <= a) ends.push(size)
  }
  // A piece the peer has in pieces[begin, end), at random: a few random probes (uniform among the peer's
  // pieces), then one walk from a random place, since the peer's pieces may lie in long runs.
  const walk = (has: Bitfield, begin: number, end: number): number => {
    const n = end - begin
    for (let k = 0; k < probes; k++) {
      const piece = pieces[begin + random.below(n)]!
      if (has.has(piece)) return piece
    }
    let i = begin + random.below(n)
    for (let k = 0; k < n; k++) {
      const piece = pieces[i]!
      if (has.has(piece)) return piece
      i = i + 1 === end ? begin : i + 1
    }
    return -1
  }
  const extentPieces = Math.max(1, Math.floor(extentBytes / pieceLength))
  let lastStarted = -1
  /** The piece after the last one started, when extent affinity takes it from bucket `a` for this peer. */
  const following = (has: Bitfield, a: number): number => {
    const piece = lastStarted + 1
    const sameExtent = lastStarted >= 0 && piece < pieceCount &&
      Math.floor(piece / extentPieces) === Math.floor(lastStarted / extentPieces)
    return sameExtent && position[piece]! >= 0 && availability[piece] === a && has.has(piece) ? piece : -1
  }
  const next = (has: Bitfield, lo: number, memo: Memo | undefined, randomly: boolean): number => {
    if (randomly) {
      const begin = lo < ends.length ? startOf(lo) : size
      const piece = begin < size ? walk(has, begin, size) : -1
      if (piece < 0 && memo !== undefined) memo.skip = ends.length
      if (piece >= 0) lastStarted = piece
      return piece
    }
    for (let a = lo; a < ends.length; a++) {
      const begin = startOf(a)
      if (begin === ends[a]) continue
      const hint = following(has, a)
      const piece = hint >= 0 ? hint : walk(has, begin, ends[a]!)
      if (piece >= 0) {
        if (memo !== undefined) memo.skip = a
        lastStarted = piece
        return piece
      }
    }
    if (memo !== undefined) memo.skip = ends.length
    return -1
  }
  return {
    size: () => size,
    remove: (piece) => {
      let at = position[piece]!
      if (at < 0) return
      // Moved up one bucket at a time, to the end.
      for (let a = availability[piece]!; a < ends.length; a++) {
        const last = ends[a]! - 1
        swap(at, last)
        ends[a] = last
        at = last
      }
      position[piece] = -1
      size--
    },
    increment: (piece) => {
      const from = availability[piece]!
      availability[piece] = from + 1
      const at = position[piece]!
      if (at < 0) return
      reach(from + 1)
      const last = ends[from]! - 1
      swap(at, last)
      ends[from] = last
    },
    decrement: (piece) => {
      const from = availability[piece]!
      if (from === 0) return
      availability[piece] = from - 1
      const at = position[piece]!
      if (at < 0) return
      const first = ends[from - 1]!
      swap(at, first)
      ends[from - 1] = first + 1
    },
    // Pieces nobody has (bucket 0) cannot be a counted peer's.
    next: (has, memo, owned) =>
      next(has, memo === undefined ? 0 : Math.max(1, memo.skip), memo, owned < randomPiecesFirst),
    gained: (memo, piece) => {
      memo.skip = Math.min(memo.skip, availability[piece]!)
    },
    dropped: (memo) => {
      memo.skip = Math.max(0, memo.skip - 1)
    },
    rank: (piece) => availability[piece]!
  }
}


/** A rarest-first picker, starting from the verified pieces in `have` (copied). Its random choices come
 *  from a seed drawn from the Random service, so a seeded Random makes it deterministic. Dies when `have`
 *  does not have the layout's piece count. */
export const make = Effect.fn("PiecePicker.make")(function* (layout: Layout, have: Bitfield, wanted?: Bitfield, priorities?: Int8Array) {
  const random = Prng.make(yield* Random.nextIntBetween(0, 2 ** 32))
  return makePicker(layout, have, (fresh) => availabilityBuckets(fresh, random, layout.pieceLength), wanted, priorities)
})


/** Pickers that start the rarest pieces first. */
export const layer: Layer.Layer<PiecePicker> = Layer.succeed(PiecePicker, PiecePicker.of({ make }))

