/**
 * The Client (Client.ts) put together: one shared peer port (PeerRouter), an optional DHT node, and each
 * torrent in a scope of its own under the client's, so that removing one stops only it and closing the
 * client stops them all. `layer` runs it over TCP, the files, HTTP and UDP trackers, as `download` and
 * `seed` do; `layerMemory` over one host of an in-memory network, an in-memory store and tracker, for
 * tests under TestClock (see ClientSwarm.ts).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import { MetainfoError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Magnet from "../../domain/Magnet.js"
import { type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import { PeerAddress } from "../../domain/PeerAddress.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import { createTorrent } from "../create/CreateTorrent.js"
import type { DhtOptions } from "../dht/Dht.js"
import { dhtOptions, startDht } from "../dht/DhtSettings.js"
import type { PiecePicker } from "../pieces/PiecePicker.js"
import * as RarestFirst from "../pieces/RarestFirst.js"
import * as FileStorage from "../storage/FileStorage.js"
import * as MemoryResume from "../storage/MemoryResume.js"
import * as MemoryStorage from "../storage/MemoryStorage.js"
import * as ResumeFiles from "../storage/ResumeFiles.js"
import { defaultStateDir, type ResumeStore } from "../storage/ResumeStore.js"
import type { Storage } from "../storage/Storage.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import { ensureDownloadable, loadTorrent } from "../torrent/TorrentSource.js"
import * as MemoryTracker from "../tracker/MemoryTracker.js"
import * as NetworkTracker from "../tracker/NetworkTracker.js"
import type { Tracker } from "../tracker/Tracker.js"
import type { DatagramNetwork } from "../wire/Datagram.js"
import * as MemoryDatagram from "../wire/MemoryDatagram.js"
import * as MemoryNetwork from "../wire/MemoryNetwork.js"
import type { PeerNetwork } from "../wire/PeerNetwork.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import * as PeerTransports from "../wire/PeerTransports.js"
import * as UdpDatagram from "../wire/UdpDatagram.js"
import { Client, type ClientService, type ClientTorrent, type SeedOptions } from "./Client.js"
import { chooseFiles } from "./ClientFiles.js"
import * as ClientTorrents from "./ClientTorrents.js"
import { throttleOf } from "./RateLimit.js"

export interface ClientOptions {
  /** Where torrents' files go (and are looked for when added). */
  readonly downloadDir: string
  /** The peer port; 0 (the default) picks a free one. */
  readonly port?: number
  /** The address to listen on (default: all). */
  readonly host?: string
  /** Our DHT node: `true` with the public routers, or its options; off when absent or `false`. */
  readonly dht?: boolean | DhtOptions
  /** Peer exchange (BEP 11), default on. */
  readonly pex?: boolean
  readonly maxPeers?: number
  /** Bytes per second at most received, and sent, by all its torrents together; 0 or absent: no limit. */
  readonly downloadLimit?: number
  readonly uploadLimit?: number
  readonly uploadSlots?: number
  /** Our address as trackers should hand it out (in-memory swarms, where the tracker cannot see it). */
  readonly announceIp?: string
  /** Give up on a magnet's metadata when no peer gave it for this long (default: never). */
  readonly metadataTimeoutSeconds?: number
}

/** What a client runs on: the ports of the engine. */
export type ClientNeeds = PeerNetwork | Storage | Tracker | PiecePicker | ResumeStore | FileSystem.FileSystem | DatagramNetwork

const decode = (bytes: Uint8Array) =>
  Either.mapLeft(decodeTorrent(bytes), (e) => new MetainfoError({ reason: e.reason, detail: e.detail }))

