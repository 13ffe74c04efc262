/**
 * Storage on real files, with positional I/O (`fs.read` / `fs.write` at an explicit position): no seek and
 * no shared file position, so any number of reads and writes may run at once on one descriptor.
 *
 * Descriptors stay open while the torrent runs, in a least-recently-used cache with a limit (a torrent of
 * 100,000 files must not exhaust descriptors); a file that fell out of the cache is reopened on demand.
 * A descriptor in use by a read or write is never closed under it: eviction retires it, and the last user
 * closes it. Each I/O runs uninterruptibly, since Node cannot cancel a call that libuv has started, and
 * a descriptor closed while the thread pool still uses it could be reused by an unrelated open.
 *
 * No write may land outside the root: every (re)open walks the folders below the root with `lstat` and
 * refuses a symlink, and opens the file itself with O_NOFOLLOW.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { StorageError, type StorageErrorReason } from "../domain/Errors.js"
import * as Layout from "../domain/Layout.js"
import { layoutOf, type Metainfo } from "../domain/Metainfo.js"
import { type PlannedFile, plan, Storage, type StoragePlan, type StorageService, type TorrentStorage } from "./Storage.js"

export interface FileStorageOptions {
  /** The most descriptors kept open per torrent, least recently used closed first; default 256. */
  readonly maxOpenFiles?: number
}

// ---------------------------------------------------------------------------------------------------------
// Errors

type Action = "create folder" | "write in folder" | "inspect" | "open" | "resize" | "read" | "write" | "sync"

const causes: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or folder",
  ENOTDIR: "a component of the path is not a folder",
  EISDIR: "is a folder",
  EEXIST: "already exists",
  ELOOP: "is a symbolic link",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EIO: "input/output error",
  EFBIG: "file too large for the file system",
  ENAMETOOLONG: "name too long",
  EBUSY: "resource busy"
}

const reasonOf = (action: Action, code: string): StorageErrorReason => {
  if (code === "ENOSPC" || code === "EDQUOT") return "NoSpace"
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "Permission"
  return action === "read" ? "Read" : action === "write" || action === "sync" ? "Write" : "Open"
}

const failure = (action: Action, at: string) => (error: NodeJS.ErrnoException): StorageError => {
  const code = error.code ?? ""
  const cause = causes[code] ?? error.message.replace(/\s+/g, " ")
  return new StorageError({ reason: reasonOf(action, code), path: at, detail: `cannot ${action}: ${cause}` })
}

const symlinkRefused = (file: string, link: string): StorageError =>
  new StorageError({
    reason: "Outside",
    path: file,
    detail: `${link} is a symbolic link; refusing to follow it out of the download folder`
  })

const closedError = (file: string, action: Action): StorageError =>
  new StorageError({ reason: reasonOf(action, ""), path: file, detail: `cannot ${action}: the torrent's storage is closed` })

// ---------------------------------------------------------------------------------------------------------
// Node's callback API as effects (failing with the raw errno error, mapped by the caller)

const node = <A>(run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void) =>
  Effect.async<A, NodeJS.ErrnoException>((resume) => {
    run((error, value) => resume(error === null ? Effect.succeed(value) : Effect.fail(error)))
  })

const unit = (run: (done: (error: NodeJS.ErrnoException | null) => void) => void) =>
  node<void>((done) => run((error) => done(error, undefined)))

const noFollow = fs.constants.O_NOFOLLOW ?? 0
const createFlags = fs.constants.O_RDWR | fs.constants.O_CREAT | noFollow
const existingFlags = fs.constants.O_RDWR | noFollow

const closeQuietly = (fd: number): void => fs.close(fd, () => {})

const shortIo = (what: string): NodeJS.ErrnoException => Object.assign(new Error(what), { code: "EIO" })

