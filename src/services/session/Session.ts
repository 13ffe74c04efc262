/**
 * The daemon's session: many torrents in one process, behind the SessionControl port.
 *
 * Every torrent shares one listening port (PeerRouter.ts: the handshake's info hash routes the
 * connection), one DHT node and one peer id. A torrent that is not stopped either runs or waits in the
 * queue: at most `downloadQueueSize` downloads and `seedQueueSize` seeds run at once, in queue order. A
 * running torrent is a fiber with its own scope (its metadata when it came as a magnet link, the check of
 * its data, then Torrent.start); stopping it closes the scope, which takes the last checkpoint and sends
 * the `stopped` announce. The list of torrents is saved (SessionFile.ts) after every change, each
 * torrent's .torrent and resume data in the state folder, so that a restarted daemon goes on where it was.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as path from "node:path"
import { fromHex, infoHash, toHex } from "../../domain/InfoHash.js"
import * as Magnet from "../../domain/Magnet.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { Throttle, TokenBucket } from "../../domain/TokenBucket.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import type { DhtOptions } from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import { recover } from "../storage/Resume.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import { type Entry, viewOf } from "./SessionEntry.js"
import * as SessionFile from "./SessionFile.js"
import { type Added, type AddSource, type Selection, type SessionControlService } from "./SessionControl.js"
import * as Torrent from "../torrent/Torrent.js"
import { randomPeerId } from "../../domain/PeerId.js"
import { ControlError } from "../../domain/Errors.js"
import { type SessionSettings, statsOf } from "../../domain/SessionView.js"

export interface SessionOptions {
  readonly stateDir: string
  readonly downloadDir: string
  readonly peerPort: number
  readonly listenHost?: string
  readonly dht?: DhtOptions
  readonly pex: boolean
  readonly downloadQueueSize?: number
  readonly seedQueueSize?: number
  readonly version: string
}

const invalid = (detail: string) => new ControlError({ reason: "Invalid", detail })

export const make = Effect.fn("Session.make")(function* (options: SessionOptions) {
  const store = yield* ResumeStore
  const listener = yield* PeerRouter.make({ port: options.peerPort, ...(options.listenHost !== undefined ? { host: options.listenHost } : {}) })
  const dht = yield* startDht(options.dht)
  const peerId = yield* randomPeerId
  const runs = yield* FiberMap.make<number>()
  const entries = new Map<number, Entry>()
  const startedAt = yield* Clock.currentTimeMillis
  let nextId = 1
  let settings: SessionSettings = {
    downloadDir: path.resolve(options.downloadDir),
    peerPort: listener.port,
    speedLimitDown: 0,
    speedLimitUp: 0,
    downloadQueueSize: options.downloadQueueSize ?? 5,
    seedQueueSize: options.seedQueueSize ?? 10,
    dhtEnabled: dht !== undefined,
    pexEnabled: options.pex,
    version: options.version
  }

  // The session's rate limits, spent together with each torrent's own.
  const globalBuckets = { down: new TokenBucket(0, startedAt), up: new TokenBucket(0, startedAt) }
  const sessionFile = path.join(options.stateDir, "session.json")
  const persist = Effect.suspend(() => SessionFile.save(sessionFile, [...entries.values()])).pipe(
    Effect.catchAll((e) => Effect.logWarning(`session not saved: ${e.message}`))
  )

  const select = (which: Selection): Effect.Effect<ReadonlyArray<Entry>, ControlError> =>
    Effect.suspend(() => {
      if (which === "all") return Effect.succeed([...entries.values()])
      const found: Array<Entry> = []
      for (const key of which) {
        const entry = typeof key === "number" ? entries.get(key) : [...entries.values()].find((e) => e.hash === key.toLowerCase())
        if (entry === undefined) return Effect.fail(new ControlError({ reason: "NotFound", detail: `no torrent ${key}` }))
        found.push(entry)
      }
      return Effect.succeed(found)
    })

  /** One torrent from start to stop: its metadata if needed, the check of its data, then the torrent. */
  const runEntry = (entry: Entry) =>
    Effect.gen(function* () {
      entry.error = ""
      if (entry.metainfo === undefined) {
        entry.phase = "metadata"
        const magnet = yield* Magnet.parse(entry.magnet ?? "")
        const resolved = yield* MagnetSource.resolve(magnet, {
          peerId,
          port: listener.port,
          dht,
          stallTimeoutSeconds: 0,
          report: (line) => Effect.logDebug(line)
        })
        entry.metainfo = resolved.metainfo
        entry.name = resolved.metainfo.name
        entry.peers = resolved.peers
        yield* persist
      }
      const metainfo = entry.metainfo
      entry.phase = "checking"
      const recovered = yield* recover(metainfo, entry.downloadDir, {
        ignoreCheckpoint: entry.recheck,
        onProgress: (p) => Effect.sync(() => void (entry.checked = p.totalBytes === 0 ? 1 : p.checkedBytes / p.totalBytes))
      })
      entry.recheck = false
      entry.have = recovered.have
      entry.complete = recovered.have.isComplete
      entry.previous = { downloaded: recovered.saved?.downloaded ?? 0, uploaded: recovered.saved?.uploaded ?? 0 }
      entry.handle = yield* Torrent.start({
        metainfo,
        root: entry.downloadDir,
        peerId,
        port: 0,
        listener,
        throttle: new Throttle({ down: [entry.buckets.down, globalBuckets.down], up: [entry.buckets.up, globalBuckets.up] }),
        pex: settings.pexEnabled,
        trusted: recovered.have,
        peers: entry.peers,
        ...(dht !== undefined ? { dht } : {}),
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {})
      })
      entry.phase = "running"
      yield* entry.handle.completed
      entry.complete = true
      if (entry.doneDate === 0) {
        entry.doneDate = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        yield* persist
      }
      return yield* Effect.never
    }).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          entry.error = error.message
          entry.paused = true
        }).pipe(Effect.zipRight(Effect.logWarning(`${entry.name}: ${error.message}`)), Effect.zipRight(persist))
      ),
      Effect.ensuring(Effect.gen(function* () {
        // What it had when it stopped is what the list shows while it does not run.
        if (entry.handle !== undefined) {
          const stats = yield* entry.handle.stats
          entry.have = yield* entry.handle.pieces
          entry.previous = { downloaded: entry.previous.downloaded + stats.downloadedBytes, uploaded: entry.previous.uploaded + stats.uploadedBytes }
        }
        entry.handle = undefined
        entry.phase = "stopped"
      })),
      Effect.scoped
    )

  const isSeeding = (e: Entry) => e.phase === "running" && e.handle !== undefined && e.complete

  // What running a torrent needs, captured here so that the control methods need nothing.
  const services = yield* Effect.context<Effect.Effect.Context<ReturnType<typeof runEntry>>>()

  /** Starts waiting torrents while the queue has room, in queue order. */
  const schedule = Effect.gen(function* () {
    const waiting = [...entries.values()].filter((e) => !e.paused && e.phase === "stopped").sort((a, b) => a.queuePosition - b.queuePosition)
    for (const entry of waiting) {
      const running = [...entries.values()].filter((e) => e.phase !== "stopped")
      const seeds = running.filter(isSeeding).length
      const downloads = running.length - seeds
      const wantsSeedSlot = entry.complete
      if (wantsSeedSlot ? seeds >= settings.seedQueueSize : downloads >= settings.downloadQueueSize) continue
      entry.phase = "starting"
      yield* FiberMap.run(runs, entry.id, Effect.provide(runEntry(entry), services))
    }
  })
  yield* Effect.forkScoped(Effect.repeat(schedule, Schedule.spaced("1 second")))

  const stopEntry = (entry: Entry) => FiberMap.remove(runs, entry.id)

  const addEntry = (fields: Pick<Entry, "hash" | "name" | "metainfo" | "magnet">, downloadDir: string, paused: boolean, addedDate?: number, doneDate?: number) =>
    Effect.gen(function* () {
      const entry: Entry = {
        id: nextId++,
        ...fields,
        downloadDir,
        paused,
        addedDate: addedDate ?? Math.floor((yield* Clock.currentTimeMillis) / 1000),
        doneDate: doneDate ?? 0,
        error: "",
        phase: "stopped",
        queuePosition: entries.size,
        handle: undefined,
        peers: [],
        recheck: false,
        checked: 0,
        have: undefined,
        complete: (doneDate ?? 0) > 0,
        previous: { downloaded: 0, uploaded: 0 },
        downloadLimit: 0,
        uploadLimit: 0,
        buckets: { down: new TokenBucket(0, yield* Clock.currentTimeMillis), up: new TokenBucket(0, yield* Clock.currentTimeMillis) }
      }
      entries.set(entry.id, entry)
      return entry
    })

  const fromMetainfo = (bytes: Uint8Array) =>
    Either.match(decodeTorrent(bytes), {
      onLeft: (e) => Effect.fail(invalid(`invalid or corrupt torrent: ${e.detail}`)),
      onRight: (m): Effect.Effect<Metainfo, ControlError> =>
        m.infoHash === undefined ? Effect.fail(invalid("v2-only torrents are not supported yet")) : Effect.succeed(m)
    })

  // Torrents of an earlier run, as they were.
  for (const saved of yield* SessionFile.load(sessionFile)) {
    const hashBytes = fromHex(saved.hash)
    if (hashBytes === undefined) continue
    const bytes = yield* store.loadTorrent(infoHash(hashBytes))
    const metainfo = Option.isSome(bytes) ? Either.getOrUndefined(decodeTorrent(bytes.value)) : undefined
    if (metainfo === undefined && saved.magnet === undefined) continue
    yield* addEntry({ hash: saved.hash, name: metainfo?.name ?? saved.name, metainfo, magnet: saved.magnet }, saved.downloadDir, saved.paused, saved.addedDate, saved.doneDate)
  }

  const control: SessionControlService = {
    add: (source: AddSource, addOptions) =>
      Effect.gen(function* () {
        const downloadDir = path.resolve(addOptions.downloadDir ?? settings.downloadDir)
        let fields: Pick<Entry, "hash" | "name" | "metainfo" | "magnet">
        if (source._tag === "Metainfo") {
          const metainfo = yield* fromMetainfo(source.bytes)
          fields = { hash: toHex(metainfo.infoHash!), name: metainfo.name, metainfo, magnet: undefined }
        } else if (source._tag === "Magnet") {
          const magnet = yield* Effect.mapError(Magnet.parse(source.uri), (e) => invalid(e.message))
          if (magnet.infoHash === undefined) return yield* invalid("v2-only magnet links are not supported yet")
          fields = { hash: toHex(magnet.infoHash), name: magnet.displayName ?? toHex(magnet.infoHash), metainfo: undefined, magnet: source.uri }
        } else {
          const response = yield* Effect.tryPromise({
            try: () => fetch(source.url, { signal: AbortSignal.timeout(30_000) }).then(async (r) => {
              if (!r.ok) throw new Error(`HTTP ${r.status}`)
              return new Uint8Array(await r.arrayBuffer())
            }),
            catch: (e) => new ControlError({ reason: "Io", detail: `cannot fetch ${source.url}: ${e instanceof Error ? e.message : String(e)}` })
          })
          const metainfo = yield* fromMetainfo(response)
          fields = { hash: toHex(metainfo.infoHash!), name: metainfo.name, metainfo, magnet: undefined }
        }
        const existing = [...entries.values()].find((e) => e.hash === fields.hash)
        if (existing !== undefined) return { id: existing.id, hashString: existing.hash, name: existing.name, duplicate: true } satisfies Added
        if (fields.metainfo !== undefined && source._tag !== "Magnet") {
          const bytes = source._tag === "Metainfo" ? source.bytes : undefined
          if (bytes !== undefined) yield* store.saveTorrent(fields.metainfo.infoHash!, bytes).pipe(Effect.mapError((e) => new ControlError({ reason: "Io", detail: e.message })))
        }
        const entry = yield* addEntry(fields, downloadDir, addOptions.paused === true)
        yield* persist
        yield* schedule
        return { id: entry.id, hashString: entry.hash, name: entry.name, duplicate: false } satisfies Added
      }),
    start: (which) =>
      Effect.flatMap(select(which), (found) =>
        Effect.gen(function* () {
          for (const entry of found) entry.paused = false
          yield* persist
          yield* schedule
        })),
    stop: (which) =>
      Effect.flatMap(select(which), (found) =>
        Effect.gen(function* () {
          for (const entry of found) {
            entry.paused = true
            yield* stopEntry(entry)
          }
          yield* persist
        })),
    remove: (which, deleteData) =>
      Effect.flatMap(select(which), (found) =>
        Effect.gen(function* () {
          for (const entry of found) {
            yield* stopEntry(entry)
            entries.delete(entry.id)
            // The torrent's own file or folder only: safeName is one sanitised path component.
            if (deleteData && entry.metainfo !== undefined) {
              const target = path.join(entry.downloadDir, entry.metainfo.safeName)
              yield* Effect.promise(() => fs.promises.rm(target, { recursive: true, force: true }).catch(() => undefined))
            }
          }
          yield* persist
        })),
    verify: (which) =>
      Effect.flatMap(select(which), (found) =>
        Effect.gen(function* () {
          for (const entry of found) {
            entry.recheck = true
            yield* stopEntry(entry)
          }
          yield* schedule
        })),
    set: (which, torrentSettings) =>
      Effect.flatMap(Effect.zip(select(which), Clock.currentTimeMillis), ([found, now]) =>
        Effect.sync(() => {
          for (const entry of found) {
            if (torrentSettings.downloadLimit !== undefined) {
              entry.downloadLimit = torrentSettings.downloadLimit
              entry.buckets.down.setRate(entry.downloadLimit, now)
            }
            if (torrentSettings.uploadLimit !== undefined) {
              entry.uploadLimit = torrentSettings.uploadLimit
              entry.buckets.up.setRate(entry.uploadLimit, now)
            }
            if (torrentSettings.queuePosition !== undefined) entry.queuePosition = torrentSettings.queuePosition
          }
        })),
    torrents: (which) =>
      select(which).pipe(
        Effect.orElseSucceed(() => []),
        Effect.flatMap((found) => Effect.forEach(found, viewOf))
      ),
    settings: Effect.sync(() => settings),
    updateSettings: (changes) =>
      Effect.gen(function* () {
        settings = { ...settings, ...changes }
        const now = yield* Clock.currentTimeMillis
        globalBuckets.down.setRate(settings.speedLimitDown, now)
        globalBuckets.up.setRate(settings.speedLimitUp, now)
        yield* schedule
      }),
    stats: Effect.gen(function* () {
      const views = yield* Effect.forEach([...entries.values()], viewOf)
      return statsOf(views, Math.floor(((yield* Clock.currentTimeMillis) - startedAt) / 1000))
    }),
    freeSpace: (target) =>
      Effect.tryPromise({
        try: () => fs.promises.statfs(target),
        catch: (e) => new ControlError({ reason: "Io", detail: `${target}: ${e instanceof Error ? e.message : String(e)}` })
      }).pipe(Effect.map((s) => ({ path: target, sizeBytes: s.bavail * s.bsize, totalSize: s.blocks * s.bsize })))
  }
  yield* schedule
  return control
})
