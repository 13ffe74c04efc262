/**
 * Our DHT node against hand-written KRPC exchanges on the in-memory datagram network (TestClock): each
 * query answered as BEP 5 says, tokens bound to the requester's IP and to two rotations of the secret,
 * floods dropped by the rate limits, malformed input answered with 203 or dropped (never a crash), answers
 * to our own queries accepted only from the node asked, a get_peers lookup with announce_peer through
 * scripted nodes, and the state file (saved every 5 minutes and on close; a damaged one ignored).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { bytes, dict } from "../../../src/domain/Bencode.js"
import * as NodeId from "../../../src/domain/NodeId.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { encode as encodeBencode } from "../../../src/protocol/Bencode.js"
import { decodeState, encodeState } from "../../../src/protocol/DhtState.js"
import * as Krpc from "../../../src/protocol/Krpc.js"
import { DatagramNetwork, type Endpoint } from "../../../src/services/wire/Datagram.js"
import * as DhtNode from "../../../src/services/dht/DhtNode.js"
import * as MemoryDatagram from "../../../src/services/wire/MemoryDatagram.js"
import { realTurn, withClock } from "../../support/clock.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"

const idOf = (byte: number, last = 0) => {
  const id = new Uint8Array(20).fill(byte)
  id[19] = last
  return id
}
const ownId = idOf(0x80)
const infoHash = idOf(0x81, 1)
const tid = (n: number) => new Uint8Array([0xee, n])
const node = { host: "10.0.0.1", port: 6881 }

interface Received {
  readonly message: Krpc.KrpcMessage
  readonly from: Endpoint
}

/** A raw KRPC endpoint: sends what it is told, keeps every decoded datagram it receives. */
const rawClient = (network: MemoryDatagram.MemoryDatagram, host: string, port = 4000) =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<Received>()
    const socket = yield* network.bind({ host, port }, (datagram, from) => {
      const decoded = Krpc.decode(datagram)
      if (Either.isRight(decoded)) Queue.unsafeOffer(inbox, { message: decoded.right, from })
    })
    const queries: Array<Received> = []
    /** The next response or error (queries from the node to us are put aside in `queries`). */
    const reply: Effect.Effect<Krpc.KrpcMessage> = Effect.gen(function*() {
      for (;;) {
        const got = yield* Queue.take(inbox)
        if (got.message._tag === "Query") queries.push(got)
        else return got.message
      }
    })
    const send = (message: Krpc.KrpcMessage | Uint8Array, to: Endpoint = node) =>
      socket.send(to, message instanceof Uint8Array ? message : Krpc.encode(message))
    const ask = (message: Krpc.KrpcMessage) => Effect.zipRight(send(message), reply)
    /** Every reply that has arrived by now, after letting the network run. */
    const drain = Effect.gen(function*() {
      for (let i = 0; i < 5; i++) yield* realTurn
      const all = [...(yield* Queue.takeAll(inbox))]
      queries.push(...all.filter((r) => r.message._tag === "Query"))
      return all.filter((r) => r.message._tag !== "Query").map((r) => r.message)
    })
    return { socket, inbox, send, ask, reply, drain, queries, host, port }
  })

/** A node at 10.0.0.1:6881 (no bootstrap node unless given); waits for its bootstrap unless `wait` is false. */
type RawClient = Effect.Effect.Success<ReturnType<typeof rawClient>>

const setup = (
  options: {
    readonly stateFile?: string
    readonly nodeId?: Uint8Array | undefined
    readonly wait?: boolean
    readonly bootstrap?: ReadonlyArray<Endpoint>
  } = {}
) =>
  Effect.gen(function*() {
    const network = yield* MemoryDatagram.make()
    const nodeId = "nodeId" in options ? options.nodeId : ownId
    const dht = yield* DhtNode.make({
      ...node,
      bootstrap: options.bootstrap ?? [],
      ...(nodeId === undefined ? {} : { nodeId }),
      ...(options.stateFile === undefined ? {} : { stateFile: options.stateFile })
    }).pipe(
      Effect.provideService(DatagramNetwork, network)
    )
    if (options.wait !== false) yield* dht.bootstrapped
    return { network, dht }
  })

