/**
 * The program for one torrent: its files, its picker, its trackers, its peers (dialled and inbound,
 * each in a supervised fiber), the verification of every piece, and its stats.
 *
 * A peer fiber that fails ends that peer and returns its blocks to the pool; nothing else. A storage
 * error is the torrent's own failure and ends it (through `completed`). The torrent holds no global
 * state, so several can run in one process.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { AnnounceEvent, AnnounceRequest } from "../../domain/Announce.js"
import { Bitfield } from "../../domain/Bitfield.js"
import type { NetworkError, PeerError, StorageError } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import * as Layout from "../../domain/Layout.js"
import { layoutOf, type Metainfo, pieceHash, trackerTiers } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import * as Prng from "../../domain/Prng.js"
import type { Throttle } from "../../domain/TokenBucket.js"
import { RateMeter } from "../../domain/Rate.js"
import * as Announcer from "../tracker/Announcer.js"
import { type Connection, PeerNetwork } from "../wire/PeerNetwork.js"
import * as PeerSession from "../peer/PeerSession.js"
import { PiecePicker } from "../pieces/PiecePicker.js"
import { PieceAssembly } from "../pieces/PieceAssembly.js"
import * as PieceReader from "../pieces/PieceReader.js"
import * as PieceWriter from "../pieces/PieceWriter.js"
import { Storage } from "../storage/Storage.js"
import { Choker } from "./Choker.js"
import { type Candidate, PeerCandidates } from "./PeerCandidates.js"
import * as Checkpoint from "../storage/Checkpoint.js"
import type { TrackerStatus } from "../tracker/Announcer.js"
import type { DhtService } from "../dht/Dht.js"
import * as PeerDiscovery from "./PeerDiscovery.js"
import type { SharedListener } from "../wire/PeerRouter.js"

export interface TorrentOptions {
  readonly metainfo: Metainfo
  /** The download folder (--out). */
  readonly root: string
  readonly peerId: PeerId
  /** The listening port (0 picks one) and host. */
  readonly port: number
  readonly listenHost?: string
  /** Our address as trackers should give it to others (in-memory swarms; real trackers see it). */
  readonly announceIp?: string
  readonly maxPeers?: number
  /** Connections being opened at once. */
  readonly halfOpen?: number
  /** Peers to dial from the start, besides the trackers'. */
  readonly peers?: ReadonlyArray<PeerAddress>
  /** Pieces whose data under `root` is known good (checked before, or a seeder's in tests): not checked. */
  readonly trusted?: Bitfield
  /** Regular unchoke slots of the choker (one more goes to the optimistic unchoke). */
  readonly uploadSlots?: number
  /** Between checkpoints of the resume data (Checkpoint.ts); default 30 s. */
  readonly checkpointIntervalMs?: number
  /** Bytes downloaded and uploaded in earlier runs (from the resume data), carried into its totals. */
  readonly previous?: { readonly downloaded: number; readonly uploaded: number }
  /** Our DHT node: the torrent is looked up and announced there (never for private torrents). */
  readonly dht?: DhtService
  /** Peer exchange (BEP 11); default on, always off for private torrents. */
  readonly pex?: boolean
  /** A port shared with other torrents (the daemon's); `port` and `listenHost` are then unused. */
  readonly listener?: SharedListener
  /** Rate limits (the daemon's, per torrent and for the session). */
  readonly throttle?: Throttle
}

export interface TorrentStats {
  readonly name: string
  readonly totalLength: number
  readonly pieceCount: number
  readonly piecesDone: number
  readonly verifiedBytes: number
  readonly downloadedBytes: number
  readonly uploadedBytes: number
  readonly downloadRate: number
  readonly uploadRate: number
  readonly peers: number
  readonly seeds: number
  readonly knownPeers: number
  readonly hashFailures: number
  readonly banned: ReadonlyArray<string>
  readonly trackers: ReadonlyArray<TrackerStatus>
  readonly complete: boolean
}

