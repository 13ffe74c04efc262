/**
 * The DHT message codec (src/protocol/Krpc.ts, KrpcNodes.ts): every example of BEP 5 decoded and
 * re-encoded byte for byte, the fields of BEP 32 (`nodes6`, `want`), BEP 42 (`ip`) and BEP 43 (`ro`) in
 * exact bytes, round trips of every kind of message, every rejection with its reason (and the transaction
 * id that lets the server answer error 203), what is skipped rather than refused, and the Schema codec
 * agreeing with the plain functions.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { KrpcError } from "../../src/domain/Errors.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as Bencode from "../../src/protocol/Bencode.js"
import * as Krpc from "../../src/protocol/Krpc.js"
import { mutated } from "../fuzz/mutations.js"
import * as arb from "../support/krpcArbitraries.js"

const b = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const text = (u: Uint8Array) => Buffer.from(u).toString("latin1")
const peer = (host: string, port: number) => new PeerAddress({ host, port })

const right = (bytes: Uint8Array | string): Krpc.KrpcMessage =>
  Either.getOrThrowWith(Krpc.decode(typeof bytes === "string" ? b(bytes) : bytes), (e) =>
    new Error(`expected a message, got ${e.reason}: ${e.detail}`))

const left = (bytes: Uint8Array | string): KrpcError => {
  const result = Krpc.decode(typeof bytes === "string" ? b(bytes) : bytes)
  if (Either.isRight(result)) throw new Error(`expected a KrpcError, got a ${result.right._tag}`)
  return result.left
}

const aa = b("aa")
const abc = b("abcdefghij0123456789")
const mno = b("mnopqrstuvwxyz123456")
const digitsFirst = b("0123456789abcdefghij")
/** Compact node info: id "mnopqrstuvwxyz123456" at 127.0.0.1:6881. */
const node4 = "mnopqrstuvwxyz123456\x7f\x00\x00\x01\x1a\xe1"
const node4Value: Krpc.CompactNode = { id: mno, host: "127.0.0.1", port: 6881 }

/**
 * The shapes agreed with the DHT engine. The examples below go both ways between these and the codec's
 * Schema-derived types, so the compiler holds the two together.
 */
type Want = "n4" | "n6"
type AgreedQuery =
  | { readonly _tag: "Ping"; readonly id: Uint8Array }
  | { readonly _tag: "FindNode"; readonly id: Uint8Array; readonly target: Uint8Array; readonly want?: ReadonlyArray<Want> }
  | { readonly _tag: "GetPeers"; readonly id: Uint8Array; readonly infoHash: Uint8Array; readonly want?: ReadonlyArray<Want> }
  | {
    readonly _tag: "AnnouncePeer"
    readonly id: Uint8Array
    readonly infoHash: Uint8Array
    readonly port: number
    readonly token: Uint8Array
    readonly impliedPort: boolean
  }
  | { readonly _tag: "Unknown"; readonly id: Uint8Array; readonly method: string }
interface AgreedResponse {
  readonly id: Uint8Array
  readonly nodes?: ReadonlyArray<Krpc.CompactNode>
  readonly nodes6?: ReadonlyArray<Krpc.CompactNode>
  readonly values?: ReadonlyArray<PeerAddress>
  readonly token?: Uint8Array
}
type AgreedMessage =
  | {
    readonly _tag: "Query"
    readonly transactionId: Uint8Array
    readonly query: AgreedQuery
    readonly readOnly: boolean
    readonly version?: Uint8Array
  }
  | {
    readonly _tag: "Response"
    readonly transactionId: Uint8Array
    readonly response: AgreedResponse
    readonly ip?: PeerAddress
    readonly version?: Uint8Array
  }
  | { readonly _tag: "Error"; readonly transactionId: Uint8Array; readonly code: number; readonly message: string }

