/**
 * fast-check arbitraries of DHT messages (BEP 5 KRPC with BEP 32, 42 and 43), every kind: round trips in
 * the codec's tests, the valid inputs that the fuzz tests mutate, and messages for the DHT's own tests.
 *
 * They make only what `decode` can give back, so that `decode(encode(m))` equals `m`: hosts in canonical
 * text, ports 1..65535 (0 only with implied_port), IPv4 nodes in `nodes` and IPv6 ones in `nodes6`,
 * method names of unknown queries in latin1 and never a known one.
 */
import * as FastCheck from "effect/FastCheck"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import { type Family, formatIPv4, formatIPv6 } from "../../src/protocol/CompactPeers.js"
import type {
  CompactNode,
  ErrorMessage,
  KrpcMessage,
  Query,
  QueryMessage,
  Response,
  ResponseMessage,
  Want
} from "../../src/protocol/Krpc.js"
import { encode } from "../../src/protocol/Krpc.js"

const bytes = (min: number, max: number) => FastCheck.uint8Array({ minLength: min, maxLength: max })

/** 20 bytes: a node id, target or info hash. */
export const id20: FastCheck.Arbitrary<Uint8Array> = bytes(20, 20)

/** Mostly the 2 to 4 bytes clients use, sometimes anything from 1 to 32. */
export const transactionId: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(bytes(2, 4), bytes(1, 32))

export const port: FastCheck.Arbitrary<number> = FastCheck.oneof(
  FastCheck.integer({ min: 1, max: 65535 }),
  FastCheck.constantFrom(1, 6881, 65535)
)

/** An IPv6 address with runs of zero groups now and then, so that "::" gets written. */
const ipv6Bytes = FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8
}).map((groups) => new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff])))

export const host = (family: Family): FastCheck.Arbitrary<string> =>
  family === 4 ? bytes(4, 4).map((b) => formatIPv4(b)) : ipv6Bytes.map((b) => formatIPv6(b))

export const compactNode = (family: Family): FastCheck.Arbitrary<CompactNode> =>
  FastCheck.record({ id: id20, host: host(family), port })

export const peer = (family: Family): FastCheck.Arbitrary<PeerAddress> =>
  FastCheck.tuple(host(family), port).map(([h, p]) => new PeerAddress({ host: h, port: p }))

export const anyPeer: FastCheck.Arbitrary<PeerAddress> = FastCheck.oneof(peer(4), peer(6))

const want: FastCheck.Arbitrary<ReadonlyArray<Want>> = FastCheck.array(FastCheck.constantFrom<Want>("n4", "n6"), {
  maxLength: 3
})

const knownMethods = new Set(["ping", "find_node", "get_peers", "announce_peer"])

/** Method names of other queries: BEP 44/51 ones, plain ASCII, and any latin1 text. */
const unknownMethod: FastCheck.Arbitrary<string> = FastCheck.oneof(
  FastCheck.constantFrom("get", "put", "sample_infohashes", "vote", "PING", ""),
  FastCheck.stringMatching(/^[a-z_]{1,20}$/),
  FastCheck.string({ unit: FastCheck.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 16 })
).filter((m) => !knownMethods.has(m))

/** One arbitrary per kind of query. */
export const queries = {
  Ping: id20.map((id): Query => ({ _tag: "Ping", id })),
  FindNode: FastCheck.record({ id: id20, target: id20, want }, { requiredKeys: ["id", "target"] }).map(
    (q): Query => ({ _tag: "FindNode", ...q })
  ),
  GetPeers: FastCheck.record({ id: id20, infoHash: id20, want }, { requiredKeys: ["id", "infoHash"] }).map(
    (q): Query => ({ _tag: "GetPeers", ...q })
  ),
  AnnouncePeer: FastCheck.boolean().chain((impliedPort) =>
    FastCheck.record({
      id: id20,
      infoHash: id20,
      // With implied_port the port is not used, and 0 is allowed.
      port: impliedPort ? FastCheck.integer({ min: 0, max: 65535 }) : port,
      token: bytes(0, 20),
      impliedPort: FastCheck.constant(impliedPort)
    }).map((q): Query => ({ _tag: "AnnouncePeer", ...q }))
  ),
  Unknown: FastCheck.record({ id: id20, method: unknownMethod }).map((q): Query => ({ _tag: "Unknown", ...q }))
} as const

export const query: FastCheck.Arbitrary<Query> = FastCheck.oneof(...Object.values(queries))

const version = bytes(0, 8)

export const queryMessage = (q: FastCheck.Arbitrary<Query> = query): FastCheck.Arbitrary<QueryMessage> =>
  FastCheck.record(
    { transactionId, query: q, readOnly: FastCheck.boolean(), version },
    { requiredKeys: ["transactionId", "query", "readOnly"] }
  ).map((m): QueryMessage => ({ _tag: "Query", ...m }))

export const response: FastCheck.Arbitrary<Response> = FastCheck.record(
  {
    id: id20,
    nodes: FastCheck.array(compactNode(4), { maxLength: 8 }),
    nodes6: FastCheck.array(compactNode(6), { maxLength: 8 }),
    values: FastCheck.array(anyPeer, { maxLength: 20 }),
    token: bytes(0, 20)
  },
  { requiredKeys: ["id"] }
)

export const responseMessage: FastCheck.Arbitrary<ResponseMessage> = FastCheck.record(
  { transactionId, response, ip: anyPeer, version },
  { requiredKeys: ["transactionId", "response"] }
).map((m): ResponseMessage => ({ _tag: "Response", ...m }))

export const errorMessage: FastCheck.Arbitrary<ErrorMessage> = FastCheck.record({
  transactionId,
  code: FastCheck.oneof(
    FastCheck.constantFrom(201, 202, 203, 204),
    FastCheck.integer(),
    FastCheck.maxSafeInteger(),
    FastCheck.constant(Number.MIN_SAFE_INTEGER)
  ),
  message: FastCheck.oneof(FastCheck.string({ unit: "grapheme", maxLength: 60 }), FastCheck.constant("A Generic Error Ocurred"))
}).map((m): ErrorMessage => ({ _tag: "Error", ...m }))

/** One arbitrary per kind of message, each query method on its own. */
export const messageKinds: Readonly<Record<string, FastCheck.Arbitrary<KrpcMessage>>> = {
  "ping query": queryMessage(queries.Ping),
  "find_node query": queryMessage(queries.FindNode),
  "get_peers query": queryMessage(queries.GetPeers),
  "announce_peer query": queryMessage(queries.AnnouncePeer),
  "query of an unknown method": queryMessage(queries.Unknown),
  response: responseMessage,
  error: errorMessage
}

export const krpcMessage: FastCheck.Arbitrary<KrpcMessage> = FastCheck.oneof(queryMessage(), responseMessage, errorMessage)

/** Valid datagrams: what the fuzz tests mutate. */
export const datagram: FastCheck.Arbitrary<Uint8Array> = krpcMessage.map(encode)
