/**
 * The program for one torrent, composed of its parts: its files (Storage) and resume checkpoints, its
 * picker, the peers it is connected to (Swarm.ts), the way from a block to a stored piece (PieceFlow.ts),
 * the sessions dialled and accepted (Dialer.ts, each a PeerSession in a supervised fiber), the choker,
 * the trackers (Announcer) and the DHT and PEX (PeerDiscovery.ts).
 *
 * A peer fiber that fails ends that peer and returns its blocks to the pool; nothing else. A storage
 * error is the torrent's own failure and ends it (through `completed`). The torrent holds no global
 * state, so several can run in one process.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type { AnnounceEvent } from "../../domain/Announce.js"
import { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import { FileHashes } from "../../domain/FileHashes.js"
import { layoutOf, type Metainfo, trackerTiers, swarmHashes, torrentHash } from "../../domain/Metainfo.js"
import { RateMeter } from "../../domain/Rate.js"
import { type FilePriority, piecePriorities } from "../../domain/FileSelection.js"
import { PiecePicker } from "../pieces/PiecePicker.js"
import * as PieceReader from "../pieces/PieceReader.js"
import { ReadCache } from "../pieces/ReadCache.js"
import { ReadWindows } from "../pieces/ReadWindows.js"
import * as Checkpoint from "../storage/Checkpoint.js"
import { Storage } from "../storage/Storage.js"
import * as Announcer from "../tracker/Announcer.js"
import * as PieceFlow from "./PieceFlow.js"
import * as Selection from "./Selection.js"
import { hostOf, Swarm } from "./Swarm.js"
import * as TorrentPeers from "./TorrentPeers.js"
import * as WebSeeds from "./WebSeeds.js"
import type { ReadWindow, TorrentEvent, TorrentHandle, TorrentOptions, TorrentStats } from "./TorrentHandle.js"

export type { TorrentEvent, TorrentHandle, TorrentOptions, TorrentStats } from "./TorrentHandle.js"

/** Pieces kept in memory after a read for peers (whole pieces read once, served as many blocks), by a
 *  torrent with a cache of its own (a daemon's torrents share one: Session.ts). */
const readCacheBytes = 16 * 1024 * 1024

export const start = Effect.fn("Torrent.start")(function* (options: TorrentOptions) {
  const m = options.metainfo
  const layout = layoutOf(m)
  // A torrent complete at start only reads: its files are opened when read, none created or opened for
  // writing up front (a daemon restarting 1,000 seeds would open and close every file of each). Unless
  // files were parked at its last checkpoint: those are moved into place (Selection.parkedBefore).
  const readOnly = options.trusted?.isComplete === true && (yield* Selection.parkedBefore(m, options.root)).length === 0
  // File selection: the other files' bytes parked, their pieces never picked (Selection.ts).
  const unselected = options.selection === undefined
    ? new Set<number>()
    : Selection.toPark(layout, options.selection, yield* (yield* Storage).stamps(m, options.root))
  const opened = yield* (yield* Storage).open(m, options.root, { readOnly, unselected })
  const trusted = options.trusted?.copy() ?? Bitfield.empty(m.pieceCount)
  const selected = readOnly && options.selection === undefined
    ? undefined
    : yield* Selection.select(m, options.root, layout, opened, options.selection, unselected, trusted)
  const storage = selected?.storage ?? opened
  const prioritiesOf = (files: ReadonlyArray<FilePriority> | undefined) =>
    files === undefined || files.every((p) => p === 0) ? undefined : piecePriorities(layout, files)
  const picker = yield* (yield* PiecePicker).make(layout, trusted, selected?.wanted, prioritiesOf(options.filePriorities))
  const readWindows = new ReadWindows(picker, layout.pieceLength, layout.pieceCount)
  const meters = { down: new RateMeter(), up: new RateMeter() }
  const previous = options.previous ?? { downloaded: 0, uploaded: 0 }
  // Added after the storage, so that the last checkpoint is taken on stop before the files close.
  const checkpoint = yield* Checkpoint.make({
    metainfo: m,
    root: options.root,
    storage,
    have: () => picker.have,
    totals: () => ({ downloaded: previous.downloaded + meters.down.total, uploaded: previous.uploaded + meters.up.total }),
    current: options.checkpointCurrent === true && selected?.changed !== true,
    ...(selected !== undefined ? { parked: selected.parked } : {})
  })
  const swarm = new Swarm(InfoHash.toHex(options.peerId))
  const done = yield* Deferred.make<void, StorageError>()
  yield* keepCheckpoints(checkpoint, options.checkpointIntervalMs ?? 30_000, swarm, done)
  const completeAtStart = picker.isComplete
  if (completeAtStart) yield* Deferred.succeed(done, undefined)

  const events = yield* PubSub.unbounded<TorrentEvent>()
  const ban = (key: string, why: string): Effect.Effect<void> => Effect.suspend(() => banHost(key, why))
  // A v2 or hybrid torrent's hashes, for its peers' hash requests and its failed pieces' block hashes.
  const hashes = FileHashes.fromMetainfo(m)
  const flow = yield* PieceFlow.make({
    metainfo: m,
    layout,
    picker,
    storage,
    swarm,
    events,
    checkpoint,
    done,
    ban,
    ...(options.hashThreads !== undefined ? { hashThreads: options.hashThreads } : {}),
    ...(hashes !== undefined ? { hashes } : {})
  })
  const reader = PieceReader.make(layout, storage, options.readCache ?? new ReadCache(readCacheBytes))
  yield* Effect.addFinalizer(() => Effect.sync(reader.close))
  const peers = yield* TorrentPeers.connect(options, { picker, swarm, flow, meters, withPieces: reader.withPieces, done, hashes })
  const countDownloaded = (bytes: number, now: number) => meters.down.add(bytes, now)
  yield* WebSeeds.run({ metainfo: m, layout, picker, flow, swarm, countDownloaded }, options.webSeeds)
  const banHost = (key: string, why: string) =>
    Effect.gen(function* () {
      const host = hostOf(key)
      const sessions = swarm.ban(host)
      if (sessions === undefined) return
      yield* Effect.logWarning(`banned ${host}: ${why}`)
      yield* PubSub.publish(events, { _tag: "PeerBanned", host, reason: why })
      // Dropped in the background: the caller may be the banned peer's own fiber.
      for (const k of sessions) yield* peers.dialer.drop(k)
    })

  const announcer = yield* announce(m, options, peers, () => ({
    uploaded: meters.up.total,
    downloaded: meters.down.total,
    left: m.totalLength - flow.verifiedBytes()
  }))
  // BEP 3: `completed` when a download completes, not for data that was complete at the start.
  if (!completeAtStart) yield* Effect.forkScoped(Deferred.await(done).pipe(Effect.zipRight(announcer.completed), Effect.ignore))

  const stats = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const infos = swarm.infos(now)
    return {
      name: m.name,
      totalLength: m.totalLength,
      pieceCount: m.pieceCount,
      piecesDone: picker.have.count,
      verifiedBytes: flow.verifiedBytes(),
      downloadedBytes: meters.down.total,
      uploadedBytes: meters.up.total,
      downloadRate: meters.down.rate(now),
      uploadRate: meters.up.rate(now),
      peers: infos.length,
      seeds: infos.filter((p) => p.isSeed).length,
      knownPeers: peers.candidates.size,
      hashFailures: flow.hashFailures(),
      banned: swarm.banned,
      trackers: yield* announcer.status,
      complete: picker.isComplete,
      ...(options.selection !== undefined && selected !== undefined
        ? { selectedLength: selected.length, selectedVerifiedBytes: selected.done(picker.have) }
        : {})
    } satisfies TorrentStats
  })
  const handle: TorrentHandle = {
    port: peers.port,
    events,
    completed: Deferred.await(done),
    peers: Effect.map(Clock.currentTimeMillis, (now) => Array.from(swarm.links(), (l) => ({ ...l.info(now), encrypted: l.encrypted === true, utp: l.utp === true }))),
    pieces: Effect.sync(() => picker.have.copy()),
    piecesInProgress: Effect.sync(() => picker.started()),
    window: readWindow(readWindows, swarm),
    setFilePriorities: (priorities) => Effect.sync(() => picker.setPriorities(prioritiesOf(priorities))),
    stats,
    transferred: () => ({ downloaded: meters.down.total, uploaded: meters.up.total }),
    reannounce: announcer.now
  }
  return handle
})