describe("the examples of BEP 5, decoded and re-encoded byte for byte", () => {
  const examples: ReadonlyArray<readonly [string, string, AgreedMessage]> = [
    ["ping query", "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", Krpc.ping(aa, abc)],
    ["ping response", "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re", Krpc.response(aa, { id: mno })],
    [
      "find_node query",
      "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
      Krpc.findNode(aa, abc, mno)
    ],
    [
      "find_node response (one real node for the BEP's placeholder)",
      `d1:rd2:id20:0123456789abcdefghij5:nodes26:${node4}e1:t2:aa1:y1:re`,
      Krpc.response(aa, { id: digitsFirst, nodes: [node4Value] })
    ],
    [
      "get_peers query",
      "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
      Krpc.getPeers(aa, abc, mno)
    ],
    [
      "get_peers response with peers",
      "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re",
      Krpc.response(aa, {
        id: abc,
        token: b("aoeusnth"),
        values: [peer("97.120.106.101", 11893), peer("105.100.104.116", 28269)]
      })
    ],
    [
      "get_peers response with closest nodes (one real node for the placeholder)",
      `d1:rd2:id20:abcdefghij01234567895:nodes26:${node4}5:token8:aoeusnthe1:t2:aa1:y1:re`,
      Krpc.response(aa, { id: abc, nodes: [node4Value], token: b("aoeusnth") })
    ],
    [
      "announce_peer query with implied_port",
      "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz123456" +
        "4:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
      Krpc.announcePeer(aa, abc, mno, 6881, b("aoeusnth"), true)
    ],
    [
      "announce_peer query of the BEP's first version, without implied_port",
      "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
      Krpc.announcePeer(aa, abc, mno, 6881, b("aoeusnth"), false)
    ],
    ["announce_peer response", "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re", Krpc.response(aa, { id: mno })],
    ["generic error", "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee", Krpc.error(aa, Krpc.ErrorCode.Generic, "A Generic Error Ocurred")]
  ]
  for (const [name, bencoded, message] of examples) {
    it(name, () => {
      const decoded: AgreedMessage = right(bencoded)
      expect(decoded).toEqual(message)
      expect(text(Krpc.encode(message))).toBe(bencoded)
    })
  }

  it("the literal placeholder 'def456...' (9 bytes) is refused, with the transaction id for error 203", () => {
    for (const bencoded of [
      "d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re",
      "d1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re"
    ]) {
      const e = left(bencoded)
      expect([e.reason, e.detail]).toEqual(["Malformed", "response: 'nodes': compact IPv4 node info of 9 bytes is not a multiple of 26"])
      expect(e.transactionId).toEqual(aa)
    }
  })
})

