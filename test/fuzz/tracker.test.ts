/**
 * Fuzzing what trackers send: HTTP announce bodies (src/protocol/TrackerHttp.ts `decodeAnnounce`, under
 * random peer and size limits), UDP packets both ways (src/protocol/TrackerUdp.ts `decodeResponse`,
 * `decodeRequest`, the latter being what the embedded tracker reads) and compact peer lists and address
 * text (src/protocol/CompactPeers.ts). Inputs: arbitrary bytes, bencode soup in the response's keys, and
 * mutations of what the encoders write. (HTTP scrape responses have no decoder yet.)
 *
 * Each must answer with a value or a `TrackerCodecError` of a known reason, in bounded time. What they
 * accept must be a valid response by its Schema, keep to the peer limit with connectable ports, and
 * (for the fixed-layout UDP packets) re-encode to the bytes it came from.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { AnnounceResponse } from "../../src/domain/Announce.js"
import { TrackerCodecError, TrackerCodecErrorReason } from "../../src/domain/Errors.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { encode } from "../../src/protocol/Bencode.js"
import { canonicalHost, decodeCompact, type Family, formatIPv4, formatIPv6, parseIp } from "../../src/protocol/CompactPeers.js"
import {
  type AnnounceDecodeOptions,
  decodeAnnounce,
  defaultMaxBytes,
  defaultMaxPeers,
  encodeAnnounceResponse,
  encodeFailure
} from "../../src/protocol/TrackerHttp.js"
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  UdpRequest,
  UdpResponse
} from "../../src/protocol/TrackerUdp.js"
import { udpRequest, udpResponse } from "../support/trackerArbitraries.js"
import { mutated } from "./mutations.js"
import { anyBytes, bencodeTokens, bencodeValue, fuzz, runDecoder, tokenSoup } from "./support.js"

const isReason = Schema.is(TrackerCodecErrorReason)
const isAnnounce = Schema.is(AnnounceResponse)
const isUdpResponse = Schema.is(UdpResponse)
const isUdpRequest = Schema.is(UdpRequest)

const expectCodecError = (e: unknown): void => {
  expect(e).toBeInstanceOf(TrackerCodecError)
  if (e instanceof TrackerCodecError) expect(isReason(e.reason), e.reason).toBe(true)
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

const expectConnectable = (peers: ReadonlyArray<PeerAddress>, limit: number) => {
  expect(peers.length).toBeLessThanOrEqual(limit)
  for (const p of peers) {
    expect(p).toBeInstanceOf(PeerAddress)
    expect(p.port >= 1 && p.port <= 65535 && Number.isInteger(p.port), `port ${p.port}`).toBe(true)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

const ipv4 = FastCheck.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b))
const ipv6 = FastCheck.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b))
const port = FastCheck.oneof(FastCheck.integer({ min: 1, max: 65535 }), FastCheck.constantFrom(1, 6881, 65535))

const peersOf = (hosts: FastCheck.Arbitrary<string>) =>
  FastCheck.array(FastCheck.tuple(hosts, port).map(([host, p]) => new PeerAddress({ host, port: p })), { maxLength: 20 })

const responseKeys = [
  "interval", "min interval", "complete", "incomplete", "tracker id", "warning message", "peers", "peers6",
  "failure reason", "ip", "port"
]

const httpBodies: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  FastCheck.tuple(
    FastCheck.record(
      {
        interval: FastCheck.nat({ max: 2 ** 40 }),
        minInterval: FastCheck.nat(),
        trackerId: FastCheck.string(),
        complete: FastCheck.nat(),
        incomplete: FastCheck.nat(),
        warning: FastCheck.string(),
        peers: peersOf(FastCheck.oneof(ipv4, ipv6, FastCheck.domain()))
      },
      { requiredKeys: ["interval", "peers"] }
    ),
    FastCheck.boolean()
  ).map(([res, compact]) => encodeAnnounceResponse(res, { compact })),
  FastCheck.string({ maxLength: 60 }).map(encodeFailure),
  bencodeValue(responseKeys).map(encode)
)

const announceOptions: FastCheck.Arbitrary<AnnounceDecodeOptions | undefined> = FastCheck.option(
  FastCheck.record(
    { maxPeers: FastCheck.integer({ min: -1, max: 50 }), maxBytes: FastCheck.integer({ min: 0, max: 5000 }) },
    { requiredKeys: [] }
  ),
  { nil: undefined }
)

const udpResponses = (family: Family): FastCheck.Arbitrary<Uint8Array> =>
  udpResponse(family).map((res) => encodeResponse(res, family))

const udpRequests: FastCheck.Arbitrary<Uint8Array> = udpRequest.map(encodeRequest)

// ---------------------------------------------------------------------------------------------------------
// Checks

const checkAnnounce = ([body, options]: readonly [Uint8Array, AnnounceDecodeOptions | undefined]): void => {
  const result = runDecoder("decodeAnnounce", () => decodeAnnounce(body, options))
  if (Either.isLeft(result)) {
    expectCodecError(result.left)
    if (body.length > (options?.maxBytes ?? defaultMaxBytes)) expect(result.left.reason).toBe("TooLarge")
    return
  }
  expect(isAnnounce(result.right)).toBe(true)
  expectConnectable(result.right.peers, Math.max(0, options?.maxPeers ?? defaultMaxPeers))
}

const checkUdpResponse = ([packet, family]: readonly [Uint8Array, Family]): void => {
  const result = runDecoder("TrackerUdp.decodeResponse", () => decodeResponse(packet, family))
  if (Either.isLeft(result)) return expectCodecError(result.left)
  const res = result.right
  expect(isUdpResponse(res)).toBe(true)
  if (res._tag === "Announce") expectConnectable(res.peers, Infinity)
  if (res._tag === "Connect" || res._tag === "Scrape") {
    const again = encodeResponse(res, family)
    expect(same(again, packet.subarray(0, again.length))).toBe(true)
  }
}

const checkUdpRequest = (packet: Uint8Array): void => {
  const result = runDecoder("TrackerUdp.decodeRequest", () => decodeRequest(packet))
  if (Either.isLeft(result)) return expectCodecError(result.left)
  expect(isUdpRequest(result.right)).toBe(true)
  const again = encodeRequest(result.right)
  expect(same(again, packet.subarray(0, again.length))).toBe(true)
}

const checkCompact = ([list, family, limit]: readonly [Uint8Array, Family, number]): void => {
  const result = runDecoder("decodeCompact", () => decodeCompact(list, family, limit))
  if (Either.isLeft(result)) return expectCodecError(result.left)
  expectConnectable(result.right, limit)
  for (const p of result.right) expect(parseIp(p.host)?.family).toBe(family)
}

const checkHostText = (host: string): void => {
  const ip = runDecoder("parseIp", () => parseIp(host))
  if (ip !== undefined) expect(ip.bytes.length).toBe(ip.family === 4 ? 4 : 16)
  const canonical = runDecoder("canonicalHost", () => canonicalHost(host))
  expect(canonicalHost(canonical)).toBe(canonical)
}

const family = FastCheck.constantFrom<Family>(4, 6)

const responseTokens = bencodeTokens(responseKeys)

const hostText = FastCheck.oneof(
  FastCheck.string({ maxLength: 60 }),
  FastCheck.array(
    FastCheck.constantFrom("::", ":", ".", "[", "]", "0", "1", "255", "256", "ffff", "FFFF", "a", "01", "::ffff:", "1.2.3.4", "%eth0"),
    { maxLength: 16 }
  ).map((p) => p.join("")),
  FastCheck.oneof(FastCheck.ipV4(), FastCheck.ipV6(), FastCheck.ipV4Extended())
)

describe("fuzz: tracker responses", () => {
  fuzz("decodeAnnounce: arbitrary bytes", FastCheck.tuple(anyBytes, announceOptions), checkAnnounce, 500)

  fuzz("decodeAnnounce: response token soup", FastCheck.tuple(tokenSoup(responseTokens), announceOptions), checkAnnounce, 500)

  fuzz(
    "decodeAnnounce: mutations of valid responses",
    FastCheck.tuple(mutated(httpBodies, { bencode: true }), announceOptions),
    checkAnnounce,
    500
  )

  fuzz(
    "TrackerUdp.decodeResponse: arbitrary and mutated packets",
    family.chain((f) =>
      FastCheck.tuple(FastCheck.oneof(anyBytes, mutated(udpResponses(f), { bencode: false })), FastCheck.constant(f))
    ),
    checkUdpResponse,
    600
  )

  fuzz(
    "TrackerUdp.decodeRequest: arbitrary and mutated packets",
    FastCheck.oneof(anyBytes, mutated(udpRequests, { bencode: false })),
    checkUdpRequest,
    600
  )

  fuzz(
    "decodeCompact: arbitrary lists, any limit",
    FastCheck.tuple(anyBytes, family, FastCheck.integer({ min: 0, max: 1000 })),
    checkCompact,
    400
  )

  fuzz("parseIp and canonicalHost: arbitrary and address-like text", hostText, checkHostText, 600)
})
