/**
 * Whole swarms in one process: every member is a real bt-effect torrent on its own host of an in-memory
 * network, announcing to an in-memory tracker, storing into an in-memory store. Misbehaviour comes from
 * the data (a seeder whose pieces are corrupt), the network (a host that vanishes) or scripted peers.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Bitfield } from "../../src/domain/Bitfield.js"
import * as Layout from "../../src/domain/Layout.js"
import type * as Magnet from "../../src/domain/Magnet.js"
import type { Throttle } from "../../src/domain/TokenBucket.js"
import type { DhtService } from "../../src/services/dht/Dht.js"
import type { HashThreads } from "../../src/services/pieces/HashThreads.js"
import * as MagnetSource from "../../src/services/torrent/MagnetSource.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as MemoryNetwork from "../../src/services/wire/MemoryNetwork.js"
import { DatagramNetwork } from "../../src/services/wire/Datagram.js"
import type * as MemoryDatagram from "../../src/services/wire/MemoryDatagram.js"
import { PeerNetwork } from "../../src/services/wire/PeerNetwork.js"
import * as PeerTransports from "../../src/services/wire/PeerTransports.js"
import { infoHashHex as storeKey, MemoryStore, layer as storageMemory } from "../../src/services/storage/MemoryStorage.js"
import * as Resume from "../../src/services/storage/Resume.js"
import * as Torrent from "../../src/services/torrent/Torrent.js"
import { makeTorrent, randomBytes, type TestFile, type TestTorrent } from "./torrents.js"
import * as RarestFirst from "../../src/services/pieces/RarestFirst.js"
import { MemoryResume, layer as resumeMemory } from "../../src/services/storage/MemoryResume.js"
import { MemoryTracker, layer as trackerMemory } from "../../src/services/tracker/MemoryTracker.js"

export const port = 6881
export const announceUrl = "http://tracker.test/announce"

export interface MemberOptions {
  /** Pieces this member starts with (seeders: all). */
  readonly pieces?: (piece: number) => boolean
  /** Pieces whose data this member holds corrupted (it serves them as they are). */
  readonly corrupt?: (piece: number) => boolean
  readonly maxPeers?: number
  readonly link?: MemoryNetwork.LinkOptions
  readonly peers?: ReadonlyArray<PeerAddress>
  readonly uploadSlots?: number
  /** Start on what storage and resume data hold (Resume.recover), as `download` does; `pieces` then only
   *  pre-fills the store. */
  readonly recover?: boolean
  readonly checkpointIntervalMs?: number
  /** The member's DHT node: the torrent is looked up and announced there. */
  readonly dht?: DhtService
  readonly pex?: boolean
  readonly throttle?: Throttle
  /** Threads that hash the member's downloaded pieces. */
  readonly hashThreads?: HashThreads
  /** The files to download (0-based); absent: all. */
  readonly selection?: ReadonlyArray<number>
  /** Peers over uTP only, on this in-memory datagram network (wire/PeerTransports.ts with `tcp: false`),
   *  instead of the in-memory streams. */
  readonly utpOver?: MemoryDatagram.MemoryDatagram
}

export interface Swarm {
  readonly network: MemoryNetwork.MemoryNetwork
  readonly tracker: MemoryTracker
  readonly store: MemoryStore
  /** A member's resume data (its own state folder). */
  readonly resume: (host: string) => MemoryResume
  readonly torrent: TestTorrent
  readonly root: (host: string) => string
  /** Starts a member on `host`. */
  readonly member: (host: string, options?: MemberOptions) => Effect.Effect<Torrent.TorrentHandle, unknown, Scope.Scope>
  /** The bytes a member holds now. */
  readonly contents: (host: string) => Uint8Array | undefined
  /** Starts a member from a magnet link, as `download 'magnet:...'` does: metadata first, then the torrent. */
  readonly magnetMember: (
    host: string,
    magnet: Magnet.Magnet,
    options?: { readonly dht?: DhtService; readonly link?: MemoryNetwork.LinkOptions }
  ) => Effect.Effect<{ readonly handle: Torrent.TorrentHandle; readonly resolved: MagnetSource.Resolved }, unknown, Scope.Scope>
}

