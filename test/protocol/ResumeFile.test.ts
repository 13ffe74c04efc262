/**
 * Resume files: ResumeData to bencode and back (bytes and the ResumeDataFromBencode Schema), exactly, for
 * random data; files that are not bt-effect's, of another version, damaged or truncated decode to an
 * error with a reason, and no input makes decodeResume throw.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { type Bencode, type BencodeDict, bytes, isDict } from "../../src/domain/Bencode.js"
import { infoHash } from "../../src/domain/InfoHash.js"
import { ResumeData } from "../../src/domain/ResumeData.js"
import { decode, encode } from "../../src/protocol/Bencode.js"
import {
  decodeResume,
  encodeResume,
  maxResumeBytes,
  ResumeDataFromBencode,
  resumeFromBencode,
  resumeToBencode
} from "../../src/protocol/ResumeFile.js"

/** ResumeData as plain values (bytes as arrays), so that equality does not depend on buffer types. */
const plain = (d: ResumeData) => ({
  infoHash: Array.from(d.infoHash),
  root: d.root,
  pieceCount: d.pieceCount,
  pieces: Array.from(d.pieces),
  files: d.files.map((f) => (f === null ? null : { size: f.size, mtimeNs: f.mtimeNs })),
  downloaded: d.downloaded,
  uploaded: d.uploaded,
  savedAt: d.savedAt
})

const sample = new ResumeData({
  infoHash: infoHash(Uint8Array.from({ length: 20 }, (_, i) => i * 13)),
  root: "/home/ünïcødé/Downloads/日本語",
  pieceCount: 10,
  pieces: Uint8Array.of(0xa5, 0x80),
  files: [{ size: 100, mtimeNs: 1_700_000_000_123_456_789n }, null, { size: 0, mtimeNs: -5n }],
  downloaded: 12345,
  uploaded: 678,
  savedAt: 1_700_000_000_000
})

const resumeArb: FastCheck.Arbitrary<ResumeData> = FastCheck.integer({ min: 0, max: 200 }).chain((pieceCount) =>
  FastCheck.record({
    infoHash: FastCheck.uint8Array({ minLength: 20, maxLength: 20 }),
    root: FastCheck.oneof(
      FastCheck.string(),
      FastCheck.string({ unit: "binary" }),
      FastCheck.string({ unit: "grapheme" }).map((s) => `/data/${s}`)
    ),
    pieces: FastCheck.uint8Array({ minLength: Math.ceil(pieceCount / 8), maxLength: Math.ceil(pieceCount / 8) }),
    files: FastCheck.array(
      FastCheck.option(
        FastCheck.record({
          size: FastCheck.oneof(FastCheck.constant(0), FastCheck.maxSafeNat()),
          mtimeNs: FastCheck.oneof(
            FastCheck.bigInt({ min: 0n, max: 2n ** 64n }),
            FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 63n }),
            FastCheck.constantFrom(2n ** 53n + 1n, 1_700_000_000_123_456_789n)
          )
        }),
        { nil: null }
      ),
      { maxLength: 12 }
    ),
    downloaded: FastCheck.maxSafeNat(),
    uploaded: FastCheck.maxSafeNat(),
    savedAt: FastCheck.maxSafeInteger()
  }).map((f) => new ResumeData({ ...f, infoHash: infoHash(f.infoHash), pieceCount }))
)

/** The sample's bencode dictionary with `key` set to `value` (or removed when undefined). */
const withField = (key: string, value: Bencode | undefined): Uint8Array => {
  const d = new Map(resumeToBencode(sample))
  if (value === undefined) d.delete(key)
  else d.set(key, value)
  return encode(d)
}

const reason = (raw: Uint8Array): string => {
  const result = decodeResume(raw)
  expect(Either.isLeft(result)).toBe(true)
  return Either.isLeft(result) ? result.left : ""
}

