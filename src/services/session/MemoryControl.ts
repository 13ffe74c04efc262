/**
 * A SessionControl without any network: torrents are plain records that move only when a test says
 * so (`setProgress`, `setRates`, `update`), and every request that changes something is recorded in
 * `calls`, so that a front end's test can check what it asked of the session.
 *
 * Adding decodes a .torrent (name, sizes, files, pieces, trackers) or parses a magnet as the real
 * session would, so duplicates and bad input are refused the same way; a URL is "fetched" from the
 * `urls` option. Ids are 1, 2, 3... and never reused.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { toHex } from "../../domain/InfoHash.js"
import * as Magnet from "../../domain/Magnet.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import { type AddOptions, type AddSource, type Selection, type SessionControlService, SessionControl, type TorrentSettings } from "./SessionControl.js"
import { ControlError } from "../../domain/Errors.js"
import { type SessionSettings, Status, statsOf, type TorrentView } from "../../domain/SessionView.js"

/** A request that changed (or tried to change) the session, in order. */
export type ControlCall =
  | { readonly _tag: "add"; readonly source: AddSource; readonly options: AddOptions }
  | { readonly _tag: "start" | "stop" | "verify"; readonly which: Selection }
  | { readonly _tag: "remove"; readonly which: Selection; readonly deleteData: boolean }
  | { readonly _tag: "set"; readonly which: Selection; readonly settings: TorrentSettings }
  | { readonly _tag: "updateSettings"; readonly settings: Partial<SessionSettings> }
  | { readonly _tag: "freeSpace"; readonly path: string }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export interface MemoryControlOptions {
  readonly settings?: Partial<SessionSettings>
  /** The .torrent bytes served for `Url` sources; other URLs fail as a fetch would. */
  readonly urls?: ReadonlyMap<string, Uint8Array>
  /** What freeSpace reports for every path. */
  readonly freeSpace?: { readonly sizeBytes: number; readonly totalSize: number }
  /** Seconds since the epoch for addedDate/doneDate (default: the clock). */
  readonly now?: () => number
}

export interface MemoryControlHandle extends SessionControlService {
  /** Every changing request so far, oldest first. */
  readonly calls: () => ReadonlyArray<ControlCall>
  /** The live record of a torrent (undefined once removed). */
  readonly torrent: (id: number) => TorrentView | undefined
  /** Changes any fields of a torrent's view. */
  readonly update: (id: number, patch: Partial<TorrentView>) => Effect.Effect<void>
  /** Marks `fraction` (0..1) of the torrent verified: pieces, files and haveValid agree; complete at 1. */
  readonly setProgress: (id: number, fraction: number) => Effect.Effect<void>
  readonly setRates: (id: number, rateDownload: number, rateUpload: number) => Effect.Effect<void>
}

export class MemoryControl extends Context.Tag("bt-effect/MemoryControl")<MemoryControl, MemoryControlHandle>() {}

export const defaultSettings: SessionSettings = {
  downloadDir: "/downloads",
  peerPort: 6881,
  speedLimitDown: 0,
  speedLimitUp: 0,
  downloadQueueSize: 5,
  seedQueueSize: 10,
  dhtEnabled: true,
  pexEnabled: true,
  version: "bt-effect 0.1.0 (Transmission RPC)"
}

const bitfield = (pieceCount: number, have: number): string => {
  const bytes = new Uint8Array(Math.ceil(pieceCount / 8))
  for (let i = 0; i < have; i++) bytes[i >> 3]! |= 0x80 >> (i & 7)
  return Buffer.from(bytes).toString("base64")
}

const hashOf = (m: { readonly infoHash?: Uint8Array | undefined; readonly infoHashV2?: Uint8Array | undefined }): string =>
  m.infoHash !== undefined ? toHex(m.infoHash) : m.infoHashV2 !== undefined ? toHex(m.infoHashV2.subarray(0, 20)) : ""

const trackersOf = (tiers: ReadonlyArray<ReadonlyArray<string>>) =>
  tiers.flatMap((tier, i) => tier.map((announce) => ({ announce, tier: i, state: "waiting", lastError: "", peers: 0 })))

const baseView = (id: number, now: number, downloadDir: string, paused: boolean, queuePosition: number) => ({
  id,
  status: paused ? Status.Stopped : Status.Download,
  haveValid: 0,
  percentDone: 0,
  rateDownload: 0,
  rateUpload: 0,
  downloadedEver: 0,
  uploadedEver: 0,
  peersConnected: 0,
  seeds: 0,
  eta: -1,
  error: 0,
  errorString: "",
  downloadDir,
  addedDate: now,
  doneDate: 0,
  peers: [],
  downloadLimit: 0,
  uploadLimit: 0,
  queuePosition
})