describe("BEP 32, 42 and 43 fields in exact bytes", () => {
  const v6 = "mnopqrstuvwxyz123456" + "\x20\x01\x0d\xb8" + "\x00".repeat(11) + "\x01" + "\x00\x50"

  it("nodes6 (38-byte entries) beside nodes, and want in find_node and get_peers", () => {
    const res = `d1:rd2:id20:abcdefghij01234567895:nodes26:${node4}6:nodes638:${v6}e1:t2:aa1:y1:re`
    const message = Krpc.response(aa, { id: abc, nodes: [node4Value], nodes6: [{ id: mno, host: "2001:db8::1", port: 80 }] })
    expect(right(res)).toEqual(message)
    expect(text(Krpc.encode(message))).toBe(res)
    const find = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n42:n6ee1:q9:find_node1:t2:aa1:y1:qe"
    expect(right(find)).toEqual(Krpc.findNode(aa, abc, mno, { want: ["n4", "n6"] }))
    expect(text(Krpc.encode(Krpc.findNode(aa, abc, mno, { want: ["n4", "n6"] })))).toBe(find)
    const get = Krpc.getPeers(aa, abc, mno, { want: ["n6"] })
    expect(text(Krpc.encode(get))).toBe(
      "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:wantl2:n6ee1:q9:get_peers1:t2:aa1:y1:qe"
    )
    expect(right(Krpc.encode(get))).toEqual(get)
  })

  it("ip in a response: the requester's IPv4 or IPv6 address and port, top level", () => {
    const r4 = "d2:ip6:\x01\x02\x03\x04\x1a\xe11:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"
    expect(right(r4)).toEqual(Krpc.response(aa, { id: mno }, peer("1.2.3.4", 6881)))
    expect(text(Krpc.encode(Krpc.response(aa, { id: mno }, peer("1.2.3.4", 6881))))).toBe(r4)
    const r6 = `d2:ip18:${v6.slice(20)}1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re`
    expect(right(r6)).toEqual(Krpc.response(aa, { id: mno }, peer("2001:db8::1", 80)))
    expect(text(Krpc.encode(Krpc.response(aa, { id: mno }, peer("2001:db8::1", 80))))).toBe(r6)
  })

  it("ro=1 in a read-only node's queries and v, the client version, both top level", () => {
    const q = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi1e1:t2:aa1:v4:BE011:y1:qe"
    const message = Krpc.ping(aa, abc, { readOnly: true, version: b("BE01") })
    expect(right(q)).toEqual(message)
    expect(text(Krpc.encode(message))).toBe(q)
    expect(right("d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi0e1:t2:aa1:y1:qe")).toEqual(Krpc.ping(aa, abc))
    expect(right("d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi2e1:t2:aa1:y1:qe")).toMatchObject({ readOnly: true })
    const r = Krpc.response(aa, { id: mno }, undefined, b("LT\x01\x02"))
    expect(text(Krpc.encode(r))).toBe("d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:v4:LT\x01\x021:y1:re")
    expect(right(Krpc.encode(r))).toEqual(r)
  })
})

describe("round trips", () => {
  for (const [kind, messages] of Object.entries(arb.messageKinds)) {
    it.prop(`decode(encode(m)) = m for a ${kind}, in canonical bencode`, [messages], ([m]) => {
      const bytes = Krpc.encode(m)
      expect(Krpc.decode(bytes)).toEqual(Either.right(m))
      const bencode = Either.getOrThrow(Bencode.decode(bytes))
      expect(bencode.unsorted).toEqual([])
      expect(Buffer.compare(Krpc.encode(right(bytes)), bytes)).toBe(0)
    })
  }

  const familyNodes = FastCheck.constantFrom<4 | 6>(4, 6).chain((f) =>
    FastCheck.tuple(FastCheck.constant(f), FastCheck.array(arb.compactNode(f), { maxLength: 20 }))
  )
  it.prop("compact node info of either family", [familyNodes], ([[family, nodes]]) => {
    const bytes = Krpc.encodeNodes(nodes, family)
    expect(bytes.length).toBe(nodes.length * (family === 4 ? 26 : 38))
    expect(Krpc.decodeNodes(bytes, family)).toEqual(Either.right(nodes))
  })
})

