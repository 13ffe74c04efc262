/**
 * Magnet links in whole in-memory swarms: the metadata fetched from peers (BEP 9) and checked against the
 * info hash, peers that lie about it or refuse it, the size limit, the metadata kept for a restart, and
 * peers learnt through PEX (BEP 11).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Bitfield } from "../../src/domain/Bitfield.js"
import type { InfoHash } from "../../src/domain/InfoHash.js"
import { Magnet } from "../../src/domain/Magnet.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as Metadata from "../../src/protocol/Metadata.js"
import * as MetadataFetch from "../../src/services/torrent/MetadataFetch.js"
import { layer as storageMemory } from "../../src/services/storage/MemoryStorage.js"
import * as PeerNetwork from "../../src/services/wire/PeerNetwork.js"
import * as Torrent from "../../src/services/torrent/Torrent.js"
import { withClock } from "../support/clock.js"
import { metadataPeer } from "../support/metadataPeer.js"
import { address, all, announceUrl, makeSwarm, port } from "../support/swarm.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import * as MemoryNetwork from "../../src/services/wire/MemoryNetwork.js"
import * as RarestFirst from "../../src/services/pieces/RarestFirst.js"
import * as MemoryResume from "../../src/services/storage/MemoryResume.js"
import * as MemoryTracker from "../../src/services/tracker/MemoryTracker.js"

const magnetOf = (infoHash: InfoHash, fields: Partial<{ peers: ReadonlyArray<PeerAddress>; trackers: ReadonlyArray<string> }>) =>
  Magnet.make({ infoHash, ...fields })

/** An info dictionary of `size` bytes that is not the torrent's (same length, other bytes). */
const forgery = (info: Uint8Array) => {
  const fake = Uint8Array.from(info)
  fake[fake.length - 10] = fake[fake.length - 10]! ^ 0xff
  return fake
}

