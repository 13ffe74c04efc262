/**
 * The set of pieces a peer (or we) have, as on the wire (BEP 3): bit `i` is bit `7 - i % 8` of byte
 * `i / 8`, so piece 0 is the high bit of byte 0; the spare bits of the last byte are always zero.
 *
 * A `Bitfield` is MUTABLE: it is updated once per HAVE message, so it is changed in place rather than
 * copied. Its owner is whoever created it (a peer session for a remote peer's pieces, the torrent for ours);
 * anyone else gets a `copy()` or the bytes of `toBytes()`. `count` is kept up to date on every change.
 *
 * `has` answers false for an index out of range, but `set` and `clear` throw a `RangeError`: an index out
 * of range there is a programming error, since callers validate peer input (a HAVE index) first.
 */
import * as Either from "effect/Either"

/** Number of set bits in each byte value. */
const popcount: Uint8Array = (() => {
  const table = new Uint8Array(256)
  for (let b = 1; b < 256; b++) table[b] = (b & 1) + table[b >> 1]!
  return table
})()

const byteLengthFor = (pieceCount: number): number => Math.ceil(pieceCount / 8)

/** The mask of the bits of the last byte that name pieces (0xff when the count is a multiple of 8). */
const lastByteMask = (pieceCount: number): number => {
  const used = pieceCount % 8
  return used === 0 ? 0xff : (0xff00 >> used) & 0xff
}

const checkCount = (pieceCount: number): void => {
  if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
    throw new RangeError(`piece count ${pieceCount} is not a non-negative integer`)
  }
}

export class Bitfield {
  private constructor(
    readonly pieceCount: number,
    private readonly bytes: Uint8Array,
    private setCount: number
  ) {}

  /** No piece set. */
  static empty(pieceCount: number): Bitfield {
    checkCount(pieceCount)
    return new Bitfield(pieceCount, new Uint8Array(byteLengthFor(pieceCount)), 0)
  }

  /** Every piece set. */
  static full(pieceCount: number): Bitfield {
    checkCount(pieceCount)
    const bytes = new Uint8Array(byteLengthFor(pieceCount)).fill(0xff)
    if (bytes.length > 0) bytes[bytes.length - 1] = lastByteMask(pieceCount)
    return new Bitfield(pieceCount, bytes, pieceCount)
  }

  /**
   * A bitfield from wire bytes (a BITFIELD message payload), copied so that the input buffer may be
   * reused. The length must be exactly `ceil(pieceCount / 8)` and the spare bits zero.
   */
  static fromBytes(bytes: Uint8Array, pieceCount: number): Either.Either<Bitfield, string> {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      return Either.left(`piece count ${pieceCount} is not a non-negative integer`)
    }
    const expected = byteLengthFor(pieceCount)
    if (bytes.length !== expected) {
      return Either.left(`bitfield of ${bytes.length} bytes, expected ${expected} for ${pieceCount} pieces`)
    }
    if (expected > 0 && (bytes[expected - 1]! & ~lastByteMask(pieceCount)) !== 0) {
      return Either.left(`bitfield has spare bits set past piece ${pieceCount - 1}`)
    }
    const copy = Uint8Array.from(bytes)
    let count = 0
    for (let i = 0; i < copy.length; i++) count += popcount[copy[i]!]!
    return Either.right(new Bitfield(pieceCount, copy, count))
  }

  /** The number of pieces set, in O(1). */
  get count(): number {
    return this.setCount
  }

  get isComplete(): boolean {
    return this.setCount === this.pieceCount
  }

  get isEmpty(): boolean {
    return this.setCount === 0
  }

  /** Whether piece `i` is set; false for any index out of range. */
  has(i: number): boolean {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) return false
    return (this.bytes[i >>> 3]! & (0x80 >>> (i & 7))) !== 0
  }

  /** Sets piece `i`; returns whether it was not set before. Throws a `RangeError` when out of range. */
  set(i: number): boolean {
    this.check(i)
    const bit = 0x80 >>> (i & 7)
    const byte = this.bytes[i >>> 3]!
    if ((byte & bit) !== 0) return false
    this.bytes[i >>> 3] = byte | bit
    this.setCount += 1
    return true
  }

  /** Clears piece `i`; returns whether it was set before. Throws a `RangeError` when out of range. */
  clear(i: number): boolean {
    this.check(i)
    const bit = 0x80 >>> (i & 7)
    const byte = this.bytes[i >>> 3]!
    if ((byte & bit) === 0) return false
    this.bytes[i >>> 3] = byte & ~bit
    this.setCount -= 1
    return true
  }

  /** A copy of the wire bytes. */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes)
  }

  /** An independent bitfield with the same pieces. */
  copy(): Bitfield {
    return new Bitfield(this.pieceCount, Uint8Array.from(this.bytes), this.setCount)
  }

  /** Whether both have the same piece count and the same pieces. */
  equals(that: Bitfield): boolean {
    if (this.pieceCount !== that.pieceCount || this.setCount !== that.setCount) return false
    for (let i = 0; i < this.bytes.length; i++) {
      if (this.bytes[i] !== that.bytes[i]) return false
    }
    return true
  }

  /** Calls `f` with each set piece index in increasing order; zero bytes are skipped whole. */
  forEachSet(f: (index: number) => void): void {
    const bytes = this.bytes
    for (let b = 0; b < bytes.length; b++) {
      const byte = bytes[b]!
      if (byte === 0) continue
      for (let bit = 0; bit < 8; bit++) {
        if ((byte & (0x80 >>> bit)) !== 0) f(b * 8 + bit)
      }
    }
  }

  /** The set piece indexes in increasing order. */
  *[Symbol.iterator](): IterableIterator<number> {
    const bytes = this.bytes
    for (let b = 0; b < bytes.length; b++) {
      const byte = bytes[b]!
      if (byte === 0) continue
      for (let bit = 0; bit < 8; bit++) {
        if ((byte & (0x80 >>> bit)) !== 0) yield b * 8 + bit
      }
    }
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) {
      throw new RangeError(`piece ${i} out of range [0, ${this.pieceCount})`)
    }
  }
}