describe("ResumeFile", () => {
  it("encodes the documented layout: file-format, file-version, an empty dictionary for a file not stored", () => {
    const raw = encodeResume(sample)
    const text = Buffer.from(raw).toString("latin1")
    expect(text.startsWith("d10:downloadedi12345e11:file-format16:bt-effect resume12:file-versioni1e5:filesl")).toBe(true)
    expect(text).toContain("5:filesld8:mtime-nsi1700000000123456789e4:sizei100eeded8:mtime-nsi-5e4:sizei0eee")
    expect(text).toContain("11:piece-counti10e6:pieces2:\xa5\x80")
    expect(text.endsWith("8:saved-ati1700000000000e8:uploadedi678ee")).toBe(true)
    const decoded = decode(raw)
    expect(Either.isRight(decoded) && isDict(decoded.right.value) && decoded.right.unsorted).toEqual([])
  })

  it("decodes what it encodes, non-ASCII root and mtimes past 2^53 included", () => {
    const back = decodeResume(encodeResume(sample))
    expect(Either.isRight(back)).toBe(true)
    if (Either.isRight(back)) {
      expect(back.right).toBeInstanceOf(ResumeData)
      expect(plain(back.right)).toEqual(plain(sample))
    }
  })

  it("records the parked files (file selection) in a key older files lack: both decode", () => {
    const withParked = new ResumeData({ ...sample, parked: [0, 3] })
    const raw = encodeResume(withParked)
    expect(Buffer.from(raw).toString("latin1")).toContain("6:parkedli0ei3ee")
    expect(Either.getOrThrow(decodeResume(raw)).parked).toEqual([0, 3])
    // A file written before selection existed has no such key: nothing parked.
    expect(Either.getOrThrow(decodeResume(encodeResume(sample))).parked).toBeUndefined()
  })

  it.prop("decodeResume(encodeResume(x)) equals x", [resumeArb], ([data]) => {
    const back = decodeResume(encodeResume(data))
    expect(Either.isRight(back) && plain(back.right)).toEqual(plain(data))
  })

  it.prop("encoding is canonical: re-encoding a decoded file gives the same bytes", [resumeArb], ([data]) => {
    const raw = encodeResume(data)
    const back = Either.getOrThrow(decodeResume(raw))
    expect(Buffer.compare(encodeResume(back), raw)).toBe(0)
  })

  it.prop("ResumeDataFromBencode: decode(encode(x)) equals x", [resumeArb], ([data]) => {
    const value = Schema.encodeSync(ResumeDataFromBencode)(data)
    expect(isDict(value)).toBe(true)
    const back = Schema.decodeUnknownEither(ResumeDataFromBencode)(value)
    expect(Either.isRight(back) && plain(back.right)).toEqual(plain(data))
    // The same value through the bytes.
    expect(Buffer.compare(encode(value), encodeResume(data))).toBe(0)
  })

  it("ResumeDataFromBencode refuses a value that is not a resume file, with the reason", () => {
    const notDict = Schema.decodeUnknownEither(ResumeDataFromBencode)([1, 2])
    expect(Either.isLeft(notDict) && notDict.left.message).toContain("not a dictionary")
    const otherVersion = Either.getOrThrow(decode(withField("file-version", 2))).value
    const v2 = Schema.decodeUnknownEither(ResumeDataFromBencode)(otherVersion)
    expect(Either.isLeft(v2) && v2.left.message).toContain("not version 1")
    // Not bencode at all.
    expect(Either.isLeft(Schema.decodeUnknownEither(ResumeDataFromBencode)("text"))).toBe(true)
  })

  it("resumeFromBencode and resumeToBencode agree with the byte codec", () => {
    const value: BencodeDict = resumeToBencode(sample)
    const back = resumeFromBencode(value)
    expect(Either.isRight(back) && plain(back.right)).toEqual(plain(sample))
  })

  describe("refuses, with a reason", () => {
    it("bytes that are not bencode", () => {
      expect(reason(Buffer.from("not a resume file"))).toContain("invalid bencode")
      expect(reason(new Uint8Array(0))).toContain("invalid bencode")
    })

    it("a truncated file", () => {
      const raw = encodeResume(sample)
      for (const cut of [1, 2, 10, raw.length - 1]) {
        expect(reason(raw.subarray(0, cut))).toContain("invalid bencode")
      }
    })

    it("bytes after the dictionary", () => {
      expect(reason(Buffer.concat([encodeResume(sample), Buffer.from("x")]))).toContain("invalid bencode")
    })

    it("a value that is not a dictionary", () => {
      expect(reason(encode([bytes("bt-effect resume")]))).toBe("not a dictionary")
      expect(reason(encode(42))).toBe("not a dictionary")
    })

    it("another file format, or none", () => {
      expect(reason(withField("file-format", bytes("libtorrent resume file")))).toBe("not a bt-effect resume file")
      expect(reason(withField("file-format", undefined))).toBe("not a bt-effect resume file")
      expect(reason(withField("file-format", 1))).toBe("not a bt-effect resume file")
    })

    it("another version, or none", () => {
      expect(reason(withField("file-version", 2))).toBe("not version 1")
      expect(reason(withField("file-version", 0))).toBe("not version 1")
      expect(reason(withField("file-version", undefined))).toBe("not version 1")
      expect(reason(withField("file-version", bytes("1")))).toBe("not version 1")
    })

    it("a missing root, or one that is not UTF-8", () => {
      expect(reason(withField("root", undefined))).toBe("no root folder")
      expect(reason(withField("root", 7))).toBe("no root folder")
      expect(reason(withField("root", Uint8Array.of(0x2f, 0xff, 0xfe)))).toBe("no root folder")
    })

    it("a missing file list, or a file entry that is not a dictionary", () => {
      expect(reason(withField("files", undefined))).toBe("no file list")
      expect(reason(withField("files", bytes("x")))).toBe("no file list")
      expect(reason(withField("files", [new Map(), 5]))).toBe("a file entry is not a dictionary")
    })

    it("a file entry with a negative size, or without its size or mtime", () => {
      const entry = (pairs: ReadonlyArray<readonly [string, Bencode]>) => withField("files", [new Map(pairs)])
      expect(reason(entry([["size", -1], ["mtime-ns", 5]]))).toMatch(/\["size"\].*Expected a non-negative number, actual -1/)
      expect(reason(entry([["mtime-ns", 5]]))).toMatch(/size/)
      expect(reason(entry([["size", 1]]))).toMatch(/mtimeNs/)
      expect(reason(entry([["size", bytes("1")], ["mtime-ns", 5]]))).toMatch(/size/)
      expect(reason(entry([["size", 1], ["mtime-ns", bytes("5")]]))).toMatch(/mtimeNs/)
    })

    it("pieces that are not bytes", () => {
      expect(reason(withField("pieces", 5))).toMatch(/\["pieces"\].*Expected Uint8ArrayFromSelf, actual 5/)
      expect(reason(withField("pieces", [bytes("a")]))).toMatch(/pieces/)
      expect(reason(withField("pieces", undefined))).toMatch(/pieces/)
    })

    it("an info hash that is not 20 bytes", () => {
      expect(reason(withField("info-hash", new Uint8Array(19)))).toContain("an info hash is 20 bytes")
      expect(reason(withField("info-hash", 0))).toMatch(/infoHash/)
    })

    it("negative or missing counts and totals", () => {
      expect(reason(withField("piece-count", -1))).toMatch(/pieceCount/)
      expect(reason(withField("piece-count", undefined))).toMatch(/pieceCount/)
      expect(reason(withField("downloaded", -5))).toMatch(/\["downloaded"\].*non-negative number, actual -5/)
      expect(reason(withField("uploaded", undefined))).toMatch(/uploaded/)
      expect(reason(withField("saved-at", bytes("now")))).toMatch(/savedAt/)
    })

    it("the reason is one line", () => {
      expect(reason(withField("downloaded", -5))).not.toContain("\n")
    })

    it("a file larger than the limit, before decoding it", () => {
      expect(reason(new Uint8Array(maxResumeBytes + 1))).toBe(`larger than ${maxResumeBytes} bytes`)
    })
  })

  it("keys it does not know are ignored (a later version may add some)", () => {
    const back = decodeResume(withField("comment", bytes("hello")))
    expect(Either.isRight(back) && plain(back.right)).toEqual(plain(sample))
  })

  it.prop("decodeResume never throws on random bytes", [FastCheck.uint8Array({ maxLength: 300 })], ([raw]) => {
    const result = decodeResume(raw)
    expect(Either.isLeft(result) ? typeof result.left : "right").toBe("string")
  })

  it.prop(
    "decodeResume never throws on damaged resume files (bytes flipped or cut)",
    [resumeArb, FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.integer({ min: 1, max: 255 })), { maxLength: 4 }), FastCheck.nat()],
    ([data, flips, cut]) => {
      const raw = Uint8Array.from(encodeResume(data))
      for (const [at, xor] of flips) raw[at % raw.length] = raw[at % raw.length]! ^ xor
      const result = decodeResume(raw.subarray(0, raw.length - (cut % 3)))
      if (Either.isRight(result)) expect(result.right).toBeInstanceOf(ResumeData)
      else expect(typeof result.left).toBe("string")
    }
  )
})
