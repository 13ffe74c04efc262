/**
 * The BEP 11 ut_pex codec (src/protocol/Pex.ts): exact bytes both ways, both families merged and split,
 * flag bytes matched to their entries (port-0 entries counted, missing flags 0), the refusals (a list that
 * is not whole entries, a payload that is not a dictionary), the cap on entries read per list, and round
 * trips through the plain functions and the Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { WireError } from "../../src/domain/Errors.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { formatIPv4, formatIPv6 } from "../../src/protocol/CompactPeers.js"
import * as Pex from "../../src/protocol/Pex.js"

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const asText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")
const peer = (host: string, port: number) => new PeerAddress({ host, port })
const pex = (address: PeerAddress, flags = 0): Pex.PexPeer => ({ address, flags })

const right = <A>(e: Either.Either<A, WireError>): A =>
  Either.getOrThrowWith(e, (l) => new Error(`expected Right, got ${l.reason}: ${l.detail}`))

const refusal = (s: string) => {
  const e = Pex.decode(latin1(s))
  if (Either.isRight(e)) throw new Error(`expected a WireError, got ${JSON.stringify(e.right)}`)
  return `${e.left.reason}: ${e.left.detail}`
}

/** Compact entries as latin1 text: 1.2.3.4:6881 is "\x01\x02\x03\x04\x1a\xe1". */
const v4 = (a: number, b: number, c: number, d: number, port: number) =>
  String.fromCharCode(a, b, c, d, port >> 8, port & 0xff)
const str = (s: string) => `${s.length}:${s}`

const v6Loopback = "\x00".repeat(15) + "\x01"

const ipv4Arb = FastCheck.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b))
const ipv6Arb = FastCheck.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b))
const addressArb = FastCheck.tuple(FastCheck.oneof(ipv4Arb, ipv6Arb), FastCheck.integer({ min: 1, max: 65535 })).map(
  ([host, port]) => peer(host, port)
)
const messageArb: FastCheck.Arbitrary<Pex.PexMessage> = FastCheck.record({
  added: FastCheck.array(FastCheck.tuple(addressArb, FastCheck.integer({ min: 0, max: 255 })).map(([a, f]) => pex(a, f)), {
    maxLength: 60
  }),
  dropped: FastCheck.array(addressArb, { maxLength: 60 })
})

const isV4 = (a: PeerAddress) => !a.host.includes(":")
/** What decode gives back for `m`: IPv4 entries first, each family in its order. */
const byFamily = (m: Pex.PexMessage): Pex.PexMessage => ({
  added: [...m.added.filter((p) => isV4(p.address)), ...m.added.filter((p) => !isV4(p.address))],
  dropped: [...m.dropped.filter(isV4), ...m.dropped.filter((a) => !isV4(a))]
})

