import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Bitfield } from "../../src/domain/Bitfield.js"

const bytesOf = (b: Bitfield) => Array.from(b.toBytes())

const fromBytes = (bytes: ReadonlyArray<number>, pieceCount: number): Bitfield =>
  Either.getOrThrow(Bitfield.fromBytes(Uint8Array.from(bytes), pieceCount))

/** A piece count with wire bytes whose spare bits are clear. */
const wireArb = FastCheck.integer({ min: 0, max: 300 }).chain((n) =>
  FastCheck.tuple(
    FastCheck.constant(n),
    FastCheck.uint8Array({ minLength: Math.ceil(n / 8), maxLength: Math.ceil(n / 8) }).map((bytes) => {
      if (n % 8 !== 0) bytes[bytes.length - 1] = bytes[bytes.length - 1]! & ((0xff00 >> (n % 8)) & 0xff)
      return bytes
    })
  )
)

describe("Bitfield", () => {
  it("bit 0 is the high bit of byte 0", () => {
    const b = Bitfield.empty(10)
    expect(b.set(0)).toBe(true)
    expect(bytesOf(b)).toEqual([0x80, 0x00])
    expect(b.set(9)).toBe(true)
    expect(bytesOf(b)).toEqual([0x80, 0x40])
    expect(b.set(7)).toBe(true)
    expect(bytesOf(b)).toEqual([0x81, 0x40])
    expect([...b]).toEqual([0, 7, 9])
  })

  it("empty and full", () => {
    expect(bytesOf(Bitfield.full(10))).toEqual([0xff, 0xc0])
    expect(bytesOf(Bitfield.full(16))).toEqual([0xff, 0xff])
    expect(bytesOf(Bitfield.full(17))).toEqual([0xff, 0xff, 0x80])
    expect(bytesOf(Bitfield.empty(17))).toEqual([0, 0, 0])
    expect(Bitfield.full(17).count).toBe(17)
    expect(Bitfield.full(17).isComplete).toBe(true)
    expect(Bitfield.empty(17).isEmpty).toBe(true)
    expect(Bitfield.empty(17).isComplete).toBe(false)
    const none = Bitfield.full(0)
    expect(bytesOf(none)).toEqual([])
    expect(none.isComplete && none.isEmpty).toBe(true)
    expect(() => Bitfield.empty(-1)).toThrow(RangeError)
  })

  it("count tracks set and clear, counting each piece once", () => {
    const b = Bitfield.empty(20)
    expect(b.set(3)).toBe(true)
    expect(b.set(3)).toBe(false)
    expect(b.set(19)).toBe(true)
    expect(b.count).toBe(2)
    expect(b.clear(3)).toBe(true)
    expect(b.clear(3)).toBe(false)
    expect(b.count).toBe(1)
    expect(b.has(19)).toBe(true)
    expect(b.has(3)).toBe(false)
    for (let i = 0; i < 20; i++) b.set(i)
    expect(b.count).toBe(20)
    expect(b.isComplete).toBe(true)
  })

  it("out-of-range indexes: has is false, set and clear throw", () => {
    const b = Bitfield.full(10)
    expect(b.has(10)).toBe(false)
    expect(b.has(-1)).toBe(false)
    expect(b.has(1.5)).toBe(false)
    expect(() => b.set(10)).toThrow(RangeError)
    expect(() => b.clear(-1)).toThrow(RangeError)
    expect(() => b.set(0.5)).toThrow(RangeError)
    expect(b.count).toBe(10)
    expect(bytesOf(b)).toEqual([0xff, 0xc0])
  })

  it("fromBytes rejects a wrong length", () => {
    expect(Bitfield.fromBytes(new Uint8Array(1), 10)).toEqual(
      Either.left("bitfield of 1 bytes, expected 2 for 10 pieces")
    )
    expect(Either.isLeft(Bitfield.fromBytes(new Uint8Array(3), 10))).toBe(true)
    expect(Either.isLeft(Bitfield.fromBytes(new Uint8Array(1), 0))).toBe(true)
    expect(Either.isLeft(Bitfield.fromBytes(new Uint8Array(0), 1))).toBe(true)
    expect(Either.isRight(Bitfield.fromBytes(new Uint8Array(0), 0))).toBe(true)
  })

  it("fromBytes rejects spare bits", () => {
    expect(Bitfield.fromBytes(Uint8Array.of(0xff, 0xe0), 10)).toEqual(
      Either.left("bitfield has spare bits set past piece 9")
    )
    expect(Either.isLeft(Bitfield.fromBytes(Uint8Array.of(0x01), 7))).toBe(true)
    const complete = fromBytes([0xff, 0xc0], 10)
    expect(complete.count).toBe(10)
    expect(complete.isComplete).toBe(true)
    expect(fromBytes([0xff, 0xff], 16).isComplete).toBe(true)
  })

  it("fromBytes, toBytes and copy do not share memory", () => {
    const input = Uint8Array.of(0x80)
    const b = Either.getOrThrow(Bitfield.fromBytes(input, 8))
    input[0] = 0xff
    expect(b.count).toBe(1)
    const out = b.toBytes()
    out[0] = 0xff
    expect(bytesOf(b)).toEqual([0x80])
    const c = b.copy()
    c.set(1)
    expect(b.has(1)).toBe(false)
    expect(c.count).toBe(2)
    expect(b.count).toBe(1)
    expect(b.equals(c)).toBe(false)
    c.clear(1)
    expect(b.equals(c)).toBe(true)
  })

  it.prop("fromBytes / toBytes round trip; count, has and iteration agree", [wireArb], ([[n, bytes]]) => {
    const b = fromBytes(Array.from(bytes), n)
    expect(b.pieceCount).toBe(n)
    expect(b.toBytes()).toEqual(bytes)
    const expected: Array<number> = []
    for (let i = 0; i < n; i++) {
      if ((bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0) expected.push(i)
    }
    expect([...b]).toEqual(expected)
    const visited: Array<number> = []
    b.forEachSet((i) => visited.push(i))
    expect(visited).toEqual(expected)
    expect(b.count).toBe(expected.length)
    expect(Array.from({ length: n }, (_, i) => b.has(i))).toEqual(
      Array.from({ length: n }, (_, i) => expected.includes(i))
    )
    expect(b.isComplete).toBe(expected.length === n)
    expect(b.isEmpty).toBe(expected.length === 0)
  })

  it.prop(
    "set and clear behave like a set of indexes",
    [
      FastCheck.integer({ min: 1, max: 100 }).chain((n) =>
        FastCheck.tuple(
          FastCheck.constant(n),
          FastCheck.array(FastCheck.tuple(FastCheck.boolean(), FastCheck.nat({ max: n - 1 })), { maxLength: 200 })
        )
      )
    ],
    ([[n, ops]]) => {
      const b = Bitfield.empty(n)
      const model = new Set<number>()
      for (const [isSet, i] of ops) {
        const changed = isSet ? b.set(i) : b.clear(i)
        expect(changed).toBe(isSet ? !model.has(i) : model.has(i))
        if (isSet) model.add(i)
        else model.delete(i)
        expect(b.count).toBe(model.size)
      }
      expect([...b]).toEqual([...model].sort((x, y) => x - y))
      const again = fromBytes(Array.from(b.toBytes()), n)
      expect(again.equals(b)).toBe(true)
      expect(again.count).toBe(model.size)
    }
  )
})
