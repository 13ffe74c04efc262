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
import { StorageError } from "../../domain/Errors.js"
import {
  type Action,
  closedError,
  closeQuietly,
  createFlags,
  existingFlags,
  failure,
  node,
  readAll,
  readOnlyFlags,
  symlinkRefused,
  unit,
  writeAll
} from "../FileIo.js"
import * as Layout from "../../domain/Layout.js"
import * as DirectIo from "./DirectIo.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import {
  type FileStamp,
  type OpenOptions,
  type PlannedFile,
  plan,
  Storage,
  type StoragePlan,
  type StorageService,
  type TorrentStorage
} from "./Storage.js"

export interface FileStorageOptions {
  /** The most descriptors kept open per torrent, least recently used closed first; default 256. */
  readonly maxOpenFiles?: number
}

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

type OpenMode = "create" | "existing" | "read"

const flagsOf: Readonly<Record<OpenMode, number>> = { create: createFlags, existing: existingFlags, read: readOnlyFlags }

const bigStat = (at: string) => node<fs.BigIntStats>((done) => fs.lstat(at, { bigint: true }, done))

/** A descriptor on the file (created, and grown sparse to its length, in mode `create`), and its inode. */
const openFile = (
  root: string,
  file: PlannedFile,
  mode: OpenMode,
  checked: Set<string> | undefined
): Effect.Effect<{ readonly fd: number; readonly ino: bigint }, StorageError> =>
  Effect.gen(function*() {
    yield* walk(root, file, mode === "create", checked)
    const fd = yield* node<number>((done) => fs.open(file.path, flagsOf[mode], 0o666, done)).pipe(
      Effect.mapError((e) => (e.code === "ELOOP" ? symlinkRefused(file.path, file.path) : failure("open", file.path)(e)))
    )
    const prepare = node<fs.BigIntStats>((done) => fs.fstat(fd, { bigint: true }, done)).pipe(
      Effect.mapError(failure("inspect", file.path)),
      Effect.tap((stats) =>
        !stats.isFile()
          ? Effect.fail(new StorageError({ reason: "Open", path: file.path, detail: "not a regular file" }))
          : mode === "create" && stats.size < BigInt(file.length)
          ? unit((done) => fs.ftruncate(fd, file.length, done)).pipe(Effect.mapError(failure("resize", file.path)))
          : Effect.void
      )
    )
    const stats = yield* Effect.onError(prepare, () => Effect.sync(() => closeQuietly(fd)))
    return { fd, ino: stats.ino }
  })

/** The file's stamp by its path (undefined when missing or not a regular file). */
const stampOf = (file: PlannedFile): Effect.Effect<(FileStamp & { readonly ino: bigint }) | undefined, StorageError> =>
  bigStat(file.path).pipe(
    Effect.map((stats) =>
      stats.isFile() ? { size: Number(stats.size), mtimeNs: stats.mtimeNs, ino: stats.ino } : undefined
    ),
    Effect.catchIf((e) => e.code === "ENOENT" || e.code === "ENOTDIR", () => Effect.succeed(undefined)),
    Effect.mapError((e) => (e instanceof StorageError ? e : failure("inspect", file.path)(e)))
  )

// ---------------------------------------------------------------------------------------------------------
// One open torrent

interface Handle extends DirectIo.WriteTarget {
  /** Reads and writes running on the descriptor. */
  users: number
  /** Out of the cache: closed when the last user is done. */
  retired: boolean
}

const closeHandle = (handle: Handle): void => {
  closeQuietly(handle.fd)
  if (typeof handle.direct === "number") closeQuietly(handle.direct)
}

