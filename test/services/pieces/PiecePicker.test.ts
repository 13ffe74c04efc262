import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as Layout from "../../../src/domain/Layout.js"
import { type Picker, PiecePicker } from "../../../src/services/pieces/PiecePicker.js"

import { BLOCK, bits, keyOf, layoutOf, range, seeded } from "../../support/picker.js"
import { type BlockRequest } from "../../../src/domain/Block.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import * as SequentialOrder from "../../../src/services/pieces/SequentialOrder.js"

/** Picks one block at a time from `peer`, receiving and verifying each piece: the pieces in order. */
const drain = (picker: Picker, peer: string, has: Bitfield): Array<number> => {
  const order: Array<number> = []
  for (let n = 0; n < 10_000; n++) {
    const [block] = picker.pick(peer, has, 1)
    if (block === undefined) return order
    const r = picker.blockReceived(peer, block)
    expect(r.accepted).toBe(true)
    if (r.pieceComplete) {
      order.push(block.piece)
      picker.pieceVerified(block.piece)
    }
  }
  throw new Error("the picker never ran out of blocks")
}

describe("PiecePicker", () => {
  it.effect("a single seed: every block once, in whole pieces, max honoured, until complete", () =>
    Effect.gen(function* () {
      // 10 pieces of 4 blocks (the last block 100 bytes); the last piece 3 blocks.
      const pieceLength = 3 * BLOCK + 100
      const layout = layoutOf(pieceLength, 10, pieceLength - 5000)
      const picker = yield* seeded(RarestFirst.make(layout, Bitfield.empty(10)))
      const all = Bitfield.full(10)
      picker.addPeer("seed", all)
      expect(picker.isInteresting(all)).toBe(true)
      const picked: Array<BlockRequest> = []
      const sizes: Array<number> = []
      for (let n = 0; n < 100; n++) {
        const blocks = picker.pick("seed", all, 3)
        if (blocks.length === 0) break
        sizes.push(blocks.length)
        picked.push(...blocks)
      }
      expect(sizes).toEqual(Array(13).fill(3)) // 39 blocks
      const expected = range(0, 10).flatMap((piece) =>
        Layout.blocksOf(layout, piece).map((b) => keyOf({ piece, ...b }))
      )
      expect(picked.map(keyOf).sort()).toEqual(expected.sort())
      // Whole pieces: a piece's blocks are consecutive, in offset order.
      const runs = picked.map((b) => b.piece).filter((p, i, a) => i === 0 || a[i - 1] !== p)
      expect(new Set(runs).size).toBe(10)
      expect(runs.length).toBe(10)
      for (let i = 1; i < picked.length; i++) {
        if (picked[i]!.piece === picked[i - 1]!.piece) expect(picked[i]!.offset).toBe(picked[i - 1]!.offset + BLOCK)
      }
      // Everything is requested: endgame, but never twice to the same peer.
      expect(picker.inEndgame).toBe(true)
      expect(picker.pick("seed", all, 10)).toEqual([])
      for (const block of picked) {
        const r = picker.blockReceived("seed", block)
        const last = Layout.blocksOf(layout, block.piece).at(-1)!
        expect(r).toEqual({ accepted: true, cancel: [], pieceComplete: block.offset === last.offset })
        if (r.pieceComplete) picker.pieceVerified(block.piece)
        expect(picker.blockReceived("seed", block).accepted).toBe(false)
      }
      expect(picker.isComplete).toBe(true)
      expect(picker.inEndgame).toBe(false)
      expect(picker.have.count).toBe(10)
      expect(picker.isInteresting(all)).toBe(false)
      expect(picker.pick("seed", all, 3)).toEqual([])
    }))

  // Five peers: 0..3 held by all five, 4..7 by four, 8..11 by three, 12..15 by two, 16..19 by one.
  const fivePeers = (picker: Picker): Bitfield => {
    const all = Bitfield.full(20)
    picker.addPeer("p0", all)
    picker.addPeer("p1", bits(20, range(0, 16)))
    picker.addPeer("p2", bits(20, range(0, 12)))
    picker.addPeer("p3", bits(20, range(0, 8)))
    picker.addPeer("p4", bits(20, range(0, 4)))
    return all
  }
  const availabilityOf = (piece: number) => 5 - Math.floor(piece / 4)

  it.effect("rarest first: after 4 random pieces, pieces held by fewer peers first", () =>
    Effect.gen(function* () {
      const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 20), Bitfield.empty(20)))
      const order = drain(picker, "p0", fivePeers(picker))
      // The order for seed 42: 4 random pieces, then by availability, random among ties.
      // Among ties, the piece after the one last started goes first (extent affinity): 12 13, 10 11, 6 7...
      expect(order).toEqual([18, 8, 15, 0, 17, 19, 16, 14, 12, 13, 10, 11, 9, 6, 7, 4, 5, 1, 2, 3])
      expect(order.slice(4).map(availabilityOf)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5])
      expect(picker.isComplete).toBe(true)
    }))

  it.effect("extent affinity: after the random start, pieces follow each other within 4 MiB extents", () =>
    Effect.gen(function* () {
      // 64 pieces of 1 MiB: 16 extents of 4 pieces, one seed.
      const pieceLength = 64 * BLOCK
      const picker = yield* seeded(RarestFirst.make(layoutOf(pieceLength, 64, pieceLength), Bitfield.empty(64)))
      const order = drain(picker, "seed", Bitfield.full(64))
      expect([...order].sort((a, b) => a - b)).toEqual(range(0, 64))
      // Past the first 4 random pieces, a piece whose successor in its extent is still to come is
      // followed by that successor.
      const seen = new Set(order.slice(0, 5))
      for (let i = 5; i < order.length; i++) {
        const before = order[i - 1]!
        const sameExtent = (before + 1) % 4 !== 0
        if (sameExtent && !seen.has(before + 1)) expect(order[i]).toBe(before + 1)
        seen.add(order[i]!)
      }
      // The extents themselves are not taken in order.
      const extents = order.slice(4).map((p) => Math.floor(p / 4)).filter((e, i, all) => e !== all[i - 1])
      expect(extents).not.toEqual([...extents].sort((a, b) => a - b))
    }))

  it.effect("the first 4 pieces are random, not rarest", () =>
    Effect.gen(function* () {
      const firsts = new Set<number>()
      for (let seed = 1; seed <= 20; seed++) {
        const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 20), Bitfield.empty(20)), seed)
        const [block] = picker.pick("p0", fivePeers(picker), 1)
        firsts.add(block!.piece)
      }
      expect([...firsts].some((piece) => availabilityOf(piece) > 1)).toBe(true)
      expect(firsts.size).toBeGreaterThan(5)
      // With 4 pieces verified already, the first is one of the rarest, whatever the seed.
      for (let seed = 1; seed <= 20; seed++) {
        const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 20), bits(20, [4, 5, 6, 7])), seed)
        const [block] = picker.pick("p0", fivePeers(picker), 1)
        expect(availabilityOf(block!.piece)).toBe(1)
      }
    }))

  it.effect("sequential: lowest index first, through the RarestFirst.layer", () =>
    Effect.gen(function* () {
      const picker = yield* (yield* PiecePicker).make(layoutOf(BLOCK, 20), Bitfield.empty(20))
      expect(drain(picker, "p0", fivePeers(picker))).toEqual(range(0, 20))
    }).pipe(Effect.provide(SequentialOrder.layer)))

  it.effect("RarestFirst.layer makes a rarest-first picker", () =>
    Effect.gen(function* () {
      const picker = yield* (yield* PiecePicker).make(layoutOf(BLOCK, 20), bits(20, [0, 1, 2, 3]))
      const order = drain(picker, "p0", fivePeers(picker))
      expect(order.map(availabilityOf)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
    }).pipe(Effect.provide(RarestFirst.layer), seeded))

  it.effect("pieces in progress are finished first; released blocks are picked again", () =>
    Effect.gen(function* () {
      const layout = layoutOf(4 * BLOCK, 4)
      const picker = yield* seeded(RarestFirst.make(layout, Bitfield.empty(4)))
      const all = Bitfield.full(4)
      for (const peer of ["a", "b", "c"]) picker.addPeer(peer, all)
      const a = picker.pick("a", all, 2)
      expect(a.map((b) => b.offset)).toEqual([0, BLOCK])
      const x = a[0]!.piece
      expect(a.every((b) => b.piece === x && b.length === BLOCK)).toBe(true)
      // b finishes x before starting y.
      const b = picker.pick("b", all, 4)
      expect(b.length).toBe(4)
      expect(b.slice(0, 2)).toEqual([
        { piece: x, offset: 2 * BLOCK, length: BLOCK },
        { piece: x, offset: 3 * BLOCK, length: BLOCK }
      ])
      const y = b[2]!.piece
      expect(y).not.toBe(x)
      expect(b.slice(2).map((r) => [r.piece, r.offset])).toEqual([[y, 0], [y, BLOCK]])
      // a is choked: its blocks go back, and c takes them before the rest of y, older piece first.
      picker.release("a", a)
      expect(picker.blockReceived("a", a[0]!).accepted).toBe(false)
      const c = picker.pick("c", all, 3)
      expect(c.map((r) => [r.piece, r.offset])).toEqual([[x, 0], [x, BLOCK], [y, 2 * BLOCK]])
      expect(picker.pick("c", all, 1).map((r) => [r.piece, r.offset])).toEqual([[y, 3 * BLOCK]])
      // A peer without the pieces in progress starts another piece.
      const z = picker.pick("d", bits(4, range(0, 4).filter((p) => p !== x && p !== y)), 4)
      expect(z.length).toBe(4)
      expect(new Set(z.map((r) => r.piece)).size).toBe(1)
      expect([x, y]).not.toContain(z[0]!.piece)
      expect(picker.blockReceived("c", c[0]!)).toEqual({ accepted: true, cancel: [], pieceComplete: false })
      expect(picker.pick("a", all, 0)).toEqual([])
      expect(picker.inEndgame).toBe(false)
    }))

  it.effect("endgame: duplicates to other peers, at most 2 extra, cancel names them", () =>
    Effect.gen(function* () {
      const picker = yield* seeded(RarestFirst.make(layoutOf(2 * BLOCK, 2), Bitfield.empty(2)))
      const all = Bitfield.full(2)
      for (const peer of ["a", "b", "c", "d"]) picker.addPeer(peer, all)
      const a = picker.pick("a", all, 10)
      expect(a.length).toBe(4)
      expect(picker.inEndgame).toBe(true)
      expect(picker.pick("a", all, 10)).toEqual([])
      // The fewest requesters first: b takes two, c the other two.
      const b = picker.pick("b", all, 2)
      expect(b).toEqual(a.slice(0, 2))
      const c = picker.pick("c", all, 2)
      expect(c).toEqual(a.slice(2))
      const c2 = picker.pick("c", all, 10)
      expect(c2).toEqual(a.slice(0, 2))
      const d = picker.pick("d", all, 10)
      expect(d).toEqual(a.slice(2))
      // Every block has 3 requesters now.
      for (const peer of ["a", "b", "c", "d"]) expect(picker.pick(peer, all, 10)).toEqual([])
      expect(picker.pick("e", all, 10)).toEqual([])
      expect(picker.blockReceived("d", a[2]!)).toEqual({ accepted: true, cancel: ["a", "c"], pieceComplete: false })
      expect(picker.blockReceived("a", a[2]!).accepted).toBe(false)
      expect(picker.blockReceived("c", a[2]!).accepted).toBe(false)
      expect(picker.blockReceived("e", a[3]!).accepted).toBe(false) // never asked
      // a released a[3]: c and d still have it.
      picker.release("a", [a[3]!])
      expect(picker.blockReceived("c", a[3]!)).toEqual({ accepted: true, cancel: ["d"], pieceComplete: true })
      expect(picker.blockReceived("b", a[0]!)).toEqual({ accepted: true, cancel: ["a", "c"], pieceComplete: false })
      // a leaves: a[1] stays requested by b and c; one of them delivers.
      picker.removePeer("a")
      expect(picker.pick("d", all, 10)).toEqual([a[1]])
      expect(picker.blockReceived("d", a[1]!)).toEqual({ accepted: true, cancel: ["b", "c"], pieceComplete: true })
      picker.pieceVerified(a[0]!.piece)
      picker.pieceVerified(a[2]!.piece)
      expect(picker.isComplete).toBe(true)
      expect(picker.inEndgame).toBe(false)
    }))

  it.effect("pieceFailed: the piece is picked again", () =>
    Effect.gen(function* () {
      const picker = yield* seeded(RarestFirst.make(layoutOf(2 * BLOCK, 3), Bitfield.empty(3)))
      const all = Bitfield.full(3)
      picker.addPeer("a", all)
      const first = picker.pick("a", all, 2)
      const piece = first[0]!.piece
      expect(picker.blockReceived("a", first[0]!).pieceComplete).toBe(false)
      expect(picker.blockReceived("a", first[1]!).pieceComplete).toBe(true)
      picker.pieceFailed(piece)
      expect(picker.have.has(piece)).toBe(false)
      const again = picker.pick("a", all, 3)
      expect(again.slice(0, 2)).toEqual(first)
      expect(again[2]!.piece).not.toBe(piece)
      expect(picker.blockReceived("a", first[0]!).accepted).toBe(true)
      expect(picker.blockReceived("a", first[1]!).pieceComplete).toBe(true)
      picker.pieceVerified(piece)
      picker.pieceFailed(piece) // verified: ignored
      expect(picker.have.has(piece)).toBe(true)
      expect(picker.pick("a", all, 10).every((b) => b.piece !== piece)).toBe(true)
    }))

  it.effect("removePeer: availability decremented, blocks released", () =>
    Effect.gen(function* () {
      // Pieces 0..3 verified. 4, 5 held by x1, x2, x3 and the seed; 6, 7 by y1, y2 and the seed.
      const setUp = Effect.gen(function* () {
        const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 8), bits(8, [0, 1, 2, 3])))
        picker.addPeer("x1", bits(8, [4, 5]))
        picker.addPeer("x2", bits(8, [4, 5]))
        picker.addPeer("x3", bits(8, [4]))
        picker.peerHas("x3", 5)
        picker.peerHas("x3", 5) // counted once
        picker.addPeer("y1", bits(8, [6, 7]))
        picker.addPeer("y2", bits(8, [6, 7]))
        picker.addPeer("seed", Bitfield.full(8))
        return picker
      })
      const firstTwo = (picker: Picker) =>
        picker.pick("seed", Bitfield.full(8), 2).map((b) => b.piece).sort()
      expect(firstTwo(yield* setUp)).toEqual([6, 7])
      const picker = yield* setUp
      for (const peer of ["x1", "x2", "x3"]) picker.removePeer(peer)
      expect(firstTwo(picker)).toEqual([4, 5])
      // The seed leaves: its requests are released, and y1 takes over what it has.
      picker.removePeer("seed")
      expect(picker.blockReceived("seed", { piece: 4, offset: 0, length: BLOCK }).accepted).toBe(false)
      const y1 = bits(8, [4, 6, 7])
      expect(picker.pick("y1", y1, 1)).toEqual([{ piece: 4, offset: 0, length: BLOCK }])
      picker.removePeer("nobody")
    }))

  it.effect("a peer's new pieces and a departure are seen at once (the skipped buckets move back)", () =>
    Effect.gen(function* () {
      // Pieces 0..3 verified, so rarest first. 4: s1, s2, a; 5, 6: s1; 7: s1, s2.
      const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 8), bits(8, [0, 1, 2, 3])))
      picker.addPeer("s1", bits(8, [4, 5, 6, 7]))
      picker.addPeer("s2", bits(8, [4, 7]))
      const a = bits(8, [4])
      picker.addPeer("a", a)
      expect(picker.pick("a", a, 2).map((b) => b.piece)).toEqual([4])
      expect(picker.pick("a", a, 1)).toEqual([])
      // a gains 5 (availability 2) and 7 (3): 5 is its rarest.
      a.set(7)
      picker.peerHas("a", 7)
      a.set(5)
      picker.peerHas("a", 5)
      expect(picker.pick("a", a, 1).map((b) => b.piece)).toEqual([5])
      // b joins, s1 leaves: 6 (b alone) before 7 (s2, a, b).
      const b = bits(8, [6, 7])
      picker.addPeer("b", b)
      picker.removePeer("s1")
      expect(picker.pick("b", b, 1).map((r) => r.piece)).toEqual([6])
      expect(picker.pick("b", b, 1).map((r) => r.piece)).toEqual([7])
    }))

  it.effect("a departure can RarestFirst.make a peer's remaining piece the rarest", () =>
    Effect.gen(function* () {
      // 5, 6: s1, t, a (3); 7: s1, s2, s3, a (4). a starts 5 or 6, then t leaves: the other one (2) before 7.
      const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 8), bits(8, [0, 1, 2, 3])))
      picker.addPeer("s1", bits(8, [4, 5, 6, 7]))
      picker.addPeer("t", bits(8, [5, 6]))
      picker.addPeer("s2", bits(8, [7]))
      picker.addPeer("s3", bits(8, [7]))
      const a = bits(8, [5, 6, 7])
      picker.addPeer("a", a)
      const [x] = picker.pick("a", a, 1)
      expect([5, 6]).toContain(x!.piece)
      picker.removePeer("t")
      expect(picker.pick("a", a, 1).map((r) => r.piece)).toEqual([x!.piece === 5 ? 6 : 5])
    }))

  it.effect("untrusted input is ignored, never thrown on", () =>
    Effect.gen(function* () {
      const layout = layoutOf(2 * BLOCK, 3, BLOCK + 10)
      const picker = yield* seeded(RarestFirst.make(layout, Bitfield.empty(3)))
      const all = Bitfield.full(3)
      picker.addPeer("a", all)
      const picked = picker.pick("a", all, 6)
      expect(picked.length).toBe(6)
      const bad: Array<BlockRequest> = [
        { piece: -1, offset: 0, length: BLOCK },
        { piece: 3, offset: 0, length: BLOCK },
        { piece: 0.5, offset: 0, length: BLOCK },
        { piece: Number.NaN, offset: 0, length: BLOCK },
        { piece: 0, offset: 1, length: BLOCK },
        { piece: 0, offset: 0, length: BLOCK - 1 },
        { piece: 0, offset: 0, length: 2 * BLOCK },
        { piece: 0, offset: 2 * BLOCK, length: BLOCK },
        { piece: 2, offset: BLOCK, length: BLOCK },
        { piece: 2, offset: BLOCK, length: 0 },
        { piece: 0, offset: -BLOCK, length: BLOCK }
      ]
      picker.release("a", bad)
      for (const block of bad) {
        expect(picker.blockReceived("a", block)).toEqual({ accepted: false, cancel: [], pieceComplete: false })
      }
      for (const piece of [-1, 3, 1.5, Number.NaN, Infinity]) {
        picker.peerHas("a", piece)
        picker.pieceVerified(piece)
        picker.pieceFailed(piece)
      }
      picker.addPeer("b", Bitfield.full(4))
      expect(picker.isInteresting(Bitfield.full(4))).toBe(false)
      expect(picker.pick("a", Bitfield.full(4), 5)).toEqual([])
      expect(picker.pick("a", all, Number.NaN)).toEqual([])
      expect(picker.pick("a", all, -1)).toEqual([])
      // Nothing changed: every block still outstanding, the last one 10 bytes.
      expect(picker.have.count).toBe(0)
      expect(picked.find((b) => b.piece === 2 && b.offset === BLOCK)?.length).toBe(10)
      for (const block of picked) expect(picker.blockReceived("a", block).accepted).toBe(true)
      // A `have` that does not fit the layout is the caller's bug: a defect.
      const exit = yield* Effect.exit(RarestFirst.make(layout, Bitfield.empty(4)))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    }))

  it.effect("isInteresting: whether the peer has a piece we lack", () =>
    Effect.gen(function* () {
      const picker = yield* seeded(RarestFirst.make(layoutOf(BLOCK, 10), bits(10, [0, 1, 2])))
      expect(picker.isInteresting(Bitfield.empty(10))).toBe(false)
      expect(picker.isInteresting(bits(10, [1, 2]))).toBe(false)
      expect(picker.isInteresting(bits(10, [0, 1, 2]))).toBe(false)
      expect(picker.isInteresting(bits(10, [2, 9]))).toBe(true)
      expect(picker.isInteresting(bits(10, [0, 1, 2, 3]))).toBe(true)
      picker.pieceVerified(9)
      expect(picker.isInteresting(bits(10, [2, 9]))).toBe(false)
    }))
})
