import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { AnnounceRequest, AnnounceResponse } from "../../src/domain/Announce.js"
import { type Bencode, bytes, dict, equals } from "../../src/domain/Bencode.js"
import type { TrackerCodecError } from "../../src/domain/Errors.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { PeerId } from "../../src/domain/PeerId.js"
import { encode } from "../../src/protocol/Bencode.js"
import { formatIPv4, formatIPv6, parseIp, parseIPv4, parseIPv6 } from "../../src/protocol/CompactPeers.js"
import {
  announceFromBencode,
  AnnounceResponseFromBencode,
  announceUrl,
  decodeAnnounce,
  encodeAnnounceResponse,
  encodeFailure,
  percentEncode,
  scrapeUrl
} from "../../src/protocol/TrackerHttp.js"

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const peer = (host: string, port: number) => new PeerAddress({ host, port })

const reasonOf = <A>(e: Either.Either<A, TrackerCodecError>): string =>
  Either.match(e, { onLeft: (l) => l.reason, onRight: () => "Right" })

const right = <A>(e: Either.Either<A, TrackerCodecError>): A =>
  Either.getOrThrowWith(e, (l) => new Error(`expected Right, got ${l.reason}: ${l.detail}`))

const percentDecode = (s: string): Uint8Array =>
  new Uint8Array(Buffer.from(s.replace(/%([0-9A-F]{2})|(.)/gs, (_, hex, c) => hex ?? c.charCodeAt(0).toString(16).padStart(2, "0")), "hex"))

// 0x00, space, '~', 0xFF, '%', unreserved characters, reserved ones and a high byte.
const binaryHash = InfoHash.make(
  new Uint8Array([0x00, 0x20, 0x7e, 0xff, 0x25, 0x41, 0x7a, 0x30, 0x39, 0x2e, 0x2d, 0x5f, 0x7e, 0x2f, 0x3f, 0x26, 0x3d, 0x2b, 0x80, 0x7f])
)
const binaryHashEncoded = "%00%20~%FF%25Az09.-_~%2F%3F%26%3D%2B%80%7F"
const peerId = PeerId.make(latin1("-EF0100-abcdefghijkl"))

const request: AnnounceRequest = {
  infoHash: binaryHash,
  peerId,
  port: 6881,
  uploaded: 0,
  downloaded: 1024,
  left: 123456789,
  event: "started",
  numwant: 50,
  key: 0xdeadbeef,
  compact: true
}

const expectedQuery = `info_hash=${binaryHashEncoded}&peer_id=-EF0100-abcdefghijkl&port=6881&uploaded=0` +
  `&downloaded=1024&left=123456789&compact=1&numwant=50&key=DEADBEEF&event=started`

describe("announceUrl", () => {
  it("encodes binary bytes exactly", () => {
    expect(announceUrl("http://t.example/announce", request)).toBe(`http://t.example/announce?${expectedQuery}`)
  })

  it("extends an existing query and drops the fragment", () => {
    expect(announceUrl("https://t.example/announce.php?passkey=abc#top", request)).toBe(
      `https://t.example/announce.php?passkey=abc&${expectedQuery}`
    )
    expect(announceUrl("http://t.example/a?", request)).toBe(`http://t.example/a?${expectedQuery}`)
    expect(announceUrl("http://t.example/a?x=1&", request)).toBe(`http://t.example/a?x=1&${expectedQuery}`)
  })

  it("leaves out event none and a negative numwant, adds trackerid and ip", () => {
    const url = announceUrl("http://t/announce", {
      ...request,
      event: "none",
      numwant: -1,
      key: 0x1f,
      compact: false,
      trackerId: "a b\u00ff",
      ip: "2001:db8::1"
    })
    expect(url).toBe(
      `http://t/announce?info_hash=${binaryHashEncoded}&peer_id=-EF0100-abcdefghijkl&port=6881&uploaded=0` +
        `&downloaded=1024&left=123456789&compact=0&key=0000001F&trackerid=a%20b%FF&ip=2001%3Adb8%3A%3A1`
    )
  })

  it.prop("percent-encoding is reversible and only uses safe characters", [FastCheck.uint8Array({ maxLength: 64 })], ([b]) => {
    const s = percentEncode(b)
    expect(s).toMatch(/^[A-Za-z0-9.\-_~%]*$/)
    expect(percentDecode(s)).toEqual(b)
  })
})

