/**
 * fast-check arbitraries of UDP tracker packets (BEP 15), every kind both ways: round trips in the codec's
 * tests, and the valid inputs that the fuzz tests mutate.
 */
import * as FastCheck from "effect/FastCheck"
import type { AnnounceEvent } from "../../src/domain/Announce.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { PeerId } from "../../src/domain/PeerId.js"
import { type Family, formatIPv4, formatIPv6 } from "../../src/protocol/CompactPeers.js"
import type { UdpRequest, UdpResponse } from "../../src/protocol/TrackerUdp.js"

const peer = (host: string, port: number) => new PeerAddress({ host, port })

const u32 = FastCheck.nat({ max: 0xffffffff })
const u64 = FastCheck.bigInt({ min: 0n, max: 0xffffffffffffffffn })
const bytes20 = FastCheck.uint8Array({ minLength: 20, maxLength: 20 })
const port = FastCheck.integer({ min: 1, max: 65535 })
const event = FastCheck.constantFrom<AnnounceEvent>("started", "completed", "stopped", "none")

export const udpRequest: FastCheck.Arbitrary<UdpRequest> = FastCheck.oneof(
  FastCheck.record({ _tag: FastCheck.constant("Connect" as const), transactionId: u32 }),
  FastCheck.record({
    _tag: FastCheck.constant("Announce" as const),
    connectionId: u64,
    transactionId: u32,
    infoHash: bytes20.map((b) => InfoHash.make(b)),
    peerId: bytes20.map((b) => PeerId.make(b)),
    downloaded: u64,
    left: u64,
    uploaded: u64,
    event,
    ip: u32,
    key: u32,
    numWant: FastCheck.integer({ min: -0x80000000, max: 0x7fffffff }),
    port: FastCheck.integer({ min: 0, max: 65535 })
  }),
  FastCheck.record({
    _tag: FastCheck.constant("Scrape" as const),
    connectionId: u64,
    transactionId: u32,
    infoHashes: FastCheck.array(bytes20.map((b) => InfoHash.make(b)), { minLength: 1, maxLength: 74 })
  })
)

const hostOf = (family: Family) =>
  family === 4
    ? FastCheck.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b))
    : FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8
    }).map((groups) => formatIPv6(new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]))))

export const udpResponse = (family: Family): FastCheck.Arbitrary<UdpResponse> =>
  FastCheck.oneof(
    FastCheck.record({ _tag: FastCheck.constant("Connect" as const), transactionId: u32, connectionId: u64 }),
    FastCheck.record({
      _tag: FastCheck.constant("Announce" as const),
      transactionId: u32,
      interval: u32,
      leechers: u32,
      seeders: u32,
      peers: FastCheck.array(FastCheck.tuple(hostOf(family), port).map(([h, p]) => peer(h, p)), { maxLength: 40 })
    }),
    FastCheck.record({
      _tag: FastCheck.constant("Scrape" as const),
      transactionId: u32,
      files: FastCheck.array(FastCheck.record({ complete: u32, downloaded: u32, incomplete: u32 }), { maxLength: 74 })
    }),
    FastCheck.record({ _tag: FastCheck.constant("Error" as const), transactionId: u32, message: FastCheck.string({ unit: "grapheme" }) })
  )