describe("decoding what others send", () => {
  it("ignores unknown keys at the top, in 'a' and in 'r' (BEP 5, forward compatibility)", () => {
    const q = "d1:ad2:id20:abcdefghij01234567895:extrad1:xli1eee6:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa4:zzzzi7e1:y1:qe"
    expect(right(q)).toEqual(Krpc.findNode(aa, abc, mno))
    expect(right("d1:rd2:id20:mnopqrstuvwxyz1234561:pi5e7:samples0:e1:t2:aa1:y1:re")).toEqual(Krpc.response(aa, { id: mno }))
  })

  it("accepts keys out of order", () => {
    expect(right("d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee")).toEqual(Krpc.ping(aa, abc))
  })

  it("reads any other method as Unknown, with its id, for error 204", () => {
    const get = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe"
    expect(right(get)).toEqual({ _tag: "Query", transactionId: aa, readOnly: false, query: { _tag: "Unknown", id: abc, method: "get" } })
    expect(right("d1:ad2:id20:abcdefghij0123456789e1:q4:PING1:t2:aa1:y1:qe")).toMatchObject({ query: { _tag: "Unknown", method: "PING" } })
  })

  it("skips values entries of the wrong length or type and with port 0, and nodes with port 0", () => {
    // A good IPv4 peer, 5 bytes, 4 bytes, an integer, IPv4 with port 0, [::1]:1, 7 bytes.
    const values = `l6:axje.u5:short4:\x00\x00\x00\x00i7e6:\x01\x02\x03\x04\x00\x0018:${"\x00".repeat(15)}\x01\x00\x017:toolonge`
    expect(right(`d1:rd2:id20:mnopqrstuvwxyz1234566:values${values}e1:t2:aa1:y1:re`)).toEqual(
      Krpc.response(aa, { id: mno, values: [peer("97.120.106.101", 11893), peer("::1", 1)] })
    )
    const zero = "abcdefghij0123456789\x0a\x00\x00\x01\x00\x00"
    expect(right(`d1:rd2:id20:mnopqrstuvwxyz1234565:nodes52:${zero}${node4}e1:t2:aa1:y1:re`)).toEqual(
      Krpc.response(aa, { id: mno, nodes: [node4Value] })
    )
  })

  it("ignores an ip it cannot read, a non-string v, and want entries other than n4 and n6", () => {
    expect(right("d2:ip5:\x01\x02\x03\x04\x051:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:vi1e1:y1:re")).toEqual(
      Krpc.response(aa, { id: mno })
    )
    expect(right("d2:ip6:\x01\x02\x03\x04\x00\x001:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re")).toEqual(Krpc.response(aa, { id: mno }))
    const want = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n62:n8i4ee" +
      "e1:q9:find_node1:t2:aa1:y1:qe"
    expect(right(want)).toEqual(Krpc.findNode(aa, abc, mno, { want: ["n6"] }))
    expect(right(want.replace("4:wantl2:n62:n8i4ee", "4:want2:n4"))).toEqual(Krpc.findNode(aa, abc, mno))
  })

  it("announce_peer with implied_port needs no valid port: a missing or out-of-range one reads as 0", () => {
    const base = "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz123456PORT5:token1:x" +
      "e1:q13:announce_peer1:t2:aa1:y1:qe"
    expect(right(base.replace("PORT", ""))).toEqual(Krpc.announcePeer(aa, abc, mno, 0, b("x"), true))
    expect(right(base.replace("PORT", "4:porti70000e"))).toEqual(Krpc.announcePeer(aa, abc, mno, 0, b("x"), true))
    expect(right(base.replace("PORT", "4:porti0e"))).toEqual(Krpc.announcePeer(aa, abc, mno, 0, b("x"), true))
    expect(right(base.replace("i1e", "i0e").replace("PORT", "4:porti1e"))).toEqual(Krpc.announcePeer(aa, abc, mno, 1, b("x"), false))
  })

  it("reads an error without a message as '', and invalid UTF-8 leniently", () => {
    expect(right("d1:eli203ee1:t2:aa1:y1:ee")).toEqual(Krpc.error(aa, 203, ""))
    expect(right("d1:eli202ei5ee1:t2:aa1:y1:ee")).toEqual(Krpc.error(aa, 202, ""))
    expect(right("d1:eli-1e2:\xffxe1:t2:aa1:y1:ee")).toEqual(Krpc.error(aa, -1, "\ufffdx"))
  })

  it("accepts transaction ids of 1 and 32 bytes, and a datagram of exactly 8 KiB", () => {
    expect(right("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t1:\x001:y1:qe").transactionId).toEqual(Uint8Array.of(0))
    expect(right(`d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t32:${"t".repeat(32)}1:y1:qe`).transactionId).toEqual(b("t".repeat(32)))
    const shell = Krpc.encode(Krpc.response(aa, { id: mno, token: new Uint8Array(0) })).length
    // The token's length takes 4 digits where the empty one took 1.
    const token = new Uint8Array(Krpc.maxDatagramBytes - shell - 3)
    const big = Krpc.encode(Krpc.response(aa, { id: mno, token }))
    expect(big.length).toBe(Krpc.maxDatagramBytes)
    expect(right(big)).toEqual(Krpc.response(aa, { id: mno, token }))
  })

  it("copies what it keeps, so that ids do not share the datagram's buffer", () => {
    const datagram = b("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")
    const m = right(datagram)
    datagram.fill(0x21)
    expect(m).toEqual(Krpc.ping(aa, abc))
  })
})