/** What a torrent's source tells: everything in its view that does not change while it runs. */
type Identity = Pick<
  TorrentView,
  "hashString" | "name" | "hasMetadata" | "totalSize" | "magnetLink" | "isPrivate" | "pieceCount" | "pieceSize" | "pieces" | "files" | "trackers"
>

const fromMetainfo = (m: Metainfo): Identity => {
  const hash = hashOf(m)
  const tiers = m.announceList.length > 0 ? m.announceList : m.announce === undefined ? [] : [[m.announce]]
  const trackers = tiers.flatMap((t) => t.map((tr) => `&tr=${encodeURIComponent(tr)}`)).join("")
  return {
    hashString: hash,
    name: m.name,
    hasMetadata: true,
    totalSize: m.totalLength,
    magnetLink: `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(m.name)}${trackers}`,
    isPrivate: m.private,
    pieceCount: m.pieceCount,
    pieceSize: m.pieceLength,
    pieces: bitfield(m.pieceCount, 0),
    files: m.files.filter((f) => !f.pad).map((f) => ({
      name: m.multiFile ? [m.name, ...f.path].join("/") : m.name,
      length: f.length,
      bytesCompleted: 0
    })),
    trackers: trackersOf(tiers)
  }
}

const fromMagnet = (m: Magnet.Magnet, uri: string): Identity => {
  const hash = hashOf({ infoHash: m.infoHash, infoHashV2: m.infoHashV2 })
  return {
    hashString: hash,
    name: m.displayName ?? hash,
    hasMetadata: false,
    totalSize: 0,
    magnetLink: uri,
    isPrivate: false,
    pieceCount: 0,
    pieceSize: 0,
    pieces: "",
    files: [],
    trackers: trackersOf(m.trackers.map((t) => [t]))
  }
}

