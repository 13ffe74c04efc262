/**
 * A torrent's peers: the port it listens on (its own, or one shared with other torrents: PeerRouter.ts),
 * the sessions dialled and accepted (Dialer.ts, each a PeerSession with the context made here), the
 * choker, PEX and the DHT. What a session may ask of the torrent (SwarmContext) is answered from the
 * torrent's parts: its picker, its swarm of connected peers, its piece flow, its rate meters.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type { NetworkError, PeerError, StorageError } from "../../domain/Errors.js"
import type { FileHashes } from "../../domain/FileHashes.js"
import { layoutOf, swarmHashes, torrentHash, truncatedV2 } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import * as Prng from "../../domain/Prng.js"
import * as Pex from "../../protocol/Pex.js"
import type { RateMeter } from "../../domain/Rate.js"
import type { SwarmContext } from "../peer/PeerContext.js"
import * as PeerSession from "../peer/PeerSession.js"
import type { Picker } from "../pieces/PiecePicker.js"
import { type Connection, PeerNetwork } from "../wire/PeerNetwork.js"
import { EncryptionPolicy } from "../wire/Encryption.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import { Choker } from "./Choker.js"
import { Departures } from "./Departures.js"
import * as Dialer from "./Dialer.js"
import { PeerCandidates } from "./PeerCandidates.js"
import * as PeerDiscovery from "./PeerDiscovery.js"
import type * as PieceFlow from "./PieceFlow.js"
import type { Swarm } from "./Swarm.js"
import type { TorrentOptions } from "./TorrentHandle.js"

/** Addresses a torrent keeps to dial at most. */
const maxCandidates = 2000

export interface Parts {
  readonly picker: Picker
  readonly swarm: Swarm
  readonly flow: PieceFlow.PieceFlow
  readonly meters: { readonly down: RateMeter; readonly up: RateMeter }
  readonly withPieces: SwarmContext["withPieces"]
  readonly done: Deferred.Deferred<void, StorageError>
  /** A v2 or hybrid torrent's hashes (FileHashes.ts), shared with PieceFlow's per-block blame. */
  readonly hashes: FileHashes | undefined
}

