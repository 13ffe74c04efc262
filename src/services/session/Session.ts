/**
 * The daemon's session: many torrents in one process, behind the SessionControl port.
 *
 * Every torrent shares one listening port (PeerRouter.ts: the handshake's info hash routes the
 * connection), one DHT node and one peer id. The session is put together here from its pieces:
 * - the list of torrents by id (TorrentList.ts), saved after every change and restored at start (SavedList.ts);
 * - the queue (SessionQueue.ts): a torrent that is not stopped either runs or waits for a slot;
 * - one torrent's run (TorrentRun.ts): its metadata when it came as a magnet link, the check of its data,
 *   then Torrent.start, in a scope that stopping closes (the last checkpoint, the `stopped` announce);
 * - adding from each source (AddTorrent.ts), and the actions on torrents named (TorrentActions.ts), the
 *   files wanted and their priorities among them (TorrentFiles.ts);
 * - what it does each second (SessionClock.ts): time counted, activity, seeding goals (and the share action
 *   when one is reached), the alternative limits' schedule;
 * - categories and tags (TorrentLabels.ts), where a torrent being added goes (AddFolders.ts), and every move
 *   of a torrent's data (TorrentLocation.ts: setLocation, a category's folder followed, the move out of the
 *   incomplete folder when a run completes, moves cut short by a crash settled at start);
 * - here, what is the session's as a whole: its settings, its rate limits (spent together with each
 *   torrent's own; the alternative ones while on), its stats and the free space.
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ControlError } from "../../domain/Errors.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { isStalled, LimitMode, type ShareAction, type TorrentGoals } from "../../domain/SeedGoals.js"
import { effectiveLimits, type SessionSettings, settingDefaults, type SettingsChange, statsOf } from "../../domain/SessionView.js"
import { TokenBucket } from "../../domain/TokenBucket.js"
import type { DhtOptions } from "../dht/Dht.js"
import type { HashThreads } from "../pieces/HashThreads.js"
import { ReadCache } from "../pieces/ReadCache.js"
import { startDht } from "../dht/DhtSettings.js"
import * as StateLock from "../storage/StateLock.js"
import { Storage } from "../storage/Storage.js"
import type { StreamSource } from "../stream/StreamServer.js"
import { EncryptionPolicy, fromSetting, type Policy, toSetting } from "../wire/Encryption.js"
import { PeerNetwork } from "../wire/PeerNetwork.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import * as AddFolders from "./AddFolders.js"
import * as AddTorrent from "./AddTorrent.js"
import * as SavedList from "./SavedList.js"
import type { SessionControlService } from "./SessionControl.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import * as SessionClock from "./SessionClock.js"
import { type Entry, type ViewContext, viewOf } from "./SessionEntry.js"
import * as SessionQueue from "./SessionQueue.js"
import * as SettingsFile from "./SettingsFile.js"
import * as AnnouncePacer from "../tracker/AnnouncePacer.js"
import * as StartTurns from "./StartTurns.js"
import * as TorrentActions from "./TorrentActions.js"
import * as TorrentLabels from "./TorrentLabels.js"
import * as TorrentList from "./TorrentList.js"
import * as TorrentLocation from "./TorrentLocation.js"
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

/** This run's command line first, then what was saved, then the defaults. */
const initialSettings = (
  options: SessionOptions,
  saved: SettingsFile.SavedSettings,
  peerPort: number,
  dhtEnabled: boolean,
  cli: Policy | undefined,
  transports: { readonly utp: boolean; readonly tcp: boolean }
): SessionSettings => ({
  ...settingDefaults,
  ...SettingsFile.given(saved),
  downloadDir: path.resolve(options.downloadDir ?? saved.downloadDir ?? "./downloads"),
  incompleteDir: path.resolve(saved.incompleteDir ?? path.join(options.downloadDir ?? saved.downloadDir ?? "./downloads", "incomplete")),
  peerPort,
  downloadQueueSize: options.downloadQueueSize ?? saved.downloadQueueSize ?? settingDefaults.downloadQueueSize,
  seedQueueSize: options.seedQueueSize ?? saved.seedQueueSize ?? settingDefaults.seedQueueSize,
  dhtEnabled,
  utpEnabled: transports.utp,
  tcpEnabled: transports.tcp,
  pexEnabled: options.pex && (saved.pexEnabled ?? true),
  // --encryption off or require wins; its default (prefer), or none, leaves the saved setting.
  encryption: cli !== undefined && cli !== "prefer" ? toSetting(cli) : saved.encryption ?? toSetting("prefer"),
  version: options.version,
  configDir: path.resolve(options.stateDir),
  cacheSizeMb: readCacheBytes / (1024 * 1024)
})