describe("scrapeUrl", () => {
  it("follows the BEP 48 convention", () => {
    expect(scrapeUrl("http://t.example/announce")).toBe("http://t.example/scrape")
    expect(scrapeUrl("http://t.example:8080/x/announce.php?passkey=abc#f")).toBe("http://t.example:8080/x/scrape.php?passkey=abc")
    expect(scrapeUrl("http://t.example/a/announce?x=/announce")).toBe("http://t.example/a/scrape?x=/announce")
    expect(scrapeUrl("http://t.example/a")).toBeUndefined()
    expect(scrapeUrl("http://t.example/announce/x")).toBeUndefined()
    expect(scrapeUrl("http://announce.example")).toBeUndefined()
  })
})

describe("decodeAnnounce", () => {
  it("decodes compact IPv4 peers and the optional fields, dropping port 0", () => {
    const body = encode(
      dict([
        ["interval", 1800],
        ["min interval", 900],
        ["complete", 5],
        ["incomplete", 3],
        ["tracker id", new Uint8Array([0x00, 0xff, 0x41])],
        ["peers", new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1, 10, 0, 0, 1, 0, 0, 255, 255, 255, 255, 0xff, 0xff])]
      ])
    )
    expect(right(decodeAnnounce(body))).toEqual({
      interval: 1800,
      minInterval: 900,
      complete: 5,
      incomplete: 3,
      trackerId: "\u0000\u00ffA",
      peers: [peer("1.2.3.4", 6881), peer("255.255.255.255", 65535)]
    })
  })

  it("decodes a literal body and tolerates trailing bytes", () => {
    const body = latin1("d8:intervali60e5:peers6:\x7f\x00\x00\x01\x00\x50e\r\n")
    expect(right(decodeAnnounce(body))).toEqual({ interval: 60, peers: [peer("127.0.0.1", 80)] })
  })

  it("decodes dictionary peers", () => {
    const body = encode(
      dict([
        ["interval", 30],
        [
          "peers",
          [
            dict([["ip", bytes("10.0.0.1")], ["port", 51413], ["peer id", latin1("-XX0000-000000000000")]]),
            dict([["ip", bytes("peer.example")], ["port", 1]]),
            dict([["ip", bytes("[2001:DB8:0:0::1]")], ["port", 2]]),
            dict([["ip", bytes("10.0.0.2")], ["port", 0]]),
            dict([["ip", new Uint8Array([0xff, 0xfe])], ["port", 3]])
          ]
        ]
      ])
    )
    expect(right(decodeAnnounce(body)).peers).toEqual([peer("10.0.0.1", 51413), peer("peer.example", 1), peer("2001:db8::1", 2)])
  })

  it("rejects malformed dictionary peers", () => {
    const withPeers = (peers: Bencode) => encode(dict([["interval", 30], ["peers", peers]]))
    expect(reasonOf(decodeAnnounce(withPeers([5])))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(withPeers([dict([["ip", bytes("1.2.3.4")], ["port", bytes("80")]])])))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(withPeers([dict([["ip", bytes("1.2.3.4")], ["port", 65536]])])))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(withPeers([dict([["port", 80]])])))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(withPeers(7)))).toBe("Malformed")
  })

  it("decodes compact IPv6 peers after the IPv4 ones", () => {
    const v6 = new Uint8Array(36)
    v6.set([0x20, 0x01, 0x0d, 0xb8], 0)
    v6.set([0, 1, 0x1a, 0xe1], 14)
    v6.set([0xff, 0xff, 1, 2, 3, 4, 0, 80], 28)
    const body = encode(dict([["interval", 30], ["peers", new Uint8Array([9, 9, 9, 9, 0, 9])], ["peers6", v6]]))
    expect(right(decodeAnnounce(body)).peers).toEqual([
      peer("9.9.9.9", 9),
      peer("2001:db8::1", 6881),
      peer("::ffff:1.2.3.4", 80)
    ])
  })

  it("returns the failure reason, even as bad UTF-8", () => {
    const failure = decodeAnnounce(encodeFailure("torrent not registered"))
    expect(Either.isLeft(failure) && failure.left).toMatchObject({ reason: "Failure", detail: "torrent not registered" })
    const bad = decodeAnnounce(encode(dict([["failure reason", new Uint8Array([0x62, 0xff, 0x61])], ["interval", 5]])))
    expect(Either.isLeft(bad) && bad.left).toMatchObject({ reason: "Failure", detail: "b\ufffda" })
    const notText = decodeAnnounce(encode(dict([["failure reason", 3]])))
    expect(reasonOf(notText)).toBe("Failure")
  })

  it("returns the warning message", () => {
    const body = encode(dict([["interval", 30], ["peers", new Uint8Array()], ["warning message", bytes("slow down ✓")]]))
    expect(right(decodeAnnounce(body))).toEqual({ interval: 30, warning: "slow down ✓", peers: [] })
  })

  it("rejects compact lists of a bad length", () => {
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", 30], ["peers", new Uint8Array(7)]]))))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", 30], ["peers6", new Uint8Array(17)]]))))).toBe("Malformed")
  })

  it("rejects a missing or negative interval and bad counts", () => {
    expect(reasonOf(decodeAnnounce(encode(dict([["peers", new Uint8Array()]]))))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", -1]]))))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", bytes("30")]]))))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", 30], ["complete", -2]]))))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(encode(dict([["interval", 30], ["tracker id", 4]]))))).toBe("Malformed")
    expect(right(decodeAnnounce(encode(dict([["interval", 0]]))))).toEqual({ interval: 0, peers: [] })
  })

  it("rejects bodies that are not a bencoded dictionary", () => {
    expect(reasonOf(decodeAnnounce(latin1("d8:intervali30e5:peers6:abc")))).toBe("Bencode")
    expect(reasonOf(decodeAnnounce(new Uint8Array()))).toBe("Bencode")
    expect(reasonOf(decodeAnnounce(latin1("<html>502 Bad Gateway</html>")))).toBe("Bencode")
    expect(reasonOf(decodeAnnounce(latin1("li30ee")))).toBe("Malformed")
    expect(reasonOf(decodeAnnounce(latin1("i30e")))).toBe("Malformed")
  })

  it("rejects bodies over the size limit", () => {
    const body = encode(dict([["interval", 30]]))
    expect(reasonOf(decodeAnnounce(body, { maxBytes: body.length - 1 }))).toBe("TooLarge")
    expect(reasonOf(decodeAnnounce(body, { maxBytes: body.length }))).toBe("Right")
    expect(reasonOf(decodeAnnounce(new Uint8Array(8 * 1024 * 1024 + 1)))).toBe("TooLarge")
  })

  it("keeps at most maxPeers peers", () => {
    const many = new Uint8Array(6 * 10_001).fill(1)
    const body = encode(dict([["interval", 30], ["peers", many], ["peers6", new Uint8Array(18).fill(1)]]))
    expect(right(decodeAnnounce(body)).peers.length).toBe(10_000)
    const few = encode(dict([["interval", 30], ["peers", many.subarray(0, 12)], ["peers6", new Uint8Array(36).fill(1)]]))
    expect(right(decodeAnnounce(few, { maxPeers: 3 })).peers.map((p) => p.host)).toEqual([
      "1.1.1.1",
      "1.1.1.1",
      "101:101:101:101:101:101:101:101"
    ])
    expect(right(decodeAnnounce(few, { maxPeers: 0 })).peers).toEqual([])
  })
})