export interface Peers {
  readonly port: number
  readonly dialer: Dialer.Dialer
  readonly candidates: PeerCandidates
  /** Addresses to dial, from wherever they come. */
  readonly learn: (addresses: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
}

/** Starts listening, dialling, choking and discovering for the torrent, in the scope. */
export const connect = (options: TorrentOptions, parts: Parts): Effect.Effect<Peers, NetworkError, PeerNetwork | Scope.Scope> =>
  Effect.gen(function* () {
    const { picker, swarm, flow, meters } = parts
    const m = options.metainfo
    const hashes = parts.hashes
    const policy = (yield* EncryptionPolicy) ?? "off"
    const network = yield* PeerNetwork
    const encryption = options.encryption ?? (() => policy)
    const candidates = new PeerCandidates(maxCandidates)
    const clock = yield* Effect.clock
    // Private torrents (BEP 27) find peers through their trackers only: no DHT, no PEX, no metadata served.
    const dht = m.private ? undefined : options.dht
    const addDhtNode = dht === undefined ? undefined : yield* PeerDiscovery.makeNodeFeed(dht)
    const choker = yield* startChoker(options, swarm, picker)
    let port = 0
    const departures = new Departures(candidates, swarm, picker)
    const learn = (addresses: ReadonlyArray<PeerAddress>) => {
      const ourselves = (a: PeerAddress) => a.port === port && (a.host === options.announceIp || a.host === "127.0.0.1")
      dialer.learn(addresses.filter((a) => !ourselves(a)))
    }
    const context: SwarmContext = {
      extensions: {
        metadata: m.private ? undefined : m.infoBytes,
        pex: !m.private && options.pex !== false,
        listenPort: () => port,
        pexPeers: () => PeerDiscovery.pexPeers(swarm.links(), clock.unsafeCurrentTimeMillis()),
        learnPeers: (_from, peers) => {
          // A peer said to speak uTP is dialled over uTP first (wire/PeerTransports.ts).
          if (network.speaksUtp !== undefined) for (const p of peers) if ((p.flags & Pex.Flags.Utp) !== 0) network.speaksUtp(p.address)
          learn(peers.map((p) => p.address))
        }
      },
      ...(dht !== undefined && addDhtNode !== undefined ? { dht: { port: dht.port, addNode: addDhtNode } } : {}),
      ...(options.throttle !== undefined ? { throttle: options.throttle } : {}),
      infoHash: torrentHash(m),
      ...(m.infoHashV2 !== undefined ? { infoHashV2: truncatedV2(m)! } : {}),
      // BEP 52 hash requests answered from the piece layers (libtorrent asks for them with a btmh magnet).
      ...(hashes !== undefined ? { hashes } : {}),
      peerId: options.peerId,
      layout: layoutOf(m),
      picker,
      withPieces: parts.withPieces,
      interested: choker.interested,
      uninteresting: () => {
        if (departures.stranded(clock.unsafeCurrentTimeMillis())) dialer.wake()
      },
      attach: (link, peerId) => swarm.attach(link, peerId),
      detach: (key) => {
        const link = swarm.get(key)
        if (link !== undefined) departures.leaving(link, clock.unsafeCurrentTimeMillis())
        swarm.detach(key)
        dialer.wake()
        // Its requested blocks are back in the pool.
        swarm.wakeAll()
      },
      addBlock: flow.addBlock,
      get backlogged() {
        return flow.backlogged()
      },
      get requestAllowance() {
        return flow.requestAllowance()
      },
      countDownloaded: (bytes, now) => meters.down.add(bytes, now),
      countUploaded: (bytes, now) => meters.up.add(bytes, now)
    }
    const dialer: Dialer.Dialer = yield* Dialer.make<PeerError | StorageError>({
      candidates,
      maxSessions: options.maxPeers ?? 50,
      halfOpen: options.halfOpen ?? 12,
      connectTimeout: "10 seconds",
      forgiveOnConnect: true,
      encryption: { infoHash: torrentHash(m), policy: encryption },
      // A peer that dialled us is in session under another port: not dialled where it listens (the
      // connection would be refused as a duplicate, or replace the one we have: Swarm.attach).
      skip: () => {
        const listening = swarm.listenKeys()
        return (c) => swarm.has(c.key) || listening.has(c.key) || swarm.isBanned(c.address.host)
      },
      session: (connection, inbound) =>
        PeerSession.run({ connection, context, inbound }).pipe(
          Effect.onInterrupt(() => Effect.sync(() => departures.forget(connection.remote)))
        ),
      ended: (key, error) =>
        Effect.gen(function* () {
          if (error._tag === "StorageError") return yield* Deferred.fail(parts.done, error)
          departures.ended(key, error, yield* Clock.currentTimeMillis, dialer.inSession)
          yield* Effect.logDebug(`${error.message} (disconnected)`)
        })
    })
    const accept = (connection: Connection) => swarm.isBanned(connection.address.host) ? connection.close : dialer.accept(connection)
    // A port of our own tells MSE from plaintext as the daemon's does (PeerRouter); with encryption off
    // from the start, connections go straight to the sessions.
    const host = options.listenHost !== undefined ? { host: options.listenHost } : {}
    const listener = options.listener ??
      (encryption() === "off" ? undefined : yield* PeerRouter.make({ port: options.port, ...host, encryption }))
    port = listener === undefined
      ? (yield* network.listen({ port: options.port, ...host }, accept)).port
      : yield* Effect.as(Effect.forEach(swarmHashes(m), (hash) => listener.register(hash, accept), { discard: true }), listener.port)
    learn(options.peers ?? [])
    // A hybrid is looked up and announced under both its hashes: v1 and v2 peers store it under either.
    if (dht !== undefined) for (const infoHash of swarmHashes(m)) {
      yield* Effect.forkScoped(PeerDiscovery.dhtLoop({
        dht,
        infoHash,
        port: () => port,
        onPeers: (peers) => Effect.sync(() => learn(peers)),
        hungry: () => !picker.isComplete && swarm.size < PeerDiscovery.fewPeers
      }))
    }
    return { port, dialer, candidates, learn: (addresses) => Effect.sync(() => learn(addresses)) } satisfies Peers
  })

/** Every 10 s while peers are connected, who gets our upload (Choker.ts); a peer that becomes interested
 *  gets a free slot at once. Without peers there is nothing to choose: no round, no timer. */
const startChoker = (options: TorrentOptions, swarm: Swarm, picker: Picker) =>
  Effect.gen(function* () {
    const slots = options.uploadSlots ?? 4
    const choker = new Choker(
      { slots, roundMs: 10_000, optimisticRounds: 3, newPeerMs: 60_000 },
      Prng.make(yield* Random.nextIntBetween(0, 2 ** 32)).next
    )
    const round = Effect.map(Clock.currentTimeMillis, (now) => choker.applyTo([...swarm.links()], now, picker.isComplete))
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(swarm.whenPeers, Effect.zipRight(Effect.sleep("10 seconds"), round))))
    return {
      interested: (key: string) => {
        if (swarm.unchoked < slots + 1 && !picker.have.isEmpty) swarm.get(key)?.choke(false)
      }
    }
  })