describe("rejections", () => {
  const ping = (a: string, top = "1:q4:ping1:t2:aa1:y1:q") => `d1:a${a}${top}e`
  const res = (r: string) => `d1:r${r}1:t2:aa1:y1:re`
  const announce = (args: string) => ping(`d2:id20:abcdefghij0123456789${args}e`, "1:q13:announce_peer1:t2:aa1:y1:q")
  const hash = "9:info_hash20:mnopqrstuvwxyz123456"
  const id = "2:id20:mnopqrstuvwxyz123456"

  /** Before `t` was read: no transaction id to answer with. */
  const unanswerable: ReadonlyArray<readonly [string, string, KrpcError["reason"], string]> = [
    ["an empty datagram", "", "Bencode", "invalid bencode at byte 0: empty input"],
    ["truncated bencode", "d1:t2:aa", "Bencode", "invalid bencode at byte 8: input ends inside a list or dictionary"],
    ["a duplicate key", "d1:t2:aa1:t2:bbe", "Bencode", "invalid bencode at byte 8: duplicate dictionary key 't'"],
    ["bytes after the message", `${ping("d2:id20:abcdefghij0123456789e")}x`, "Bencode",
      "invalid bencode at byte 56: 1 byte(s) after the value"],
    ["a list", "le", "Malformed", "the message is a list, not a dictionary"],
    ["no t", "d1:y1:qe", "Malformed", "the transaction id 't' is missing, not 1 to 32 bytes"],
    ["an empty t", "d1:t0:1:y1:qe", "Malformed", "the transaction id 't' is a string of 0 bytes, not 1 to 32 bytes"],
    ["a t of 33 bytes", `d1:t33:${"t".repeat(33)}1:y1:qe`, "Malformed",
      "the transaction id 't' is a string of 33 bytes, not 1 to 32 bytes"],
    ["an integer t", "d1:ti1e1:y1:qe", "Malformed", "the transaction id 't' is an integer, not 1 to 32 bytes"]
  ]
  for (const [name, bencoded, reason, detail] of unanswerable) {
    it(`${name}: ${reason}, without a transaction id`, () => {
      const e = left(bencoded)
      expect([e.reason, e.detail, e.transactionId]).toEqual([reason, detail, undefined])
    })
  }

  /** After `t` was read: Malformed, with the transaction id, so that a query can be answered with 203. */
  const answerable: ReadonlyArray<readonly [string, string, string]> = [
    ["no y", "d1:t2:aae", `the message type 'y' is missing, not "q", "r" or "e"`],
    ["y 'x'", "d1:t2:aa1:y1:xe", `the message type 'y' is a string of 1 bytes, not "q", "r" or "e"`],
    ["a query without q", "d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe", "a query whose method 'q' is missing"],
    ["a list as a", ping("le"), "ping: the arguments 'a' are a list, not a dictionary"],
    ["no a", "d1:q4:ping1:t2:aa1:y1:qe", "ping: the arguments 'a' are missing, not a dictionary"],
    ["no id", ping("de"), "ping: 'id' is missing, not 20 bytes"],
    ["an id of 19 bytes", ping("d2:id19:abcdefghij012345678e"), "ping: 'id' is a string of 19 bytes, not 20 bytes"],
    ["an id of 21 bytes", ping("d2:id21:abcdefghij0123456789Xe"), "ping: 'id' is a string of 21 bytes, not 20 bytes"],
    ["an unknown method without an id", ping("de", "1:q3:get1:t2:aa1:y1:q"), "get: 'id' is missing, not 20 bytes"],
    ["find_node with a short target", ping("d2:id20:abcdefghij01234567896:target3:abce", "1:q9:find_node1:t2:aa1:y1:q"),
      "find_node: 'target' is a string of 3 bytes, not 20 bytes"],
    ["get_peers without info_hash", ping("d2:id20:abcdefghij0123456789e", "1:q9:get_peers1:t2:aa1:y1:q"),
      "get_peers: 'info_hash' is missing, not 20 bytes"],
    ["announce_peer without info_hash", announce("4:porti1e5:token1:x"), "announce_peer: 'info_hash' is missing, not 20 bytes"],
    ["announce_peer without token", announce(`${hash}4:porti1e`), "announce_peer: 'token' is missing, not a string"],
    ["announce_peer without port", announce(`${hash}5:token1:x`), "announce_peer: 'port' is missing, not 1..65535"],
    ["announce_peer with port 0", announce(`${hash}4:porti0e5:token1:x`), "announce_peer: 'port' is 0, not 1..65535"],
    ["announce_peer with port 65536", announce(`${hash}4:porti65536e5:token1:x`), "announce_peer: 'port' is 65536, not 1..65535"],
    ["announce_peer with a string port", announce(`${hash}4:port4:68815:token1:x`),
      "announce_peer: 'port' is a string of 4 bytes, not 1..65535"],
    ["a response without r", "d1:t2:aa1:y1:re", "a response whose 'r' is missing, not a dictionary"],
    ["a response without id", res("de"), "response: 'id' is missing, not 20 bytes"],
    ["nodes as a list", res(`d${id}5:nodeslee`), "response: 'nodes' is a list, not a string"],
    ["nodes of 25 bytes", res(`d${id}5:nodes25:${node4.slice(1)}e`),
      "response: 'nodes': compact IPv4 node info of 25 bytes is not a multiple of 26"],
    ["nodes6 of 26 bytes", res(`d${id}6:nodes626:${node4}e`),
      "response: 'nodes6': compact IPv6 node info of 26 bytes is not a multiple of 38"],
    ["values as a string", res(`d${id}6:values6:axje.ue`), "response: 'values' is a string of 6 bytes, not a list"],
    ["an integer token", res(`d${id}5:tokeni1ee`), "response: 'token' is an integer, not a string"],
    ["an error without e", "d1:t2:aa1:y1:ee", "an error whose 'e' is missing, not a list"],
    ["an error whose e is a string", "d1:e3:abc1:t2:aa1:y1:ee", "an error whose 'e' is a string of 3 bytes, not a list"],
    ["an error without a code", "d1:ele1:t2:aa1:y1:ee", "an error whose code is missing, not a small integer"],
    ["an error whose code is text", "d1:el3:2014:oopse1:t2:aa1:y1:ee", "an error whose code is a string of 3 bytes, not a small integer"],
    ["an error code past 2^53", "d1:eli9007199254740993e1:xe1:t2:aa1:y1:ee", "an error whose code is an integer, not a small integer"]
  ]
  for (const [name, bencoded, detail] of answerable) {
    it(`${name}: Malformed, with the transaction id`, () => {
      const e = left(bencoded)
      expect([e.reason, e.detail, e.transactionId]).toEqual(["Malformed", detail, aa])
    })
  }

  it("a datagram over 8 KiB is TooLarge before it is read, even when it is not bencode", () => {
    const e = left(new Uint8Array(Krpc.maxDatagramBytes + 1).fill(0x78))
    expect([e.reason, e.detail, e.transactionId]).toEqual(["TooLarge", "datagram of 8193 bytes exceeds 8192", undefined])
    expect(e.message).toBe("bad DHT message: datagram of 8193 bytes exceeds 8192")
    const token = new Uint8Array(Krpc.maxDatagramBytes)
    expect(left(Krpc.encode(Krpc.response(aa, { id: mno, token }))).reason).toBe("TooLarge")
  })
})

