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
import * as Layer from "effect/Layer"
import { type Category, categoryFolder, validCategoryName, validTag, withTags } from "../../domain/Categories.js"
import { ControlError } from "../../domain/Errors.js"
import { type SessionSettings, settingDefaults, Status, statsOf, type TorrentView } from "../../domain/SessionView.js"
import type { StreamSource } from "../stream/StreamServer.js"
import * as MemoryTorrent from "./MemoryTorrent.js"
import { type AddOptions, type AddSource, type Selection, SessionControl, type SessionControlService, type TorrentSettings } from "./SessionControl.js"

/** A request that changed (or tried to change) the session, in order. */
export type ControlCall =
  | { readonly _tag: "add"; readonly source: AddSource; readonly options: AddOptions }
  | { readonly _tag: "start" | "stop" | "verify" | "reannounce"; readonly which: Selection }
  | { readonly _tag: "remove"; readonly which: Selection; readonly deleteData: boolean }
  | { readonly _tag: "set"; readonly which: Selection; readonly settings: TorrentSettings }
  | { readonly _tag: "setLocation"; readonly which: Selection; readonly folder: string; readonly move: boolean }
  | { readonly _tag: "updateSettings"; readonly settings: Partial<SessionSettings> }
  | { readonly _tag: "freeSpace"; readonly path: string }
  | { readonly _tag: "createCategory" | "editCategory"; readonly category: Category }
  | { readonly _tag: "removeCategories" | "createTags" | "deleteTags"; readonly names: ReadonlyArray<string> }

export interface MemoryControlOptions {
  readonly settings?: Partial<SessionSettings>
  /** The .torrent bytes served for `Url` sources; other URLs fail as a fetch would. */
  readonly urls?: ReadonlyMap<string, Uint8Array>
  /** What freeSpace reports for every path. */
  readonly freeSpace?: { readonly sizeBytes: number; readonly totalSize: number }
  /** Seconds since the epoch for addedDate/doneDate (default: the clock). */
  readonly now?: () => number
  /** What `streamSource` gives, by info hash (lower-case hex). */
  readonly streams?: ReadonlyMap<string, StreamSource>
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
  ...settingDefaults,
  downloadDir: "/downloads",
  peerPort: 6881,
  dhtEnabled: true,
  utpEnabled: true,
  tcpEnabled: true,
  incompleteDir: "/downloads/incomplete",
  version: "bt-effect 0.1.0 (Transmission RPC)",
  configDir: "/state",
  cacheSizeMb: 64
}

interface LabelStore {
  readonly categories: Map<string, Category>
  readonly tags: () => ReadonlyArray<string>
  readonly setTags: (tags: ReadonlyArray<string>) => void
}