/** Writes all of `data` at `position`, continuing after short writes. */
const writeAll = (fd: number, data: Uint8Array, position: number) =>
  Effect.async<void, NodeJS.ErrnoException>((resume) => {
    let done = 0
    const step = (): void =>
      fs.write(fd, data, done, data.length - done, position + done, (error, written) => {
        if (error !== null) return resume(Effect.fail(error))
        if (written === 0) return resume(Effect.fail(shortIo("the file system accepted no bytes")))
        done += written
        if (done < data.length) step()
        else resume(Effect.void)
      })
    step()
  })

/** Fills `into` from `position`; bytes past the end of the file read as zeros (a shortened file reads as a hole). */
const readAll = (fd: number, into: Uint8Array, position: number) =>
  Effect.async<void, NodeJS.ErrnoException>((resume) => {
    let done = 0
    const step = (): void =>
      fs.read(fd, into, done, into.length - done, position + done, (error, read) => {
        if (error !== null) return resume(Effect.fail(error))
        done += read
        if (read > 0 && done < into.length) return step()
        // `into` may be a reused buffer: what the file did not give must not keep old bytes.
        if (done < into.length) into.fill(0, done)
        resume(Effect.void)
      })
    step()
  })

// ---------------------------------------------------------------------------------------------------------
// Creating and opening files

/** The root exists (created when missing), is a folder and can be written in. */
const ensureRoot = (root: string): Effect.Effect<void, StorageError> =>
  node<fs.Stats>((done) => fs.stat(root, done)).pipe(
    Effect.matchEffect({
      onFailure: (e) =>
        e.code === "ENOENT"
          ? unit((done) => fs.mkdir(root, { recursive: true }, (error) => done(error))).pipe(
            Effect.mapError(failure("create folder", root))
          )
          : Effect.fail(failure("inspect", root)(e)),
      onSuccess: (stats) =>
        stats.isDirectory()
          ? Effect.void
          : Effect.fail(new StorageError({ reason: "Open", path: root, detail: "not a folder" }))
    }),
    Effect.zipRight(
      unit((done) => fs.access(root, fs.constants.W_OK | fs.constants.X_OK, done)).pipe(
        Effect.mapError(failure("write in folder", root))
      )
    )
  )

/** One folder below the root: a real folder (created when `create` and missing), never a symlink. */
const checkFolder = (folder: string, file: string, create: boolean): Effect.Effect<void, StorageError> =>
  node<fs.Stats>((done) => fs.lstat(folder, done)).pipe(
    Effect.matchEffect({
      onSuccess: (stats) =>
        stats.isSymbolicLink()
          ? Effect.fail(symlinkRefused(file, folder))
          : stats.isDirectory()
          ? Effect.void
          : Effect.fail(new StorageError({ reason: "Open", path: file, detail: `${folder} exists and is not a folder` })),
      onFailure: (e) =>
        e.code !== "ENOENT"
          ? Effect.fail(failure("inspect", folder)(e))
          : !create
          ? Effect.fail(failure("open", file)(e))
          : unit((done) => fs.mkdir(folder, (error) => done(error))).pipe(
            // Someone else made it meanwhile: check what it is.
            Effect.catchIf((m) => m.code === "EEXIST", () => checkFolder(folder, file, false)),
            Effect.mapError((m) => (m instanceof StorageError ? m : failure("create folder", folder)(m)))
          )
    })
  )

/** Walks the folders from the root down to the file; `checked` remembers folders already seen. */
const walk = (root: string, file: PlannedFile, create: boolean, checked: Set<string> | undefined) =>
  Effect.gen(function*() {
    let folder = root
    for (let i = 0; i < file.components.length - 1; i++) {
      folder = path.join(folder, file.components[i]!)
      if (checked?.has(folder)) continue
      yield* checkFolder(folder, file.path, create)
      checked?.add(folder)
    }
  })

