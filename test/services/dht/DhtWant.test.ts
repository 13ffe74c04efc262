/**
 * BEP 32's `want` in the queries our node sends, by its family: ["n6"] for an IPv6 node, both for one on a
 * dual-stack socket, none for an IPv4 node; and an IPv6-only DHT that joins and finds a peer through
 * `nodes6` alone. Whole nodes on the in-memory datagram network, every datagram on the wire decoded.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as Krpc from "../../../src/protocol/Krpc.js"
import * as DhtNode from "../../../src/services/dht/DhtNode.js"
import { wantFor } from "../../../src/services/dht/DhtJoin.js"
import { DatagramNetwork, type DatagramNetworkService, type Endpoint } from "../../../src/services/wire/Datagram.js"
import * as MemoryDatagram from "../../../src/services/wire/MemoryDatagram.js"
import { withClock } from "../../support/clock.js"

const idOf = (byte: number) => new Uint8Array(20).fill(byte)
const infoHash = idOf(0x81)

interface OnWire {
  readonly from: Endpoint
  readonly to: Endpoint
  readonly bytes: Uint8Array
  readonly message: Krpc.KrpcMessage
}

/** The memory network, with a decoded copy of every datagram any socket sends. */
const tappedNetwork = Effect.gen(function*() {
  const network = yield* MemoryDatagram.make()
  const wire: Array<OnWire> = []
  const record = (from: Endpoint, to: Endpoint, bytes: Uint8Array) => {
    const decoded = Krpc.decode(bytes)
    if (Either.isLeft(decoded)) throw new Error(`not KRPC on the wire: ${decoded.left.detail}`)
    wire.push({ from, to, bytes: Uint8Array.from(bytes), message: decoded.right })
  }
  const tapped: DatagramNetworkService = {
    bind: (options, onMessage) =>
      Effect.map(network.bind(options, onMessage), (socket) => {
        // Where the memory network puts the socket: a wildcard binds 127.0.0.1.
        const host = options.host === undefined || options.host === "::" || options.host === "0.0.0.0" ? "127.0.0.1" : options.host
        const from = { host, port: socket.port }
        return {
          port: socket.port,
          send: (to, bytes) => Effect.zipRight(Effect.sync(() => record(from, to, bytes)), socket.send(to, bytes)),
          post: (to, bytes) => {
            record(from, to, bytes)
            socket.post(to, bytes)
          }
        }
      })
  }
  return { network: tapped, wire }
})

type Network = Effect.Effect.Success<typeof tappedNetwork>

/** A node bound to `host`:6881 that has finished its bootstrap. */
const start = (net: Network, host: string, id: Uint8Array, bootstrap: ReadonlyArray<Endpoint> = []) =>
  Effect.tap(
    DhtNode.make({ host, port: 6881, bootstrap, nodeId: id }).pipe(Effect.provideService(DatagramNetwork, net.network)),
    (node) => withClock(node.bootstrapped, { step: "100 millis", maxVirtual: "30 seconds" })
  )

/** The `want` of a find_node or get_peers query (undefined: none); for other messages, a mark. */
const wantOf = (w: OnWire) =>
  w.message._tag === "Query" && (w.message.query._tag === "FindNode" || w.message.query._tag === "GetPeers")
    ? w.message.query.want
    : "not a lookup query"

/** The find_node and get_peers queries on the wire, and the answers to them. */
const lookupsOf = (wire: ReadonlyArray<OnWire>) => {
  const queries = wire.filter((w) => wantOf(w) !== "not a lookup query")
  const key = (w: OnWire, peer: Endpoint) => `${peer.host}|${peer.port}|${Buffer.from(w.message.transactionId).toString("hex")}`
  const asked = new Set(queries.map((q) => key(q, q.from)))
  const answers = wire.filter((w) => w.message._tag === "Response" && asked.has(key(w, w.to)))
  return { queries, answers }
}