/** A reader's window of deadlines, closed with its scope. A moved window wakes every session: one whose
 *  pipeline is full asks for the new deadlines at once (peer/UrgentRequests.ts). */
const readWindow = (readWindows: ReadWindows, swarm: Swarm): Effect.Effect<ReadWindow, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.sync(() => readWindows.open()), (reader) => Effect.sync(reader.close)),
    (reader) => ({
      moveTo: (position, end) => {
        reader.moveTo(position, end)
        swarm.wakeAll()
      }
    })
  )

/** A checkpoint now unless the one on disk is current (a state folder that cannot be written is said at
 *  once), at an interval while peers are connected or web seeds fetch (without either nothing changes,
 *  and a daemon seeding 1,000 torrents would wake 33 times a second for nothing), and on stop. A disk error or a file deleted
 *  under the torrent ends it. */
const keepCheckpoints = (
  checkpoint: Checkpoint.Checkpointer,
  intervalMs: number,
  swarm: Swarm,
  done: Deferred.Deferred<void, StorageError>
) =>
  Effect.gen(function* () {
    if (yield* checkpoint.changed) yield* checkpoint.save({ strict: true })
    yield* Effect.addFinalizer(() =>
      Effect.if(checkpoint.changed, { onTrue: () => checkpoint.save(), onFalse: () => Effect.void }).pipe(
        Effect.catchAll((e) => Effect.logWarning(`last checkpoint not saved: ${e.message}`))
      )
    )
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        while (true) {
          yield* swarm.whenActive
          yield* Effect.sleep(intervalMs)
          if (yield* checkpoint.changed) yield* checkpoint.save()
        }
      }).pipe(Effect.catchAll((error) => Deferred.fail(done, error)))
    )
  })

/** The trackers of the torrent, each tier announced to (Announcer.ts); their peers go to the dialer. */
const announce = (
  m: Metainfo,
  options: TorrentOptions,
  peers: TorrentPeers.Peers,
  totals: () => { readonly uploaded: number; readonly downloaded: number; readonly left: number }
) =>
  Effect.gen(function* () {
    // One key for the whole session, so that trackers know us across address changes.
    const key = yield* Random.nextIntBetween(0, 2 ** 31)
    return yield* Announcer.make({
      tiers: trackerTiers(m),
      alsoAs: swarmHashes(m).slice(1),
      request: (event: AnnounceEvent) =>
        Effect.sync(() => ({
          infoHash: torrentHash(m),
          peerId: options.peerId,
          port: peers.port,
          ...totals(),
          event,
          numwant: 50,
          key,
          compact: true,
          ...(options.announceIp !== undefined ? { ip: options.announceIp } : {})
        })),
      onPeers: peers.learn,
      ...(options.onTrackerChange !== undefined ? { onChange: options.onTrackerChange } : {}),
      ...(options.announcePace !== undefined ? { pace: options.announcePace } : {})
    })
  })