describe("ut_pex messages", () => {
  it("writes added, added.f and dropped always, in key order, and the IPv6 keys only when needed", () => {
    const m: Pex.PexMessage = {
      added: [pex(peer("1.2.3.4", 6881), Pex.Flags.Seed), pex(peer("10.0.0.1", 51413), Pex.Flags.Utp | Pex.Flags.Reachable)],
      dropped: [peer("192.168.1.9", 1)]
    }
    expect(asText(Pex.encode(m))).toBe(
      `d5:added${str(v4(1, 2, 3, 4, 6881) + v4(10, 0, 0, 1, 51413))}7:added.f${str("\x02\x14")}` +
        `7:dropped${str(v4(192, 168, 1, 9, 1))}e`
    )
    expect(asText(Pex.encode({ added: [], dropped: [] }))).toBe("d5:added0:7:added.f0:7:dropped0:e")
    expect(asText(Pex.encode({ added: [], dropped: [peer("::1", 443)] }))).toBe(
      `d5:added0:7:added.f0:6:added60:8:added6.f0:7:dropped0:8:dropped6${str(v6Loopback + "\x01\xbb")}e`
    )
  })

  it("reads a libtorrent-style message with all six keys, families merged IPv4 first", () => {
    const sample =
      `d5:added${str(v4(1, 2, 3, 4, 6881))}7:added.f${str("\x12")}` +
      `6:added6${str(v6Loopback + "\x1a\xe1")}8:added6.f${str("\x01")}` +
      `7:dropped${str(v4(5, 6, 7, 8, 80))}8:dropped6${str("\x20\x01\x0d\xb8" + "\x00".repeat(11) + "\x01\x00\x50")}e`
    expect(right(Pex.decode(latin1(sample)))).toEqual({
      added: [pex(peer("1.2.3.4", 6881), 0x12), pex(peer("::1", 6881), Pex.Flags.PrefersEncryption)],
      dropped: [peer("5.6.7.8", 80), peer("2001:db8::1", 80)]
    })
    // Canonical bytes come back as they were.
    expect(asText(Pex.encode(right(Pex.decode(latin1(sample)))))).toBe(sample)
  })

  it("matches flags to entries by place, port-0 entries counted; missing flags are 0, extra ones ignored", () => {
    const added = v4(1, 1, 1, 1, 0) + v4(2, 2, 2, 2, 2) + v4(3, 3, 3, 3, 3)
    expect(right(Pex.decode(latin1(`d5:added${str(added)}7:added.f${str("\x01\x02\x04\x08\x10")}e`))).added).toEqual([
      pex(peer("2.2.2.2", 2), 0x02),
      pex(peer("3.3.3.3", 3), 0x04)
    ])
    expect(right(Pex.decode(latin1(`d5:added${str(added)}7:added.f${str("\x01\x02")}e`))).added).toEqual([
      pex(peer("2.2.2.2", 2), 0x02),
      pex(peer("3.3.3.3", 3), 0)
    ])
    expect(right(Pex.decode(latin1(`d5:added${str(added)}e`))).added).toEqual([
      pex(peer("2.2.2.2", 2), 0),
      pex(peer("3.3.3.3", 3), 0)
    ])
    // A flags value of the wrong type counts as missing.
    expect(right(Pex.decode(latin1(`d5:added${str(added)}7:added.fi7ee`))).added.map((p) => p.flags)).toEqual([0, 0])
  })

  it("skips port-0 entries in every list", () => {
    const m = right(Pex.decode(latin1(
      `d7:dropped${str(v4(9, 9, 9, 9, 0) + v4(8, 8, 8, 8, 8))}8:dropped6${str(v6Loopback + "\x00\x00")}` +
        `6:added6${str(v6Loopback + "\x00\x00" + v6Loopback + "\x00\x07")}e`
    )))
    expect(m).toEqual({ added: [pex(peer("::1", 7))], dropped: [peer("8.8.8.8", 8)] })
  })

  it("refuses a list that is not a whole number of entries, with reason BadPayload", () => {
    expect(refusal(`d5:added${str("\x01\x02\x03\x04\x05")}e`)).toBe(
      "BadPayload: ut_pex 'added' of 5 bytes is not a multiple of 6"
    )
    expect(refusal(`d7:dropped${str(v4(1, 2, 3, 4, 5) + "\x00")}e`)).toBe(
      "BadPayload: ut_pex 'dropped' of 7 bytes is not a multiple of 6"
    )
    expect(refusal(`d6:added6${str("\x00".repeat(17))}e`)).toBe(
      "BadPayload: ut_pex 'added6' of 17 bytes is not a multiple of 18"
    )
    expect(refusal(`d8:dropped6${str("\x00".repeat(36 + 6))}e`)).toBe(
      "BadPayload: ut_pex 'dropped6' of 42 bytes is not a multiple of 18"
    )
  })

  it("refuses a payload that is not a bencoded dictionary, with reason BadPayload", () => {
    expect(refusal("")).toBe("BadPayload: ut_pex message: invalid bencode at byte 0: empty input")
    expect(refusal("le")).toBe("BadPayload: ut_pex message is not a dictionary")
    expect(refusal("5:added")).toBe("BadPayload: ut_pex message is not a dictionary")
    expect(refusal("d5:added6:abc")).toBe("BadPayload: ut_pex message: invalid bencode at byte 8: string length 6 runs past the end")
  })

  it("ignores keys of the wrong type, unknown keys and bytes after the dictionary", () => {
    expect(right(Pex.decode(latin1("d5:addedi1e7:droppedle6:added6de1:xi0ee")))).toEqual({ added: [], dropped: [] })
    expect(right(Pex.decode(latin1(`d5:added${str(v4(1, 2, 3, 4, 5))}e\x00junk`)))).toEqual({
      added: [pex(peer("1.2.3.4", 5))],
      dropped: []
    })
  })

  it("refuses a dictionary of more than 1,000 tokens, with reason BadPayload", () => {
    const padded = (n: number) => `d5:added${str(v4(1, 2, 3, 4, 5))}1:xl${"i0e".repeat(n)}ee`
    // Tokens as the bencode decoder counts them (values, keys and ends): 7 besides the list's items.
    expect(right(Pex.decode(latin1(padded(1000 - 7)))).added).toEqual([pex(peer("1.2.3.4", 5))])
    expect(refusal(padded(1000 - 6))).toBe("BadPayload: ut_pex message: invalid bencode at byte 3003: more than 1000 values")
  })

  it("reads at most 200 entries per list, and ignores the rest", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => v4(10, 0, i >> 8, i & 0xff, 1000 + i)).join("")
    const many6 = (n: number) =>
      Array.from({ length: n }, (_, i) => "\x20\x01" + "\x00".repeat(12) + String.fromCharCode(i >> 8, i & 0xff, 0, 9)).join("")
    const m = right(Pex.decode(latin1(
      `d5:added${str(many(300))}7:added.f${str("\x02".repeat(300))}6:added6${str(many6(250))}` +
        `7:dropped${str(many(1000))}8:dropped6${str(many6(201))}e`
    )))
    expect(m.added.length).toBe(2 * Pex.maxEntriesRead)
    expect(m.dropped.length).toBe(2 * Pex.maxEntriesRead)
    expect(m.added[199]).toEqual(pex(peer("10.0.0.199", 1199), Pex.Flags.Seed))
    expect(m.added[200]).toEqual(pex(peer("2001::", 9)))
    expect(m.dropped[199]).toEqual(peer("10.0.0.199", 1199))
    expect(m.dropped[399]).toEqual(peer("2001::c7", 9))
    // Port-0 entries count toward the 200 read: a list of them yields nothing after them.
    const zeros = Array.from({ length: 200 }, () => v4(1, 1, 1, 1, 0)).join("")
    expect(right(Pex.decode(latin1(`d5:added${str(zeros + v4(2, 2, 2, 2, 2))}e`))).added).toEqual([])
  })

  it("writes what it is given past the BEP 11 limit of 50 (the caller keeps to it), and leaves out host names", () => {
    const added = Array.from({ length: 120 }, (_, i) => pex(peer(`10.1.0.${i}`, 2000 + i), i & 0x1f))
    const m = right(Pex.decode(Pex.encode({ added: [...added, pex(peer("example.org", 80))], dropped: [peer("localhost", 1)] })))
    expect(m.added).toEqual(added)
    expect(m.dropped).toEqual([])
    expect(Pex.maxAddedPerMessage).toBe(50)
  })

  it("keeps only the low byte of flags, and writes IPv4-mapped IPv6 peers as IPv6", () => {
    const bytes = Pex.encode({ added: [pex(peer("::ffff:1.2.3.4", 9), 0x1ff)], dropped: [] })
    expect(right(Pex.decode(bytes))).toEqual({ added: [pex(peer("::ffff:1.2.3.4", 9), 0xff)], dropped: [] })
    expect(asText(bytes)).toContain(`6:added6${str("\x00".repeat(10) + "\xff\xff\x01\x02\x03\x04\x00\x09")}`)
  })

  it.prop("decode(encode(m)) is m with IPv4 peers first", [messageArb], ([m]) => {
    expect(right(Pex.decode(Pex.encode(m)))).toEqual(byFamily(m))
  })

  it.prop("the Schema codec agrees with the plain functions", [messageArb], ([m]) => {
    const bytes = Schema.encodeSync(Pex.PexMessageFromBytes)(m)
    expect(asText(bytes)).toBe(asText(Pex.encode(m)))
    expect(Schema.decodeSync(Pex.PexMessageFromBytes)(bytes)).toEqual(byFamily(m))
  })

  it("the Schema refuses to encode flags beyond a byte, and fails to decode a broken list", () => {
    const encode = Schema.encodeEither(Pex.PexMessageFromBytes)
    expect(Either.isLeft(encode({ added: [pex(peer("1.2.3.4", 1), 256)], dropped: [] }))).toBe(true)
    expect(Either.isRight(encode({ added: [pex(peer("1.2.3.4", 1), 255)], dropped: [] }))).toBe(true)
    const decoded = Schema.decodeEither(Pex.PexMessageFromBytes)(latin1("d5:added1:xe"))
    expect(Either.isLeft(decoded) && decoded.left.message).toContain("ut_pex 'added' of 1 bytes is not a multiple of 6")
  })
})