/** A descriptor on the file: created (and grown, sparse, to its length) when `create`, else reopened. */
const openFile = (
  root: string,
  file: PlannedFile,
  create: boolean,
  checked: Set<string> | undefined
): Effect.Effect<number, StorageError> =>
  Effect.gen(function*() {
    yield* walk(root, file, create, checked)
    const fd = yield* node<number>((done) => fs.open(file.path, create ? createFlags : existingFlags, 0o666, done)).pipe(
      Effect.mapError((e) => (e.code === "ELOOP" ? symlinkRefused(file.path, file.path) : failure("open", file.path)(e)))
    )
    const prepare = node<fs.Stats>((done) => fs.fstat(fd, done)).pipe(
      Effect.mapError(failure("inspect", file.path)),
      Effect.flatMap((stats) =>
        !stats.isFile()
          ? Effect.fail(new StorageError({ reason: "Open", path: file.path, detail: "not a regular file" }))
          : create && stats.size < file.length
          ? unit((done) => fs.ftruncate(fd, file.length, done)).pipe(Effect.mapError(failure("resize", file.path)))
          : Effect.void
      )
    )
    yield* Effect.onError(prepare, () => Effect.sync(() => closeQuietly(fd)))
    return fd
  })

// ---------------------------------------------------------------------------------------------------------
// One open torrent

interface Handle {
  readonly fd: number
  /** Reads and writes running on the descriptor. */
  users: number
  /** Out of the cache: closed when the last user is done. */
  retired: boolean
}

