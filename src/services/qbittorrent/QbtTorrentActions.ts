/**
 * The qBittorrent API's torrent actions (all POST): stop and start under both their 4.x names (pause,
 * resume) and 5.0's (stop, start), delete, recheck, reannounce, setLocation, rename, share limits, rate limits, file priorities, queue moves, sequential download, force start and automatic
 * management. Answers as qbittorrent-nox's: 200 with an empty body; hashes that name no torrent are skipped
 * (200); a single `hash` that names none is 404; a missing parameter 400; a conflict 409 with its words.
 * Categories and tags are QbtLabels.ts's.
 */
import * as Effect from "effect/Effect"
import type { ControlError } from "../../domain/Errors.js"
import { LimitMode } from "../../domain/SeedGoals.js"
import type { SessionSettings } from "../../domain/SessionView.js"
import type { Selection, SessionControlService } from "../session/SessionControl.js"
import { allowedFolder } from "./QbtFolders.js"
import { boolOf, type Endpoint, type Endpoints, failure, fromControl, hashesOf, missing, numberOf, type QbtCall, type QbtReply, text } from "./QbtEndpoint.js"

export interface ActionOptions {
  /** Folders besides the download and incomplete folders that data may go to (QbtFolders.ts). */
  readonly allowedFolders: ReadonlyArray<string>
}

export const done = text()

/** The torrents of `hashes` that are in the session (qBittorrent skips the others). */
const existing = (control: SessionControlService, which: Selection): Effect.Effect<Selection> =>
  which === "all"
    ? Effect.succeed("all")
    : Effect.map(control.torrents("all"), (views) => {
      const wanted = new Set(which.map((h) => String(h).toLowerCase()))
      return views.filter((v) => wanted.has(v.hashString)).map((v) => v.id)
    })

/** An endpoint on `hashes`: run on those in the session; 400 without `hashes` or one of `required`, checked
 *  first (as qBittorrent's requireParams), so also when no hash names a torrent. */
export const onHashes = (run: (call: QbtCall, which: Selection) => Effect.Effect<QbtReply, ControlError>, required: ReadonlyArray<string> = []): Endpoint => ({
  post: true,
  run: (call) =>
    Effect.gen(function*() {
      const given = hashesOf(call.params)
      if (given === undefined || required.some((name) => call.params.text(name) === undefined)) return missing
      const which = yield* existing(call.control, given)
      if (which !== "all" && which.length === 0) return done
      return yield* run(call, which)
    }).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))
})

const action = (run: (control: SessionControlService, which: Selection) => Effect.Effect<void, ControlError>) =>
  onHashes((call, which) => Effect.as(run(call.control, which), done))

/** -2 the session's, -1 none, else its own (qBittorrent's share limit values). */
const limitOf = (value: number): { readonly mode: LimitMode; readonly limit?: number } =>
  value === -2 ? { mode: LimitMode.Global } : value < 0 ? { mode: LimitMode.Unlimited } : { mode: LimitMode.Single, limit: value }

/** The roots data may go to now. */
const rootsOf = (settings: SessionSettings, options: ActionOptions) => [settings.downloadDir, settings.incompleteDir, ...options.allowedFolders]

/** A folder a client names, resolved and checked (QbtFolders.ts). */
export const folderFor = (control: SessionControlService, options: ActionOptions, given: string) =>
  Effect.flatMap(control.settings, (settings) => allowedFolder(given, settings.downloadDir, rootsOf(settings, options)))

/** Each torrent named moves `by` places in the queue (to the top or bottom for ±Infinity). */
const queueMove = (by: number) =>
  onHashes((call, which) =>
    Effect.gen(function*() {
      const count = (yield* call.control.torrents("all")).length
      for (const v of yield* call.control.torrents(which)) {
        const to = Math.max(0, Math.min(count - 1, v.queuePosition + by))
        yield* call.control.set([v.id], { queuePosition: to })
      }
      return done
    }))

/** filePrio's 0 (do not download), 1 normal, 6 high, 7 maximum (high: bt-effect has three priorities). */
const filePriority = (call: QbtCall) =>
  Effect.gen(function*() {
    const hash = call.params.text("hash")
    const ids = call.params.text("id")
    const priority = numberOf(call.params.text("priority"))
    if (hash === undefined || ids === undefined || priority === undefined) return missing
    if (![0, 1, 6, 7].includes(priority)) return failure(400, "Priority is not valid")
    const [view] = yield* call.control.torrents([hash.toLowerCase()])
    if (view === undefined) return failure(404)
    if (!view.hasMetadata) return failure(409, "Torrent's metadata has not yet downloaded")
    const indices = ids.split("|").map(Number)
    if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= view.files.length)) return failure(409, "File ID is not valid")
    yield* call.control.set([view.id], {
      files: priority === 0 ? { unwanted: indices } : { wanted: indices, ...(priority === 1 ? { normal: indices } : { high: indices }) }
    })
    return done
  }).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))