export const make = (options: ClientOptions): Effect.Effect<ClientService, never, ClientNeeds | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<ClientNeeds>()
    // A scope of its own, so that `close` can end it before the layer's scope does.
    const clientScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    yield* Effect.addFinalizer(() => Scope.close(clientScope, Exit.void))
    const peerId = yield* randomPeerId
    const listener = yield* PeerRouter.make({ port: options.port ?? 0, ...(options.host !== undefined ? { host: options.host } : {}) }).pipe(
      Effect.orDie
    )
    const dhtSettings = options.dht === true
      ? Either.getOrUndefined(dhtOptions({ enabled: true, port: listener.port, bootstrap: undefined }, listener.port, defaultStateDir()))
      : options.dht === false ? undefined : options.dht
    const dht = yield* startDht(dhtSettings)
    const running = new Map<string, ClientTorrent>()
    const throttle = yield* throttleOf(options)

    const run = (metainfo: Metainfo, root: string, peers: ReadonlyArray<PeerAddress>, selection?: ReadonlyArray<number>) =>
      Effect.gen(function* () {
        const infoHash = toHex(torrentHash(metainfo))
        const existing = running.get(infoHash)
        if (existing !== undefined) return existing
        const torrent = yield* ClientTorrents.run(clientScope, {
          metainfo,
          root,
          peers,
          selection,
          peerId,
          listener,
          dht,
          ...(options.pex !== undefined ? { pex: options.pex } : {}),
          ...(options.maxPeers !== undefined ? { maxPeers: options.maxPeers } : {}),
          ...(throttle !== undefined ? { throttle } : {}),
          ...(options.uploadSlots !== undefined ? { uploadSlots: options.uploadSlots } : {}),
          ...(options.announceIp !== undefined ? { announceIp: options.announceIp } : {}),
          forget: () => running.delete(infoHash)
        })
        running.set(infoHash, torrent)
        return torrent
      }).pipe(Effect.provide(context))

    const metainfoOf = (source: string | Uint8Array) =>
      Effect.gen(function* () {
        if (typeof source !== "string") return { metainfo: yield* decode(source), peers: [], selectOnly: undefined }
        if (!source.startsWith("magnet:")) return { metainfo: yield* loadTorrent(source), peers: [], selectOnly: undefined }
        const magnet = yield* Magnet.parse(source)
        const resolved = yield* MagnetSource.resolve(magnet, {
          peerId,
          port: listener.port,
          dht,
          stallTimeoutSeconds: options.metadataTimeoutSeconds ?? 0,
          report: (line) => Effect.logDebug(line)
        })
        return { metainfo: resolved.metainfo, peers: resolved.peers, selectOnly: magnet.selectOnly }
      }).pipe(Effect.provide(context))

    const add: ClientService["add"] = (source, addOptions = {}) =>
      Effect.gen(function* () {
        const { metainfo, peers, selectOnly } = yield* metainfoOf(source)
        const given = (addOptions.peers ?? []).map((p) => new PeerAddress(p))
        const selection = yield* chooseFiles(metainfo, addOptions.files, selectOnly)
        return yield* run(yield* ensureDownloadable(metainfo), options.downloadDir, [...peers, ...given], selection)
      })

    const seed = (target: string, seedOptions: SeedOptions = {}) =>
      Effect.gen(function* () {
        if (seedOptions.torrent !== undefined) {
          const { metainfo } = yield* metainfoOf(seedOptions.torrent)
          return yield* run(yield* ensureDownloadable(metainfo), target, [])
        }
        const created = yield* createTorrent({
          path: target,
          announce: seedOptions.announce ?? [],
          ...(seedOptions.pieceLength !== undefined ? { pieceLength: seedOptions.pieceLength } : {}),
          workers: 0
        })
        return yield* run(created.metainfo, path.dirname(path.resolve(target)), [])
      })

    return {
      port: listener.port,
      add,
      seed,
      torrents: Effect.sync(() => [...running.values()]),
      close: Effect.suspend(() => {
        running.clear()
        return Scope.close(clientScope, Exit.void)
      })
    } satisfies ClientService
  })

/** The engine over the real world, as `download` and `seed` compose it: TCP and uTP (sharing the UDP port
 *  with the DHT), files, HTTP and UDP trackers, resume data in `stateDir` (default: the CLI's state folder). */
export const engineLayer = (stateDir: string = defaultStateDir()): Layer.Layer<ClientNeeds> =>
  Layer.mergeAll(
    PeerTransports.layer().pipe(Layer.provideMerge(UdpDatagram.layer)),
    FileStorage.layer,
    NetworkTracker.layer.pipe(Layer.provide(NodeHttpClient.layer)),
    RarestFirst.layer,
    ResumeFiles.layer(stateDir),
    NodeFileSystem.layer
  )

/** A Client over the real network and files. */
export const layer = (options: ClientOptions & { readonly stateDir?: string }): Layer.Layer<Client> =>
  Layer.scoped(Client, make(options)).pipe(Layer.provide(engineLayer(options.stateDir)))

export interface MemoryOptions extends ClientOptions {
  readonly network: MemoryNetwork.MemoryNetwork
  /** This client's host on the network (also the address announced). */
  readonly host: string
  readonly store: MemoryStorage.MemoryStore
  readonly tracker: MemoryTracker.MemoryTracker
  /** Its resume data (a state folder of its own); fresh when absent. */
  readonly resume?: MemoryResume.MemoryResume
  readonly link?: MemoryNetwork.LinkOptions
}

/** A Client on one host of an in-memory network, storing in memory, announcing to an in-memory tracker. */
export const layerMemory = (options: MemoryOptions): Layer.Layer<Client> =>
  Layer.scoped(Client, make({ port: 6881, announceIp: options.host, ...options })).pipe(
    Layer.provide(Layer.mergeAll(
      MemoryNetwork.layerHost(options.network, { host: options.host, ...options.link }),
      MemoryStorage.layer(options.store),
      MemoryTracker.layer(options.tracker),
      RarestFirst.layer,
      MemoryResume.layer(options.resume ?? new MemoryResume.MemoryResume()),
      MemoryDatagram.layer(),
      NodeFileSystem.layer
    ))
  )