/** A running torrent's files, read through a read-only view of its own (the server reads only verified
 *  pieces, which its writer has stored); undefined when no torrent of that hash runs. */
const streamSourceOf = (list: TorrentList.TorrentList, services: Context.Context<RunRequirements>) => (hash: string) =>
  Effect.suspend(() => {
    const entry = list.byHash(hash.toLowerCase())
    const handle = entry?.handle
    const metainfo = entry?.metainfo
    if (entry === undefined || handle === undefined || metainfo === undefined) return Effect.succeed(undefined)
    return Effect.flatMap(Storage, (storage) => storage.open(metainfo, entry.downloadDir, { readOnly: true })).pipe(
      Effect.map((files): StreamSource => ({ metainfo, pieces: handle.pieces, events: handle.events, read: files.read, window: handle.window })),
      Effect.provide(services),
      Effect.orElseSucceed(() => undefined)
    )
  })

/** A new torrent follows the session's goals, with the session's ratio, idle and seeding time limits as its own. */
const goalsOf = (settings: SessionSettings): TorrentGoals => ({
  seedRatioMode: LimitMode.Global,
  seedRatioLimit: settings.seedRatioLimit,
  seedIdleMode: LimitMode.Global,
  seedIdleLimit: settings.idleSeedingLimit,
  seedTimeMode: LimitMode.Global,
  seedTimeLimit: settings.seedTimeLimit
})

/** What is done to a seed that reached a goal: stopped, or removed (with its data). */
const shareAction = (actions: TorrentActions.TorrentActions, action: ShareAction, entry: Entry) =>
  (action === "stop" ? actions.stop([entry.id]) : actions.remove([entry.id], action === "removeData")).pipe(Effect.ignore)

/** The views of torrents and the session's figures from them. */
const viewMethods = (list: TorrentList.TorrentList, context: ViewContext, startedAt: number): Pick<SessionControlService, "torrents" | "stats"> => ({
  torrents: (which) =>
    list.select(which).pipe(
      Effect.orElseSucceed(() => []),
      Effect.flatMap((found) => Effect.forEach(found, (e) => viewOf(e, context)))
    ),
  stats: Effect.gen(function* () {
    const views = yield* Effect.forEach(list.all(), (e) => viewOf(e, context))
    return statsOf(views, Math.floor(((yield* Clock.currentTimeMillis) - startedAt) / 1000))
  })
})

