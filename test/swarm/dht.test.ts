/**
 * A DHT of 300 bt-effect nodes on the in-memory datagram network, under TestClock: ids from a seeded
 * Prng, each node bootstrapped from the one started before it (a chain). Checks what the DHT is for:
 * find_node lookups from any node converge to the true 8 closest (brute force over all ids) within a
 * stated number of rounds; a peer announced by one node is found by get_peers from others; a node
 * restarted from its state file has its table back without any bootstrap node; and, on a smaller network
 * that loses 5% of its datagrams, joins and lookups still work.
 *
 * Virtual time moves only when the network is idle (`settle`), so timeouts fire only where no answer can
 * come, as on a network much faster than its timeouts (and a TestClock step costs real time).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeId from "../../src/domain/NodeId.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as Prng from "../../src/domain/Prng.js"
import { DatagramNetwork } from "../../src/services/wire/Datagram.js"
import * as DhtNode from "../../src/services/dht/DhtNode.js"
import * as MemoryDatagram from "../../src/services/wire/MemoryDatagram.js"
import { realTurn } from "../support/clock.js"

const size = 300
/**
 * Hops from the nodes a lookup starts with to the last one it asks. Each hop should at least halve the
 * part of the id space left to search, and 8 nodes answer for the last 1/8 of it: log2(300 / 8) = 5.2.
 * Asserted for every lookup (measured: 1 to 3, 2.2 on average).
 */
const maxRounds = 5
/** Nodes asked per lookup, on average (measured: about 10). */
const maxMeanQueried = 16
const port = 6881

const randomId = (prng: Prng.Prng) => Uint8Array.from({ length: 20 }, () => prng.below(256))
const hostOf = (i: number) => `10.7.${Math.floor(i / 200)}.${(i % 200) + 1}`

interface Network {
  readonly network: MemoryDatagram.MemoryDatagram
  readonly nodes: Array<DhtNode.DhtEngine>
  readonly ids: Array<Uint8Array>
  readonly prng: Prng.Prng
}

/**
 * Runs `effect` while the in-memory network works in real turns; when nothing was sent or delivered for
 * two turns, the clock moves by 2 s (timeouts, timers), at most `maxVirtualMs` in all.
 */
const settle = <A, E, R>(network: MemoryDatagram.MemoryDatagram, effect: Effect.Effect<A, E, R>, maxVirtualMs = 120_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    let virtual = 0
    let quiet = 0
    let moved = -1
    for (;;) {
      yield* realTurn
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      const counts = network.counts()
      if (counts.sent + counts.delivered !== moved) {
        moved = counts.sent + counts.delivered
        quiet = 0
        continue
      }
      if (++quiet < 2) continue
      if (virtual >= maxVirtualMs) {
        yield* Fiber.interrupt(fiber)
        return yield* Effect.die(`not done after ${virtual} ms of virtual time`)
      }
      // The query timeout: every query then pending is answered or given up.
      yield* TestClock.adjust("2 seconds")
      virtual += 2000
      quiet = 0
    }
  })

/** Starts `count` nodes one after the other, node i bootstrapping from node i - 1. */
const makeNetwork = (options: { readonly count?: number; readonly loss?: number } = {}) =>
  Effect.gen(function*() {
    const count = options.count ?? size
    const prng = Prng.make(2024)
    const network = yield* MemoryDatagram.make({ loss: options.loss ?? 0, seed: 3 })
    const ids = Array.from({ length: count }, () => randomId(prng))
    const nodes: Array<DhtNode.DhtEngine> = []
    for (let i = 0; i < count; i++) {
      const node = yield* DhtNode.make({
        host: hostOf(i),
        port,
        nodeId: ids[i]!,
        bootstrap: i === 0 ? [] : [{ host: hostOf(i - 1), port }]
      }).pipe(Effect.provideService(DatagramNetwork, network))
      yield* settle(network, node.bootstrapped)
      nodes.push(node)
    }
    return { network, nodes, ids, prng } satisfies Network
  }).pipe(
    // The nodes draw their transaction ids and refresh targets from Effect's Random: seeded, for runs
    // that repeat.
    Effect.withRandom(Random.make(7))
  )

/** The 8 ids closest to `target` among all nodes but `except`, by brute force. */
const trueClosest = (ids: ReadonlyArray<Uint8Array>, target: Uint8Array, except: Uint8Array) =>
  NodeId.sortByDistance(target, ids.filter((id) => !NodeId.equals(id, except)).map((id) => ({ id })))
    .slice(0, 8)
    .map((x) => NodeId.toHex(x.id))

