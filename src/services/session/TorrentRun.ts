/**
 * One torrent of the session from start to stop, as the fiber the queue runs for it: its metadata when it
 * came as a magnet link, the check of its data (from its checkpoint, or everything for a verify), then
 * Torrent.start on the session's shared port, DHT node and rate limits, with the files wanted and their
 * priorities (TorrentFiles.ts) and its picker (rarest first, or in order when sequential), until it is
 * stopped. Complete, it tells the session, which may move its data out of the incomplete folder. The run has
 * its own scope: stopping it (the fiber interrupted) takes the last checkpoint and sends the `stopped`
 * announce. An error stops the torrent and shows on it; the session goes on.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Bitfield } from "../../domain/Bitfield.js"
import * as Magnet from "../../domain/Magnet.js"
import type { FileChoices } from "../../domain/FileChoices.js"
import { formatBytes } from "../../domain/Units.js"
import type { PeerId } from "../../domain/PeerId.js"
import { Throttle, type TokenBucket } from "../../domain/TokenBucket.js"
import type { DhtService } from "../dht/Dht.js"
import type { HashThreads } from "../pieces/HashThreads.js"
import type { ReadCache } from "../pieces/ReadCache.js"
import { recover } from "../storage/Resume.js"
import * as SequentialOrder from "../pieces/SequentialOrder.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import * as Torrent from "../torrent/Torrent.js"
import type { Policy } from "../wire/Encryption.js"
import type { SharedListener } from "../wire/PeerRouter.js"
import { type Entry, peersPerTorrent } from "./SessionEntry.js"
import type { StartTurns } from "./StartTurns.js"
import * as TorrentFiles from "./TorrentFiles.js"

/** What every torrent of the session shares. */
export interface Shared {
  /** Told when the torrent completes (its data may move out of the incomplete folder, MoveOnComplete). */
  readonly completed: (entry: Entry) => Effect.Effect<void>
  readonly peerId: PeerId
  /** The one listening port: the handshake's info hash routes each connection to its torrent. */
  readonly listener: SharedListener
  readonly dht: DhtService | undefined
  /** The session's rate limits, spent together with each torrent's own. */
  readonly buckets: { readonly down: TokenBucket; readonly up: TokenBucket }
  /** Whether peer exchange is on (the session's setting when the torrent starts). */
  readonly pex: () => boolean
  /** The encryption setting when a connection is dialled (the shared listener decides inbound ones). */
  readonly encryption: () => Policy
  /** Saves the session's list: what a run learns (the name, the done date, an error) is kept. */
  readonly save: Effect.Effect<void>
  /** Every torrent's announces take turns (AnnouncePacer.ts). */
  readonly announcePace: Effect.Effect<void>
  /** Turns to be checked and set up (StartTurns.ts). */
  readonly starting: StartTurns
  /** Threads that hash downloaded pieces; undefined: the main thread. */
  readonly hashThreads: HashThreads | undefined
  /** Pieces read for peers, one budget for every torrent (ReadCache.ts). */
  readonly readCache: ReadCache
}

/** The metadata of a torrent added as a magnet link, from its peers (or the state folder, if fetched before). */
const fetchMetadata = (entry: Entry, shared: Shared) =>
  Effect.gen(function*() {
    entry.phase = "metadata"
    const magnet = yield* Magnet.parse(entry.magnet ?? "")
    const resolved = yield* MagnetSource.resolve(magnet, {
      peerId: shared.peerId,
      port: shared.listener.port,
      dht: shared.dht,
      stallTimeoutSeconds: 0,
      report: (line) => Effect.logDebug(line),
      // The setting as it is at each dial, as the torrent's own peers have it: not the --encryption the
      // daemon started with, which session-set may since have changed.
      encryption: shared.encryption
    })
    entry.metainfo = resolved.metainfo
    entry.name = resolved.metainfo.name
    entry.peers = resolved.peers
    TorrentFiles.applyPending(entry)
    yield* shared.save
    yield* Effect.logInfo(
      `metadata received: ${entry.id} ${entry.name}: ${resolved.metainfo.files.length} file(s), ${formatBytes(resolved.metainfo.totalLength)}`
    )
    return resolved.metainfo
  })