// Hosts in the canonical text the decoder produces.
const ipv4Host = FastCheck.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b))
const ipv6Host = FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8
}).map((groups) => formatIPv6(new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]))))
const hostName = FastCheck.stringMatching(/^[a-z][a-z0-9-]{0,20}\.example$/)
const port = FastCheck.integer({ min: 1, max: 65535 })
const count = FastCheck.nat({ max: 2 ** 40 })
const latin1String = FastCheck.string({ unit: FastCheck.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) })

const response = (hosts: FastCheck.Arbitrary<string>): FastCheck.Arbitrary<AnnounceResponse> =>
  FastCheck.record(
    {
      interval: count,
      minInterval: count,
      trackerId: latin1String,
      complete: count,
      incomplete: count,
      warning: FastCheck.string({ unit: "grapheme" }),
      peers: FastCheck.array(FastCheck.tuple(hosts, port).map(([h, p]) => peer(h, p)), { maxLength: 30 })
    },
    { requiredKeys: ["interval", "peers"] }
  )

describe("encodeAnnounceResponse", () => {
  it.prop("compact responses round-trip, IPv4 peers first", [response(FastCheck.oneof(ipv4Host, ipv6Host))], ([res]) => {
    const decoded = right(decodeAnnounce(encodeAnnounceResponse(res, { compact: true })))
    const byFamily = [...res.peers.filter((p) => !p.host.includes(":")), ...res.peers.filter((p) => p.host.includes(":"))]
    expect(decoded).toEqual({ ...res, peers: byFamily })
  })

  it.prop("dictionary responses round-trip in order", [response(FastCheck.oneof(ipv4Host, ipv6Host, hostName))], ([res]) => {
    expect(right(decodeAnnounce(encodeAnnounceResponse(res, { compact: false })))).toEqual(res)
  })

  it("writes the exact compact body", () => {
    const body = encodeAnnounceResponse({ interval: 60, peers: [peer("1.2.3.4", 6881), peer("::1", 80), peer("h.example", 1)] }, { compact: true })
    expect(Buffer.from(body).toString("latin1")).toBe(
      "d8:intervali60e5:peers6:\x01\x02\x03\x04\x1a\xe16:peers618:" + "\x00".repeat(15) + "\x01\x00\x50e"
    )
  })
})