const openTorrent = (planned: StoragePlan, layout: Layout.Layout, maxOpenFiles: number, readOnly: boolean) =>
  Effect.gen(function*() {
    const files = planned.files
    /** The inode each file had when this storage first opened it: the file it writes to. */
    const inodes = new Map<number, bigint>()
    /** Stamps taken by `stamps`, reused for files not written since (a file is stamped after its writes). */
    const stamped = new Map<number, FileStamp | undefined>()
    const written = new Set<number>()
    // Least recently used first (a Map iterates in insertion order; a hit moves the entry to the end).
    const handles = new Map<number, Handle>()
    const opening = new Map<number, Deferred.Deferred<void, StorageError>>()
    const dirty = new Set<number>()
    const syncLock = yield* Effect.makeSemaphore(1)
    let closed = false

    const evict = (): void => {
      for (const [index, handle] of handles) {
        if (handles.size <= maxOpenFiles) break
        handles.delete(index)
        handle.retired = true
        if (handle.users === 0) closeHandle(handle)
      }
    }

    const openHandle = (index: number, ready: Deferred.Deferred<void, StorageError>, checked: Set<string> | undefined) =>
      openFile(planned.root, files[index]!, readOnly ? "read" : checked !== undefined ? "create" : "existing", checked).pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          opening.delete(index)
          Deferred.unsafeDone(ready, Exit.asVoid(exit))
          return exit
        }),
        Effect.flatMap(({ fd, ino }) => {
          if (closed) {
            closeQuietly(fd)
            return Effect.fail(closedError(files[index]!.path, "open"))
          }
          if (!inodes.has(index)) inodes.set(index, ino)
          const handle: Handle = { fd, users: 1, retired: false, direct: undefined }
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
        if (handle.retired && handle.users === 0) closeHandle(handle)
      })

    const withFile = <A>(index: number, action: Action, use: (fd: number, handle: Handle) => Effect.Effect<A, NodeJS.ErrnoException>) =>
      Effect.uninterruptible(
        Effect.acquireUseRelease(
          acquire(index, action),
          (handle) => Effect.mapError(use(handle.fd, handle), failure(action, files[index]!.path)),
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
          if (handle.users === 0 && typeof handle.direct === "number") idle.push(handle.direct)
        }
        handles.clear()
        return Effect.forEach(idle, (fd) => Effect.ignore(unit((done) => fs.close(fd, done))), {
          concurrency: 16,
          discard: true
        })
      })
    )

    // Folders first, in order (parents before children), then the files, several at once. Read-only,
    // files are opened when read.
    const stored = files.filter((f) => f.stored)
    if (!readOnly) {
      const checked = new Set<string>()
      for (const file of stored) yield* walk(planned.root, file, true, checked)
      yield* Effect.forEach(
        stored,
        (file) => Effect.uninterruptible(Effect.flatMap(acquire(file.index, "open", checked), release)),
        { concurrency: 16, discard: true }
      )
    }

    // A span is written, or read, by one positional call. Spans of one call go in sequence: a block
    // crosses at most a few file boundaries, the parallelism comes from the many blocks in flight, and
    // in sequence the error reported is that of the first failing span.
    const writeSpan = (span: Layout.FileSpan, offset: number, data: Uint8Array): Effect.Effect<void, StorageError> => {
      if (!files[span.file]!.stored) return Effect.void
      const start = span.pieceOffset - offset
      const chunk = data.subarray(start, start + span.length)
      if (readOnly) return Effect.fail(new StorageError({ reason: "Write", path: files[span.file]!.path, detail: "cannot write: opened to read only" }))
      return withFile(span.file, "write", (fd) => writeAll(fd, chunk, span.fileOffset)).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            dirty.add(span.file)
            written.add(span.file)
          })
        )
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
      writePieces: (first, pieces) =>
        Effect.suspend(() => {
          const runs = Layout.pieceRuns(layout, first, pieces.length, (file) => files[file]!.stored)
          if (readOnly && runs.length > 0) {
            return Effect.fail(new StorageError({ reason: "Write", path: files[runs[0]!.file]!.path, detail: "cannot write: opened to read only" }))
          }
          return Effect.forEach(runs, (run) =>
            withFile(run.file, "write", (_, handle) => {
              const chunks = run.parts.map((p) => pieces[p.piece]!.subarray(p.pieceOffset, p.pieceOffset + p.length))
              return DirectIo.writeRun(handle, chunks, run.fileOffset)
            }).pipe(
              Effect.ensuring(Effect.sync(() => {
                dirty.add(run.file)
                written.add(run.file)
              }))
            ), { discard: true })
        }),
      read: (piece, offset, length) => {
        const out = new Uint8Array(length)
        return Effect.as(readInto(piece, offset, out), out)
      },
      readInto,
      // One at a time: a sync that found nothing dirty while another was still flushing would return
      // before the writes that one took were on disk.
      sync: syncLock.withPermits(1)(Effect.suspend(() => {
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
      })).pipe(Effect.withSpan("Storage.sync")),
      syncAll: Effect.suspend(() => {
        const pending = [...dirty]
        dirty.clear()
        return Effect.forEach(
          stored,
          (file) =>
            Effect.flatMap(stampOf(file), (stamp) =>
              stamp === undefined ? Effect.void : withFile(file.index, "sync", (fd) => unit((done) => fs.fsync(fd, done)))
            ),
          { concurrency: 8, discard: true }
        ).pipe(Effect.onError(() => Effect.sync(() => pending.forEach((index) => dirty.add(index)))))
      }).pipe(Effect.withSpan("Storage.syncAll")),
      stamps: Effect.suspend(() => {
        // Files held open or written since are looked at again (a deleted one would swallow writes unseen);
        // a closed file cannot be written without reopening it, which fails once it is gone.
        const fresh = stored.filter((file) => written.has(file.index) || handles.has(file.index) || !stamped.has(file.index))
        written.clear()
        return Effect.forEach(
          fresh,
          (file) =>
            Effect.flatMap(stampOf(file), (stamp) => {
              const ino = inodes.get(file.index)
              if (ino !== undefined && stamp?.ino !== ino) {
                return Effect.fail(
                  new StorageError({
                    reason: "Missing",
                    path: file.path,
                    detail: `${stamp === undefined ? "deleted" : "replaced"} while the torrent was using it`
                  })
                )
              }
              stamped.set(file.index, stamp === undefined ? undefined : { size: stamp.size, mtimeNs: stamp.mtimeNs })
              return Effect.void
            }),
          { concurrency: 16, discard: true }
        ).pipe(
          // What was written before a failed look must be looked at again.
          Effect.onError(() => Effect.sync(() => fresh.forEach((file) => written.add(file.index)))),
          Effect.map(() => files.map((file) => (file.stored ? stamped.get(file.index) : undefined)))
        )
      }).pipe(Effect.withSpan("Storage.stamps"))
    }
    return storage
  })