describe("compact node info", () => {
  it("exact bytes, leaving out the other family, host names and ids that are not 20 bytes", () => {
    const nodes: ReadonlyArray<Krpc.CompactNode> = [
      node4Value,
      { id: abc, host: "2001:db8::1", port: 80 },
      { id: abc, host: "example.org", port: 80 },
      { id: b("short"), host: "10.0.0.1", port: 1 }
    ]
    expect(text(Krpc.encodeNodes(nodes, 4))).toBe(node4)
    expect(text(Krpc.encodeNodes(nodes, 6))).toBe("abcdefghij0123456789\x20\x01\x0d\xb8" + "\x00".repeat(11) + "\x01\x00\x50")
  })

  it("refuses a length that is not a whole number of entries, and skips port 0", () => {
    expect(Krpc.decodeNodes(b(node4 + "x"), 4)).toEqual(Either.left(new KrpcError({
      reason: "Malformed",
      detail: "compact IPv4 node info of 27 bytes is not a multiple of 26"
    })))
    expect(Either.isLeft(Krpc.decodeNodes(b(node4), 6))).toBe(true)
    expect(Krpc.decodeNodes(b(node4.slice(0, 24) + "\x00\x00" + node4), 4)).toEqual(Either.right([node4Value]))
    expect(Krpc.decodeNodes(new Uint8Array(0), 6)).toEqual(Either.right([]))
  })
})

