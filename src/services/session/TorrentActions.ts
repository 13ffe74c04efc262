/**
 * What a front end can do to torrents of the session it names: start, stop, remove (with its data or
 * not), verify, and set a torrent's own limits and queue position. Every name must match a torrent, or
 * nothing is done (ControlError NotFound). Start, stop and remove save the session's list at once; a
 * torrent's limits are not kept between runs, and a queue position only with the next save.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ControlError } from "../../domain/Errors.js"
import type { Selection, SessionControlService, TorrentSettings } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { SessionQueue } from "./SessionQueue.js"
import type { TorrentList } from "./TorrentList.js"

export interface ActionContext {
  readonly list: TorrentList
  readonly queue: SessionQueue
  /** Saves the session's list. */
  readonly save: Effect.Effect<void>
}

export type TorrentActions = Pick<SessionControlService, "start" | "stop" | "remove" | "verify" | "set">

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
}

export const make = ({ list, queue, save }: ActionContext): TorrentActions => {
  /** `act` on the torrents named, once all of them are found. */
  const each = (which: Selection, act: (found: ReadonlyArray<Entry>) => Effect.Effect<void>): Effect.Effect<void, ControlError> =>
    Effect.flatMap(list.select(which), act)

  return {
    start: (which) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) entry.paused = false
          yield* save
          yield* queue.schedule
        })),
    stop: (which) =>
      each(which, (found) =>
        Effect.gen(function*() {
          for (const entry of found) {
            entry.paused = true
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
    // Saved, as every change to a torrent is: its limits hold after a restart.
    set: (which, settings) =>
      each(which, (found) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          for (const entry of found) applySettings(entry, settings, now)
          yield* save
        }))
  }
}