export const make = (options: MemoryControlOptions = {}): Effect.Effect<MemoryControlHandle> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const now = options.now ?? (() => Math.floor(clock.unsafeCurrentTimeMillis() / 1000))
    let settings: SessionSettings = { ...defaultSettings, ...options.settings }
    const torrents = new Map<number, Mutable<TorrentView>>()
    const calls: Array<ControlCall> = []
    let nextId = 1
    const started = now()

    const selected = (which: Selection): Array<Mutable<TorrentView>> =>
      which === "all"
        ? [...torrents.values()]
        : [...torrents.values()].filter((t) => which.includes(t.id) || which.includes(t.hashString))

    /** The torrents named, failing on a name that matches none (as the real session does). */
    const existing = (which: Selection) =>
      Effect.suspend(() => {
        if (which !== "all") {
          const missing = which.find((w) => ![...torrents.values()].some((t) => t.id === w || t.hashString === w))
          if (missing !== undefined) {
            return Effect.fail(new ControlError({ reason: "NotFound", detail: `no torrent ${missing}` }))
          }
        }
        return Effect.succeed(selected(which))
      })

    const record = (call: ControlCall) => Effect.sync(() => void calls.push(call))

    const decodeSource = (source: AddSource): Effect.Effect<Identity, ControlError> =>
      Effect.suspend((): Effect.Effect<Identity, ControlError> => {
        switch (source._tag) {
          case "Metainfo":
            return Either.match(decodeTorrent(source.bytes), {
              onLeft: (e) => Effect.fail(new ControlError({ reason: "Invalid", detail: `invalid or corrupt torrent file: ${e.detail}` })),
              onRight: (m) => Effect.succeed(fromMetainfo(m))
            })
          case "Magnet":
            return Either.match(Magnet.parse(source.uri), {
              onLeft: (e) => Effect.fail(new ControlError({ reason: "Invalid", detail: `invalid magnet link: ${e.message}` })),
              onRight: (m) => Effect.succeed(fromMagnet(m, source.uri))
            })
          case "Url": {
            const bytes = options.urls?.get(source.url)
            return bytes === undefined
              ? Effect.fail(new ControlError({ reason: "Io", detail: `cannot fetch ${source.url}: not found` }))
              : decodeSource({ _tag: "Metainfo", bytes })
          }
        }
      })

    const statusAfterStart = (t: TorrentView) => (t.percentDone >= 1 ? Status.Seed : Status.Download)

    const handle: MemoryControlHandle = {
      add: (source, addOptions) =>
        Effect.zipRight(
          record({ _tag: "add", source, options: addOptions }),
          Effect.flatMap(decodeSource(source), (info) =>
            Effect.sync(() => {
              const same = [...torrents.values()].find((t) => t.hashString === info.hashString)
              if (same !== undefined) return { id: same.id, hashString: same.hashString, name: same.name, duplicate: true }
              const id = nextId++
              const dir = addOptions.downloadDir ?? settings.downloadDir
              torrents.set(id, { ...baseView(id, now(), dir, addOptions.paused === true, torrents.size), ...info })
              return { id, hashString: info.hashString, name: info.name, duplicate: false }
            }))
        ),
      start: (which) =>
        Effect.zipRight(
          record({ _tag: "start", which }),
          Effect.map(existing(which), (ts) => {
            for (const t of ts) if (t.status === Status.Stopped) t.status = statusAfterStart(t)
          })
        ),
      stop: (which) =>
        Effect.zipRight(
          record({ _tag: "stop", which }),
          Effect.map(existing(which), (ts) => {
            for (const t of ts) Object.assign(t, { status: Status.Stopped, rateDownload: 0, rateUpload: 0, peers: [], peersConnected: 0 })
          })
        ),
      remove: (which, deleteData) =>
        Effect.zipRight(
          record({ _tag: "remove", which, deleteData }),
          Effect.map(existing(which), (ts) => {
            for (const t of ts) torrents.delete(t.id)
          })
        ),
      verify: (which) =>
        Effect.zipRight(
          record({ _tag: "verify", which }),
          Effect.map(existing(which), (ts) => {
            for (const t of ts) t.status = Status.Check
          })
        ),
      set: (which, torrentSettings) =>
        Effect.zipRight(
          record({ _tag: "set", which, settings: torrentSettings }),
          Effect.map(existing(which), (ts) => {
            for (const t of ts) Object.assign(t, torrentSettings)
          })
        ),
      torrents: (which) => Effect.sync(() => selected(which).map((t) => ({ ...t }))),
      settings: Effect.sync(() => settings),
      updateSettings: (patch) =>
        Effect.zipRight(
          record({ _tag: "updateSettings", settings: patch }),
          Effect.sync(() => void (settings = { ...settings, ...patch }))
        ),
      stats: Effect.sync(() => statsOf([...torrents.values()], now() - started)),
      freeSpace: (path) =>
        Effect.zipRight(
          record({ _tag: "freeSpace", path }),
          path.startsWith("/")
            ? Effect.succeed({ path, sizeBytes: options.freeSpace?.sizeBytes ?? 500e9, totalSize: options.freeSpace?.totalSize ?? 1e12 })
            : Effect.fail(new ControlError({ reason: "Invalid", detail: `${path}: not an absolute path` }))
        ),
      calls: () => [...calls],
      torrent: (id) => torrents.get(id),
      update: (id, patch) => Effect.sync(() => void Object.assign(torrents.get(id) ?? {}, patch)),
      setProgress: (id, fraction) =>
        Effect.sync(() => {
          const t = torrents.get(id)
          if (t === undefined) return
          const have = Math.round(t.totalSize * fraction)
          const gained = Math.max(0, have - t.haveValid)
          let left = have
          t.files = t.files.map((f) => {
            const done = Math.min(f.length, left)
            left -= done
            return { ...f, bytesCompleted: done }
          })
          const pieces = fraction >= 1 ? t.pieceCount : t.pieceSize > 0 ? Math.floor(have / t.pieceSize) : 0
          Object.assign(t, {
            haveValid: have,
            percentDone: fraction,
            downloadedEver: t.downloadedEver + gained,
            pieces: bitfield(t.pieceCount, pieces),
            eta: fraction >= 1 ? -2 : t.eta
          })
          if (fraction >= 1) {
            t.doneDate = now()
            if (t.status === Status.Download) t.status = Status.Seed
          }
        }),
      setRates: (id, rateDownload, rateUpload) =>
        Effect.sync(() => {
          const t = torrents.get(id)
          if (t === undefined) return
          const left = t.totalSize - t.haveValid
          Object.assign(t, { rateDownload, rateUpload, eta: left <= 0 ? -2 : rateDownload > 0 ? Math.ceil(left / rateDownload) : -1 })
        })
    }
    return handle
  })

/** A memory session as SessionControl, with its handle as MemoryControl for the test's hands. */
export const layer = (options: MemoryControlOptions = {}): Layer.Layer<SessionControl | MemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), (handle) => Context.make(SessionControl, handle).pipe(Context.add(MemoryControl, handle)))
  )