describe("AnnounceResponseFromBencode", () => {
  it("decodes and encodes through the Schema", () => {
    const value = dict([["interval", 60], ["peers", new Uint8Array([1, 2, 3, 4, 0, 80])]])
    const res = Schema.decodeUnknownSync(AnnounceResponseFromBencode)(value)
    expect(res).toEqual({ interval: 60, peers: [peer("1.2.3.4", 80)] })
    expect(equals(Schema.encodeSync(AnnounceResponseFromBencode)(res), value)).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(AnnounceResponseFromBencode)(dict([["failure reason", bytes("no")]])))).toBe(true)
  })
})

// Dictionaries with the response's keys holding any kind of value.
const bencodeValue: FastCheck.Arbitrary<Bencode> = FastCheck.letrec<{ value: Bencode }>((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.integer({ min: -5, max: 70000 }),
    FastCheck.uint8Array({ maxLength: 40 }),
    FastCheck.array(tie("value"), { maxLength: 4 }),
    FastCheck.array(FastCheck.tuple(FastCheck.constantFrom("ip", "port", "peer id"), tie("value")), { maxLength: 3 }).map(
      (entries) => new Map(entries)
    )
  )
})).value
const keys = ["interval", "min interval", "complete", "incomplete", "tracker id", "warning message", "peers", "peers6", "failure reason"]
const responseLike = FastCheck.array(FastCheck.tuple(FastCheck.constantFrom(...keys), bencodeValue), { maxLength: 6 }).map(
  (entries): Bencode => new Map(entries)
)

describe("decoding never throws", () => {
  it.prop("on arbitrary bytes", [FastCheck.uint8Array({ maxLength: 200 })], ([b]) => {
    expect(["Right", "Bencode", "Malformed", "Failure"]).toContain(reasonOf(decodeAnnounce(b)))
  })

  it.prop("on arbitrary response-like values", [responseLike], ([v]) => {
    const result = announceFromBencode(v)
    expect(["Right", "Malformed", "Failure"]).toContain(reasonOf(result))
    if (Either.isRight(result)) expect(Schema.is(Schema.typeSchema(AnnounceResponseFromBencode))(result.right)).toBe(true)
  })
})

describe("IP text", () => {
  it("formats IPv6 canonically (RFC 5952)", () => {
    const v6 = (s: string) => formatIPv6(parseIPv6(s)!)
    expect(v6("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1")
    expect(v6("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1")
    expect(v6("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1")
    expect(v6("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1")
    expect(v6("::")).toBe("::")
    expect(v6("::1")).toBe("::1")
    expect(v6("fe80::")).toBe("fe80::")
    expect(v6("::ffff:192.0.2.1")).toBe("::ffff:192.0.2.1")
    expect(v6("::ffff:c000:0201")).toBe("::ffff:192.0.2.1")
  })

  it("refuses what is not an address", () => {
    for (const s of ["1::2::3", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%eth0", "1.2.3.4::", "::g"]) {
      expect(parseIPv6(s)).toBeUndefined()
    }
    for (const s of ["1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", " 1.2.3.4", ""]) expect(parseIPv4(s)).toBeUndefined()
    expect(parseIp("[::1]")?.family).toBe(6)
    expect(parseIp("example.com")).toBeUndefined()
  })

  it.prop("IPv6 text round-trips through bytes", [ipv6Host], ([h]) => {
    expect(formatIPv6(parseIPv6(h)!)).toBe(h)
  })
})
