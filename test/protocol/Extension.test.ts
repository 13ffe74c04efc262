/**
 * The BEP 10 extension handshake codec (src/protocol/Extension.ts): exact bytes of handshakes as real
 * clients send them, the lenient reading of odd values (left out, never fatal), the refusals (a payload
 * that is not a bencoded dictionary), the bounds on `m` and `v`, and round trips through the plain
 * functions and the Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { WireError } from "../../src/domain/Errors.js"
import * as Extension from "../../src/protocol/Extension.js"

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const asText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")

const right = <A>(e: Either.Either<A, WireError>): A =>
  Either.getOrThrowWith(e, (l) => new Error(`expected Right, got ${l.reason}: ${l.detail}`))

const left = <A>(e: Either.Either<A, WireError>): WireError => {
  if (Either.isRight(e)) throw new Error(`expected a WireError, got ${JSON.stringify(e.right)}`)
  return e.left
}

const decodeText = (s: string) => Extension.decodeHandshake(latin1(s))

/** A handshake dictionary with one field set to `value` (raw bencode). */
const withField = (key: string, value: string) => decodeText(`d1:mde${key.length}:${key}${value}e`)

/** libtorrent-style: sorted keys, `m` with two extensions, port, queue, client, our address. */
const libtorrentSample =
  "d1:md11:ut_metadatai3e6:ut_pexi1ee13:metadata_sizei31235e1:pi6881e4:reqqi500e1:v12:uTorrent 3.5" +
  "6:yourip4:\x7f\x00\x00\x01e"

const handshakeArb: FastCheck.Arbitrary<Extension.ExtensionHandshake> = FastCheck.record(
  {
    m: FastCheck.array(
      FastCheck.tuple(FastCheck.string({ minLength: 1, maxLength: 12 }), FastCheck.integer({ min: 1, max: 255 })),
      { maxLength: 8 }
    ).map((entries) => new Map(entries)),
    v: FastCheck.string({ maxLength: 100, unit: "grapheme-ascii" }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, "")),
    p: FastCheck.integer({ min: 1, max: 65535 }),
    reqq: FastCheck.integer({ min: 1, max: 2 ** 31 }),
    yourip: FastCheck.oneof(FastCheck.uint8Array({ minLength: 4, maxLength: 4 }), FastCheck.uint8Array({ minLength: 16, maxLength: 16 })),
    metadataSize: FastCheck.nat({ max: Number.MAX_SAFE_INTEGER })
  },
  { requiredKeys: ["m"] }
)