const responseOf = (m: Krpc.KrpcMessage): Krpc.ResponseMessage => {
  if (m._tag !== "Response") throw new Error(`expected a response, got ${JSON.stringify(m)}`)
  return m
}
const errorOf = (m: Krpc.KrpcMessage) => (m._tag === "Error" ? [m.code, m.message] : m._tag)
const hexes = (nodes: ReadonlyArray<{ readonly id: Uint8Array }> | undefined) => (nodes ?? []).map((n) => NodeId.toHex(n.id))

/** 20 answered nodes in the table: 14 IPv4, 6 IPv6, ids spread over the space. */
const populate = (dht: DhtNode.DhtEngine) => {
  const nodes = Array.from({ length: 20 }, (_, i) => ({
    id: idOf(i * 12 + 3, i),
    host: i < 14 ? `10.1.0.${i + 1}` : `2001:db8::${i}`,
    port: 7000 + i
  }))
  for (const n of nodes) dht.table.heard(n, "Response", 0)
  return nodes
}

describe("DHT node: answers", () => {
  it.scoped("ping: our id, the transaction id echoed, the requester's address as ip; the requester is pinged back and added", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const client = yield* rawClient(network, "10.0.0.2")
      const clientId = idOf(0x11)
      const answer = responseOf(yield* client.ask(Krpc.ping(tid(1), clientId)))
      expect(answer.transactionId).toEqual(tid(1))
      expect(answer.response.id).toEqual(ownId)
      expect(answer.ip).toEqual(new PeerAddress({ host: "10.0.0.2", port: 4000 }))
      // Known but unverified: the node pings it before handing it to others.
      expect(dht.table.find(clientId)?.answered).toBe(false)
      yield* client.drain
      const back = client.queries[0]!.message
      expect(back._tag === "Query" && back.query._tag).toBe("Ping")
      yield* client.send(Krpc.response(back.transactionId, { id: clientId }))
      yield* client.drain
      expect(dht.table.find(clientId)?.answered).toBe(true)
    }))

  it.scoped("find_node: the 8 closest answered nodes of the requester's family, or of the families in want", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const nodes = populate(dht)
      const client = yield* rawClient(network, "10.0.0.2")
      const target = idOf(0x40, 9)
      // Against what the table kept (a bucket far from our id holds 8 of the 20), by brute force.
      expect(dht.table.size).toBeLessThan(nodes.length)
      const closest = (family: 4 | 6) =>
        NodeId.sortByDistance(target, dht.table.entries().filter((n) => n.host.includes(":") === (family === 6)))
          .slice(0, 8)
          .map((n) => NodeId.toHex(n.id))
      const plain = responseOf(yield* client.ask(Krpc.findNode(tid(2), idOf(0x11), target))).response
      expect(hexes(plain.nodes)).toEqual(closest(4))
      expect(plain.nodes6).toBeUndefined()
      const six = responseOf(yield* client.ask(Krpc.findNode(tid(3), idOf(0x11), target, { want: ["n6"] }))).response
      expect([plain.nodes?.length, six.nodes, hexes(six.nodes6)]).toEqual([8, undefined, closest(6)])
      const both = responseOf(yield* client.ask(Krpc.findNode(tid(4), idOf(0x11), target, { want: ["n4", "n6"] }))).response
      expect([hexes(both.nodes), hexes(both.nodes6)]).toEqual([closest(4), closest(6)])
      // The nodes carry their addresses.
      const first = nodes.find((n) => NodeId.toHex(n.id) === closest(4)[0])!
      expect(both.nodes?.[0]).toEqual({ id: first.id, host: first.host, port: first.port })
    }))

  it.scoped("get_peers then announce_peer: a token for our IP, the peer stored, values for others (implied_port uses the source port)", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      populate(dht)
      const announcer = yield* rawClient(network, "10.0.0.2")
      const other = yield* rawClient(network, "10.0.0.3", 5000)
      const first = responseOf(yield* announcer.ask(Krpc.getPeers(tid(1), idOf(0x11), infoHash))).response
      expect(first.values).toBeUndefined()
      expect(first.nodes?.length).toBe(8)
      expect(first.token?.length).toBe(8)
      const ok = yield* announcer.ask(Krpc.announcePeer(tid(2), idOf(0x11), infoHash, 51413, first.token!, false))
      expect(responseOf(ok).response).toEqual({ id: ownId })
      const otherToken = responseOf(yield* other.ask(Krpc.getPeers(tid(3), idOf(0x12), infoHash))).response
      expect(otherToken.values).toEqual([new PeerAddress({ host: "10.0.0.2", port: 51413 })])
      // Nodes come with values, so that a lookup keeps converging.
      expect(otherToken.nodes?.length).toBe(8)
      // implied_port: the UDP source port (5000), not the port field.
      yield* other.ask(Krpc.announcePeer(tid(4), idOf(0x12), infoHash, 0, otherToken.token!, true))
      const again = responseOf(yield* announcer.ask(Krpc.getPeers(tid(5), idOf(0x11), infoHash))).response
      expect(again.values).toEqual([new PeerAddress({ host: "10.0.0.3", port: 5000 }), new PeerAddress({ host: "10.0.0.2", port: 51413 })])
      expect((yield* dht.stats).storedPeers).toBe(2)
    }))

  it.scoped("caps values at 50 per answer, within one datagram", () =>
    Effect.gen(function*() {
      const { network } = yield* setup()
      for (let i = 0; i < 80; i++) {
        const peer = yield* rawClient(network, `10.2.0.${i + 1}`)
        const token = responseOf(yield* peer.ask(Krpc.getPeers(tid(1), idOf(0x20, i), infoHash))).response.token!
        responseOf(yield* peer.ask(Krpc.announcePeer(tid(2), idOf(0x20, i), infoHash, 6881, token, false)))
      }
      const asker = yield* rawClient(network, "10.0.0.9")
      yield* asker.send(Krpc.getPeers(tid(3), idOf(0x30), infoHash))
      const answer = responseOf(yield* asker.reply).response
      expect(answer.values?.length).toBe(50)
      // The most recent announcers first.
      expect(answer.values?.[0]).toEqual(new PeerAddress({ host: "10.2.0.80", port: 6881 }))
      expect(Krpc.encode(Krpc.response(tid(3), answer)).length).toBeLessThan(1000)
    }))

  it.scoped("refuses a token given to another IP, and one older than two rotations, with 203 bad token", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const a = yield* rawClient(network, "10.0.0.2")
      const b = yield* rawClient(network, "10.0.0.3")
      const tokenA = responseOf(yield* a.ask(Krpc.getPeers(tid(1), idOf(0x11), infoHash))).response.token!
      expect(errorOf(yield* b.ask(Krpc.announcePeer(tid(2), idOf(0x12), infoHash, 6881, tokenA, false)))).toEqual([203, "bad token"])
      // Same address, another port: the token is bound to the IP only.
      const a2 = yield* rawClient(network, "10.0.0.2", 4001)
      expect(responseOf(yield* a2.ask(Krpc.announcePeer(tid(3), idOf(0x11), infoHash, 6881, tokenA, false))).response.id).toEqual(ownId)
      // One rotation (5 minutes): still good. Two: refused.
      yield* TestClock.adjust("5 minutes")
      expect(responseOf(yield* a.ask(Krpc.announcePeer(tid(4), idOf(0x11), infoHash, 6882, tokenA, false))).response.id).toEqual(ownId)
      yield* TestClock.adjust("5 minutes")
      expect(errorOf(yield* a.ask(Krpc.announcePeer(tid(5), idOf(0x11), infoHash, 6883, tokenA, false)))).toEqual([203, "bad token"])
      expect(errorOf(yield* a.ask(Krpc.announcePeer(tid(6), idOf(0x11), infoHash, 6883, new Uint8Array(8), false)))).toEqual([203, "bad token"])
      // 10.0.0.2 on 6881 and on 6882: one peer per address and port.
      expect((yield* dht.stats).storedPeers).toBe(2)
    }))

  it.scoped("unknown methods get 204, malformed queries with a readable t get 203, garbage gets nothing, and the node goes on", () =>
    Effect.gen(function*() {
      const { network } = yield* setup()
      const client = yield* rawClient(network, "10.0.0.2")
      const unknown = { _tag: "Query", transactionId: tid(1), query: { _tag: "Unknown", id: idOf(0x11), method: "vote" }, readOnly: false } as const
      expect(errorOf(yield* client.ask(unknown))).toEqual([204, "method unknown: vote"])
      // find_node without a target.
      const noTarget = encodeBencode(dict([["t", tid(2)], ["y", bytes("q")], ["q", bytes("find_node")], ["a", dict([["id", idOf(0x11)]])]]))
      yield* client.send(noTarget)
      const malformed = yield* client.reply
      expect([malformed.transactionId, errorOf(malformed)]).toEqual([tid(2), [203, "malformed query"]])
      // Not bencode; bencode but no t; a response nobody asked for; an error; 9 KiB: all dropped.
      for (const junk of [
        new Uint8Array([0x64, 0x31, 0xff]),
        encodeBencode(dict([["y", bytes("q")], ["q", bytes("ping")]])),
        Krpc.encode(Krpc.response(tid(3), { id: idOf(0x11) })),
        encodeBencode(dict([["t", tid(4)], ["y", bytes("r")], ["r", bytes("x")]])),
        new Uint8Array(9 * 1024).fill(0x20)
      ]) yield* client.send(junk)
      // The next reply is the ping's: nothing was answered in between.
      const pong = yield* client.ask(Krpc.ping(tid(5), idOf(0x11)))
      expect(pong.transactionId).toEqual(tid(5))
      expect(yield* client.drain).toEqual([])
    }))

  it.scoped("read-only queries (ro) are answered, and their senders are not added", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const client = yield* rawClient(network, "10.0.0.2")
      const answer = yield* client.ask(Krpc.findNode(tid(1), idOf(0x11), idOf(0x22), { readOnly: true }))
      expect(responseOf(answer).response.id).toEqual(ownId)
      expect(dht.table.size).toBe(0)
      yield* client.ask(Krpc.ping(tid(2), idOf(0x11)))
      expect(dht.table.size).toBe(1)
    }))

  it.scoped("drops a flood beyond 50 queries from one IP (20/s after), silently, and still answers others", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const flooder = yield* rawClient(network, "10.0.0.66")
      for (let i = 0; i < 200; i++) yield* flooder.send(Krpc.ping(tid(i), idOf(0x11)))
      expect((yield* flooder.drain).length).toBe(50)
      const other = yield* rawClient(network, "10.0.0.3")
      expect(responseOf(yield* other.ask(Krpc.ping(tid(1), idOf(0x12)))).response.id).toEqual(ownId)
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 100; i++) yield* flooder.send(Krpc.ping(tid(i), idOf(0x11)))
      expect((yield* flooder.drain).length).toBe(20)
      const stats = yield* dht.stats
      expect([stats.queriesReceived, stats.queriesDropped]).toEqual([301, 230])
    }))

  it.scoped("a global cap holds when many addresses flood at once", () =>
    Effect.gen(function*() {
      const { network } = yield* setup()
      let answered = 0
      for (let i = 0; i < 40; i++) {
        const client = yield* rawClient(network, `10.3.0.${i + 1}`)
        for (let j = 0; j < 20; j++) yield* client.send(Krpc.ping(tid(j), idOf(0x40, i)))
        answered += (yield* client.drain).length
      }
      // 800 queries from 40 addresses, each within its own limit: 500 (the global burst) answered.
      expect(answered).toBe(500)
    }))
})

