import { describe, expect, it } from "@effect/vitest"
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { MagnetError } from "../../src/domain/Errors.js"
import { InfoHash, InfoHashV2, toHex } from "../../src/domain/InfoHash.js"
import { format, Magnet, MagnetFromString, maxSelectedFiles, parse } from "../../src/domain/Magnet.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"

const ok = (uri: string): Magnet =>
  Either.getOrThrowWith(parse(uri), (e) => new Error(`expected ${uri} to parse: ${e.message}`))

const err = (uri: string): MagnetError =>
  Either.getOrThrowWith(Either.flip(parse(uri)), () => new Error(`expected ${uri} to fail`))

const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : toHex(bytes))

const v1 = "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36"
const v2 = "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36d2474e86c95b19b8bcfdb92b"

describe("Magnet.parse: info hashes", () => {
  it("reads a hex btih in either case", () => {
    expect(hex(ok(`magnet:?xt=urn:btih:${v1}`).infoHash)).toBe(v1)
    expect(hex(ok(`magnet:?xt=urn:btih:${v1.toUpperCase()}`).infoHash)).toBe(v1)
  })

  it("reads a base32 btih in either case", () => {
    const expected = "f7079c66cca02ab45934b9868572060010dfc97e"
    expect(hex(ok("magnet:?xt=urn:btih:64DZYZWMUAVLIWJUXGDIK4QGAAIN7SL6").infoHash)).toBe(expected)
    expect(hex(ok("magnet:?xt=urn:btih:64dzyzwmuavliwjuxgdik4qgaain7sl6").infoHash)).toBe(expected)
    expect(hex(ok("magnet:?xt=urn:btih:MFRGCYTBMJQWEYLCMFRGCYTBMJQWEYLC").infoHash)).toBe("61626162".repeat(5))
  })

  it("reads a btmh as a v2 hash, with its 20-byte truncation and no v1 hash", () => {
    const m = ok(`magnet:?xt=urn:btmh:1220${v2}`)
    expect(m.infoHash).toBeUndefined()
    expect(hex(m.infoHashV2)).toBe(v2)
    expect(hex(m.infoHashV2Truncated)).toBe(v2.slice(0, 40))
  })

  it("reads a hybrid link with both hashes", () => {
    const m = ok(`magnet:?xt=urn:btih:${"61".repeat(20)}&xt=urn:btmh:1220${"62".repeat(32)}&dn=hybrid`)
    expect(hex(m.infoHash)).toBe("61".repeat(20))
    expect(hex(m.infoHashV2)).toBe("62".repeat(32))
    expect(hex(m.infoHashV2Truncated)).toBe("62".repeat(20))
    expect(m.displayName).toBe("hybrid")
  })

  it("keeps other urns, in order, and accepts the same btih twice", () => {
    const m = ok(`magnet:?xt=urn:ed2k:354B&xt=urn:btih:${v1}&xt.2=urn:tree:tiger:7N5O&xt=URN:BTIH:${v1}`)
    expect(hex(m.infoHash)).toBe(v1)
    expect(m.otherXt).toEqual(["urn:ed2k:354B", "urn:tree:tiger:7N5O"])
  })

  it("decodes an xt that is percent-encoded as a whole or in part", () => {
    expect(hex(ok(`magnet:?xt=urn%3Abtih%3A${"cd".repeat(20)}`).infoHash)).toBe("cd".repeat(20))
    expect(hex(ok(`magnet:?xt=urn:btih:${"cd".repeat(19)}c%64`).infoHash)).toBe("cd".repeat(20))
  })

  it("rejects a malformed btih or btmh with a one-line detail", () => {
    expect(err("magnet:?xt=urn:btih:abababab")).toEqual(
      new MagnetError({ reason: "InfoHash", detail: "btih is neither 40 hex nor 32 base32 characters: 'abababab'" })
    )
    expect(err(`magnet:?xt=urn:btih:${"1".repeat(32)}`).reason).toBe("InfoHash") // '1' is not base32
    const sha1Multihash = `1114${"ab".repeat(20)}`
    expect(err(`magnet:?xt=urn:btmh:${sha1Multihash}`)).toEqual(
      new MagnetError({
        reason: "InfoHash",
        detail: `btmh is not a sha2-256 multihash (1220 + 64 hex): '${sha1Multihash}'`
      })
    )
  })

  it("rejects two different btih", () => {
    const e = err(`magnet:?xt=urn:btih:${"61".repeat(20)}&xt=urn:btih:${"62".repeat(20)}`)
    expect(e.reason).toBe("InfoHash")
    expect(e.detail).toBe(`two different btih exact topics: ${"61".repeat(20)} and ${"62".repeat(20)}`)
  })

  it("fails with MissingInfoHash when no xt names a btih or btmh", () => {
    expect(err("magnet:?dn=foo&dht=127.0.0.1:43")).toEqual(
      new MagnetError({ reason: "MissingInfoHash", detail: "no urn:btih or urn:btmh exact topic" })
    )
    expect(err("magnet:?xt=urn:ed2k:354B15E68FB8F36D7CD88FF94116CDC1").reason).toBe("MissingInfoHash")
    expect(err("magnet:?").reason).toBe("MissingInfoHash")
  })

  it("fails with NotMagnet on other URIs", () => {
    expect(err(`http://example.com/?xt=urn:btih:${v1}`).reason).toBe("NotMagnet")
    expect(err("").reason).toBe("NotMagnet")
    expect(hex(ok(`  MAGNET:?xt=urn:btih:${v1}\n`).infoHash)).toBe(v1)
  })
})

