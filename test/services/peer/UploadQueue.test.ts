import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { UploadQueue } from "../../../src/services/peer/UploadQueue.js"

describe("UploadQueue", () => {
  it("serves requests in order, refuses past its capacity, skips cancelled ones", () => {
    const q = new UploadQueue(300)
    for (let i = 0; i < 300; i++) expect(q.push(i, 16384 * (i % 4), 16384)).toBe(true)
    expect(q.push(300, 0, 16384)).toBe(false)
    expect(q.cancel(1, 16384, 16384)).toBe(true)
    expect(q.cancel(1, 16384, 16384)).toBe(false)
    expect(q.size).toBe(299)
    expect(q.take(3).map((r) => r.piece)).toEqual([0, 2, 3])
    expect(q.push(300, 0, 16384)).toBe(true)
    const rest = q.take(1000)
    expect(rest.length).toBe(297)
    expect(rest.at(-1)).toEqual({ piece: 300, offset: 0, length: 16384 })
    expect(q.size).toBe(0)
  })

  it("keeps only what `retain` says, telling each one dropped", () => {
    const q = new UploadQueue(100)
    for (let i = 0; i < 10; i++) q.push(i, 0, 16384)
    const dropped: Array<number> = []
    q.retain((piece) => piece % 3 === 0, (piece) => dropped.push(piece))
    expect(dropped).toEqual([1, 2, 4, 5, 7, 8])
    expect(q.take(10).map((r) => r.piece)).toEqual([0, 3, 6, 9])
  })

  it("behaves as a plain list under any mix of pushes, takes and cancels", () => {
    type Op = { readonly _tag: "push"; readonly piece: number } | { readonly _tag: "take"; readonly n: number } | { readonly _tag: "cancel"; readonly piece: number }
    const op = FastCheck.oneof(
      FastCheck.record({ _tag: FastCheck.constant("push" as const), piece: FastCheck.nat(50) }),
      FastCheck.record({ _tag: FastCheck.constant("take" as const), n: FastCheck.nat(20) }),
      FastCheck.record({ _tag: FastCheck.constant("cancel" as const), piece: FastCheck.nat(50) })
    )
    FastCheck.assert(FastCheck.property(FastCheck.array(op, { maxLength: 400 }), (ops: ReadonlyArray<Op>) => {
      const q = new UploadQueue(150)
      const model: Array<number> = []
      for (const o of ops) {
        if (o._tag === "push") {
          const ok = q.push(o.piece, 0, 16384)
          expect(ok).toBe(model.length < 150)
          if (ok) model.push(o.piece)
        } else if (o._tag === "take") {
          expect(q.take(o.n).map((r) => r.piece)).toEqual(model.splice(0, o.n))
        } else {
          const at = model.indexOf(o.piece)
          expect(q.cancel(o.piece, 0, 16384)).toBe(at >= 0)
          if (at >= 0) model.splice(at, 1)
        }
        expect(q.size).toBe(model.length)
      }
    }), { numRuns: 300 })
  })
})
