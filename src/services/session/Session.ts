/**
 * The daemon's session: many torrents in one process, behind the SessionControl port.
 *
 * Every torrent shares one listening port (PeerRouter.ts: the handshake's info hash routes the
 * connection), one DHT node and one peer id. The session is put together here from its pieces:
 * - the list of torrents by id (TorrentList.ts), saved after every change and restored at start (SavedList.ts);
 * - the queue (SessionQueue.ts): a torrent that is not stopped either runs or waits for a slot;
 * - one torrent's run (TorrentRun.ts): its metadata when it came as a magnet link, the check of its data,
 *   then Torrent.start, in a scope that stopping closes (the last checkpoint, the `stopped` announce);
 * - adding from each source (AddTorrent.ts), and the actions on torrents named (TorrentActions.ts);
 * - here, what is the session's as a whole: its settings, its rate limits (spent together with each
 *   torrent's own), its stats and the free space.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ControlError } from "../../domain/Errors.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { type SessionSettings, statsOf } from "../../domain/SessionView.js"
import { TokenBucket } from "../../domain/TokenBucket.js"
import type { DhtOptions } from "../dht/Dht.js"
import type { HashThreads } from "../pieces/HashThreads.js"
import { ReadCache } from "../pieces/ReadCache.js"
import { startDht } from "../dht/DhtSettings.js"
import * as StateLock from "../storage/StateLock.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import * as AddTorrent from "./AddTorrent.js"
import * as SavedList from "./SavedList.js"
import type { SessionControlService } from "./SessionControl.js"
import { viewOf } from "./SessionEntry.js"
import * as SessionQueue from "./SessionQueue.js"
import * as SettingsFile from "./SettingsFile.js"
import * as AnnouncePacer from "../tracker/AnnouncePacer.js"
import * as StartTurns from "./StartTurns.js"
import * as TorrentActions from "./TorrentActions.js"
import * as TorrentList from "./TorrentList.js"
import { type RunRequirements, runTorrent } from "./TorrentRun.js"

export interface SessionOptions {
  readonly stateDir: string
  /** Where torrents go unless added with a folder; absent: the saved setting (settings.json), else ./downloads. */
  readonly downloadDir?: string
  readonly peerPort: number
  readonly listenHost?: string
  readonly dht?: DhtOptions
  /** False: no peer exchange this run (--no-pex); true: the saved setting, else on. */
  readonly pex: boolean
  /** Queue sizes; absent: the saved settings, else 5 downloads and 10 seeds. */
  readonly downloadQueueSize?: number
  readonly seedQueueSize?: number
  readonly version: string
  /** Threads that hash downloaded pieces, for every torrent; absent: the main thread. */
  readonly hashThreads?: HashThreads
}

const freeSpace = (target: string) =>
  Effect.tryPromise({
    try: () => fs.promises.statfs(target),
    catch: (e) => new ControlError({ reason: "Io", detail: `${target}: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(Effect.map((s) => ({ path: target, sizeBytes: s.bavail * s.bsize, totalSize: s.blocks * s.bsize })))

/**
 * Pieces read for peers kept in memory, across every torrent (ReadCache.ts): four times what one torrent
 * alone keeps (Torrent.ts), so that a few busy torrents each keep as much as a lone one.
 */
const readCacheBytes = 64 * 1024 * 1024

/** Torrents checked and set up at once (StartTurns.ts): enough to keep a disk and a core busy. */
const startsAtOnce = 8

export const make = Effect.fn("Session.make")(function* (options: SessionOptions) {
  // Before anything is loaded or bound: a second daemon on this folder stops here.
  yield* StateLock.lock(options.stateDir)
  const listener = yield* PeerRouter.make({ port: options.peerPort, ...(options.listenHost !== undefined ? { host: options.listenHost } : {}) })
  const dht = yield* startDht(options.dht)
  const peerId = yield* randomPeerId
  const startedAt = yield* Clock.currentTimeMillis
  // This run's command line first, then what was saved, then the defaults.
  const settingsFile = path.join(options.stateDir, "settings.json")
  const saved = yield* SettingsFile.load(settingsFile)
  let settings: SessionSettings = {
    downloadDir: path.resolve(options.downloadDir ?? saved.downloadDir ?? "./downloads"),
    peerPort: listener.port,
    speedLimitDown: saved.speedLimitDown ?? 0,
    speedLimitUp: saved.speedLimitUp ?? 0,
    downloadQueueSize: options.downloadQueueSize ?? saved.downloadQueueSize ?? 5,
    seedQueueSize: options.seedQueueSize ?? saved.seedQueueSize ?? 10,
    seedQueueEnabled: saved.seedQueueEnabled ?? false,
    dhtEnabled: dht !== undefined,
    pexEnabled: options.pex && (saved.pexEnabled ?? true),
    version: options.version
  }

  // The session's rate limits, spent together with each torrent's own.
  const buckets = { down: new TokenBucket(settings.speedLimitDown, startedAt), up: new TokenBucket(settings.speedLimitUp, startedAt) }
  const list = TorrentList.make()
  const sessionFile = path.join(options.stateDir, "session.json")
  const save = SavedList.save(sessionFile, list)

  // What running a torrent needs, captured here so that the control methods need nothing.
  const services = yield* Effect.context<RunRequirements>()
  const pacer = yield* AnnouncePacer.make()
  const starting = StartTurns.make(startsAtOnce)
  const shared = {
    peerId,
    listener,
    dht,
    buckets,
    pex: () => settings.pexEnabled,
    save,
    announcePace: pacer.take,
    starting,
    hashThreads: options.hashThreads,
    readCache: new ReadCache(readCacheBytes)
  }
  const queue = yield* SessionQueue.make({
    entries: list.all,
    limits: () => settings,
    run: (entry) => Effect.provide(runTorrent(entry, shared), services)
  })

  yield* SavedList.restore(sessionFile, list)
  const add = yield* AddTorrent.make({
    list,
    downloadDir: () => settings.downloadDir,
    userAgent: `bt-effect/${options.version}`,
    save,
    schedule: queue.schedule
  })

  const control: SessionControlService = {
    add,
    ...TorrentActions.make({ list, queue, save }),
    torrents: (which) =>
      list.select(which).pipe(
        Effect.orElseSucceed(() => []),
        Effect.flatMap((found) => Effect.forEach(found, viewOf))
      ),
    settings: Effect.sync(() => settings),
    updateSettings: (changes) =>
      Effect.gen(function* () {
        settings = { ...settings, ...changes }
        const now = yield* Clock.currentTimeMillis
        buckets.down.setRate(settings.speedLimitDown, now)
        buckets.up.setRate(settings.speedLimitUp, now)
        yield* SettingsFile.save(settingsFile, settings)
        yield* queue.schedule
      }),
    stats: Effect.gen(function* () {
      const views = yield* Effect.forEach(list.all(), viewOf)
      return statsOf(views, Math.floor(((yield* Clock.currentTimeMillis) - startedAt) / 1000))
    }),
    freeSpace
  }
  yield* queue.schedule
  return control
})
