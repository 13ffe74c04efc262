/**
 * A torrent's data gets a new folder: torrent-set-location and qBittorrent's setLocation, a category's
 * folder followed, and the move of a completed torrent out of the incomplete folder. With `move`, its file
 * or folder (the torrent's own name under the old folder, nothing else) is moved there, and its resume data
 * follows it (renamed files keep their stamps, so nothing is hashed again: the torrent goes on where it
 * was). Without `move`, the data is looked for in the new folder: the torrent is checked again there, as
 * Transmission does.
 *
 * A move loses nothing if the daemon dies in the middle. On one file system it is one rename. Across file
 * systems the data is copied beside its new place under a temporary name, renamed into place, and only
 * once the session's list says the new folder is the old data removed. A journal (`<state>/moving/<hash>.json`,
 * written before the data moves and removed after the list is saved) tells a restarted session
 * (`settle`) whether the move went through (the data is in place: take it, remove what is left of the old)
 * or not (remove the partial copy: the old data is whole). A move that fails leaves the data where it was,
 * with no copy and no journal, and the torrent's folders as they were.
 *
 * The torrent's run is stopped first and the torrent held (`moving`: front ends show it so, and the queue
 * does not start it again on the old folder) while its files move; it is then as it was, running or not.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { ControlError } from "../../domain/Errors.js"
import { type Metainfo, relativePath, torrentHash } from "../../domain/Metainfo.js"
import { type FileStamp, ResumeData } from "../../domain/ResumeData.js"
import * as JsonFile from "../files/JsonFile.js"
import type { ResumeStoreService } from "../storage/ResumeStore.js"
import type { Selection } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { SessionQueue } from "./SessionQueue.js"
import type { TorrentList } from "./TorrentList.js"

export interface LocationContext {
  readonly list: TorrentList
  readonly queue: SessionQueue
  readonly store: ResumeStoreService
  /** The state folder: the journals of moves live in `moving/` there. */
  readonly stateDir: string
  /** Saves the session's list. */
  readonly save: Effect.Effect<void>
  /** Renames a file or folder; fs.promises.rename unless given (tests make it fail with EXDEV: another file system). */
  readonly rename?: (from: string, to: string) => Promise<void>
}

const ioError = (detail: string) => new ControlError({ reason: "Io", detail })
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

const exists = (p: string) => fs.promises.lstat(p).then(() => true, () => false)

/** A move in progress: from and to which folder, the torrent's file or folder name, and where the torrent
 *  was to go before (its savePath, given back when the move is undone). */
const Journal = Schema.Struct({ from: Schema.String, to: Schema.String, name: Schema.String, savePath: Schema.optional(Schema.String) })
type Journal = typeof Journal.Type

const journalFile = (context: LocationContext, entry: Entry) => path.join(context.stateDir, "moving", `${entry.hash}.json`)
/** The copy's name beside its new place, while it is copied across file systems. */
const copyName = (to: string, name: string) => path.join(to, `.${name}.bt-effect-move`)

const removeTree = (p: string) => Effect.promise(() => fs.promises.rm(p, { recursive: true, force: true }).catch(() => undefined))

/**
 * Moves `from/name` to `to/name`: a rename, or a copy under a temporary name renamed into place. Gives what
 * is left to do once the session knows the new folder: the old data removed (after a copy) and the journal.
 */
const moveData = (journal: string, move: Journal, rename: (from: string, to: string) => Promise<void>) =>
  Effect.tryPromise({
    try: async () => {
      const source = path.join(move.from, move.name)
      const target = path.join(move.to, move.name)
      if (!(await exists(source))) return false
      if (await exists(target)) throw new Error(`${target} already exists`)
      await fs.promises.mkdir(path.dirname(journal), { recursive: true })
      await fs.promises.writeFile(journal, JSON.stringify(move))
      const temp = copyName(move.to, move.name)
      try {
        await fs.promises.mkdir(move.to, { recursive: true })
        try {
          await rename(source, target)
          return false
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e
        }
        await fs.promises.rm(temp, { recursive: true, force: true })
        await fs.promises.cp(source, temp, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true })
        await rename(temp, target)
        return true
      } catch (e) {
        // Not moved: the data is whole where it was; neither a partial copy nor the journal is left.
        await fs.promises.rm(temp, { recursive: true, force: true }).catch(() => undefined)
        await fs.promises.rm(journal, { force: true }).catch(() => undefined)
        throw e
      }
    },
    catch: (e) => ioError(`cannot move ${path.join(move.from, move.name)} to ${move.to}: ${errorText(e)}`)
  })

/**
 * The resume data of the torrent, kept for the old folder, now says the new one. After a copy (`copied`)
 * each file's stamp is the copy's: a copy keeps the bytes but not the nanoseconds of the modification time
 * (cp's preserveTimestamps goes through utimes), and a stamp that differs would have it all hashed again.
 */
const followResume = (store: ResumeStoreService, entry: Entry, from: string, to: string, copied: boolean) =>
  Effect.gen(function*() {
    const m = entry.metainfo
    if (m === undefined) return
    // Kept under the hash the torrent is known by (a v2-only torrent has no v1 hash).
    const saved = yield* store.load(torrentHash(m))
    if (Option.isNone(saved) || saved.value.root !== from) return
    const files = copied ? yield* Effect.promise(() => restamp(m, to, saved.value.files)) : saved.value.files
    yield* store.save(new ResumeData({ ...saved.value, root: to, files })).pipe(
      Effect.catchAll((e) => Effect.logWarning(`${entry.name}: resume data not moved (it will be checked again): ${e.message}`))
    )
  })

