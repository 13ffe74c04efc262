/**
 * The daemon's watch folder, as Transmission's `watch-dir`: every .torrent file put into the folder is
 * added to the session, then renamed `<name>.added` (an older `.added` of that name replaced), or removed
 * when asked (Transmission's `trash-original-torrent-files`). A torrent already in the session is treated
 * as added: its file is renamed or removed all the same.
 *
 * The folder is polled every 2 s with the Effect Clock rather than watched with fs.watch: inotify (and
 * FSEvents, ReadDirectoryChangesW) hear only changes made through the local kernel, so a watch folder on a
 * network mount (NFS, SMB) filled from another machine would never wake it, and fs.watch may drop events
 * when busy; Transmission polls too when asked (`watch-dir-force-generic`). A poll of a folder of a few
 * names costs next to nothing.
 *
 * A poll looks at names ending in `.torrent` (any case) that are regular files, without following links
 * (a link, a folder, a device are left alone). A file is read only once its size and modification time are
 * the same on two polls in a row, so that one still being copied in is never read half-written. Each
 * version of a file (name, size, modification time) is tried once: one larger than any .torrent may be,
 * unreadable, or refused by the session gets one warning and is tried again only when it changes; one
 * added whose rename or removal fails gets one warning and is not added again. A folder missing or
 * unreadable gets one warning, and the polls go on: it may appear (a mount coming up).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ControlError } from "../../domain/Errors.js"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import { describeErrno } from "../files/FileErrors.js"
import { node, unit } from "../files/NodeCallback.js"
import { readOnlyFlags } from "../files/OpenFlags.js"
import { closeQuietly, readAll } from "../files/PositionalIo.js"
import type { Added, SessionControlService } from "./SessionControl.js"

/** Between the starts of two polls. */
export const pollMillis = 2000

export interface WatchFolderOptions {
  readonly folder: string
  /** Remove each file once added, rather than rename it `<name>.added`. */
  readonly remove: boolean
  /** Adds a .torrent's bytes to the session (`addTo(control)`). */
  readonly add: (bytes: Uint8Array) => Effect.Effect<Added, ControlError>
}

export interface WatchFolder {
  /** The polls done so far. */
  readonly polls: Effect.Effect<number>
  /** Waits until `count` polls are done (the first runs at once). */
  readonly polled: (count: number) => Effect.Effect<void>
}

/** The session's add for the watch folder: a .torrent's bytes, with the session's defaults (folder, started). */
export const addTo = (control: SessionControlService) => (bytes: Uint8Array): Effect.Effect<Added, ControlError> =>
  control.add({ _tag: "Metainfo", bytes }, {})

/** A file as last seen; `tried`: this version of it was read (or refused) once, and is not again. */
interface Seen {
  readonly size: number
  readonly mtimeMs: number
  tried: boolean
}

type Stat = Pick<fs.Stats, "size" | "mtimeMs">

const sameVersion = (seen: Seen, stat: Stat): boolean => seen.size === stat.size && seen.mtimeMs === stat.mtimeMs

const isTorrentName = (name: string): boolean => name.toLowerCase().endsWith(".torrent")

/**
 * The bytes of the regular file `file`, opened without following a link; or, when what was opened is not
 * the version `expected` (the file changed, or was swapped, since it was looked at), its size and time,
 * to settle again before it is read.
 */
const readVersion = (file: string, expected: Stat) =>
  Effect.acquireUseRelease(
    node<number>((done) => fs.open(file, readOnlyFlags, done)),
    (fd) =>
      Effect.flatMap(node<fs.Stats>((done) => fs.fstat(fd, done)), (stat) => {
        if (!stat.isFile() || stat.size !== expected.size || stat.mtimeMs !== expected.mtimeMs) {
          return Effect.succeed<Uint8Array | Stat>(stat)
        }
        const bytes = Buffer.alloc(stat.size)
        return Effect.as(readAll(fd, bytes, 0), bytes)
      }),
    (fd) => Effect.sync(() => closeQuietly(fd))
  )

