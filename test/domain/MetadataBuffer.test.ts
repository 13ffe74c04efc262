/**
 * The metadata assembler (src/domain/MetadataBuffer.ts): the sizes it takes (1 byte to 16 MiB), the
 * pieces it takes (each 16 KiB but the last, in range, once), that it copies what it is given, and the
 * verify path against a real info dictionary hashed with node's SHA-1 (SHA-256 for a v2 info hash): the right one comes back whole,
 * a corrupted one is dropped so that every piece is fetched again.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { bytes as utf8 } from "../../src/domain/Bencode.js"
import { maxMetadataSize, MetadataBuffer, metadataPieceSize } from "../../src/domain/MetadataBuffer.js"
import { encode } from "../../src/protocol/Bencode.js"

const MiB16 = 16 * 1024 * 1024

const make = (size: number): MetadataBuffer =>
  Either.getOrThrowWith(MetadataBuffer.make(size), (e) => new Error(e))

const sha1 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash("sha1").update(b).digest())

/** A single-file info dictionary with 2,000 piece hashes: 40,100-odd bytes, three metadata pieces. */
const infoDict = (): Uint8Array => {
  const pieces = new Uint8Array(20 * 2000)
  for (let i = 0; i < 2000; i++) pieces.set(sha1(utf8(`piece ${i}`)), 20 * i)
  return encode(new Map<string, Uint8Array | number>([
    ["length", 2000 * 262144 - 1234],
    ["name", utf8("ubuntu-like.iso")],
    ["piece length", 262144],
    ["pieces", pieces]
  ]))
}

const piecesOf = (whole: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < whole.length; at += metadataPieceSize) out.push(whole.subarray(at, at + metadataPieceSize))
  return out
}