/** Which of `nodes` and `nodes6` an answer has: "nodes", "nodes6", "nodes+nodes6" or "". */
const fields = (w: OnWire) => {
  const r = w.message._tag === "Response" ? w.message.response : undefined
  return [r?.nodes === undefined ? [] : ["nodes"], r?.nodes6 === undefined ? [] : ["nodes6"]].flat().join("+")
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1")

describe("DHT want (BEP 32)", () => {
  it("the families a node asks for: n6 on IPv6, both on a dual-stack socket, none on IPv4", () => {
    expect([wantFor(6, false), wantFor(6, true), wantFor(4, false)]).toEqual([["n6"], ["n4", "n6"], undefined])
  })

  it.scoped("an IPv6-only DHT: every lookup query asks want n6, the answers carry nodes6 only, and a peer is found through them", () =>
    Effect.gen(function*() {
      const net = yield* tappedNetwork
      const a = yield* start(net, "2001:db8::a", idOf(0x10))
      yield* start(net, "2001:db8::b", idOf(0x20), [{ host: "2001:db8::a", port: 6881 }])
      const c = yield* start(net, "2001:db8::c", idOf(0x30), [{ host: "2001:db8::b", port: 6881 }])
      // c was given only b: it learnt a from b's nodes6.
      expect(c.table.entries().map((e) => e.host).sort()).toEqual(["2001:db8::a", "2001:db8::b"])
      const fromB = lookupsOf(net.wire).answers.filter((w) => w.from.host === "2001:db8::b" && w.to.host === "2001:db8::c")
      const named = (w: OnWire) => (w.message._tag === "Response" ? (w.message.response.nodes6 ?? []).map((n) => n.host) : [])
      expect(fromB.some((w) => named(w).includes("2001:db8::a"))).toBe(true)

      const announced = yield* withClock(c.lookup(infoHash, { announcePort: 51413, onPeers: () => Effect.void }), {
        step: "100 millis",
        maxVirtual: "30 seconds"
      })
      expect(announced.announcedTo).toBe(2)
      const found: Array<PeerAddress> = []
      yield* withClock(a.lookup(infoHash, { onPeers: (peers) => Effect.sync(() => void found.push(...peers)) }), {
        step: "100 millis",
        maxVirtual: "30 seconds"
      })
      expect(found).toEqual([new PeerAddress({ host: "2001:db8::c", port: 51413 })])

      const { answers, queries } = lookupsOf(net.wire)
      const kinds = new Set(queries.map((q) => (q.message._tag === "Query" ? q.message.query._tag : "")))
      expect([...kinds].sort()).toEqual(["FindNode", "GetPeers"])
      // Decoded, and as bytes: `want` is a list holding the string "n6".
      expect(queries.map(wantOf).every((w) => Array.isArray(w) && w.length === 1 && w[0] === "n6")).toBe(true)
      expect(queries.every((q) => latin1(q.bytes).includes("4:wantl2:n6e"))).toBe(true)
      expect(answers.length).toBeGreaterThan(0)
      expect(new Set(answers.map(fields))).toEqual(new Set(["nodes6"]))
    }))

  it.scoped("an IPv4 node sends no want and gets nodes; a dual-stack node asks for both and gets both", () =>
    Effect.gen(function*() {
      const net = yield* tappedNetwork
      const v4 = yield* start(net, "10.0.0.1", idOf(0x10))
      yield* start(net, "10.0.0.2", idOf(0x20), [{ host: "10.0.0.1", port: 6881 }])
      const fromV4 = lookupsOf(net.wire)
      expect(fromV4.queries.length).toBeGreaterThan(0)
      expect(fromV4.queries.map(wantOf).every((w) => w === undefined)).toBe(true)
      expect(fromV4.queries.some((q) => latin1(q.bytes).includes("4:want"))).toBe(false)
      expect(new Set(fromV4.answers.map(fields))).toEqual(new Set(["nodes"]))

      // Bound to "::" (the memory network puts it on 127.0.0.1): a dual-stack node.
      const before = net.wire.length
      const dual = yield* start(net, "::", idOf(0x30), [{ host: "10.0.0.1", port: 6881 }])
      const fromDual = lookupsOf(net.wire.slice(before))
      const asked = fromDual.queries.filter((q) => q.from.host === "127.0.0.1")
      expect(asked.length).toBeGreaterThan(0)
      expect(asked.every((q) => latin1(q.bytes).includes("4:wantl2:n42:n6e"))).toBe(true)
      const answered = fromDual.answers.filter((w) => w.to.host === "127.0.0.1")
      expect(answered.length).toBeGreaterThan(0)
      expect(new Set(answered.map(fields))).toEqual(new Set(["nodes+nodes6"]))
      // It learnt 10.0.0.2 from 10.0.0.1's nodes.
      expect(dual.table.entries().map((e) => e.host).sort()).toEqual(["10.0.0.1", "10.0.0.2"])
      expect(v4.table.size).toBe(2)
    }))
})