export type TorrentEvent =
  | { readonly _tag: "PieceVerified"; readonly piece: number }
  | { readonly _tag: "PieceFailed"; readonly piece: number; readonly senders: ReadonlyArray<string> }
  | { readonly _tag: "PeerBanned"; readonly host: string; readonly reason: string }
  | { readonly _tag: "Completed" }

export interface TorrentHandle {
  readonly port: number
  readonly stats: Effect.Effect<TorrentStats>
  /** Completes when every piece is verified and stored; fails when the torrent cannot go on. */
  readonly completed: Effect.Effect<void, StorageError>
  /** What happens to the torrent, as it happens (subscribe before it does). */
  readonly events: PubSub.PubSub<TorrentEvent>
  /** The peers connected now (keys "host:port"), for tests and display. */
  readonly peers: Effect.Effect<ReadonlyArray<PeerSession.PeerInfo>>
  /** The verified pieces now (a copy). */
  readonly pieces: Effect.Effect<Bitfield>
}

const strikesToBan = 2
/** Pieces kept in memory after a read for peers (whole pieces read once, served as many blocks). */
const readCacheBytes = 16 * 1024 * 1024
/** Piece data held in pieces in progress, waiting to be checked or being written; past it nothing new is
 *  requested (raised to two pieces where pieces are larger). */
const maxBufferedBytes = 8 * 1024 * 1024
const maxCandidates = 2000

const hostOf = (key: string) => (key.startsWith("[") ? key.slice(1, key.indexOf("]")) : key.slice(0, key.lastIndexOf(":")))

