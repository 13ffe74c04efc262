/**
 * torrent-set-location: a torrent's data gets a new folder. With `move`, its file or folder (the torrent's
 * own name under the old folder, nothing else) is moved there, renamed in one step on the same file system
 * or copied and then removed across file systems, and its resume data follows it (renamed files keep
 * their stamps, so nothing is hashed again: the torrent goes on where it was). Without `move`, the data is
 * looked for in the new folder: the torrent is checked again there, as Transmission does.
 *
 * The torrent's run is stopped first and the torrent held (paused) while its files move, so that the queue
 * does not start it again on the old folder; it is then as it was, running or not.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { ControlError } from "../../domain/Errors.js"
import { ResumeData } from "../../domain/ResumeData.js"
import type { ResumeStoreService } from "../storage/ResumeStore.js"
import type { Selection } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { SessionQueue } from "./SessionQueue.js"
import type { TorrentList } from "./TorrentList.js"

export interface LocationContext {
  readonly list: TorrentList
  readonly queue: SessionQueue
  readonly store: ResumeStoreService
  /** Saves the session's list. */
  readonly save: Effect.Effect<void>
}

const ioError = (detail: string) => new ControlError({ reason: "Io", detail })

const exists = (p: string) => fs.promises.lstat(p).then(() => true, () => false)

/** Moves `from` to `to` (a file or a folder): a rename, or across file systems a copy and then a removal. */
const moveTree = (from: string, to: string) =>
  Effect.tryPromise({
    try: async () => {
      if (!(await exists(from))) return
      if (await exists(to)) throw new Error(`${to} already exists`)
      await fs.promises.mkdir(path.dirname(to), { recursive: true })
      try {
        await fs.promises.rename(from, to)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e
        await fs.promises.cp(from, to, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true })
        await fs.promises.rm(from, { recursive: true, force: true })
      }
    },
    catch: (e) => ioError(`cannot move ${from} to ${to}: ${e instanceof Error ? e.message : String(e)}`)
  })

/** The resume data of the torrent, kept for the old folder, now says the new one. */
const followResume = (store: ResumeStoreService, entry: Entry, from: string, to: string) =>
  Effect.gen(function*() {
    const hash = entry.metainfo?.infoHash
    if (hash === undefined) return
    const saved = yield* store.load(hash)
    if (Option.isNone(saved) || saved.value.root !== from) return
    yield* store.save(new ResumeData({ ...saved.value, root: to })).pipe(
      Effect.catchAll((e) => Effect.logWarning(`${entry.name}: resume data not moved (it will be checked again): ${e.message}`))
    )
  })

const relocate = (context: LocationContext, entry: Entry, folder: string, move: boolean) =>
  Effect.gen(function*() {
    const from = path.resolve(entry.downloadDir)
    const wasPaused = entry.paused
    entry.paused = true
    yield* context.queue.stop(entry)
    const moved = Effect.gen(function*() {
      if (move && from !== folder && entry.metainfo !== undefined) {
        yield* moveTree(path.join(from, entry.metainfo.safeName), path.join(folder, entry.metainfo.safeName))
        yield* followResume(context.store, entry, from, folder)
      }
      entry.downloadDir = folder
      if (!move) entry.recheck = true
    })
    yield* Effect.ensuring(moved, Effect.sync(() => void (entry.paused = wasPaused)))
  })

export const make = (context: LocationContext) => (which: Selection, folder: string, move: boolean): Effect.Effect<void, ControlError> =>
  Effect.gen(function*() {
    if (!path.isAbsolute(folder)) return yield* new ControlError({ reason: "Invalid", detail: `${folder}: new location path is not absolute` })
    const target = path.resolve(folder)
    const found = yield* context.list.select(which)
    for (const entry of found) yield* relocate(context, entry, target, move)
    yield* context.save
    yield* context.queue.schedule
  })
