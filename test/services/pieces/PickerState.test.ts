import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import * as Layout from "../../../src/domain/Layout.js"

// The picker's state machine against a brute-force model, and at scale. (Unit tests: PiecePicker.test.ts.)

import { BLOCK, bits, keyOf, layoutOf, range, seeded } from "../../support/picker.js"
import { type BlockRequest } from "../../../src/domain/Block.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import * as SequentialOrder from "../../../src/services/pieces/SequentialOrder.js"

describe("PickerState", () => {
  /** A schedule from a seed, so that fast-check shrinks one number. */
  const scheduleRng = (seed: number) => {
    let state = seed >>> 0
    return (n: number): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      return Math.floor((state / 4294967296) * n)
    }
  }

  it.prop(
    "random layouts and peers: the model's choices; every piece completes once, no block is accepted twice",
    [
      FastCheck.integer({ min: 1, max: 4 * BLOCK + 1 }),
      FastCheck.integer({ min: 0, max: 24 }),
      FastCheck.double({ min: 0, max: 1, noNaN: true }),
      FastCheck.integer({ min: 1, max: 7 }),
      FastCheck.integer(),
      FastCheck.boolean()
    ],
    ([pieceLength, count, lastFraction, peerCount, seed, sequential]) => {
      const last = Math.max(1, Math.ceil(lastFraction * pieceLength))
      const layout = layoutOf(pieceLength, count, last)
      const r = scheduleRng(seed)
      const had = bits(count, range(0, count).filter(() => r(5) === 0))
      const picker = Effect.runSync(seeded((sequential ? SequentialOrder.make : RarestFirst.make)(layout, had), seed))
      const peers = range(0, peerCount).map((i) => `10.0.0.${i}:6881`)
      // Every piece is held by someone; the first peer's pieces arrive as HAVEs.
      const holds = peers.map(() => Bitfield.empty(count))
      for (let piece = 0; piece < count; piece++) {
        holds[r(peerCount)]!.set(piece)
        for (const h of holds) if (r(2) === 0) h.set(piece)
      }
      const connect = (i: number) => {
        if (i === 0) holds[0]!.forEachSet((piece) => picker.peerHas(peers[0]!, piece))
        else picker.addPeer(peers[i]!, holds[i]!)
      }
      peers.forEach((_, i) => connect(i))
      const queues = peers.map((): Array<BlockRequest> => [])
      const accepted = new Set<string>()
      const completions = new Array<number>(count).fill(0)
      const wanted = range(0, count).filter((piece) => !had.has(piece))
      const blockTotal = wanted.reduce((n, piece) => n + Layout.blockCount(layout, piece), 0)
      // A model of what the picker should choose (brute force, every peer connected throughout).
      const started = new Set<number>()
      const availability = (piece: number) => holds.filter((h) => h.has(piece)).length
      const newCandidates = (has: Bitfield): ReadonlyArray<number> => {
        const fresh = range(0, count).filter((p) => has.has(p) && !picker.have.has(p) && !started.has(p))
        if (fresh.length === 0 || !sequential && picker.have.count < 4) return fresh
        if (sequential) return [fresh[0]!]
        const least = Math.min(...fresh.map(availability))
        return fresh.filter((p) => availability(p) === least)
      }
      /** The unrequested blocks of the pieces in progress that the peer has. */
      const openBlocks = (has: Bitfield): Array<string> => {
        const out = new Set(queues.flatMap((q) => q.map(keyOf)))
        return [...started].filter((piece) => has.has(piece) && !picker.have.has(piece)).flatMap((piece) =>
          Layout.blocksOf(layout, piece).map((b) => keyOf({ piece, ...b })).filter((key) =>
            !out.has(key) && !accepted.has(key)
          )
        )
      }
      for (let step = 0; step < 100 * blockTotal + 100 && !picker.isComplete; step++) {
        const i = r(peerCount)
        const peer = peers[i]!
        const queue = queues[i]!
        const action = r(20)
        if (action < 8) {
          const max = 1 + r(6)
          const open = openBlocks(holds[i]!)
          const blocks = picker.pick(peer, holds[i]!, max)
          const keys = new Set(blocks.map(keyOf))
          // A new piece only once the pieces in progress have no block left for this peer; each one among
          // the model's candidates.
          for (const piece of new Set(blocks.map((b) => b.piece))) {
            if (started.has(piece)) continue
            expect(open.filter((key) => !keys.has(key))).toEqual([])
            expect(newCandidates(holds[i]!)).toContain(piece)
            started.add(piece)
          }
          if (blocks.length < max) {
            expect(open.filter((key) => !keys.has(key))).toEqual([])
            expect(newCandidates(holds[i]!)).toEqual([])
          }
          for (const block of blocks) {
            started.add(block.piece)
            expect(Layout.isValidBlock(layout, block.piece, block.offset, block.length)).toBe(true)
            expect(block.offset % BLOCK).toBe(0)
            expect(holds[i]!.has(block.piece) && !picker.have.has(block.piece)).toBe(true)
            expect(queue.some((q) => keyOf(q) === keyOf(block))).toBe(false)
            queue.push(block)
          }
          // The pieces in progress (pieceStates' 1): every piece picked from, none verified.
          const inProgress = new Set(picker.started())
          for (const block of blocks) expect(inProgress.has(block.piece)).toBe(true)
          for (const piece of inProgress) expect(picker.have.has(piece)).toBe(false)
        } else if (action < 16) {
          if (queue.length === 0) continue
          const [block] = queue.splice(r(queue.length), 1)
          const result = picker.blockReceived(peer, block!)
          // Outstanding requests are always wanted: cancels and releases removed the others.
          expect(result.accepted).toBe(true)
          expect(accepted.has(keyOf(block!))).toBe(false)
          accepted.add(keyOf(block!))
          expect(picker.blockReceived(peer, block!).accepted).toBe(false)
          for (const other of result.cancel) {
            const j = peers.indexOf(other)
            expect(j >= 0 && j !== i).toBe(true)
            const at = queues[j]!.findIndex((q) => keyOf(q) === keyOf(block!))
            expect(at).toBeGreaterThanOrEqual(0)
            queues[j]!.splice(at, 1)
          }
          if (result.pieceComplete) {
            completions[block!.piece]!++
            for (const b of Layout.blocksOf(layout, block!.piece)) {
              expect(accepted.has(keyOf({ piece: block!.piece, ...b }))).toBe(true)
            }
            picker.pieceVerified(block!.piece)
          }
        } else if (action < 17) {
          picker.release(peer, queue)
          queue.length = 0
        } else if (action < 19) {
          const piece = r(count)
          if (count > 0 && holds[i]!.set(piece)) picker.peerHas(peer, piece)
        } else {
          picker.removePeer(peer)
          queue.length = 0
          connect(i)
        }
      }
      expect(picker.isComplete).toBe(true)
      expect(completions).toEqual(range(0, count).map((piece) => (had.has(piece) ? 0 : 1)))
      expect(accepted.size).toBe(blockTotal)
      expect(queues.every((q) => q.length === 0)).toBe(true)
    },
    { fastCheck: { numRuns: 150 } }
  )

  it.effect("scale: 2^20 pieces, 10,000 picks well under a second", () =>
    Effect.gen(function* () {
      const count = 2 ** 20
      const layout = layoutOf(BLOCK, count)
      const picker = yield* seeded(RarestFirst.make(layout, Bitfield.empty(count)))
      const all = Bitfield.full(count)
      picker.addPeer("seed", all)
      // Three peers with random halves spread the pieces over several buckets.
      const r = scheduleRng(7)
      const halves = range(0, 3).map(() => {
        const bytes = Uint8Array.from({ length: count / 8 }, () => r(256))
        return Either.getOrThrow(Bitfield.fromBytes(bytes, count))
      })
      halves.forEach((h, i) => picker.addPeer(`half${i}`, h))
      const startedAt = performance.now()
      const seen = new Set<number>()
      let wrong = 0
      for (let n = 0; n < 10_000; n++) {
        const peer = n % 4 === 0 ? "seed" : `half${n % 4 - 1}`
        const has = n % 4 === 0 ? all : halves[n % 4 - 1]!
        const [block] = picker.pick(peer, has, 1)
        if (block === undefined || !has.has(block.piece) || seen.has(block.piece)) {
          wrong++
          continue
        }
        seen.add(block.piece)
        if (!picker.blockReceived(peer, block).pieceComplete) wrong++
        picker.pieceVerified(block.piece)
      }
      const elapsed = performance.now() - startedAt
      expect(wrong).toBe(0)
      expect(picker.have.count).toBe(10_000)
      expect(elapsed, "milliseconds for 10,000 picks").toBeLessThan(500)
    }))
})