describe("DHT node: our queries", () => {
  it.scoped("accepts an answer only from the node asked, and a silent node times out after 2 s", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const target = yield* rawClient(network, "10.0.0.5", 7000)
      const spoofer = yield* rawClient(network, "10.0.0.6", 7000)
      yield* dht.addNode({ host: "10.0.0.5", port: 7000 })
      yield* target.drain
      const asked = target.queries[0]!.message
      expect(asked._tag === "Query" && asked.query._tag).toBe("Ping")
      // The spoofer has the transaction id (it guessed it): ignored.
      yield* spoofer.send(Krpc.response(asked.transactionId, { id: idOf(0x66) }))
      yield* target.drain
      expect(dht.table.find(idOf(0x66))).toBeUndefined()
      yield* target.send(Krpc.response(asked.transactionId, { id: idOf(0x55) }))
      yield* target.drain
      expect(dht.table.find(idOf(0x55))).toEqual(expect.objectContaining({ host: "10.0.0.5", port: 7000, answered: true }))
      // A node that never answers: nothing added, the query given up after the timeout.
      const silent = yield* rawClient(network, "10.0.0.7", 7000)
      yield* dht.addNode({ host: "10.0.0.7", port: 7000 })
      yield* silent.drain
      const late = silent.queries[0]!.message
      yield* TestClock.adjust("2 seconds")
      yield* silent.drain
      yield* silent.send(Krpc.response(late.transactionId, { id: idOf(0x77) }))
      yield* silent.drain
      expect(dht.table.find(idOf(0x77))).toBeUndefined()
      expect(dht.table.size).toBe(1)
    }))

  it.scoped("a get_peers lookup reports new peers once, and announces to the closest nodes that gave tokens", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const p = (n: number) => new PeerAddress({ host: `10.9.0.${n}`, port: 6881 })
      const announced: Array<string> = []
      // Four scripted nodes: a and b know peers, c never answers, d is learnt from a.
      const script: Record<string, Krpc.Response | undefined> = {
        "10.0.1.1": { id: idOf(0x81, 0x10), values: [p(1), p(2)], token: bytes("ta"), nodes: [{ id: idOf(0x81, 0x40), host: "10.0.1.4", port: 7000 }] },
        "10.0.1.2": { id: idOf(0x81, 0x20), values: [p(2), p(3)], token: bytes("tb") },
        "10.0.1.3": undefined,
        "10.0.1.4": { id: idOf(0x81, 0x40), token: bytes("td") }
      }
      for (const [host, answer] of Object.entries(script)) {
        const scripted = yield* rawClient(network, host, 7000)
        yield* Effect.forkScoped(
          Effect.forever(
            Effect.gen(function*() {
              const { message, from } = yield* Queue.take(scripted.inbox)
              if (message._tag !== "Query") return
              if (message.query._tag === "AnnouncePeer") {
                const q = message.query
                announced.push(`${host} port=${q.port} token=${new TextDecoder().decode(q.token)} implied=${q.impliedPort}`)
                return yield* scripted.send(Krpc.response(message.transactionId, { id: answer!.id }), from)
              }
              if (answer !== undefined) yield* scripted.send(Krpc.response(message.transactionId, answer), from)
            })
          )
        )
      }
      for (const [i, host] of ["10.0.1.1", "10.0.1.2", "10.0.1.3"].entries()) {
        dht.table.heard({ id: idOf(0x81, [0x10, 0x20, 0x30][i]!), host, port: 7000 }, "Response", 0)
      }
      const batches: Array<Array<string>> = []
      const result = yield* withClock(
        dht.lookup(infoHash, {
          announcePort: 6881,
          onPeers: (peers) => Effect.sync(() => void batches.push(peers.map((x) => x.host)))
        }),
        { step: "100 millis", maxVirtual: "10 seconds" }
      )
      expect(batches.flat().sort()).toEqual(["10.9.0.1", "10.9.0.2", "10.9.0.3"])
      expect(result).toEqual({ peers: 3, queried: 4, rounds: 2, announcedTo: 3 })
      expect(announced.sort()).toEqual([
        "10.0.1.1 port=6881 token=ta implied=false",
        "10.0.1.2 port=6881 token=tb implied=false",
        "10.0.1.4 port=6881 token=td implied=false"
      ])
      // c timed out once: still in the table, one failure.
      expect(dht.table.find(idOf(0x81, 0x30))?.failures).toBe(1)
    }))

  it.scoped("a full bucket pings its questionable node twice; silent, it gives its place to the newcomer", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      // 8 nodes in the far half (first bit 0), one in ours: the far bucket is full and cannot split.
      const far: Array<RawClient> = []
      for (let i = 0; i < 8; i++) far.push(yield* rawClient(network, `10.4.0.${i + 1}`, 7000))
      // All answered us but the fourth, which only queried us: questionable.
      far.forEach((c, i) => dht.table.heard({ id: idOf(0x10 + i), host: c.host, port: c.port }, i === 3 ? "Query" : "Response", 0))
      dht.table.heard({ id: idOf(0xc0), host: "10.4.1.1", port: 7000 }, "Response", 0)
      const newcomer = yield* rawClient(network, "10.4.2.1")
      yield* newcomer.ask(Krpc.ping(tid(1), idOf(0x05)))
      expect(dht.table.find(idOf(0x05))).toBeUndefined()
      const silent = far[3]!
      yield* silent.drain
      expect(silent.queries.map((q) => q.message._tag === "Query" && q.message.query._tag)).toEqual(["Ping"])
      yield* TestClock.adjust("2 seconds")
      yield* silent.drain
      expect(silent.queries.length).toBe(2)
      yield* TestClock.adjust("2 seconds")
      yield* silent.drain
      // Two failed pings: bad, replaced by the newcomer from the replacement cache.
      expect(dht.table.find(idOf(0x13))).toBeUndefined()
      expect(dht.table.find(idOf(0x05))).toEqual(expect.objectContaining({ host: "10.4.2.1", answered: false }))
      expect(far.filter((c) => c !== silent).every((c) => c.queries.length === 0)).toBe(true)
    }))

  it.scoped("a questionable node that answers the ping keeps its place", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      const far: Array<RawClient> = []
      for (let i = 0; i < 8; i++) far.push(yield* rawClient(network, `10.4.0.${i + 1}`, 7000))
      far.forEach((c, i) => dht.table.heard({ id: idOf(0x10 + i), host: c.host, port: c.port }, i === 3 ? "Query" : "Response", 0))
      dht.table.heard({ id: idOf(0xc0), host: "10.4.1.1", port: 7000 }, "Response", 0)
      const newcomer = yield* rawClient(network, "10.4.2.1")
      yield* newcomer.ask(Krpc.ping(tid(1), idOf(0x05)))
      const questioned = far[3]!
      yield* questioned.drain
      const ping = questioned.queries[0]!.message
      yield* questioned.send(Krpc.response(ping.transactionId, { id: idOf(0x13) }))
      yield* questioned.drain
      expect(dht.table.stateOf(dht.table.find(idOf(0x13))!, 0)).toBe("Good")
      expect(dht.table.find(idOf(0x05))).toBeUndefined()
      expect(dht.table.replacements(0).length).toBe(1)
    }))

  it.scoped("a bucket unchanged for 15 minutes is refreshed with a find_node for an id in its range", () =>
    Effect.gen(function*() {
      const { dht, network } = yield* setup()
      // 5 nodes in the far half, 4 in ours: two buckets.
      const clients: Array<RawClient> = []
      for (let i = 0; i < 9; i++) {
        const client = yield* rawClient(network, `10.5.0.${i + 1}`, 7000)
        dht.table.heard({ id: idOf(i < 5 ? 0x10 + i : 0xc0 + i), host: client.host, port: client.port }, "Response", 0)
        clients.push(client)
      }
      expect(dht.table.bucketCount).toBe(2)
      yield* TestClock.adjust("14 minutes")
      for (const c of clients) yield* c.drain
      expect(clients.every((c) => c.queries.length === 0)).toBe(true)
      const buckets = () =>
        clients.flatMap((c) =>
          c.queries.flatMap((q) =>
            q.message._tag === "Query" && q.message.query._tag === "FindNode" ? [dht.table.bucketIndexOf(q.message.query.target)] : []
          )
        )
      yield* TestClock.adjust("1 minute")
      for (const c of clients) yield* c.drain
      // Both buckets are due. The far one first: alpha = 3 find_node queries for an id in its range.
      expect(buckets()).toEqual([0, 0, 0])
      // Nobody answers: after the timeouts, that lookup ends and the other bucket's starts.
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("2 seconds")
        for (const c of clients) yield* c.drain
      }
      expect(buckets().filter((b) => b === 1).length).toBeGreaterThan(0)
      expect(buckets().length).toBe(18)
    }))

  it.scoped("bootstraps with 3 tries at start, and again every minute while the table is empty", () =>
    Effect.gen(function*() {
      const router = { host: "10.6.0.1", port: 7000 }
      const { dht, network } = yield* setup({ bootstrap: [router], wait: false })
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("2 seconds")
        for (let turn = 0; turn < 5; turn++) yield* realTurn
      }
      yield* dht.bootstrapped
      // Three find_node for our id, to nobody.
      expect([network.counts().unbound, dht.table.size]).toEqual([3, 0])
      // The router comes up, and answers.
      const up = yield* rawClient(network, router.host, router.port)
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function*() {
            const { message, from } = yield* Queue.take(up.inbox)
            if (message._tag === "Query") yield* up.send(Krpc.response(message.transactionId, { id: idOf(0x42) }), from)
          })
        )
      )
      yield* TestClock.adjust("1 minute")
      for (let turn = 0; turn < 5; turn++) yield* realTurn
      expect(dht.table.find(idOf(0x42))).toEqual(expect.objectContaining({ host: router.host, port: router.port, answered: true }))
    }))
})