describe("Extension handshake", () => {
  it("reads a libtorrent-style handshake field by field, and writes it back byte for byte", () => {
    const h = right(decodeText(libtorrentSample))
    expect(h).toEqual({
      m: new Map([["ut_metadata", 3], ["ut_pex", 1]]),
      metadataSize: 31235,
      p: 6881,
      reqq: 500,
      v: "uTorrent 3.5",
      yourip: Uint8Array.of(127, 0, 0, 1)
    })
    expect(asText(Extension.encodeHandshake(h))).toBe(libtorrentSample)
  })

  it("reads a Transmission-style handshake: unsorted keys, unknown keys ignored, upload_only read", () => {
    const sample =
      "d1:ei0e4:ipv616:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
      "12:complete_agoi-1e1:md11:ut_metadatai3e6:ut_pexi1e11:upload_onlyi0ee13:metadata_sizei5161e" +
      "1:pi51413e4:reqqi512e11:upload_onlyi1e1:v17:Transmission 2.94e"
    expect(right(decodeText(sample))).toEqual({
      m: new Map([["ut_metadata", 3], ["ut_pex", 1]]),
      metadataSize: 5161,
      p: 51413,
      reqq: 512,
      uploadOnly: true,
      v: "Transmission 2.94"
    })
    expect(right(withField("upload_only", "i0e")).uploadOnly).toBe(false)
    expect(right(withField("upload_only", "1:1")).uploadOnly).toBeUndefined()
  })

  it("writes our own handshake canonically: keys in byte order, upload_only never written", () => {
    const bytes = Extension.encodeHandshake({
      m: new Map([[Extension.UtPex, 2], [Extension.UtMetadata, 1]]),
      v: "bt-effect 0.1.0",
      p: 6881,
      reqq: 500,
      yourip: Uint8Array.of(10, 0, 0, 2),
      metadataSize: 16384,
      uploadOnly: true
    })
    expect(asText(bytes)).toBe(
      "d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei16384e1:pi6881e4:reqqi500e" +
        "1:v15:bt-effect 0.1.06:yourip4:\x0a\x00\x00\x02e"
    )
    expect(asText(Extension.encodeHandshake({ m: new Map() }))).toBe("d1:mdee")
  })

  it("leaves out 0 (disabled) and ids outside 1..255 or of the wrong type in m", () => {
    const h = right(decodeText(
      "d1:md1:ai0e1:bi256e1:ci-1e1:d1:x1:eli1ee1:fi255e1:gi1e1:hi99999999999999999999eee"
    ))
    expect(h.m).toEqual(new Map([["f", 255], ["g", 1]]))
  })

  it("keeps at most 256 extensions from m, the first on the wire", () => {
    const names = Array.from({ length: 300 }, (_, i) => `x${String(i).padStart(3, "0")}`)
    const m = names.map((n, i) => `4:${n}i${(i % 255) + 1}e`).join("")
    const h = right(decodeText(`d1:md${m}ee`))
    expect(h.m.size).toBe(Extension.maxExtensions)
    expect([...h.m.keys()]).toEqual(names.slice(0, 256))
    expect(h.m.get("x255")).toBe(1)
  })

  it("takes m that is not a dictionary as no extensions, and a missing m as well", () => {
    expect(right(decodeText("d1:mli1eee")).m).toEqual(new Map())
    expect(right(decodeText("d1:mi5ee")).m).toEqual(new Map())
    expect(right(decodeText("de"))).toEqual({ m: new Map() })
  })

  it("leaves out values of the wrong type or range instead of failing", () => {
    for (const p of ["i0e", "i65536e", "i-1e", "4:6881", "le"]) expect(right(withField("p", p)).p, p).toBeUndefined()
    expect(right(withField("p", "i1e")).p).toBe(1)
    expect(right(withField("p", "i65535e")).p).toBe(65535)
    for (const reqq of ["i0e", "i-5e", "3:500", "i99999999999999999999e"]) {
      expect(right(withField("reqq", reqq)).reqq, reqq).toBeUndefined()
    }
    expect(right(withField("reqq", "i1e")).reqq).toBe(1)
    for (const ip of ["0:", "3:abc", "5:abcde", "15:aaaaaaaaaaaaaaa", "17:aaaaaaaaaaaaaaaaa", "i1e"]) {
      expect(right(withField("yourip", ip)).yourip, ip).toBeUndefined()
    }
    expect(right(withField("yourip", "16:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01")).yourip)
      .toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))
    for (const size of ["i-1e", "i9007199254740992e", "2:10", "de"]) {
      expect(right(withField("metadata_size", size)).metadataSize, size).toBeUndefined()
    }
    expect(right(withField("metadata_size", "i0e")).metadataSize).toBe(0)
    expect(right(withField("metadata_size", "i9007199254740991e")).metadataSize).toBe(Number.MAX_SAFE_INTEGER)
    expect(right(withField("v", "i3e")).v).toBeUndefined()
    expect(right(withField("v", "0:")).v).toBe("")
  })

  it("reads v as display text: at most 100 characters, control characters and bad UTF-8 replaced", () => {
    const long = "é".repeat(150)
    const h = right(Extension.decodeHandshake(Extension.encodeHandshake({ m: new Map(), v: long })))
    expect(h.v).toBe("é".repeat(100))
    expect(right(withField("v", "9:a\x1b[31mb\x00c")).v).toBe("a?[31mb?c")
    expect(right(withField("v", "3:a\xffb")).v).toBe("a\ufffdb")
    // Astral characters count once and are never split.
    const emoji = "😀".repeat(101)
    expect(right(Extension.decodeHandshake(Extension.encodeHandshake({ m: new Map(), v: emoji }))).v).toBe("😀".repeat(100))
    const huge = right(withField("v", `${1024 * 1024}:${"x".repeat(1024 * 1024)}`))
    expect(huge.v).toBe("x".repeat(100))
  })

  it("ignores bytes after the dictionary (padding)", () => {
    const padded = right(decodeText(`${libtorrentSample}\x00\x00garbage`))
    expect(padded).toEqual(right(decodeText(libtorrentSample)))
  })

  it("refuses a payload that is not a bencoded dictionary, with reason BadPayload", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "extension handshake: invalid bencode at byte 0: empty input"],
      ["le", "extension handshake is not a dictionary"],
      ["i42e", "extension handshake is not a dictionary"],
      ["4:spam", "extension handshake is not a dictionary"],
      ["d1:md11:ut_metadatai3e", "extension handshake: invalid bencode at byte 22: input ends inside a list or dictionary"],
      ["d1:mdei1e1:pe", "extension handshake: invalid bencode at byte 6: dictionary key is not a byte string (found 'i')"],
      ["d1:pi1e1:pi2ee", "extension handshake: invalid bencode at byte 7: duplicate dictionary key 'p'"],
      ["x", "extension handshake: invalid bencode at byte 0: unexpected 'x'"]
    ]
    for (const [input, detail] of cases) {
      const e = left(decodeText(input))
      expect(e.reason, input).toBe("BadPayload")
      expect(e.detail, input).toBe(detail)
    }
  })

  it("refuses a dictionary of more than 10,000 tokens or nested deeper than 32, with reason BadPayload", () => {
    const padded = (n: number) => decodeText(`d1:md6:ut_pexi1ee5:zzzzzl${"i0e".repeat(n)}ee`)
    // Tokens as the bencode decoder counts them (values, keys and ends): 10 besides the list's items.
    expect(right(padded(10_000 - 10)).m).toEqual(new Map([["ut_pex", 1]]))
    const e = left(padded(10_000 - 9))
    expect(`${e.reason}: ${e.detail}`).toBe(
      "BadPayload: extension handshake: invalid bencode at byte 29999: more than 10000 values"
    )
    expect(right(decodeText(`d1:x${"l".repeat(31)}${"e".repeat(31)}e`)).m).toEqual(new Map())
    expect(left(decodeText(`d1:x${"l".repeat(32)}${"e".repeat(32)}e`)).detail).toBe(
      "extension handshake: invalid bencode at byte 35: nesting deeper than 32"
    )
  })

  it("copies yourip out of the payload, which the frame parser may reuse", () => {
    const payload = Buffer.from(libtorrentSample, "latin1")
    const h = right(Extension.decodeHandshake(payload))
    payload.fill(0)
    expect(h.yourip).toEqual(Uint8Array.of(127, 0, 0, 1))
    expect(h.yourip?.buffer).not.toBe(payload.buffer)
  })

  it("writes names outside latin1 as their UTF-8 bytes", () => {
    const bytes = Extension.encodeHandshake({ m: new Map([["ünï_€", 7]]) })
    expect(Buffer.from(bytes).toString("utf8")).toBe("d1:md9:ünï_€i7eee")
    expect(asText(Extension.nameBytes("ünï_€"))).toBe(asText(Buffer.from("ünï_€", "utf8")))
    expect([...right(Extension.decodeHandshake(bytes)).m.keys()]).toEqual([asText(Buffer.from("ünï_€", "utf8"))])
  })

  it.prop("decodeHandshake(encodeHandshake(h)) = h for names of one byte per character", [handshakeArb], ([h]) => {
    const latin1Names = new Map([...h.m].map(([name, id]) => [name.replace(/[^\x00-\xff]/g, "?"), id]))
    const value = { ...h, m: latin1Names }
    expect(right(Extension.decodeHandshake(Extension.encodeHandshake(value)))).toEqual(value)
  })

  it.prop("the Schema codec agrees with the plain functions", [handshakeArb], ([h]) => {
    const bytes = Schema.encodeSync(Extension.ExtensionHandshakeFromBytes)(h)
    expect(asText(bytes)).toBe(asText(Extension.encodeHandshake(h)))
    expect(Schema.decodeSync(Extension.ExtensionHandshakeFromBytes)(bytes)).toEqual(
      right(Extension.decodeHandshake(bytes))
    )
  })

  it("the Schema refuses to encode values outside their ranges, and fails to decode non-dictionaries", () => {
    const encode = Schema.encodeEither(Extension.ExtensionHandshakeFromBytes)
    expect(Either.isLeft(encode({ m: new Map(), p: 0 }))).toBe(true)
    expect(Either.isLeft(encode({ m: new Map([["x", 256]]) }))).toBe(true)
    expect(Either.isLeft(encode({ m: new Map(), yourip: new Uint8Array(5) }))).toBe(true)
    expect(Either.isLeft(encode({ m: new Map(), reqq: 0 }))).toBe(true)
    expect(Either.isRight(encode({ m: new Map([["x", 0]]) }))).toBe(true)
    const decoded = Schema.decodeEither(Extension.ExtensionHandshakeFromBytes)(latin1("le"))
    expect(Either.isLeft(decoded) && decoded.left.message).toContain("extension handshake is not a dictionary")
  })
})
