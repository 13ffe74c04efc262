import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import type { AnnounceRequest } from "../../src/domain/Announce.js"
import type { TrackerCodecError } from "../../src/domain/Errors.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { PeerId } from "../../src/domain/PeerId.js"
import type { Family } from "../../src/protocol/CompactPeers.js"
import { udpRequest, udpResponse } from "../support/trackerArbitraries.js"
import {
  decodeRequest,
  decodeResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeRequest,
  encodeResponse,
  encodeScrapeResponse,
  fromAnnounceRequest,
  toAnnounceResponse
} from "../../src/protocol/TrackerUdp.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"))
const peer = (host: string, port: number) => new PeerAddress({ host, port })

const reasonOf = <A>(e: Either.Either<A, TrackerCodecError>): string =>
  Either.match(e, { onLeft: (l) => l.reason, onRight: () => "Right" })

const right = <A>(e: Either.Either<A, TrackerCodecError>): A =>
  Either.getOrThrowWith(e, (l) => new Error(`expected Right, got ${l.reason}: ${l.detail}`))

const infoHash = InfoHash.make(new Uint8Array(20).map((_, i) => i + 1))
const peerId = PeerId.make(new Uint8Array(Buffer.from("-EF0100-abcdefghijkl", "latin1")))

describe("exact bytes", () => {
  it("of a connect request", () => {
    expect(hex(encodeConnectRequest({ transactionId: 0x12345678 }))).toBe("0000041727101980" + "00000000" + "12345678")
  })

  it("of an announce request", () => {
    const bytes = encodeAnnounceRequest({
      connectionId: 0x0102030405060708n,
      transactionId: 0xcafebabe,
      infoHash,
      peerId,
      downloaded: 1n,
      left: 0xffffffffffffffffn,
      uploaded: 2n ** 40n,
      event: "started",
      ip: 0x7f000001,
      key: 0xdeadbeef,
      numWant: -1,
      port: 6881
    })
    expect(hex(bytes)).toBe(
      "0102030405060708" + "00000001" + "cafebabe" + hex(infoHash) + hex(peerId) +
        "0000000000000001" + "ffffffffffffffff" + "0000010000000000" +
        "00000002" + "7f000001" + "deadbeef" + "ffffffff" + "1ae1"
    )
  })

  it("of responses, decoded", () => {
    expect(right(decodeResponse(fromHex("00000000 00000007 1122334455667788"), 4))).toEqual({
      _tag: "Connect",
      transactionId: 7,
      connectionId: 0x1122334455667788n
    })
    expect(right(decodeResponse(fromHex("00000001 00000007 00000708 00000003 00000005 01020304 1ae1 0a000001 0000"), 4)))
      .toEqual({ _tag: "Announce", transactionId: 7, interval: 1800, leechers: 3, seeders: 5, peers: [peer("1.2.3.4", 6881)] })
    expect(right(decodeResponse(fromHex("00000001 00000007 00000708 00000003 00000005" + "20010db8" + "00".repeat(11) + "01 0050"), 6)))
      .toEqual({ _tag: "Announce", transactionId: 7, interval: 1800, leechers: 3, seeders: 5, peers: [peer("2001:db8::1", 80)] })
    expect(right(decodeResponse(fromHex("00000002 00000007 00000001 00000002 00000003"), 4))).toEqual({
      _tag: "Scrape",
      transactionId: 7,
      files: [{ complete: 1, downloaded: 2, incomplete: 3 }]
    })
    expect(right(decodeResponse(fromHex("00000003 00000007 6e6f7065 ff"), 4))).toEqual({
      _tag: "Error",
      transactionId: 7,
      message: "nope\ufffd"
    })
  })

  it("clamps counters above u32 instead of wrapping them", () => {
    const bytes = encodeScrapeResponse({ transactionId: 1, files: [{ complete: 2 ** 33, downloaded: 0, incomplete: 4 }] })
    expect(hex(bytes)).toBe("00000002" + "00000001" + "ffffffff" + "00000000" + "00000004")
  })
})