/** The file Storage service. */
export const make = (options: FileStorageOptions = {}): StorageService => {
  const maxOpenFiles = Math.max(1, Math.floor(options.maxOpenFiles ?? 256))
  return {
    open: Effect.fn("Storage.open")(function*(metainfo: Metainfo, root: string, options?: OpenOptions) {
      const planned = yield* plan(metainfo, root)
      const readOnly = options?.readOnly === true
      if (!readOnly) yield* ensureRoot(planned.root)
      return yield* openTorrent(planned, layoutOf(metainfo), maxOpenFiles, readOnly)
    }),
    stamps: Effect.fn("Storage.stamps")(function*(metainfo: Metainfo, root: string) {
      const planned = yield* plan(metainfo, root)
      return yield* Effect.forEach(
        planned.files,
        (file) =>
          file.stored
            ? Effect.map(stampOf(file), (stamp) => (stamp === undefined ? undefined : { size: stamp.size, mtimeNs: stamp.mtimeNs }))
            : Effect.succeed(undefined),
        { concurrency: 16 }
      )
    })
  }
}

/** Storage on real files under the --out folder. */
export const layer: Layer.Layer<Storage> = Layer.succeed(Storage, make())

/** `layer` with options (tests use a small descriptor limit to exercise reopening). */
export const layerWith = (options: FileStorageOptions): Layer.Layer<Storage> =>
  Layer.succeed(Storage, make(options))