describe("magnet links", () => {
  it.scoped("a magnet with x.pe: metadata from the seeder, checked, then the download", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 512 * 1024 + 77 })
      const m = swarm.torrent.metainfo
      yield* swarm.member("10.0.0.1", { pieces: all })
      const { handle, resolved } = yield* withClock(
        swarm.magnetMember("10.0.0.2", magnetOf(m.infoHash!, { peers: [address("10.0.0.1")] })),
        { step: "1 second", maxVirtual: "60 seconds" }
      )
      // The info dictionary arrived byte for byte, so the info hash holds.
      expect(Buffer.compare(resolved.metainfo.infoBytes, m.infoBytes)).toBe(0)
      expect(Buffer.from(resolved.metainfo.infoHash!).toString("hex")).toBe(Buffer.from(m.infoHash!).toString("hex"))
      expect(resolved.fetched).toBeDefined()
      yield* withClock(handle.completed, { step: "1 second", maxVirtual: "120 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      // Kept in the state folder: a restart takes it from there and needs no peer for it.
      expect(swarm.resume("10.0.0.2").torrents.size).toBe(1)
    }))

  it.scoped("a restart takes the metadata from the state folder", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      const m = swarm.torrent.metainfo
      yield* swarm.member("10.0.0.1", { pieces: all })
      const magnet = magnetOf(m.infoHash!, { peers: [address("10.0.0.1")] })
      yield* Effect.scoped(withClock(swarm.magnetMember("10.0.0.2", magnet), { step: "1 second", maxVirtual: "60 seconds" }))
      // The seeder is gone; the second start still has the metadata.
      swarm.network.blackhole("10.0.0.1")
      yield* swarm.network.disconnect("10.0.0.1")
      const again = yield* withClock(swarm.magnetMember("10.0.0.2", magnet), { step: "1 second", maxVirtual: "10 seconds" })
      expect(again.resolved.fetched).toBeUndefined()
      expect(Buffer.compare(again.resolved.metainfo.infoBytes, m.infoBytes)).toBe(0)
    }))

  it.scoped("a magnet with only a tracker finds the seeder through it", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      const m = swarm.torrent.metainfo
      yield* swarm.member("10.0.0.1", { pieces: all })
      const { handle, resolved } = yield* withClock(
        swarm.magnetMember("10.0.0.2", magnetOf(m.infoHash!, { trackers: [announceUrl] })),
        { step: "1 second", maxVirtual: "60 seconds" }
      )
      // The magnet's tracker is in the torrent built from it.
      expect(resolved.metainfo.announce).toBe(announceUrl)
      yield* withClock(handle.completed, { step: "1 second", maxVirtual: "120 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("a peer that serves forged metadata is dropped; an honest one gives it", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      const m = swarm.torrent.metainfo
      const liar = yield* metadataPeer({
        network: swarm.network, host: "10.0.9.1", port, infoHash: m.infoHash!, behaviour: { _tag: "Serve", info: forgery(m.infoBytes) }
      })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { latency: "2 seconds" } })
      const { resolved } = yield* withClock(
        swarm.magnetMember("10.0.0.2", magnetOf(m.infoHash!, { peers: [address("10.0.9.1"), address("10.0.0.1")] })),
        { step: "1 second", maxVirtual: "60 seconds" }
      )
      expect(Buffer.compare(resolved.metainfo.infoBytes, m.infoBytes)).toBe(0)
      // The liar was asked for every piece once, then never again (dead: not redialled).
      expect(liar.requests).toEqual([0])
      expect(liar.connections).toBe(1)
    }))

  it.scoped("fetchFrom: a forgery of the right size fails its hash check", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      const m = swarm.torrent.metainfo
      yield* metadataPeer({ network: swarm.network, host: "10.0.9.1", port, infoHash: m.infoHash!, behaviour: { _tag: "Serve", info: forgery(m.infoBytes) } })
      const error = yield* fetchOnce(swarm.network, "10.0.9.1", m.infoHash!)
      expect([error.reason, error.detail]).toEqual(["Corrupt", "metadata does not match the info hash"])
    }))

  it.scoped("fetchFrom: metadata_size past 16 MiB is refused before any request", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      const m = swarm.torrent.metainfo
      const peer = yield* metadataPeer({
        network: swarm.network, host: "10.0.9.1", port, infoHash: m.infoHash!, behaviour: { _tag: "Announce", size: Metadata.maxMetadataSize + 1 }
      })
      const error = yield* fetchOnce(swarm.network, "10.0.9.1", m.infoHash!)
      expect([error.reason, error.detail]).toEqual(["Protocol", `metadata of ${Metadata.maxMetadataSize + 1} bytes exceeds the ${Metadata.maxMetadataSize}-byte limit`])
      expect(peer.requests).toEqual([])
    }))

  it.scoped("fetchFrom: a peer that rejects is given up", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      const m = swarm.torrent.metainfo
      yield* metadataPeer({ network: swarm.network, host: "10.0.9.1", port, infoHash: m.infoHash!, behaviour: { _tag: "Reject", size: m.infoBytes.length } })
      const error = yield* fetchOnce(swarm.network, "10.0.9.1", m.infoHash!)
      expect([error.reason, error.detail]).toEqual(["Unsupported", "rejected metadata piece 0"])
    }))

  it.scoped("fetchFrom: a peer that never answers times out after 30 s", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      const m = swarm.torrent.metainfo
      yield* metadataPeer({ network: swarm.network, host: "10.0.9.1", port, infoHash: m.infoHash!, behaviour: { _tag: "Announce", size: m.infoBytes.length } })
      const error = yield* fetchOnce(swarm.network, "10.0.9.1", m.infoHash!)
      expect([error.reason, error.detail]).toEqual(["Timeout", "no metadata piece within 30s"])
    }))

  it.scoped("a multi-piece info dictionary (300 files, > 16 KiB) arrives whole", () =>
    Effect.gen(function* () {
      const files = Array.from({ length: 300 }, (_, i) => ({ path: [`dir-${i % 7}`, `a-rather-long-file-name-number-${i}.bin`], data: randomBytes(1000 + i, i + 1) }))
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      expect(m.infoBytes.length).toBeGreaterThan(Metadata.pieceSize)
      yield* swarm.member("10.0.0.1", { pieces: all })
      const { handle, resolved } = yield* withClock(
        swarm.magnetMember("10.0.0.2", magnetOf(m.infoHash!, { peers: [address("10.0.0.1")] })),
        { step: "1 second", maxVirtual: "60 seconds" }
      )
      expect(resolved.metainfo.files.length).toBe(300)
      yield* withClock(handle.completed, { step: "1 second", maxVirtual: "120 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("a private torrent's metadata is not served", () =>
    Effect.gen(function* () {
      const data = randomBytes(64 * 1024, 5)
      const priv = makeTorrent({ name: "private", pieceLength: 16384, files: [{ path: ["p.bin"], data }], private: true })
      const swarm = yield* makeSwarm({ size: 64 * 1024 })
      swarm.store.seed("/private", priv.metainfo, data)
      yield* Torrent.start({
        metainfo: priv.metainfo,
        root: "/private",
        peerId: PeerId.make(Buffer.from("private#####")),
        port,
        listenHost: "10.0.0.1",
        trusted: Bitfield.full(priv.metainfo.pieceCount)
      }).pipe(Effect.provide(Layer.mergeAll(
        MemoryNetwork.layerHost(swarm.network, { host: "10.0.0.1" }),
        storageMemory(swarm.store),
        MemoryTracker.layer(swarm.tracker),
        RarestFirst.layer,
        MemoryResume.layer()
      )))
      const error = yield* fetchOnce(swarm.network, "10.0.0.1", priv.metainfo.infoHash!)
      expect([error.reason, error.detail]).toEqual(["Unsupported", "does not offer ut_metadata"])
    }))
})

describe("PEX", () => {
  it.scoped("a leecher that knows only the seeder meets the other leecher through PEX", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 512 * 1024 })
      // No tracker: the leechers know the seeder only, and the seeder is slow (32 s for everything on one connection), so
      // they still want each other's pieces when they meet.
      swarm.tracker.fail(announceUrl, "Unreachable")
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 16384 } })
      const b = yield* swarm.member("10.0.0.3", { peers: [address("10.0.0.1")] })
      const a = yield* swarm.member("10.0.0.2", { peers: [address("10.0.0.1")] })
      const hasPeer = (handle: typeof a, prefix: string) => Effect.map(handle.peers, (ps) => ps.some((p) => p.key.startsWith(prefix)))
      const met = Effect.gen(function* () {
        while (!(yield* hasPeer(a, "10.0.0.3:")) && !(yield* hasPeer(b, "10.0.0.2:"))) yield* Effect.sleep("500 millis")
      })
      // The seeder's first PEX message to each goes out within a second of the extension handshake; the
      // second, a minute later, names whoever connected in between.
      yield* withClock(met, { step: "1 second", maxVirtual: "65 seconds" })
      const statsA = yield* a.stats
      expect(statsA.complete).toBe(false)
      yield* withClock(Effect.all([a.completed, b.completed]), { step: "1 second", maxVirtual: "600 seconds" })
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
    }))

  it.scoped("with PEX off (--no-pex) on the seeder, the two leechers never meet", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 512 * 1024 })
      swarm.tracker.fail(announceUrl, "Unreachable")
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 16384 }, pex: false })
      const b = yield* swarm.member("10.0.0.3", { peers: [address("10.0.0.1")] })
      const a = yield* swarm.member("10.0.0.2", { peers: [address("10.0.0.1")] })
      // Watched all along: once both are complete they would part anyway (both seeds).
      let met = false
      const watch = Effect.gen(function* () {
        while (true) {
          const keys = [...(yield* a.peers), ...(yield* b.peers)].map((p) => p.key)
          if (keys.some((k) => k.startsWith("10.0.0.2:") || k.startsWith("10.0.0.3:"))) met = true
          yield* Effect.sleep("500 millis")
        }
      })
      yield* withClock(Effect.raceFirst(Effect.all([a.completed, b.completed]), watch), { step: "1 second", maxVirtual: "600 seconds" })
      expect(met).toBe(false)
    }))
})

const fetchOnce = (network: MemoryNetwork.MemoryNetwork, host: string, infoHash: InfoHash) =>
  Effect.scoped(
    Effect.gen(function* () {
      const net = yield* PeerNetwork.PeerNetwork
      const connection = yield* net.connect(new PeerAddress({ host, port }))
      return yield* MetadataFetch.fetchFrom(connection, { infoHash, peerId: PeerId.make(Buffer.from("fetcher#####")), port: 0 })
    })
  ).pipe(
    Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.5.5" })),
    Effect.flip,
    (e) => withClock(e, { step: "1 second", maxVirtual: "60 seconds" }),
    Effect.orDie
  )