export const makeSwarm = (options: {
  readonly size?: number
  readonly pieceLength?: number
  readonly files?: ReadonlyArray<TestFile>
  readonly seed?: number
  /** A torrent made elsewhere (a v2 or hybrid one: v2Torrents.ts), its payload the whole piece space;
   *  `size`, `pieceLength`, `files` and `seed` are then unused. */
  readonly torrent?: TestTorrent
}): Effect.Effect<Swarm> =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork.make()
    const tracker = new MemoryTracker()
    const store = MemoryStore.make()
    const states = new Map<string, MemoryResume>()
    const resume = (host: string) => {
      const existing = states.get(host)
      if (existing !== undefined) return existing
      const made = new MemoryResume()
      states.set(host, made)
      return made
    }
    const files = options.files ?? [{ path: ["payload.bin"], data: randomBytes(options.size ?? 1024 * 1024, options.seed ?? 1) }]
    const torrent = options.torrent ?? makeTorrent({ name: "swarm", pieceLength: options.pieceLength ?? 32768, files, announce: announceUrl })
    const m = torrent.metainfo
    const layout = layoutOf(m)
    const root = (host: string) => `/swarm/${host}`
    const infoHashHex = storeKey(m)

    const member = (host: string, memberOptions: MemberOptions = {}) =>
      Effect.gen(function* () {
        const trusted = Bitfield.empty(m.pieceCount)
        if (memberOptions.pieces !== undefined) {
          const data = new Uint8Array(torrent.payload)
          for (let i = 0; i < m.pieceCount; i++) {
            if (!memberOptions.pieces(i)) continue
            trusted.set(i)
            if (memberOptions.corrupt?.(i) === true) {
              const at = Layout.pieceOffset(layout, i)
              for (let b = 0; b < Layout.pieceSize(layout, i); b += 997) data[at + b] = data[at + b]! ^ 0xff
            }
          }
          store.seed(root(host), m, data)
        }
        const streams = MemoryNetwork.layerHost(network, { host, ...memberOptions.link })
        const utpOver = memberOptions.utpOver
        const peers = utpOver === undefined
          ? streams
          : Layer.effect(PeerNetwork, Effect.flatMap(PeerNetwork, (tcp) => PeerTransports.make(tcp, { utp: true, tcp: false }, {}))).pipe(
            Layer.provide(Layer.merge(streams, Layer.succeed(DatagramNetwork, utpOver)))
          )
        const layers = Layer.mergeAll(
          peers,
          storageMemory(store),
          trackerMemory(tracker),
          RarestFirst.layer,
          resumeMemory(resume(host))
        )
        // As `download` does: the checkpoint's pieces, its totals, and whether it is current.
        const start = memberOptions.recover === true
          ? Effect.map(Resume.recover(m, root(host)), (r) => ({
            trusted: r.have,
            ...(r.saved !== undefined ? { previous: r.saved } : {}),
            checkpointCurrent: r.current
          }))
          : Effect.succeed({ trusted })
        return yield* Effect.flatMap(start, (recovered) => Torrent.start({
          metainfo: m,
          root: root(host),
          peerId: PeerId.make(Buffer.from(host.padEnd(12, "#"))),
          port,
          listenHost: host,
          announceIp: host,
          ...recovered,
          ...(memberOptions.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: memberOptions.checkpointIntervalMs } : {}),
          ...(memberOptions.maxPeers !== undefined ? { maxPeers: memberOptions.maxPeers } : {}),
          ...(memberOptions.uploadSlots !== undefined ? { uploadSlots: memberOptions.uploadSlots } : {}),
          ...(memberOptions.peers !== undefined ? { peers: memberOptions.peers } : {}),
          ...(memberOptions.dht !== undefined ? { dht: memberOptions.dht } : {}),
          ...(memberOptions.pex !== undefined ? { pex: memberOptions.pex } : {}),
          ...(memberOptions.throttle !== undefined ? { throttle: memberOptions.throttle } : {}),
          ...(memberOptions.hashThreads !== undefined ? { hashThreads: memberOptions.hashThreads } : {}),
          ...(memberOptions.selection !== undefined ? { selection: memberOptions.selection } : {})
        })).pipe(Effect.provide(layers))
      })

    const magnetMember = (
      host: string,
      magnet: Magnet.Magnet,
      magnetOptions: { readonly dht?: DhtService; readonly link?: MemoryNetwork.LinkOptions } = {}
    ) =>
      Effect.gen(function* () {
        const peerId = PeerId.make(Buffer.from(host.padEnd(12, "#")))
        const resolved = yield* MagnetSource.resolve(magnet, {
          peerId,
          port,
          dht: magnetOptions.dht,
          stallTimeoutSeconds: 0,
          report: () => Effect.void
        })
        const handle = yield* Torrent.start({
          metainfo: resolved.metainfo,
          root: root(host),
          peerId,
          port,
          listenHost: host,
          announceIp: host,
          peers: resolved.peers,
          ...(magnetOptions.dht !== undefined ? { dht: magnetOptions.dht } : {})
        })
        return { handle, resolved }
      }).pipe(Effect.provide(Layer.mergeAll(
        MemoryNetwork.layerHost(network, { host, ...magnetOptions.link }),
        storageMemory(store),
        trackerMemory(tracker),
        RarestFirst.layer,
        resumeMemory(resume(host))
      )))

    return {
      magnetMember,
      network,
      tracker,
      store,
      resume,
      torrent,
      root,
      member,
      contents: (host) => store.contents(root(host), infoHashHex)
    }
  })

export const all = () => true

export const address = (host: string) => new PeerAddress({ host, port })