describe("the Schema codec", () => {
  it.prop("agrees with encode and decode on every message", [arb.krpcMessage], ([m]) => {
    expect(Schema.is(Krpc.KrpcMessage)(m)).toBe(true)
    const bytes = Schema.encodeSync(Krpc.KrpcMessageFromBytes)(m)
    expect(Buffer.compare(bytes, Krpc.encode(m))).toBe(0)
    expect(Schema.decodeSync(Krpc.KrpcMessageFromBytes)(bytes)).toEqual(m)
  })

  it.prop("accepts and refuses the same bytes as decode", [FastCheck.oneof(
    FastCheck.uint8Array({ maxLength: 64 }),
    mutated(arb.datagram, { bencode: true, maxSteps: 2 })
  )], ([bytes]) => {
    const plain = Krpc.decode(bytes)
    const schema = Schema.decodeUnknownEither(Krpc.KrpcMessageFromBytes)(bytes)
    expect(Either.isRight(schema)).toBe(Either.isRight(plain))
    if (Either.isRight(plain)) expect(schema).toEqual(plain)
    else expect(Either.match(schema, { onLeft: (e) => e.message, onRight: () => "" })).toContain(plain.left.message)
  })

  it("refuses to encode what decode could never give, which encode writes as it is told", () => {
    const invalid: ReadonlyArray<Krpc.KrpcMessage> = [
      Krpc.ping(aa, b("x".repeat(19))),
      Krpc.ping(new Uint8Array(0), abc),
      Krpc.ping(new Uint8Array(33), abc),
      Krpc.findNode(aa, abc, b("short")),
      Krpc.announcePeer(aa, abc, mno, 0, b("x"), false),
      Krpc.announcePeer(aa, abc, mno, 65536, b("x"), true),
      { _tag: "Query", transactionId: aa, readOnly: false, query: { _tag: "Unknown", id: abc, method: "ping" } },
      { _tag: "Query", transactionId: aa, readOnly: false, query: { _tag: "Unknown", id: abc, method: "\u0100" } },
      Krpc.response(aa, { id: mno, nodes: [{ ...node4Value, port: 0 }] }),
      Krpc.error(aa, 1.5, "x")
    ]
    for (const m of invalid) {
      expect(Either.isLeft(Schema.encodeEither(Krpc.KrpcMessageFromBytes)(m)), JSON.stringify(m)).toBe(true)
    }
    expect(text(Krpc.encode(invalid[0]!))).toBe(`d1:ad2:id19:${"x".repeat(19)}e1:q4:ping1:t2:aa1:y1:qe`)
  })
})