export const make = (options: ActionOptions): Endpoints => {
  const stop = action((c, w) => c.stop(w))
  const start = action((c, w) => c.start(w))
  return {
    pause: stop,
    stop,
    resume: start,
    start,
    recheck: action((c, w) => c.verify(w)),
    reannounce: action((c, w) => c.reannounce(w)),
    delete: onHashes((call, which) => {
      const withFiles = boolOf(call.params.text("deleteFiles"))
      return withFiles === undefined ? Effect.succeed(missing) : Effect.as(call.control.remove(which, withFiles), done)
    }, ["deleteFiles"]),
    setLocation: onHashes((call, which) =>
      Effect.gen(function*() {
        const location = call.params.text("location")
        if (location === undefined) return missing
        if (location.trim() === "") return failure(400, "Save path cannot be empty")
        yield* call.control.setLocation(which, yield* folderFor(call.control, options, location), true)
        return done
      }), ["location"]),
    rename: {
      post: true,
      run: (call) =>
        Effect.gen(function*() {
          const hash = call.params.text("hash")
          const name = call.params.text("name")
          if (hash === undefined || name === undefined) return missing
          if (name.trim() === "") return failure(409, "Incorrect torrent name")
          const [view] = yield* call.control.torrents([hash.toLowerCase()])
          if (view === undefined) return failure(404)
          yield* call.control.set([view.id], { name })
          return done
        }).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))
    },
    setShareLimits: onHashes((call, which) => {
      const ratio = numberOf(call.params.text("ratioLimit"))
      const time = numberOf(call.params.text("seedingTimeLimit"))
      if (ratio === undefined || time === undefined) return Effect.succeed(missing)
      const r = limitOf(ratio)
      const t = limitOf(time)
      // qBittorrent 4.6's inactive seeding time is Transmission's idle limit (minutes without a transfer).
      const inactive = numberOf(call.params.text("inactiveSeedingTimeLimit"))
      const i = inactive === undefined ? undefined : limitOf(inactive)
      return Effect.as(call.control.set(which, {
        seedRatioMode: r.mode,
        ...(r.limit !== undefined ? { seedRatioLimit: r.limit } : {}),
        seedTimeMode: t.mode,
        ...(t.limit !== undefined ? { seedTimeLimit: Math.round(t.limit) } : {}),
        ...(i !== undefined ? { seedIdleMode: i.mode, ...(i.limit !== undefined ? { seedIdleLimit: Math.max(1, Math.round(i.limit)) } : {}) } : {})
      }), done)
    }, ["ratioLimit", "seedingTimeLimit"]),
    setDownloadLimit: onHashes((call, which) => {
      const limit = numberOf(call.params.text("limit"))
      return limit === undefined ? Effect.succeed(missing) : Effect.as(call.control.set(which, { downloadLimit: Math.max(0, Math.round(limit)) }), done)
    }, ["limit"]),
    setUploadLimit: onHashes((call, which) => {
      const limit = numberOf(call.params.text("limit"))
      return limit === undefined ? Effect.succeed(missing) : Effect.as(call.control.set(which, { uploadLimit: Math.max(0, Math.round(limit)) }), done)
    }, ["limit"]),
    filePrio: { post: true, run: filePriority },
    topPrio: queueMove(-Infinity),
    bottomPrio: queueMove(Infinity),
    increasePrio: queueMove(-1),
    decreasePrio: queueMove(1),
    toggleSequentialDownload: onHashes((call, which) =>
      Effect.gen(function*() {
        for (const v of yield* call.control.torrents(which)) yield* call.control.set([v.id], { sequential: !v.sequential })
        return done
      })),
    setForceStart: onHashes((call, which) => {
      const value = boolOf(call.params.text("value"))
      return value === undefined ? Effect.succeed(missing) : Effect.as(call.control.set(which, { forced: value }), done)
    }, ["value"]),
    setAutoManagement: onHashes((call, which) => {
      const enable = boolOf(call.params.text("enable"))
      return enable === undefined ? Effect.succeed(missing) : Effect.as(call.control.set(which, { autoManaged: enable }), done)
    }, ["enable"])
  }
}