/** The torrent running on its checked data, until it is stopped; its done date set when it completes. */
const run = (entry: Entry, shared: Shared) =>
  Effect.gen(function*() {
    entry.error = ""
    const metainfo = entry.metainfo ?? (yield* fetchMetadata(entry, shared))
    // A turn to start: given back once the torrent runs, or when the run ends before (an error, a stop
    // while checking).
    yield* shared.starting.take
    let holding = true
    const giveBack = Effect.suspend(() => (holding ? Effect.zipRight(Effect.sync(() => (holding = false)), shared.starting.release) : Effect.void))
    yield* Effect.addFinalizer(() => giveBack)
    entry.phase = "checking"
    // Added with skip_checking (qBittorrent's): its data is taken as whole once, unread.
    const recovered = entry.skipCheck
      ? { have: Bitfield.full(metainfo.pieceCount), saved: undefined, current: false }
      : yield* recover(metainfo, entry.downloadDir, {
        ignoreCheckpoint: entry.recheck,
        onProgress: (p) => Effect.sync(() => void (entry.checked = p.totalBytes === 0 ? 1 : p.checkedBytes / p.totalBytes))
      })
    entry.skipCheck = false
    entry.recheck = false
    entry.have = recovered.have
    // The files wanted as they are now: a change from here on restarts the run (TorrentFiles.ts).
    const choices: FileChoices = entry.files
    entry.complete = TorrentFiles.isComplete(metainfo, choices, recovered.have)
    // Without resume data for this folder (the data was moved, or lost), the totals of earlier runs stay.
    if (recovered.saved !== undefined) entry.previous = { downloaded: recovered.saved.downloaded, uploaded: recovered.saved.uploaded }
    entry.handle = yield* Torrent.start({
      metainfo,
      root: entry.downloadDir,
      peerId: shared.peerId,
      port: 0,
      listener: shared.listener,
      throttle: new Throttle({ down: [entry.buckets.down, shared.buckets.down], up: [entry.buckets.up, shared.buckets.up] }),
      pex: shared.pex(),
      encryption: shared.encryption,
      announcePace: shared.announcePace,
      trusted: recovered.have,
      peers: entry.peers,
      ...(shared.dht !== undefined ? { dht: shared.dht } : {}),
      ...(shared.hashThreads !== undefined ? { hashThreads: shared.hashThreads } : {}),
      readCache: shared.readCache,
      onTrackerChange: (url, failure) =>
        failure === undefined
          ? Effect.logInfo(`tracker: ${entry.id} ${entry.name}: ${url} answers again`)
          : Effect.logWarning(`tracker: ${entry.id} ${entry.name}: ${url}: ${failure}`),
      previous: entry.previous,
      maxPeers: peersPerTorrent,
      checkpointCurrent: recovered.current,
      ...TorrentFiles.runOptions(metainfo, choices)
    }).pipe(entry.sequential ? Effect.provide(SequentialOrder.layer) : (start) => start)
    entry.phase = "running"
    // Changed while the torrent was being set up: new priorities go to it now; new files wanted need a
    // run of their own (interrupted, this one ends as a stop does, and the queue starts it again).
    if (!TorrentFiles.sameWanted(entry.files, choices)) return yield* Effect.interrupt
    if (!TorrentFiles.samePriorities(entry.files, choices)) {
      yield* entry.handle.setFilePriorities(TorrentFiles.runOptions(metainfo, entry.files).filePriorities ?? [])
    }
    entry.startDate = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    entry.lastTransferred = { downloaded: 0, uploaded: 0 }
    entry.idleLimitReached = false
    yield* giveBack
    yield* entry.handle.completed
    if (!entry.complete) {
      // The bytes of the files wanted (of every file, without a choice).
      const wanted = (yield* entry.handle.stats).selectedLength ?? metainfo.totalLength
      yield* Effect.logInfo(`completed: ${entry.id} ${entry.name} (${formatBytes(wanted)})`)
    }
    entry.complete = true
    const firstTime = entry.doneDate === 0
    if (firstTime) entry.doneDate = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    // Before anything may yield to the session's clock, whose seeding goals could stop the run first.
    yield* shared.completed(entry)
    if (firstTime) yield* shared.save
    return yield* Effect.never
  })

/** What it had when it stopped is what the list shows while it does not run. */
const keepWhatItHad = (entry: Entry) =>
  Effect.gen(function*() {
    if (entry.handle !== undefined) {
      const stats = yield* entry.handle.stats
      entry.have = yield* entry.handle.pieces
      entry.previous = { downloaded: entry.previous.downloaded + stats.downloadedBytes, uploaded: entry.previous.uploaded + stats.uploadedBytes }
      const session = entry.earlierInSession
      entry.earlierInSession = { downloaded: session.downloaded + stats.downloadedBytes, uploaded: session.uploaded + stats.uploadedBytes }
      entry.corruptBefore += stats.hashFailures * (entry.metainfo?.pieceLength ?? 0)
    }
    entry.handle = undefined
    entry.phase = "stopped"
  })

/** The torrent's run, in its own scope; it ends only when interrupted or stopped by an error. */
export const runTorrent = (entry: Entry, shared: Shared) =>
  run(entry, shared).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        entry.error = error.message
        entry.paused = true
      }).pipe(Effect.zipRight(Effect.logWarning(`error: ${entry.id} ${entry.name}: ${error.message}; stopped`)), Effect.zipRight(shared.save))
    ),
    Effect.ensuring(keepWhatItHad(entry)),
    Effect.scoped
  )

/** The services a run needs, captured once by the session so that its control methods need none. */
export type RunRequirements = Effect.Effect.Context<ReturnType<typeof runTorrent>>