/** The stamps of the files copied under `to`, where a file of the same size is there (else as they were). */
const restamp = (m: Metainfo, to: string, stamps: ReadonlyArray<FileStamp | null>) =>
  Promise.all(stamps.map(async (stamp, i) => {
    const file = m.files[i]
    if (stamp === null || file === undefined) return stamp
    const now = await fs.promises.stat(path.join(to, ...relativePath(m, file)), { bigint: true }).catch(() => undefined)
    return now !== undefined && now.isFile() && Number(now.size) === stamp.size ? { size: stamp.size, mtimeNs: now.mtimeNs } : stamp
  }))

/** The torrent's data now in `to`: its folders, the list saved, its resume data, then the old data and the journal gone. */
const arrived = (context: LocationContext, entry: Entry, move: Journal, removeOld: boolean) =>
  Effect.gen(function*() {
    entry.downloadDir = move.to
    yield* context.save
    yield* followResume(context.store, entry, move.from, move.to, removeOld)
    if (removeOld) yield* removeTree(path.join(move.from, move.name))
    yield* removeTree(journalFile(context, entry))
  })

const relocate = (context: LocationContext, entry: Entry, folder: string, move: boolean) =>
  Effect.gen(function*() {
    const from = path.resolve(entry.downloadDir)
    // Held while its files move: the queue does not start it again on the old folder (a user's stop or
    // start meanwhile still counts once it is done).
    entry.moving = true
    yield* context.queue.stop(entry)
    const savePath = entry.savePath
    const moved = Effect.gen(function*() {
      entry.savePath = folder
      if (move && from !== folder && entry.metainfo !== undefined) {
        const journey = { from, to: folder, name: entry.metainfo.safeName, savePath }
        const copied = yield* moveData(journalFile(context, entry), journey, context.rename ?? fs.promises.rename)
        yield* arrived(context, entry, journey, copied)
        return
      }
      entry.downloadDir = folder
      if (!move) entry.recheck = true
    })
    // Not moved: it is to go where it was to go before.
    const undone = Effect.tapError(moved, () => Effect.sync(() => void (entry.savePath = savePath)))
    yield* Effect.ensuring(undone, Effect.sync(() => void (entry.moving = false)))
  })

/** SessionControl's setLocation. */
export const make = (context: LocationContext) => (which: Selection, folder: string, move: boolean): Effect.Effect<void, ControlError> =>
  Effect.gen(function*() {
    if (!path.isAbsolute(folder)) return yield* new ControlError({ reason: "Invalid", detail: `${folder}: new location path is not absolute` })
    const target = path.resolve(folder)
    const found = yield* context.list.select(which)
    for (const entry of found) yield* relocate(context, entry, target, move)
    yield* context.save
    yield* context.queue.schedule
  })

/** One torrent's data moved to `folder` (a category's folder followed). */
export const moveOne = (context: LocationContext) => (entry: Entry, folder: string): Effect.Effect<void, ControlError> =>
  Effect.gen(function*() {
    // Still downloading in the incomplete folder: it goes to the new folder when complete.
    if (entry.downloadDir !== entry.savePath && !entry.complete) {
      entry.savePath = folder
      return
    }
    yield* relocate(context, entry, folder, true)
    yield* context.queue.schedule
  })

/** A completed torrent leaves the incomplete folder for its own (nothing if it is there already). */
export const moveOnComplete = (context: LocationContext) => (entry: Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (entry.savePath === entry.downloadDir || entry.metainfo === undefined) return
    yield* Effect.logInfo(`moving: ${entry.id} ${entry.name} to ${entry.savePath}`)
    yield* relocate(context, entry, entry.savePath, true)
    yield* context.queue.schedule
  }).pipe(Effect.catchAll((e) => Effect.logWarning(`not moved: ${entry.id} ${entry.name}: ${e.message}`)))

/** After a restart: each move the daemon died in the middle of is finished or undone (see the top). */
export const settle = (context: LocationContext): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (const entry of context.list.all()) {
      const file = journalFile(context, entry)
      if (!(yield* Effect.promise(() => exists(file)))) continue
      const move = yield* JsonFile.load(file, Schema.NullOr(Journal), null)
      if (move === null) {
        yield* removeTree(file)
        continue
      }
      const target = path.join(move.to, move.name)
      const temp = copyName(move.to, move.name)
      const done = yield* Effect.promise(async () => (await exists(target)) && !(await exists(temp)))
      if (done) {
        yield* Effect.logInfo(`moved: ${entry.id} ${entry.name} to ${move.to} (a move cut short, finished)`)
        yield* arrived(context, entry, move, true)
      } else {
        yield* Effect.logInfo(`not moved: ${entry.id} ${entry.name}: a move cut short, undone`)
        yield* removeTree(temp)
        entry.downloadDir = move.from
        if (move.savePath !== undefined) entry.savePath = move.savePath
        yield* removeTree(file)
      }
    }
  })