/** Polls `options.folder` until the scope closes, adding what is put there. */
export const run = (options: WatchFolderOptions) =>
  Effect.gen(function*() {
    const folder = path.resolve(options.folder)
    const seen = new Map<string, Seen>()
    const polls = yield* SubscriptionRef.make(0)
    let folderWarned = false

    const warn = (name: string, what: string) => Effect.logWarning(`watch folder: ${path.join(folder, name)}: ${what}`)

    /** Renamed `<name>.added` (replacing one there) or removed, once added or found in the session. */
    const putAway = (name: string) => {
      const file = path.join(folder, name)
      const done = options.remove
        ? unit((cb) => fs.unlink(file, cb))
        : unit((cb) => fs.rename(file, `${file}.added`, cb))
      return Effect.catchAll(done, (e) =>
        warn(name, `cannot ${options.remove ? "remove it" : `rename it to ${name}.added`}: ${describeErrno(e)}; it is not added again`))
    }

    /** A settled version of `name`, tried once. */
    const take = (name: string, stat: Stat) =>
      Effect.gen(function*() {
        if (stat.size > maxTorrentBytes) return yield* warn(name, `larger than ${maxTorrentBytes} bytes; skipped`)
        const read = yield* Effect.either(readVersion(path.join(folder, name), stat))
        if (read._tag === "Left") return yield* warn(name, `cannot read: ${describeErrno(read.left)}`)
        if (!(read.right instanceof Uint8Array)) {
          // Changed between the look and the read: a new version, to settle before it is read.
          seen.set(name, { size: read.right.size, mtimeMs: read.right.mtimeMs, tried: false })
          return
        }
        const added = yield* Effect.either(options.add(read.right))
        if (added._tag === "Left") return yield* warn(name, `${added.left.detail}; not tried again until it changes`)
        const { id, name: torrent, duplicate } = added.right
        yield* Effect.log(
          duplicate
            ? `watch folder: ${name} is already in the session (${id} ${torrent})`
            : `watch folder: added ${name} (${id} ${torrent})`
        )
        yield* putAway(name)
      })

    /** One name ending in .torrent: looked at, and read once it has settled. */
    const consider = (name: string) =>
      Effect.gen(function*() {
        const looked = yield* Effect.either(node<fs.Stats>((done) => fs.lstat(path.join(folder, name), done)))
        if (looked._tag === "Left" || !looked.right.isFile()) {
          // Gone since the listing, or not a regular file (links are not followed).
          seen.delete(name)
          return
        }
        const stat = looked.right
        const before = seen.get(name)
        if (before === undefined || !sameVersion(before, stat)) {
          seen.set(name, { size: stat.size, mtimeMs: stat.mtimeMs, tried: false })
          return
        }
        if (before.tried) return
        before.tried = true
        yield* take(name, stat)
      })

    const poll = Effect.gen(function*() {
      const listed = yield* Effect.either(node<Array<string>>((done) => fs.readdir(folder, done)))
      if (listed._tag === "Left") {
        if (!folderWarned) yield* Effect.logWarning(`watch folder: cannot read ${folder}: ${describeErrno(listed.left)}; watching for it`)
        folderWarned = true
        return
      }
      if (folderWarned) yield* Effect.log(`watch folder: ${folder} is readable again`)
      folderWarned = false
      const names = listed.right.filter(isTorrentName)
      // A name gone is forgotten: a file put there again later is a new one.
      for (const name of [...seen.keys()]) if (!names.includes(name)) seen.delete(name)
      for (const name of names) yield* consider(name)
    }).pipe(Effect.withSpan("WatchFolder.poll"))

    // Every 2 s from the start of one poll to the next (at once when a poll took longer).
    const loop = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      yield* poll
      yield* SubscriptionRef.update(polls, (n) => n + 1)
      const now = yield* Clock.currentTimeMillis
      yield* Effect.sleep(Math.max(0, start + pollMillis - now))
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(loop)
    yield* Effect.log(`watch folder: watching ${folder} for .torrent files${options.remove ? " (removed once added)" : ""}`)

    const handle: WatchFolder = {
      polls: SubscriptionRef.get(polls),
      polled: (count) => polls.changes.pipe(Stream.takeUntil((n) => n >= count), Stream.runDrain)
    }
    return handle
  })