describe("a DHT of 300 nodes", () => {
  it.scoped("find_node from random nodes converges to the true 8 closest within the round bound", () =>
    Effect.gen(function*() {
      const { ids, network, nodes, prng } = yield* makeNetwork()
      const rounds: Array<number> = []
      const queried: Array<number> = []
      for (let n = 0; n < 30; n++) {
        const from = prng.below(size)
        const target = randomId(prng)
        const outcome = yield* settle(network, nodes[from]!.findNode(target))
        expect(outcome.closest.map((c) => NodeId.toHex(c.contact.id))).toEqual(trueClosest(ids, target, ids[from]!))
        rounds.push(outcome.rounds)
        queried.push(outcome.queried)
      }
      expect(Math.max(...rounds)).toBeLessThanOrEqual(maxRounds)
      expect(queried.reduce((a, b) => a + b, 0) / queried.length).toBeLessThanOrEqual(maxMeanQueried)
      // Nobody was rate limited, and nothing was sent where no node was.
      for (const node of nodes) expect((yield* node.stats).queriesDropped).toBe(0)
      expect(network.counts().unbound).toBe(0)
    }))

  it.scoped("a peer announced by one node is found by get_peers from others", () =>
    Effect.gen(function*() {
      const { ids, network, nodes, prng } = yield* makeNetwork()
      const infoHash = randomId(prng)
      const announcer = nodes[17]!
      const announced = yield* settle(network, announcer.lookup(infoHash, { announcePort: 51413, onPeers: () => Effect.void }))
      expect(announced.peers).toBe(0)
      expect(announced.announcedTo).toBe(8)
      for (const seeker of [3, 99, 150, 222, 299]) {
        const found: Array<PeerAddress> = []
        const onPeers = (peers: ReadonlyArray<PeerAddress>) => Effect.sync(() => void found.push(...peers))
        const result = yield* settle(network, nodes[seeker]!.lookup(infoHash, { onPeers }))
        expect(found).toEqual([new PeerAddress({ host: hostOf(17), port: 51413 })])
        expect([result.peers, result.announcedTo]).toEqual([1, 0])
        expect(result.rounds).toBeLessThanOrEqual(maxRounds)
      }
      // Stored on the 8 nodes closest to the info hash, and nowhere else.
      const storing: Array<string> = []
      for (const [i, node] of nodes.entries()) if ((yield* node.stats).storedPeers > 0) storing.push(NodeId.toHex(ids[i]!))
      expect(storing.sort()).toEqual(trueClosest(ids, infoHash, announcer.nodeId).sort())
    }))

  it.scoped("a node that joined and stopped, restarted from its state file, has its table back without bootstrap", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-dht-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const { ids, network, prng } = yield* makeNetwork()
      const file = path.join(dir, "dht.dat")
      const host = "10.7.9.9"
      const id = randomId(prng)
      const first = yield* Scope.make()
      const before = yield* DhtNode.make({ host, port, nodeId: id, bootstrap: [{ host: hostOf(0), port }], stateFile: file }).pipe(
        Effect.provideService(DatagramNetwork, network),
        Scope.extend(first)
      )
      yield* settle(network, before.bootstrapped)
      const known = before.table.entries().map((e) => NodeId.toHex(e.id)).sort()
      expect(known.length).toBeGreaterThan(20)
      yield* Scope.close(first, Exit.void)
      expect(fs.existsSync(file)).toBe(true)
      // No bootstrap node, no node id: both come from the file.
      const after = yield* DhtNode.make({ host, port, bootstrap: [], stateFile: file }).pipe(Effect.provideService(DatagramNetwork, network))
      expect(NodeId.toHex(after.nodeId)).toBe(NodeId.toHex(id))
      expect(after.table.entries().map((e) => NodeId.toHex(e.id)).sort()).toEqual(known)
      yield* settle(network, after.bootstrapped)
      const target = randomId(prng)
      const outcome = yield* settle(network, after.findNode(target))
      expect(outcome.closest.map((c) => NodeId.toHex(c.contact.id))).toEqual(trueClosest(ids, target, id))
    }))
})

describe("a DHT of 60 nodes losing 5% of datagrams", () => {
  // Smaller: every lost datagram costs a timeout, and each TestClock step costs real time.
  it.scoped("joins and lookups still work: lost answers cost only the nodes that gave them", () =>
    Effect.gen(function*() {
      const count = 60
      const { ids, network, nodes, prng } = yield* makeNetwork({ count, loss: 0.05 })
      expect(network.counts().lost).toBeGreaterThan(100)
      // The nodes know their true neighbours (the 8 closest ids), but for what lost datagrams hid.
      let neighbours = 0
      for (const [i, node] of nodes.entries()) {
        const known = new Set(node.table.entries().map((e) => NodeId.toHex(e.id)))
        neighbours += trueClosest(ids, ids[i]!, ids[i]!).filter((id) => known.has(id)).length
      }
      expect(neighbours / count).toBeGreaterThanOrEqual(7)
      let found = 0
      for (let n = 0; n < 30; n++) {
        const from = prng.below(count)
        const target = randomId(prng)
        const outcome = yield* settle(network, nodes[from]!.findNode(target))
        const truth = trueClosest(ids, target, ids[from]!)
        found += outcome.closest.filter((c) => truth.includes(NodeId.toHex(c.contact.id))).length
        expect(outcome.rounds).toBeLessThanOrEqual(maxRounds)
      }
      // A query is lost one time in ten (the query or its answer): about 7.2 of 8 on average.
      expect(found / 30).toBeGreaterThanOrEqual(6.5)
    }))
})