/** A temporary folder, removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-dht-state-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs `effect`, collecting the messages it logs. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const result = yield* Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger))
    return { result, lines }
  })

describe("DHT node: state file", () => {
  it("the codec keeps the id and the nodes of both families, and refuses what is not a state file", () => {
    const nodes = [
      { id: idOf(1), host: "10.0.0.1", port: 6881 },
      { id: idOf(2), host: "2001:db8::2", port: 51413 }
    ]
    const decoded = decodeState(encodeState({ nodeId: ownId, nodes, savedAt: 1234 }))
    expect(decoded).toEqual(Either.right({ nodeId: ownId, nodes, savedAt: 1234 }))
    expect(decodeState(bytes("garbage"))).toEqual(Either.left("invalid bencode at byte 0: unexpected 'g'"))
    expect(decodeState(encodeBencode(dict([["file-format", bytes("bt-effect resume")]])))).toEqual(
      Either.left("not a bt-effect DHT state file")
    )
    const cut = encodeBencode(dict([["file-format", bytes("bt-effect dht")], ["file-version", 1], ["node-id", ownId], ["nodes", new Uint8Array(25)]]))
    expect(decodeState(cut)).toEqual(Either.left("compact IPv4 node info of 25 bytes is not a multiple of 26"))
  })

  it.scoped("saved every 5 minutes and on close, without bad nodes; reloaded with its id", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "sub", "dht.dat")
      const first = yield* Effect.scoped(
        Effect.gen(function*() {
          const { dht } = yield* setup({ stateFile: file })
          populate(dht)
          // In a bucket with no replacement waiting, a bad node stays in the table (not in the file).
          const bad = dht.table.entries().find((e) => dht.table.replacements(dht.table.bucketIndexOf(e.id)).length === 0)!
          dht.table.failed(bad.id, 0)
          dht.table.failed(bad.id, 0)
          expect(dht.table.stateOf(dht.table.find(bad.id)!, 0)).toBe("Bad")
          yield* TestClock.adjust("5 minutes")
          // Real file I/O: give it real time.
          for (let i = 0; i < 200 && !fs.existsSync(file); i++) yield* realTurn
          const periodic = decodeState(fs.readFileSync(file))
          expect(Either.isRight(periodic) && periodic.right.nodes.length).toBe(dht.table.size - 1)
          // IPv6 ones are saved too, but a node bound to IPv4 cannot reach them: it loads the IPv4 ones.
          expect(Either.isRight(periodic) && periodic.right.nodes.some((n) => n.host.includes(":"))).toBe(true)
          return dht.table.entries().filter((e) => e.failures < 2 && !e.host.includes(":")).map((e) => NodeId.toHex(e.id)).sort()
        })
      )
      expect(fs.readdirSync(path.dirname(file))).toEqual(["dht.dat"])
      // Its bootstrap asks the saved nodes, which are not on this network: it is not waited for.
      const { dht } = yield* setup({ stateFile: file, nodeId: undefined, wait: false })
      expect(dht.nodeId).toEqual(ownId)
      expect(dht.table.entries().map((e) => NodeId.toHex(e.id)).sort()).toEqual(first)
      // Loaded nodes are not vouched for until they answer.
      expect(dht.table.entries().every((e) => !e.answered)).toBe(true)
    }))

  it.scoped("a damaged state file is reported and ignored: a random id, an empty table", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dht.dat")
      const good = encodeState({ nodeId: ownId, nodes: [{ id: idOf(1), host: "10.0.0.1", port: 6881 }], savedAt: 0 })
      fs.writeFileSync(file, good.subarray(0, good.length - 5))
      const { result, lines } = yield* logged(setup({ stateFile: file, nodeId: undefined }))
      expect(lines).toContainEqual(expect.stringMatching(/^ignoring DHT state .*dht\.dat: /))
      expect(result.dht.nodeId).not.toEqual(ownId)
      expect(result.dht.nodeId.length).toBe(20)
      expect(result.dht.table.size).toBe(0)
    }))
})

describe("DHT node: over real UDP", () => {
  it.live("three nodes on 127.0.0.1 find each other and a peer one of them announced", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const start = (bootstrap: ReadonlyArray<Endpoint>, id: Uint8Array) =>
          Effect.tap(DhtNode.make({ port: 0, host: "127.0.0.1", bootstrap, nodeId: id }), (n) => n.bootstrapped)
        const a = yield* start([], idOf(0x10))
        const b = yield* start([{ host: "localhost", port: a.port }], idOf(0x20))
        const c = yield* start([{ host: "127.0.0.1", port: b.port }], idOf(0x30))
        // b resolved "localhost" and reached a; c learnt a from b.
        expect(c.table.entries().map((e) => e.port).sort()).toEqual([a.port, b.port].sort())
        const announced = yield* c.lookup(infoHash, { announcePort: 51413, onPeers: () => Effect.void })
        expect(announced.announcedTo).toBe(2)
        const found: Array<PeerAddress> = []
        const result = yield* a.lookup(infoHash, { onPeers: (peers) => Effect.sync(() => void found.push(...peers)) })
        expect(found).toEqual([new PeerAddress({ host: "127.0.0.1", port: 51413 })])
        expect(result.peers).toBe(1)
      })
    ).pipe(Effect.provide(UdpDatagram.layer), Effect.timeout("10 seconds")))
})