export const start = Effect.fn("Torrent.start")(function* (options: TorrentOptions) {
  const m = options.metainfo
  const maxPeers = options.maxPeers ?? 50
  const halfOpen = options.halfOpen ?? 12
  const layout = layoutOf(m)
  const infoHash = m.infoHash!
  const network = yield* PeerNetwork
  const storage = yield* (yield* Storage).open(m, options.root)
  const have = options.trusted?.copy() ?? Bitfield.empty(m.pieceCount)
  const picker = yield* (yield* PiecePicker).make(layout, have)
  const down = new RateMeter()
  const up = new RateMeter()
  const previous = options.previous ?? { downloaded: 0, uploaded: 0 }
  // Added after the storage, so that the last checkpoint is taken on stop before the files close.
  const checkpoint = yield* Checkpoint.make({
    metainfo: m,
    root: options.root,
    storage,
    have: () => picker.have,
    totals: () => ({ downloaded: previous.downloaded + down.total, uploaded: previous.uploaded + up.total })
  })
  yield* checkpoint.save({ strict: true })
  yield* Effect.addFinalizer(() =>
    Effect.if(checkpoint.changed, { onTrue: () => checkpoint.save(), onFalse: () => Effect.void }).pipe(
      Effect.catchAll((e) => Effect.logWarning(`last checkpoint not saved: ${e.message}`))
    )
  )
  const bufferBudget = Math.max(maxBufferedBytes, 2 * layout.pieceLength)
  const assembly = new PieceAssembly(layout, (i) => pieceHash(m, i), 2 * bufferBudget) // and what comes past it
  const reader = PieceReader.make(layout, storage, readCacheBytes)
  const done = yield* Deferred.make<void, StorageError>()
  const completeAtStart = picker.isComplete
  if (completeAtStart) yield* Deferred.succeed(done, undefined)

  const links = new Map<string, PeerSession.PeerLink>()
  const peerIds = new Map<string, string>()
  const banned = new Set<string>()
  const strikes = new Map<string, number>()
  const candidates = new PeerCandidates(maxCandidates)
  const connecting = new Set<string>()
  let verifiedBytes = 0
  let hashFailures = 0
  let completing = false
  for (let i = 0; i < m.pieceCount; i++) if (have.has(i)) verifiedBytes += Layout.pieceSize(layout, i)

  const events = yield* PubSub.unbounded<TorrentEvent>()
  const scope = yield* Effect.scope
  const fibers = yield* FiberMap.make<string>()
  const wake = yield* Queue.sliding<void>(1)
  const toVerify = yield* Queue.unbounded<number>()
  const ourPeerId = InfoHash.toHex(options.peerId)

  const ban = (key: string, why: string) =>
    Effect.gen(function* () {
      const host = hostOf(key)
      if (banned.has(host)) return
      banned.add(host)
      yield* Effect.logWarning(`banned ${host}: ${why}`)
      yield* PubSub.publish(events, { _tag: "PeerBanned", host, reason: why })
      // Forked: the caller may be the banned peer's own fiber, which cannot wait for its own end.
      for (const k of [...links.keys()].filter((k) => hostOf(k) === host)) {
        yield* Effect.forkIn(FiberMap.remove(fibers, k), scope)
      }
    })

  // Private torrents (BEP 27) find peers through their trackers only: no DHT, no PEX, no metadata served.
  const dht = m.private ? undefined : options.dht
  const addDhtNode = dht === undefined ? undefined : yield* PeerDiscovery.makeNodeFeed(dht)
  const clock = yield* Effect.clock
  const context: PeerSession.SwarmContext = {
    extensions: {
      metadata: m.private ? undefined : m.infoBytes,
      pex: !m.private && options.pex !== false,
      listenPort: () => listener.port,
      pexPeers: () => PeerDiscovery.pexPeers(links.values(), clock.unsafeCurrentTimeMillis()),
      learnPeers: (_from, peers) => learn(peers)
    },
    ...(dht !== undefined && addDhtNode !== undefined ? { dht: { port: dht.port, addNode: addDhtNode } } : {}),
    ...(options.throttle !== undefined ? { throttle: options.throttle } : {}),
    infoHash,
    peerId: options.peerId,
    layout,
    picker,
    withPieces: reader.withPieces,
    interested: (key) => {
      // A free slot is given at once rather than at the next round.
      const unchoked = [...links.values()].filter((l) => l.unchoked()).length
      if (unchoked < slots + 1 && !picker.have.isEmpty) links.get(key)?.choke(false)
    },
    attach: (link, peerId) => {
      const id = InfoHash.toHex(peerId)
      if (id === ourPeerId) return { reason: "Self", detail: "connected to ourselves" }
      if (banned.has(link.host)) return { reason: "Banned", detail: "banned" }
      if ([...peerIds.values()].includes(id)) return { reason: "Duplicate", detail: "already connected to this peer" }
      links.set(link.key, link)
      peerIds.set(link.key, id)
      return undefined
    },
    detach: (key) => {
      links.delete(key)
      peerIds.delete(key)
      void wake.unsafeOffer(undefined)
      // Its requested blocks are back in the pool.
      for (const link of links.values()) link.wake()
    },
    addBlock: (key, block, data) => {
      const r = picker.blockReceived(key, block)
      if (!r.accepted) return
      assembly.addBlock(block.piece, block.offset, data, key)
      for (const other of r.cancel) links.get(other)?.cancel(block)
      if (r.pieceComplete) void toVerify.unsafeOffer(block.piece)
    },
    get backlogged() {
      return assembly.bufferedBytes > bufferBudget
    },
    get requestAllowance() {
      const inFlight = [...links.values()].reduce((n, link) => n + link.outstanding(), 0)
      return Math.max(0, Math.floor(bufferBudget / Layout.BLOCK_SIZE) - inFlight)
    },
    countDownloaded: (bytes, now) => down.add(bytes, now),
    countUploaded: (bytes, now) => up.add(bytes, now)
  }

  /**
   * Checks completed pieces in order, apart from any peer (a piece completed by a peer that then goes
   * away is still checked), and hands the good ones to the writer; checking goes on while it writes.
   * A storage error ends the torrent.
   */
  const checkPiece = (piece: number) =>
    Effect.gen(function* () {
      const verdict = assembly.verify(piece)
      if (verdict.ok) {
        for (const liar of verdict.liars) yield* ban(liar, `sent corrupt data for piece ${piece}`)
        return writer.enqueue(piece, verdict.data)
      }
      hashFailures++
      picker.pieceFailed(piece)
      for (const link of links.values()) link.wake()
      yield* Effect.logWarning(`piece ${piece} failed its hash check (from ${verdict.senders.join(", ")})`)
      yield* PubSub.publish(events, { _tag: "PieceFailed", piece, senders: verdict.senders })
      if (verdict.senders.length === 1) {
        const host = hostOf(verdict.senders[0]!)
        const n = (strikes.get(host) ?? 0) + 1
        strikes.set(host, n)
        if (n >= strikesToBan) yield* ban(verdict.senders[0]!, `${n} pieces that failed their hash check`)
      }
    })

  const pieceStored = (piece: number, data: Uint8Array) =>
    Effect.gen(function* () {
      verifiedBytes += data.length
      assembly.release(data)
      picker.pieceVerified(piece)
      // Every peer hears of it (and wakes: those that stopped requesting while we were behind start again).
      for (const link of links.values()) link.have(piece)
      yield* PubSub.publish(events, { _tag: "PieceVerified", piece })
      // Complete means complete on disk: flushed, and recorded so that a restart needs no hashing. (Once:
      // the writer's two fibers may both find the picker complete.)
      if (picker.isComplete && !completing) {
        completing = true
        yield* checkpoint.save()
        yield* PubSub.publish(events, { _tag: "Completed" })
        yield* Deferred.succeed(done, undefined)
      }
    })

  const writer = yield* PieceWriter.make(storage, pieceStored, (error) => Deferred.fail(done, error))
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(toVerify), checkPiece)))

  // Checkpoints at an interval; a disk error or a file deleted under the torrent ends it.
  yield* Effect.forkScoped(
    Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(options.checkpointIntervalMs ?? 30_000)
        if (yield* checkpoint.changed) yield* checkpoint.save()
      }
    }).pipe(Effect.catchAll((error) => Deferred.fail(done, error)))
  )

  const endedWith = (key: string, error: PeerError | NetworkError | StorageError) =>
    Effect.gen(function* () {
      if (error._tag === "StorageError") return yield* Deferred.fail(done, error)
      const dead = error._tag === "PeerError" && ["Self", "Banned", "Protocol", "Handshake"].includes(error.reason)
      candidates.failed(key, yield* Clock.currentTimeMillis, dead)
      yield* Effect.logDebug(`${error.message} (disconnected)`)
    })

  const runSession = (connection: Connection, inbound: boolean) =>
    PeerSession.run({ connection, context, inbound }).pipe(
      Effect.catchAll((error) => endedWith(connection.remote, error))
    )

  // Inbound peers: on our own port, or on a port shared with other torrents (PeerRouter.ts).
  const accept = (connection: Connection) =>
    Effect.flatMap(FiberMap.size(fibers), (sessions) =>
      banned.has(connection.address.host) || sessions >= maxPeers
        ? connection.close
        : FiberMap.run(fibers, connection.remote, runSession(connection, true)).pipe(Effect.flatMap((f) => f.await), Effect.asVoid)
    )
  const listener = options.listener === undefined
    ? yield* network.listen({ port: options.port, host: options.listenHost ?? "0.0.0.0" }, accept)
    : yield* Effect.as(options.listener.register(infoHash, accept), { port: options.listener.port })

  const learn = (peers: ReadonlyArray<PeerAddress>) => {
    for (const address of peers) {
      if (address.port === listener.port && (address.host === options.announceIp || address.host === "127.0.0.1")) continue
      candidates.add(address, (key) => links.has(key) || connecting.has(key))
    }
    void wake.unsafeOffer(undefined)
  }
  const addCandidates = (peers: ReadonlyArray<PeerAddress>) => Effect.sync(() => learn(peers))

  // Outbound peers: keep up to maxPeers connected, halfOpen connecting at once.
  const dial = (candidate: Candidate) => {
    const key = candidate.key
    return Effect.scoped(
      Effect.gen(function* () {
        const connection = yield* network.connect(candidate.address, { timeout: "10 seconds" }).pipe(
          Effect.ensuring(Effect.sync(() => connecting.delete(key)))
        )
        candidate.failures = 0
        return yield* runSession(connection, false)
      })
    ).pipe(Effect.catchAll((error) => endedWith(key, error)))
  }

  const dialer = Effect.gen(function* () {
    while (true) {
      yield* Queue.take(wake).pipe(Effect.timeoutOption("1 second"))
      const now = yield* Clock.currentTimeMillis
      const due = candidates.due(now, (c) => links.has(c.key) || connecting.has(c.key) || banned.has(c.address.host))
      for (const c of due) {
        const key = c.key
        // Every session counts, from dialling through the handshake (not only attached peers): counting
        // attached ones let a dialler woken during handshakes open far more than maxPeers.
        if ((yield* FiberMap.size(fibers)) >= maxPeers || connecting.size >= halfOpen) break
        if (yield* FiberMap.has(fibers, key)) continue
        connecting.add(key)
        yield* FiberMap.run(fibers, key, dial(c))
      }
    }
  })

  // The choker: every 10 s, who gets our upload (Choker.ts).
  const slots = options.uploadSlots ?? 4
  const choker = new Choker(
    { slots, roundMs: 10_000, optimisticRounds: 3, newPeerMs: 60_000 },
    Prng.make(yield* Random.nextIntBetween(0, 2 ** 32)).next
  )
  const chokeRound = Effect.map(Clock.currentTimeMillis, (now) => choker.applyTo([...links.values()], now, picker.isComplete))
  yield* Effect.forkScoped(Effect.repeat(chokeRound, Schedule.spaced("10 seconds")))

  // One key for the whole session, so that trackers know us across address changes.
  const trackerKey = yield* Random.nextIntBetween(0, 2 ** 31)
  const announcer = yield* Announcer.make({
    tiers: trackerTiers(m),
    request: (event: AnnounceEvent) =>
      Effect.sync(() => {
        const request: AnnounceRequest = {
          infoHash,
          peerId: options.peerId,
          port: listener.port,
          uploaded: up.total,
          downloaded: down.total,
          left: m.totalLength - verifiedBytes,
          event,
          numwant: 50,
          key: trackerKey,
          compact: true,
          ...(options.announceIp !== undefined ? { ip: options.announceIp } : {})
        }
        return request
      }),
    onPeers: addCandidates
  })

  yield* addCandidates(options.peers ?? [])
  yield* Effect.forkScoped(dialer)
  if (dht !== undefined) {
    yield* Effect.forkScoped(PeerDiscovery.dhtLoop({
      dht,
      infoHash,
      port: () => listener.port,
      onPeers: addCandidates,
      hungry: () => !picker.isComplete && links.size < PeerDiscovery.fewPeers
    }))
  }
  // BEP 3: `completed` when a download completes, not for data that was complete at the start.
  if (!completeAtStart) yield* Effect.forkScoped(Deferred.await(done).pipe(Effect.zipRight(announcer.completed), Effect.ignore))

  const handle: TorrentHandle = {
    port: listener.port,
    events,
    completed: Deferred.await(done),
    peers: Effect.map(Clock.currentTimeMillis, (now) => [...links.values()].map((l) => l.info(now))),
    pieces: Effect.sync(() => picker.have.copy()),
    stats: Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const infos = [...links.values()].map((l) => l.info(now))
      return {
        name: m.name,
        totalLength: m.totalLength,
        pieceCount: m.pieceCount,
        piecesDone: picker.have.count,
        verifiedBytes,
        downloadedBytes: down.total,
        uploadedBytes: up.total,
        downloadRate: down.rate(now),
        uploadRate: up.rate(now),
        peers: infos.length,
        seeds: infos.filter((p) => p.isSeed).length,
        knownPeers: candidates.size,
        hashFailures,
        banned: [...banned],
        trackers: yield* announcer.status,
        complete: picker.isComplete
      }
    })
  }
  return handle
})