describe("Magnet.parse: parameters", () => {
  it("treats parameter names case-insensitively", () => {
    const m = ok(`magnet:?XT=urn:btih:${v1}&dN=foobar&Ws=http://foo.com/bar&TR=udp://t:1`)
    expect(hex(m.infoHash)).toBe(v1)
    expect(m.displayName).toBe("foobar")
    expect(m.webSeeds).toEqual(["http://foo.com/bar"])
    expect(m.trackers).toEqual(["udp://t:1"])
  })

  it("decodes UTF-8 escapes, and '+' as a space only in dn and kt", () => {
    const m = ok(`magnet:?xt=urn:btih:${v1}&dn=%D0%92%D0%BE%D0%B9%D0%BD%D0%B0+a%2Bb%20c&kt=joe+blow%20mp3&tr=http://t/a+b`)
    expect(m.displayName).toBe("Война a+b c")
    expect(m.keywords).toEqual(["joe", "blow", "mp3"])
    expect(m.trackers).toEqual(["http://t/a+b"])
  })

  it("keeps trackers in order with duplicates, and skips empty ones", () => {
    const m = ok(`magnet:?xt=urn:btih:${v1}&tr=udp%3A%2F%2Fa%3A1&tr=udp://b:2&tr=&tr=udp://a:1&tr.1=udp://c:3`)
    expect(m.trackers).toEqual(["udp://a:1", "udp://b:2", "udp://a:1", "udp://c:3"])
  })

  it("reads ws, as, xs, xl and ignores unknown parameters", () => {
    const m = ok(`magnet:?xt=urn:btih:${v1}&xl=10826029&as=http://a/f&xs=dchub://x&ws=http://w/f&foo=%zz&x.foo`)
    expect(m.exactLength).toBe(10826029)
    expect(m.acceptableSources).toEqual(["http://a/f"])
    expect(m.exactSources).toEqual(["dchub://x"])
    expect(m.webSeeds).toEqual(["http://w/f"])
    expect(err(`magnet:?xt=urn:btih:${v1}&xl=-1`)).toEqual(
      new MagnetError({ reason: "Parameter", detail: "xl is not a length in bytes: '-1'" })
    )
  })

  it("rejects invalid percent-escapes with reason Escape", () => {
    for (const uri of ["magnet:?xt=urn%%3A", "magnet:?xt=urn%3", `magnet:?xt=urn:btih:${v1}&dn=a%zzb`, `magnet:?xt=urn:btih:${v1}&tr=%`]) {
      expect(err(uri)).toEqual(new MagnetError({ reason: "Escape", detail: "invalid percent-escape" }))
    }
  })

  it("reads x.pe peers, IPv6 without brackets, and dht nodes", () => {
    const m = ok(
      `magnet:?xt=urn:btih:${v1}&x.pe=123.213.32.10:47450&X.PE=[2001:db8::2]:55013&x.pe=%5B%3A%3A1%5D%3A1&x.pe=peer.example:6881&dht=router.example:6881`
    )
    expect(m.peers).toEqual([
      new PeerAddress({ host: "123.213.32.10", port: 47450 }),
      new PeerAddress({ host: "2001:db8::2", port: 55013 }),
      new PeerAddress({ host: "::1", port: 1 }),
      new PeerAddress({ host: "peer.example", port: 6881 })
    ])
    expect(m.dhtNodes).toEqual([new PeerAddress({ host: "router.example", port: 6881 })])
  })

  it("rejects peers that are not host:port", () => {
    for (const bad of ["1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "2001:db8::2:80", "[2001:db8::2]", ":80", "[]:80", "h:8a"]) {
      expect(err(`magnet:?xt=urn:btih:${v1}&x.pe=${bad}`)).toEqual(
        new MagnetError({ reason: "Parameter", detail: `x.pe is not host:port or [ipv6]:port: '${bad}'` })
      )
    }
  })

  it("expands so ranges into sorted, distinct file indices", () => {
    expect(ok(`magnet:?xt=urn:btih:${v1}&so=0,2,4,6-8`).selectOnly).toEqual([0, 2, 4, 6, 7, 8])
    expect(ok(`magnet:?xt=urn:btih:${v1}&so=0-1,3-5`).selectOnly).toEqual([0, 1, 3, 4, 5])
    expect(ok(`magnet:?xt=urn:btih:${v1}&so=9,5-7,6&so=1`).selectOnly).toEqual([1, 5, 6, 7, 9])
    expect(ok(`magnet:?xt=urn:btih:${v1}`).selectOnly).toBeUndefined()
    expect(ok(`magnet:?xt=urn:btih:${v1}&so=`).selectOnly).toBeUndefined()
  })

  it("rejects malformed, reversed and huge so ranges", () => {
    for (const bad of [",", "1,,2", "8-6", "a", "1-", "-3"]) {
      expect(err(`magnet:?xt=urn:btih:${v1}&so=${bad}`)).toEqual(
        new MagnetError({ reason: "Parameter", detail: `so is not a list of file indices and ranges: '${bad}'` })
      )
    }
    expect(err(`magnet:?xt=urn:btih:${v1}&so=0-4294967295`)).toEqual(
      new MagnetError({ reason: "Parameter", detail: `so selects more than ${maxSelectedFiles} files` })
    )
    // Over the limit only together.
    expect(err(`magnet:?xt=urn:btih:${v1}&so=0-1000000&so=1000001-2000000`)).toEqual(
      new MagnetError({ reason: "Parameter", detail: `so selects more than ${maxSelectedFiles} files` })
    )
  })

  it("reads many so and kt parameters, and the largest selection, in linear time", () => {
    // Each so used to expand every earlier one again and each kt to copy the list so far (a 500-byte
    // link took 35 s, 150 KB of kt a minute), and a selection of a million files was checked again one
    // by one through the Schema (1 s). See test/fuzz.
    const started = performance.now()
    const all = ok(`magnet:?xt=urn:btih:${v1}` + "&so=0-1048575".repeat(40))
    const keywords = ok(`magnet:?xt=urn:btih:${v1}` + "&kt=a+b".repeat(30_000))
    expect(performance.now() - started).toBeLessThan(1000)
    expect(all.selectOnly?.length).toBe(maxSelectedFiles)
    expect(all.selectOnly?.[maxSelectedFiles - 1]).toBe(maxSelectedFiles - 1)
    expect(keywords.keywords?.length).toBe(60_000)
    expect(Schema.is(Magnet)(ok(`magnet:?xt=urn:btih:${v1}&so=3,1-2&kt=x+y&x.pe=[::1]:80&tr=udp://t:1`))).toBe(true)
  })
})

describe("Magnet.format", () => {
  it("writes btih in lowercase hex and percent-encodes values", () => {
    const m = ok(
      `magnet:?xt=urn:btih:${v1.toUpperCase()}&xt=urn:btmh:1220${v2}&dn=a+b%26c&tr=udp://t:1/x?y=1&kt=k1+k2&x.pe=[::1]:80&so=0,2,3,4`
    )
    expect(format(m)).toBe(
      `magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2}&dn=a+b%26c&tr=udp://t:1/x%3Fy%3D1&kt=k1+k2&x.pe=%5B::1%5D:80&so=0,2-4`
    )
  })

  it("refuses to construct a magnet without an info hash", () => {
    expect(() => new Magnet({ displayName: "x" })).toThrow("a magnet names its torrent by a btih or a btmh info hash")
  })
})

describe("MagnetFromString", () => {
  it("decodes and encodes through parse and format", () => {
    const m = Schema.decodeUnknownSync(MagnetFromString)(`magnet:?xt=urn:btih:${v1}&dn=x`)
    expect(m.displayName).toBe("x")
    expect(Schema.encodeSync(MagnetFromString)(m)).toBe(`magnet:?xt=urn:btih:${v1}&dn=x`)
    const failed = Schema.decodeUnknownEither(MagnetFromString)("magnet:?xt=urn:btih:abababab")
    expect(Either.isLeft(failed) && failed.left.message).toContain(
      "btih is neither 40 hex nor 32 base32 characters: 'abababab'"
    )
  })
})

// --- properties ------------------------------------------------------------------------------------------

const text = (minLength = 0) => FastCheck.string({ unit: "binary", minLength, maxLength: 12 })
const host = FastCheck.oneof(FastCheck.ipV4(), FastCheck.ipV6(), FastCheck.domain())
const address = FastCheck.record({ host, port: FastCheck.integer({ min: 1, max: 65535 }) }).map(
  (a) => new PeerAddress(a)
)
const hashes = FastCheck.oneof(
  FastCheck.record({ infoHash: FastCheck.uint8Array({ minLength: 20, maxLength: 20 }).map(InfoHash.make) }),
  FastCheck.record({ infoHashV2: FastCheck.uint8Array({ minLength: 32, maxLength: 32 }).map(InfoHashV2.make) }),
  FastCheck.record({
    infoHash: FastCheck.uint8Array({ minLength: 20, maxLength: 20 }).map(InfoHash.make),
    infoHashV2: FastCheck.uint8Array({ minLength: 32, maxLength: 32 }).map(InfoHashV2.make)
  })
)
const urls = FastCheck.array(FastCheck.oneof(FastCheck.webUrl({ withQueryParameters: true }), text(1)), { maxLength: 3 })
const optional = FastCheck.record(
  {
    displayName: text(),
    exactLength: FastCheck.maxSafeNat(),
    keywords: FastCheck.array(text(1).filter((k) => !k.includes(" ")), { maxLength: 4 }),
    selectOnly: FastCheck.uniqueArray(FastCheck.nat(3000), { minLength: 1, maxLength: 12 })
      .map((xs) => [...xs].sort((a, b) => a - b))
      .filter(Arr.isNonEmptyArray)
  },
  { requiredKeys: [] }
)
const magnet = FastCheck.tuple(
  hashes,
  optional,
  FastCheck.record({
    trackers: urls,
    webSeeds: urls,
    acceptableSources: urls,
    exactSources: urls,
    peers: FastCheck.array(address, { maxLength: 3 }),
    dhtNodes: FastCheck.array(address, { maxLength: 3 }),
    otherXt: FastCheck.array(text().filter((s) => !/^urn:bt(ih|mh):/i.test(s)), { maxLength: 2 })
  })
).map(([h, o, lists]) => new Magnet({ ...h, ...o, ...lists }))

// Fragments that steer random input into the interesting branches of the parser.
const fragment = FastCheck.oneof(
  FastCheck.constantFrom("&", "=", "xt=", "XT=", "urn:btih:", "urn:btmh:1220", "%", "%3A", "%E2%82", "+", "dn=", "kt=",
    "so=", "x.pe=", "dht=", "[", "]:", ":", "-", ",", "xl=", "tr=", v1, v2, "64DZYZWMUAVLIWJUXGDIK4QGAAIN7SL6"),
  FastCheck.string({ unit: "binary", maxLength: 4 }),
  FastCheck.hexaString({ maxLength: 8 })
)
const magnetish = FastCheck.array(fragment, { maxLength: 24 }).map((parts) => "magnet:?" + parts.join(""))

describe("Magnet properties", () => {
  it.prop("parse(format(m)) equals m", [magnet], ([m]) => {
    const uri = format(m)
    expect(uri).toMatch(/^magnet:\?xt=urn:bt(ih|mh):[0-9a-f]+(&[a-z.]+=[A-Za-z0-9\-._~:/@,%+]*)*$/)
    const back = ok(uri)
    expect(back).toEqual(m)
    expect(hex(back.infoHash)).toBe(hex(m.infoHash))
    expect(hex(back.infoHashV2)).toBe(hex(m.infoHashV2))
    expect(format(back)).toBe(uri)
  }, { fastCheck: { numRuns: 300 } })

  it.prop("parse returns a Magnet or a MagnetError on any input, never throws", [
    FastCheck.oneof(magnetish, FastCheck.string({ unit: "binary" }))
  ], ([uri]) => {
    const result = parse(uri)
    if (Either.isRight(result)) {
      expect(result.right).toBeInstanceOf(Magnet)
      expect(result.right.infoHash !== undefined || result.right.infoHashV2 !== undefined).toBe(true)
    } else {
      expect(result.left).toBeInstanceOf(MagnetError)
      expect(result.left.detail).not.toContain("\n")
    }
  }, { fastCheck: { numRuns: 2000 } })
})