/** Categories and tags in memory, with the real session's rules (TorrentLabels.ts). */
const memoryLabels = (
  store: LabelStore,
  torrents: Map<number, MemoryTorrent.MemoryTorrent>,
  recorded: <A, E>(call: ControlCall, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
) => {
  const { categories } = store
  const categoryCall = (tag: "createCategory" | "editCategory", category: Category, exists: boolean) =>
    recorded({ _tag: tag, category }, Effect.suspend(() => {
      if (!validCategoryName(category.name)) return Effect.fail(new ControlError({ reason: "Invalid", detail: `${category.name}: not a valid category name` }))
      if (categories.has(category.name) !== exists) return Effect.fail(new ControlError({ reason: "Conflict", detail: `${category.name}: ${exists ? "no such category" : "category exists"}` }))
      return Effect.sync(() => void categories.set(category.name, category))
    }))
  return {
    categories: Effect.sync(() => [...categories.values()]),
    createCategory: (category: Category) => categoryCall("createCategory", category, false),
    editCategory: (category: Category) => categoryCall("editCategory", category, true),
    removeCategories: (names: ReadonlyArray<string>) =>
      recorded({ _tag: "removeCategories", names }, Effect.sync(() => {
        for (const n of names) categories.delete(n)
        for (const t of torrents.values()) if (names.includes(t.category)) t.category = ""
      })),
    tags: Effect.sync(() => store.tags()),
    createTags: (names: ReadonlyArray<string>) =>
      recorded({ _tag: "createTags", names }, Effect.sync(() => store.setTags(withTags(store.tags(), names.flatMap((t) => validTag(t) ?? []))))),
    deleteTags: (names: ReadonlyArray<string>) =>
      recorded({ _tag: "deleteTags", names }, Effect.sync(() => {
        store.setTags(withTags(store.tags(), [], names))
        for (const t of torrents.values()) t.tags = withTags(t.tags, [], names)
      }))
  }
}

export const make = (options: MemoryControlOptions = {}): Effect.Effect<MemoryControlHandle> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const now = options.now ?? (() => Math.floor(clock.unsafeCurrentTimeMillis() / 1000))
    let settings: SessionSettings = { ...defaultSettings, ...options.settings }
    const torrents = new Map<number, MemoryTorrent.MemoryTorrent>()
    const calls: Array<ControlCall> = []
    let nextId = 1
    const started = now()

    const selected = (which: Selection): Array<MemoryTorrent.MemoryTorrent> =>
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

    /** `effect`, once `call` is recorded (a request that fails is recorded too). */
    const recorded = <A, E>(call: ControlCall, effect: Effect.Effect<A, E>) =>
      Effect.zipRight(Effect.sync(() => void calls.push(call)), effect)

    /** `change` on each torrent named, recorded as `call`. */
    const onEach = (call: ControlCall & { readonly which: Selection }, change: (t: MemoryTorrent.MemoryTorrent) => void) =>
      recorded(call, Effect.map(existing(call.which), (ts) => ts.forEach(change)))

    const add = (source: AddSource, addOptions: AddOptions) =>
      recorded(
        { _tag: "add", source, options: addOptions },
        Effect.map(MemoryTorrent.identify(source, options.urls), (info) => {
          const same = [...torrents.values()].find((t) => t.hashString === info.hashString)
          if (same !== undefined) return { id: same.id, hashString: same.hashString, name: same.name, duplicate: true }
          const id = nextId++
          const category = categories.get(addOptions.category ?? "")
          const autoManaged = addOptions.downloadDir === undefined && (addOptions.autoManaged ?? settings.autoManageByDefault)
          const downloadDir = addOptions.downloadDir ?? (autoManaged && category !== undefined ? categoryFolder(category, settings.downloadDir) : settings.downloadDir)
          const torrent = MemoryTorrent.newTorrent(info, {
            id, now: now(), downloadDir, paused: addOptions.paused === true, queuePosition: torrents.size, seedRatioLimit: settings.seedRatioLimit, seedIdleLimit: settings.idleSeedingLimit
          })
          const given = addOptions.tags?.flatMap((t) => validTag(t) ?? []) ?? []
          labels.setTags(withTags(tags, given))
          const { addTags, files: _files, removeTags, ...own } = addOptions.settings ?? {}
          Object.assign(torrent, own, { category: category?.name ?? "", tags: withTags(given, addTags ?? [], removeTags ?? []), autoManaged })
          // A magnet's files are not known here: its choice of files is only recorded.
          if (addOptions.files !== undefined) MemoryTorrent.setFiles(torrent, addOptions.files, now())
          torrents.set(id, torrent)
          return { id, hashString: info.hashString, name: info.name, duplicate: false }
        })
      )

    /** The live record of torrent `id`, if it is there, to `change`. */
    const withTorrent = (id: number, change: (t: MemoryTorrent.MemoryTorrent) => void) =>
      Effect.sync(() => {
        const t = torrents.get(id)
        if (t !== undefined) change(t)
      })

    const categories = new Map<string, Category>()
    let tags: ReadonlyArray<string> = []
    const labels = { categories, tags: () => tags, setTags: (t: ReadonlyArray<string>) => void (tags = t) }
    const labelMethods = memoryLabels(labels, torrents, recorded)

    const handle: MemoryControlHandle = {
      add,
      ...labelMethods,
      start: (which) =>
        onEach({ _tag: "start", which }, (t) => {
          if (t.status === Status.Stopped) t.status = t.percentDone >= 1 ? Status.Seed : Status.Download
        }),
      stop: (which) =>
        onEach({ _tag: "stop", which }, (t) => Object.assign(t, { status: Status.Stopped, rateDownload: 0, rateUpload: 0, peers: [], peersConnected: 0 })),
      remove: (which, deleteData) => onEach({ _tag: "remove", which, deleteData }, (t) => torrents.delete(t.id)),
      verify: (which) => onEach({ _tag: "verify", which }, (t) => void (t.status = Status.Check)),
      reannounce: (which) => onEach({ _tag: "reannounce", which }, () => undefined),
      set: (which, torrentSettings) =>
        recorded({ _tag: "set", which, settings: torrentSettings }, Effect.flatMap(existing(which), (ts) => {
          const { addTags, category, files, removeTags, tags: replaced, ...rest } = torrentSettings
          if (category !== undefined && category !== "" && !categories.has(category)) {
            return Effect.fail(new ControlError({ reason: "Conflict", detail: `${category}: no such category` }))
          }
          labels.setTags(withTags(tags, [...(addTags ?? []), ...(replaced ?? [])].flatMap((x) => validTag(x) ?? [])))
          return Effect.sync(() => ts.forEach((t) => {
            Object.assign(t, rest)
            if (category !== undefined) t.category = category
            if (replaced !== undefined) t.tags = withTags([], replaced.flatMap((x) => validTag(x) ?? []))
            if (addTags !== undefined || removeTags !== undefined) t.tags = withTags(t.tags, addTags ?? [], removeTags ?? [])
            if (files !== undefined) MemoryTorrent.setFiles(t, files, now())
          }))
        })),
      setLocation: (which, folder, move) => onEach({ _tag: "setLocation", which, folder, move }, (t) => void (t.downloadDir = folder)),
      // Its peers have every piece: the pieces it lacks are available while any is connected.
      torrents: (which) => Effect.sync(() => selected(which).map((t) => ({ ...t, availability: new Array<number>(t.pieceCount).fill(t.peersConnected > 0 ? 1 : 0) }))),
      settings: Effect.sync(() => settings),
      updateSettings: (patch) => recorded({ _tag: "updateSettings", settings: patch }, Effect.sync(() => void (settings = { ...settings, ...patch }))),
      stats: Effect.sync(() => statsOf([...torrents.values()], now() - started)),
      freeSpace: (path) =>
        recorded(
          { _tag: "freeSpace", path },
          path.startsWith("/")
            ? Effect.succeed({ path, sizeBytes: options.freeSpace?.sizeBytes ?? 500e9, totalSize: options.freeSpace?.totalSize ?? 1e12 })
            : Effect.fail(new ControlError({ reason: "Invalid", detail: `${path}: not an absolute path` }))
        ),
      streamSource: (hash) => Effect.sync(() => options.streams?.get(hash.toLowerCase())),
      calls: () => [...calls],
      torrent: (id) => torrents.get(id),
      update: (id, patch) => Effect.sync(() => void Object.assign(torrents.get(id) ?? {}, patch)),
      setProgress: (id, fraction) => withTorrent(id, (t) => MemoryTorrent.setProgress(t, fraction, now())),
      setRates: (id, rateDownload, rateUpload) => withTorrent(id, (t) => MemoryTorrent.setRates(t, rateDownload, rateUpload))
    }
    return handle
  })

/** A memory session as SessionControl, with its handle as MemoryControl for the test's hands. */
export const layer = (options: MemoryControlOptions = {}): Layer.Layer<SessionControl | MemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), (handle) => Context.make(SessionControl, handle).pipe(Context.add(MemoryControl, handle)))
  )
