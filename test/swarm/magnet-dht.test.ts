/**
 * A trackerless magnet link in a whole in-memory swarm: a small DHT of bt-effect nodes on the in-memory
 * datagram network, a seeder that announces itself there, and a leecher with nothing but the info hash
 * that finds the seeder through a get_peers lookup, fetches the metadata from it and downloads.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Magnet } from "../../src/domain/Magnet.js"
import { DatagramNetwork } from "../../src/services/wire/Datagram.js"
import * as Dht from "../../src/services/dht/Dht.js"
import * as MemoryDatagram from "../../src/services/wire/MemoryDatagram.js"
import { withClock } from "../support/clock.js"
import { all, announceUrl, makeSwarm } from "../support/swarm.js"
import * as DhtNode from "../../src/services/dht/DhtNode.js"

const dhtPort = 6881

describe("a magnet link through the DHT", () => {
  it.scoped("no tracker, no peer in the link: the DHT finds the seeder, the metadata and the data follow", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 384 * 1024 })
      const m = swarm.torrent.metainfo
      // Nobody may find anybody through the tracker.
      swarm.tracker.fail(announceUrl, "Unreachable")
      const datagrams = yield* MemoryDatagram.make({ latencyMs: 20 })
      const node = (host: string, bootstrap: ReadonlyArray<string>) =>
        DhtNode.make({ port: dhtPort, host, bootstrap: bootstrap.map((h) => ({ host: h, port: dhtPort })) }).pipe(
          Effect.provideService(DatagramNetwork, datagrams)
        )
      // Twelve nodes, each bootstrapped from the one before: a DHT none of the members knows whole.
      const hosts = Array.from({ length: 12 }, (_, i) => `10.9.0.${i + 1}`)
      const nodes: Array<Dht.DhtService> = []
      for (const [i, host] of hosts.entries()) nodes.push(yield* node(host, i === 0 ? [] : [hosts[i - 1]!]))
      const seederDht = yield* node("10.0.0.1", [hosts[11]!])
      yield* swarm.member("10.0.0.1", { pieces: all, dht: seederDht })
      // The seeder's first lookup announces it to the nodes closest to the info hash.
      const storedPeers = Effect.map(Effect.forEach(nodes, (n) => n.stats), (ss) => ss.reduce((sum, s) => sum + s.storedPeers, 0))
      const announced = Effect.gen(function* () {
        while ((yield* storedPeers) === 0) yield* Effect.sleep("1 second")
      })
      yield* withClock(announced, { step: "1 second", maxVirtual: "60 seconds" })
      expect(yield* storedPeers).toBeGreaterThanOrEqual(1)

      const leecherDht = yield* node("10.0.0.2", [hosts[0]!])
      const { handle, resolved } = yield* withClock(
        swarm.magnetMember("10.0.0.2", Magnet.make({ infoHash: m.infoHash! }), { dht: leecherDht }),
        { step: "1 second", maxVirtual: "120 seconds" }
      )
      expect(Buffer.compare(resolved.metainfo.infoBytes, m.infoBytes)).toBe(0)
      expect(resolved.metainfo.announceList).toEqual([])
      yield* withClock(handle.completed, { step: "1 second", maxVirtual: "120 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      // The leecher found the seeder through the DHT only: the tracker failed every announce.
      expect(swarm.tracker.announces.every((a) => a.failed !== undefined)).toBe(true)
    }))
})
