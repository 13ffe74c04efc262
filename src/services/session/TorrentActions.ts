/**
 * What a front end can do to torrents of the session it names: start, stop, remove (with its data or
 * not), verify, and set a torrent's own limits, seeding goals, queue position and files (TorrentFiles.ts). Every name must match a
 * torrent, or nothing is done (ControlError NotFound). Every change saves the session's list at once.
 * Starting a seed that has reached its ratio turns its ratio limit off, as Transmission does ("restarted
 * manually"): it would stop again at once.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ControlError } from "../../domain/Errors.js"
import { LimitMode, ratioDone } from "../../domain/SeedGoals.js"
import type { SessionSettings } from "../../domain/SessionView.js"
import type { Selection, SessionControlService, TorrentSettings } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { SessionQueue } from "./SessionQueue.js"
import * as TorrentFiles from "./TorrentFiles.js"
import type { TorrentLabels } from "./TorrentLabels.js"
import type { TorrentList } from "./TorrentList.js"

export interface ActionContext {
  readonly list: TorrentList
  readonly queue: SessionQueue
  /** Saves the session's list. */
  readonly save: Effect.Effect<void>
  /** The session's settings now (its seeding goals). */
  readonly settings: () => SessionSettings
  /** Categories and tags. */
  readonly labels: TorrentLabels
}

export type TorrentActions = Pick<SessionControlService, "start" | "stop" | "remove" | "verify" | "set" | "reannounce">

/** The torrent's own file or folder only: safeName is one sanitised path component. */
const deleteData = (entry: Entry) =>
  entry.metainfo === undefined
    ? Effect.void
    : Effect.promise(() => fs.promises.rm(path.join(entry.downloadDir, entry.metainfo!.safeName), { recursive: true, force: true }).catch(() => undefined))

const applySettings = (entry: Entry, settings: TorrentSettings, now: number) => {
  if (settings.downloadLimit !== undefined) {
    entry.downloadLimit = settings.downloadLimit
    entry.buckets.down.setRate(entry.downloadLimit, now)
  }
  if (settings.uploadLimit !== undefined) {
    entry.uploadLimit = settings.uploadLimit
    entry.buckets.up.setRate(entry.uploadLimit, now)
  }
  if (settings.queuePosition !== undefined) entry.queuePosition = settings.queuePosition
  if (settings.rememberedDownloadLimit !== undefined) entry.rememberedDownloadLimit = settings.rememberedDownloadLimit
  if (settings.rememberedUploadLimit !== undefined) entry.rememberedUploadLimit = settings.rememberedUploadLimit
  entry.goals = {
    seedRatioMode: settings.seedRatioMode ?? entry.goals.seedRatioMode,
    seedRatioLimit: settings.seedRatioLimit ?? entry.goals.seedRatioLimit,
    seedIdleMode: settings.seedIdleMode ?? entry.goals.seedIdleMode,
    seedIdleLimit: settings.seedIdleLimit ?? entry.goals.seedIdleLimit,
    seedTimeMode: settings.seedTimeMode ?? entry.goals.seedTimeMode,
    seedTimeLimit: settings.seedTimeLimit ?? entry.goals.seedTimeLimit
  }
  if (settings.name !== undefined && settings.name.trim() !== "") entry.name = settings.name.trim()
}

/** Its labels and the switches that change how it runs; whether its run must start again (sequential). */
const applyLabels = (entry: Entry, settings: TorrentSettings, labels: TorrentLabels) =>
  Effect.gen(function*() {
    if (settings.tags !== undefined) labels.changeTags(entry, settings.tags, entry.tags.filter((t) => !settings.tags!.includes(t)))
    if (settings.addTags !== undefined || settings.removeTags !== undefined) {
      labels.changeTags(entry, settings.addTags ?? [], settings.removeTags ?? [])
    }
    if (settings.category !== undefined) yield* labels.setCategory(entry, settings.category)
    if (settings.autoManaged !== undefined && settings.autoManaged !== entry.autoManaged) yield* labels.setAutoManaged(entry, settings.autoManaged)
    if (settings.forced !== undefined) {
      entry.forced = settings.forced
      // qBittorrent's force start also starts it.
      if (settings.forced) entry.paused = false
    }
    if (settings.sequential === undefined || settings.sequential === entry.sequential) return false
    entry.sequential = settings.sequential
    return entry.phase !== "stopped"
  })

/** A stopped seed whose ratio goal is met (its totals are those of its runs so far). */
const ratioMet = (entry: Entry, settings: SessionSettings) =>
  entry.phase === "stopped" && entry.metainfo !== undefined &&
  ratioDone(entry.goals, settings, {
    downloadedEver: entry.previous.downloaded,
    uploadedEver: entry.previous.uploaded,
    sizeWhenDone: entry.metainfo.totalLength
  }, entry.complete)

export const make = ({ labels, list, queue, save, settings }: ActionContext): TorrentActions => {
  /** `act` on the torrents named, once all of them are found. */
  const each = (which: Selection, act: (found: ReadonlyArray<Entry>) => Effect.Effect<void, ControlError>): Effect.Effect<void, ControlError> =>
    Effect.flatMap(list.select(which), act)

  return {
    start: (which) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) {
            if (entry.paused && ratioMet(entry, settings())) entry.goals = { ...entry.goals, seedRatioMode: LimitMode.Unlimited }
            if (entry.paused) yield* Effect.logInfo(`started: ${entry.id} ${entry.name}`)
            entry.paused = false
          }
          yield* save
          yield* queue.schedule
        })),
    stop: (which) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) {
            if (!entry.paused) yield* Effect.logInfo(`stopped: ${entry.id} ${entry.name}`)
            entry.paused = true
            entry.forced = false
            yield* queue.stop(entry)
          }
          yield* save
        })),
    remove: (which, withData) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) {
            // Out of the list and paused before its run stops: the queue, which looks every second, must not
            // start it again in between (it would open the files again, and recreate the data just deleted).
            list.remove(entry)
            entry.paused = true
            yield* queue.stop(entry)
            if (withData) yield* deleteData(entry)
            yield* Effect.logInfo(`removed: ${entry.id} ${entry.name}${withData ? " and its data" : ""}`)
          }
          yield* save
        })),
    // Hashed again at its next start, which the queue gives it at once if it has room.
    verify: (which) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) {
            entry.recheck = true
            yield* queue.stop(entry)
          }
          yield* queue.schedule
        })),
    reannounce: (which) =>
      each(which, (found) => Effect.forEach(found, (entry) => entry.handle?.reannounce ?? Effect.void, { discard: true })),
    // Saved, as every change to a torrent is: its limits hold after a restart.
    set: (which, settings) =>
      each(which, (found) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          let restarted = false
          for (const entry of found) {
            applySettings(entry, settings, now)
            if (yield* applyLabels(entry, settings, labels)) {
              yield* queue.stop(entry)
              restarted = true
            }
            if (settings.files === undefined) continue
            // A new set of files wanted: the run starts again on it, as a stop and a start would.
            const { restart } = yield* TorrentFiles.change(entry, settings.files)
            if (restart) {
              yield* Effect.logInfo(`files changed: ${entry.id} ${entry.name}; restarted`)
              yield* queue.stop(entry)
              restarted = true
            }
          }
          yield* save
          // A torrent forced or restarted runs at once.
          if (restarted || settings.forced === true) yield* queue.schedule
        }))
  }
}