describe("malformed packets", () => {
  it("short responses", () => {
    for (let n = 0; n < 8; n++) expect(reasonOf(decodeResponse(new Uint8Array(n), 4))).toBe("Malformed")
    expect(reasonOf(decodeResponse(fromHex("00000000 00000007 11223344"), 4))).toBe("Malformed")
    expect(reasonOf(decodeResponse(fromHex("00000001 00000007 00000708 00000003 000000"), 4))).toBe("Malformed")
  })

  it("peer lists and scrape entries of a bad length", () => {
    const announce = "00000001 00000007 00000708 00000003 00000005"
    expect(reasonOf(decodeResponse(fromHex(announce + "01020304 1ae1 ff"), 4))).toBe("Malformed")
    expect(reasonOf(decodeResponse(fromHex(announce + "01020304 1ae1"), 6))).toBe("Malformed")
    expect(reasonOf(decodeResponse(fromHex("00000002 00000007 00000001 00000002"), 4))).toBe("Malformed")
  })

  it("unknown actions", () => {
    expect(reasonOf(decodeResponse(fromHex("00000004 00000007"), 4))).toBe("Malformed")
    expect(reasonOf(decodeResponse(fromHex("01000000 00000007 1122334455667788"), 4))).toBe("Malformed")
    expect(reasonOf(decodeRequest(fromHex("0000041727101980 00000005 00000001")))).toBe("Malformed")
  })

  it("bad requests", () => {
    expect(reasonOf(decodeRequest(new Uint8Array(15)))).toBe("Malformed")
    expect(reasonOf(decodeRequest(fromHex("0000041727101981 00000000 00000001")))).toBe("Malformed")
    const announce = encodeAnnounceRequest({
      connectionId: 1n, transactionId: 2, infoHash, peerId, downloaded: 0n, left: 0n, uploaded: 0n,
      event: "none", ip: 0, key: 0, numWant: -1, port: 1
    })
    expect(reasonOf(decodeRequest(announce.subarray(0, 97)))).toBe("Malformed")
    const badEvent = new Uint8Array(announce)
    badEvent[83] = 4
    expect(reasonOf(decodeRequest(badEvent))).toBe("Malformed")
    const scrape = (n: number) => encodeRequest({ _tag: "Scrape", connectionId: 1n, transactionId: 2, infoHashes: Array(n).fill(infoHash) })
    expect(reasonOf(decodeRequest(scrape(0)))).toBe("Malformed")
    expect(reasonOf(decodeRequest(scrape(74)))).toBe("Right")
    expect(reasonOf(decodeRequest(scrape(75)))).toBe("Malformed")
    expect(reasonOf(decodeRequest(scrape(1).subarray(0, 35)))).toBe("Malformed")
  })

  it("an announce request with BEP 41 options after it is accepted", () => {
    const announce = encodeAnnounceRequest({
      connectionId: 1n, transactionId: 2, infoHash, peerId, downloaded: 0n, left: 0n, uploaded: 0n,
      event: "stopped", ip: 0, key: 0, numWant: 10, port: 1
    })
    const withOptions = new Uint8Array([...announce, 2, 3, 0x2f, 0x61, 0x62, 0])
    expect(right(decodeRequest(withOptions))).toMatchObject({ _tag: "Announce", event: "stopped", numWant: 10 })
  })
})

describe("round trips", () => {
  it.prop("requests", [udpRequest], ([req]) => {
    expect(right(decodeRequest(encodeRequest(req)))).toEqual(req)
  })

  it.prop("IPv4 responses", [udpResponse(4)], ([res]) => {
    expect(right(decodeResponse(encodeResponse(res, 4), 4))).toEqual(res)
  })

  it.prop("IPv6 responses", [udpResponse(6)], ([res]) => {
    expect(right(decodeResponse(encodeResponse(res, 6), 6))).toEqual(res)
  })
})

describe("decoding never throws", () => {
  it.prop("responses from arbitrary bytes", [FastCheck.uint8Array({ maxLength: 120 }), FastCheck.constantFrom<Family>(4, 6)], ([b, family]) => {
    expect(["Right", "Malformed"]).toContain(reasonOf(decodeResponse(b, family)))
  })

  it.prop("responses with a known action", [FastCheck.nat(3), FastCheck.uint8Array({ maxLength: 120 })], ([action, b]) => {
    const packet = new Uint8Array([0, 0, 0, action, ...b])
    const result = decodeResponse(packet, 4)
    expect(["Right", "Malformed"]).toContain(reasonOf(result))
    if (packet.length >= 20 || action !== 1) {
      // Only the length rules can refuse a packet whose action is known.
      const n = packet.length
      const valid = n >= 8 &&
        (action === 0 ? n >= 16 : action === 1 ? (n - 20) % 6 === 0 : action === 2 ? (n - 8) % 12 === 0 : true)
      expect(Either.isRight(result)).toBe(valid)
    }
  })

  it.prop("requests from arbitrary bytes", [FastCheck.uint8Array({ maxLength: 200 })], ([b]) => {
    expect(["Right", "Malformed"]).toContain(reasonOf(decodeRequest(b)))
  })
})

describe("between packets and the announce domain", () => {
  it("builds a UDP announce from an AnnounceRequest", () => {
    const req: AnnounceRequest = {
      infoHash, peerId, port: 6881, uploaded: 10, downloaded: 20, left: 30, event: "completed",
      numwant: -5, key: 0xffffffff, compact: true, ip: "192.168.1.2"
    }
    expect(fromAnnounceRequest(req, 9n, 8)).toEqual({
      _tag: "Announce", connectionId: 9n, transactionId: 8, infoHash, peerId, downloaded: 20n, left: 30n, uploaded: 10n,
      event: "completed", ip: 0xc0a80102, key: 0xffffffff, numWant: -1, port: 6881
    })
    expect(fromAnnounceRequest({ ...req, ip: "::1", numwant: 200 }, 9n, 8)).toMatchObject({ ip: 0, numWant: 200 })
  })

  it("turns an announce response into the domain response", () => {
    expect(toAnnounceResponse({ _tag: "Announce", transactionId: 1, interval: 60, leechers: 2, seeders: 3, peers: [peer("1.2.3.4", 5)] }))
      .toEqual({ interval: 60, complete: 3, incomplete: 2, peers: [peer("1.2.3.4", 5)] })
  })
})