describe("MetadataBuffer", () => {
  it("takes sizes from 1 byte to 16 MiB and refuses the rest", () => {
    expect(maxMetadataSize).toBe(MiB16)
    expect(make(1).pieceCount).toBe(1)
    expect(make(MiB16).pieceCount).toBe(1024)
    for (const size of [0, -1, MiB16 + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(MetadataBuffer.make(size), `${size}`).toEqual(
        Either.left(`metadata size ${size} is not between 1 and 16777216 bytes`)
      )
    }
  })

  it("counts pieces as ceil(size / 16 KiB), the last one holding the rest", () => {
    const one = make(16384)
    expect([one.pieceCount, one.pieceLength(0)]).toEqual([1, 16384])
    const two = make(16385)
    expect([two.pieceCount, two.pieceLength(0), two.pieceLength(1)]).toEqual([2, 16384, 1])
    const big = make(MiB16)
    expect(big.pieceLength(1023)).toBe(16384)
    expect(big.missing()).toEqual(Array.from({ length: 1024 }, (_, i) => i))
  })

  it("refuses pieces out of range or of the wrong length as bad, and a held one as duplicate", () => {
    const b = make(40000) // 16384 + 16384 + 7232
    expect(b.add(-1, new Uint8Array(16384))).toBe("bad")
    expect(b.add(3, new Uint8Array(16384))).toBe("bad")
    expect(b.add(0.5, new Uint8Array(16384))).toBe("bad")
    expect(b.add(0, new Uint8Array(16383))).toBe("bad")
    expect(b.add(0, new Uint8Array(16385))).toBe("bad")
    expect(b.add(2, new Uint8Array(16384))).toBe("bad")
    expect(b.add(2, new Uint8Array(7231))).toBe("bad")
    expect(b.heldPieces).toBe(0)
    expect(b.add(2, new Uint8Array(7232))).toBe("ok")
    expect(b.add(2, new Uint8Array(7232).fill(1))).toBe("duplicate")
    expect(b.add(2, new Uint8Array(7233))).toBe("bad")
    expect(b.has(2)).toBe(true)
    expect(b.has(0)).toBe(false)
    expect(b.heldPieces).toBe(1)
  })

  it("lists missing pieces lowest first, and is complete once every piece is held", () => {
    const b = make(5 * 16384)
    for (const i of [3, 0, 4]) expect(b.add(i, new Uint8Array(16384))).toBe("ok")
    expect(b.missing()).toEqual([1, 2])
    expect(b.complete).toBe(false)
    expect(b.add(2, new Uint8Array(16384))).toBe("ok")
    expect(b.add(1, new Uint8Array(16384))).toBe("ok")
    expect(b.missing()).toEqual([])
    expect(b.complete).toBe(true)
  })

  it("returns a real info dictionary whole when its SHA-1 is the info hash, pieces in any order", () => {
    const info = infoDict()
    expect(info.length).toBeGreaterThan(2 * 16384)
    expect(info.length).toBeLessThan(3 * 16384)
    const b = make(info.length)
    const pieces = piecesOf(info)
    expect(pieces.length).toBe(3)
    for (const i of [2, 0, 1]) expect(b.add(i, pieces[i]!)).toBe("ok")
    const verified = b.verify(sha1(info))
    expect(verified).toBeDefined()
    expect(Buffer.compare(verified!, info)).toBe(0)
    expect(verified!.buffer).not.toBe(info.buffer)
  })

  it("drops every piece when the SHA-1 is wrong, so that all are fetched again, then verifies the retry", () => {
    const info = infoDict()
    const hash = sha1(info)
    const b = make(info.length)
    const pieces = piecesOf(info)
    const corrupt = Uint8Array.from(pieces[1]!)
    corrupt[100]! ^= 0x01
    expect(b.add(0, pieces[0]!)).toBe("ok")
    expect(b.add(1, corrupt)).toBe("ok")
    expect(b.add(2, pieces[2]!)).toBe("ok")
    expect(b.complete).toBe(true)
    expect(b.verify(hash)).toBeUndefined()
    expect(b.complete).toBe(false)
    expect(b.heldPieces).toBe(0)
    expect(b.missing()).toEqual([0, 1, 2])
    pieces.forEach((p, i) => expect(b.add(i, p)).toBe("ok"))
    expect(Buffer.compare(b.verify(hash)!, info)).toBe(0)
  })

  it("refuses a hash of another torrent, and of the wrong length", () => {
    const info = infoDict()
    const b = make(info.length)
    piecesOf(info).forEach((p, i) => b.add(i, p))
    expect(b.verify(sha1(utf8("another torrent")))).toBeUndefined()
    expect(b.missing()).toEqual([0, 1, 2])
    piecesOf(info).forEach((p, i) => b.add(i, p))
    expect(b.verify(sha1(info).subarray(0, 19))).toBeUndefined()
    expect(b.heldPieces).toBe(0)
  })

  it("checks against a v2 info hash (32 bytes) with SHA-256: a btmh magnet's metadata", () => {
    const info = infoDict()
    const sha256 = new Uint8Array(createHash("sha256").update(info).digest())
    const b = make(info.length)
    piecesOf(info).forEach((p, i) => b.add(i, p))
    expect(Buffer.compare(b.verify(sha256)!, info)).toBe(0)
    // The SHA-1 digest padded to 32 bytes is not the v2 hash; a wrong v2 hash drops the pieces.
    const padded = new Uint8Array(32)
    padded.set(sha1(info))
    expect(b.verify(padded)).toBeUndefined()
    expect(b.heldPieces).toBe(0)
  })

  it("does not verify, nor drop anything, while incomplete", () => {
    const info = infoDict()
    const b = make(info.length)
    const pieces = piecesOf(info)
    b.add(0, pieces[0]!)
    expect(b.verify(sha1(info))).toBeUndefined()
    expect(b.missing()).toEqual([1, 2])
  })

  it("copies what it is given: the caller's buffer (plain or Buffer) may be reused at once", () => {
    const info = infoDict()
    const b = make(info.length)
    const [p0, p1, p2] = piecesOf(info)
    const reused = Buffer.from(p0!)
    expect(b.add(0, reused)).toBe("ok")
    reused.fill(0xee)
    const plain = Uint8Array.from(p1!)
    expect(b.add(1, plain)).toBe("ok")
    plain.fill(0xee)
    const view = Buffer.concat([Buffer.alloc(7), Buffer.from(p2!)]).subarray(7)
    expect(b.add(2, view)).toBe("ok")
    view.fill(0xee)
    expect(Buffer.compare(b.verify(sha1(info))!, info)).toBe(0)
  })

  it("takes the last piece of 16 MiB metadata at 16 KiB", () => {
    const b = make(MiB16)
    expect(b.add(1023, new Uint8Array(16384))).toBe("ok")
    expect(b.add(1024, new Uint8Array(16384))).toBe("bad")
    expect(b.missing().length).toBe(1023)
  })

  it.prop(
    "any size and arrival order assembles the bytes, and verify gives them back",
    [FastCheck.uint8Array({ minLength: 1, maxLength: 70000 }), FastCheck.nat()],
    ([whole, seed]) => {
      const b = make(whole.length)
      const order = piecesOf(whole).map((p, i) => [i, p] as const)
      // A rotation of the pieces: every order of arrival starts somewhere.
      const start = seed % order.length
      for (const [i, p] of [...order.slice(start), ...order.slice(0, start)]) expect(b.add(i, p)).toBe("ok")
      expect(b.complete).toBe(true)
      expect(Buffer.compare(b.verify(sha1(whole))!, whole)).toBe(0)
    },
    { fastCheck: { numRuns: 50 } }
  )
})