export const make = Effect.fn("Session.make")(function* (options: SessionOptions) {
  // Before anything is loaded or bound: a second daemon on this folder stops here.
  yield* StateLock.lock(options.stateDir)
  const cliEncryption = yield* EncryptionPolicy
  const encryption = () => fromSetting(settings.encryption)
  const listener = yield* PeerRouter.make({ port: options.peerPort, ...(options.listenHost !== undefined ? { host: options.listenHost } : {}), encryption })
  const dht = yield* startDht(options.dht)
  const peerId = yield* randomPeerId
  const startedAt = yield* Clock.currentTimeMillis
  const settingsFile = path.join(options.stateDir, "settings.json")
  const transports = (yield* PeerNetwork).transports ?? { utp: false, tcp: true }
  let settings = initialSettings(options, yield* SettingsFile.load(settingsFile), listener.port, dht !== undefined, cliEncryption, transports)
  // The schedule decides at start whether the alternative limits are on, as Transmission's does.
  const altClock = new SessionClock.AltSpeedClock()
  if (settings.altSpeedTimeEnabled) settings = { ...settings, altSpeedEnabled: altClock.reset(SessionClock.scheduleOf(settings), startedAt) }

  // The session's rate limits, spent together with each torrent's own.
  const limits = effectiveLimits(settings)
  const buckets = { down: new TokenBucket(limits.down, startedAt), up: new TokenBucket(limits.up, startedAt) }
  const list = TorrentList.make()
  const sessionFile = path.join(options.stateDir, "session.json")
  // The categories and tags, once restored with the list (below).
  let labels: TorrentLabels.TorrentLabels | undefined
  const save = SavedList.save(sessionFile, list, () => labels?.labels() ?? { categories: [], tags: [] })
  // The last save, once every run has stopped (the queue's scope closes first): the counts and totals of the runs.
  yield* Effect.addFinalizer(() => save)
  const store = yield* ResumeStore
  const newGoals = () => goalsOf(settings)

  // What running a torrent needs, captured here so that the control methods need nothing.
  const services = yield* Effect.context<RunRequirements>()
  const pacer = yield* AnnouncePacer.make()
  const starting = StartTurns.make(startsAtOnce)
  const sessionScope = yield* Effect.scope
  // Set once the queue exists: a completed torrent's data leaves the incomplete folder.
  let location: TorrentLocation.LocationContext | undefined
  const shared = {
    // Out of the run's fiber, which the move stops.
    completed: (entry: Entry) =>
      Effect.suspend(() => location === undefined ? Effect.void : Effect.asVoid(Effect.forkIn(TorrentLocation.moveOnComplete(location)(entry), sessionScope))),
    peerId,
    listener,
    dht,
    buckets,
    pex: () => settings.pexEnabled,
    encryption,
    save,
    announcePace: pacer.take,
    starting,
    hashThreads: options.hashThreads,
    readCache: new ReadCache(readCacheBytes)
  }
  const queue = yield* SessionQueue.make({
    entries: list.all,
    limits: () => settings,
    stalled: (entry, now) => isStalled(settings, { active: entry.phase === "running", startDate: entry.startDate, activityDate: entry.activityDate }, now),
    run: (entry) => Effect.provide(runTorrent(entry, shared), services)
  })

  const located: TorrentLocation.LocationContext = { list, queue, store, stateDir: options.stateDir, save }
  location = located
  const savedLabels = yield* SavedList.restore(sessionFile, list, newGoals())
  const torrentLabels = TorrentLabels.make({ entries: list.all, downloadDir: () => settings.downloadDir, relocate: TorrentLocation.moveOne(located), save }, savedLabels)
  labels = torrentLabels
  // Moves the daemon died in the middle of, finished or undone before anything runs.
  yield* TorrentLocation.settle(located)
  const actions = TorrentActions.make({ list, queue, save, settings: () => settings, labels: torrentLabels })
  const add = yield* AddTorrent.make({
    list,
    folders: (options) => AddFolders.foldersOf(options, settings, torrentLabels),
    configure: (entry, options) => AddFolders.configure(entry, options, torrentLabels, actions),
    goals: newGoals,
    userAgent: `bt-effect/${options.version}`,
    save,
    schedule: queue.schedule
  })

  const updateSettings = (changes: SettingsChange) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      settings = { ...settings, ...changes }
      // A change to the schedule applies it at once (Transmission's userPokedTheClock).
      const scheduleChanged = (["altSpeedTimeEnabled", "altSpeedTimeBegin", "altSpeedTimeEnd", "altSpeedTimeDay"] as const).some((k) => k in changes)
      if (scheduleChanged && settings.altSpeedTimeEnabled) {
        settings = { ...settings, altSpeedEnabled: altClock.reset(SessionClock.scheduleOf(settings), now) }
      }
      const limits = effectiveLimits(settings)
      buckets.down.setRate(limits.down, now)
      buckets.up.setRate(limits.up, now)
      yield* SettingsFile.save(settingsFile, settings)
      yield* queue.schedule
    })

  const control: SessionControlService = {
    add,
    ...actions,
    setLocation: TorrentLocation.make(located),
    ...torrentLabels.control,
    ...viewMethods(list, { torrentFolder: store.location }, startedAt),
    settings: Effect.sync(() => settings),
    updateSettings,
    freeSpace,
    streamSource: streamSourceOf(list, services)
  }
  yield* SessionClock.run({
    entries: list.all,
    settings: () => settings,
    setAltSpeed: (on) => updateSettings({ altSpeedEnabled: on }).pipe(Effect.orDie),
    reached: (entry) => shareAction(actions, settings.shareLimitAction, entry),
    save
  }, altClock)
  yield* queue.schedule
  return control
})