const openTorrent = (planned: StoragePlan, layout: Layout.Layout, maxOpenFiles: number) =>
  Effect.gen(function*() {
    const files = planned.files
    // Least recently used first (a Map iterates in insertion order; a hit moves the entry to the end).
    const handles = new Map<number, Handle>()
    const opening = new Map<number, Deferred.Deferred<void, StorageError>>()
    const dirty = new Set<number>()
    let closed = false

    const evict = (): void => {
      for (const [index, handle] of handles) {
        if (handles.size <= maxOpenFiles) break
        handles.delete(index)
        handle.retired = true
        if (handle.users === 0) closeQuietly(handle.fd)
      }
    }

    const openHandle = (index: number, ready: Deferred.Deferred<void, StorageError>, checked: Set<string> | undefined) =>
      openFile(planned.root, files[index]!, checked !== undefined, checked).pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          opening.delete(index)
          Deferred.unsafeDone(ready, Exit.asVoid(exit))
          return exit
        }),
        Effect.flatMap((fd) => {
          if (closed) {
            closeQuietly(fd)
            return Effect.fail(closedError(files[index]!.path, "open"))
          }
          const handle: Handle = { fd, users: 1, retired: false }
          handles.set(index, handle)
          evict()
          return Effect.succeed(handle)
        })
      )

    /** The file's handle with one more user; one open at a time per file, whoever asks. */
    const acquire = (index: number, action: Action, checked?: Set<string>): Effect.Effect<Handle, StorageError> =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(closedError(files[index]!.path, action))
        const hit = handles.get(index)
        if (hit !== undefined) {
          handles.delete(index)
          handles.set(index, hit)
          hit.users += 1
          return Effect.succeed(hit)
        }
        const pending = opening.get(index)
        if (pending !== undefined) return Effect.zipRight(Deferred.await(pending), acquire(index, action, checked))
        const ready = Deferred.unsafeMake<void, StorageError>(FiberId.none)
        opening.set(index, ready)
        return openHandle(index, ready, checked)
      })

    const release = (handle: Handle) =>
      Effect.sync(() => {
        handle.users -= 1
        if (handle.retired && handle.users === 0) closeQuietly(handle.fd)
      })

    const withFile = <A>(index: number, action: Action, use: (fd: number) => Effect.Effect<A, NodeJS.ErrnoException>) =>
      Effect.uninterruptible(
        Effect.acquireUseRelease(
          acquire(index, action),
          (handle) => Effect.mapError(use(handle.fd), failure(action, files[index]!.path)),
          release
        )
      )

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const idle: Array<number> = []
        for (const handle of handles.values()) {
          handle.retired = true
          if (handle.users === 0) idle.push(handle.fd)
        }
        handles.clear()
        return Effect.forEach(idle, (fd) => Effect.ignore(unit((done) => fs.close(fd, done))), {
          concurrency: 16,
          discard: true
        })
      })
    )

    // Folders first, in order (parents before children), then the files, several at once.
    const stored = files.filter((f) => f.stored)
    const checked = new Set<string>()
    for (const file of stored) yield* walk(planned.root, file, true, checked)
    yield* Effect.forEach(
      stored,
      (file) => Effect.uninterruptible(Effect.flatMap(acquire(file.index, "open", checked), release)),
      { concurrency: 16, discard: true }
    )

    // A span is written, or read, by one positional call. Spans of one call go in sequence: a block
    // crosses at most a few file boundaries, the parallelism comes from the many blocks in flight, and
    // in sequence the error reported is that of the first failing span.
    const writeSpan = (span: Layout.FileSpan, offset: number, data: Uint8Array): Effect.Effect<void, StorageError> => {
      if (!files[span.file]!.stored) return Effect.void
      const start = span.pieceOffset - offset
      const chunk = data.subarray(start, start + span.length)
      return withFile(span.file, "write", (fd) => writeAll(fd, chunk, span.fileOffset)).pipe(
        Effect.map(() => {
          dirty.add(span.file)
        })
      )
    }

    const readSpan = (span: Layout.FileSpan, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> => {
      const start = span.pieceOffset - offset
      if (!files[span.file]!.stored) return Effect.sync(() => void into.fill(0, start, start + span.length))
      return withFile(span.file, "read", (fd) => readAll(fd, into.subarray(start, start + span.length), span.fileOffset))
    }

    const readInto = (piece: number, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> =>
      Effect.suspend(() => {
        const spans = Layout.spans(layout, piece, offset, into.length)
        return spans.length === 1
          ? readSpan(spans[0]!, offset, into)
          : Effect.forEach(spans, (span) => readSpan(span, offset, into), { discard: true })
      })

    const storage: TorrentStorage = {
      write: (piece, offset, data) =>
        Effect.suspend(() => {
          const spans = Layout.spans(layout, piece, offset, data.length)
          return spans.length === 1
            ? writeSpan(spans[0]!, offset, data)
            : Effect.forEach(spans, (span) => writeSpan(span, offset, data), { discard: true })
        }),
      read: (piece, offset, length) => {
        const out = new Uint8Array(length)
        return Effect.as(readInto(piece, offset, out), out)
      },
      readInto,
      sync: Effect.suspend(() => {
        const written = [...dirty]
        dirty.clear()
        return Effect.forEach(
          written,
          (index) => withFile(index, "sync", (fd) => unit((done) => fs.fsync(fd, done))),
          { concurrency: 8, discard: true }
        ).pipe(
          // Not flushed after all: the next sync tries them again.
          Effect.onError(() => Effect.sync(() => written.forEach((index) => dirty.add(index))))
        )
      }).pipe(Effect.withSpan("Storage.sync"))
    }
    return storage
  })

/** The file Storage service. */
export const makeFile = (options: FileStorageOptions = {}): StorageService => {
  const maxOpenFiles = Math.max(1, Math.floor(options.maxOpenFiles ?? 256))
  return {
    open: Effect.fn("Storage.open")(function*(metainfo: Metainfo, root: string) {
      const planned = yield* plan(metainfo, root)
      yield* ensureRoot(planned.root)
      return yield* openTorrent(planned, layoutOf(metainfo), maxOpenFiles)
    })
  }
}

/** Storage on real files under the --out folder. */
export const layerFile: Layer.Layer<Storage> = Layer.succeed(Storage, makeFile())

/** `layerFile` with options (tests use a small descriptor limit to exercise reopening). */
export const layerFileWith = (options: FileStorageOptions): Layer.Layer<Storage> =>
  Layer.succeed(Storage, makeFile(options))
