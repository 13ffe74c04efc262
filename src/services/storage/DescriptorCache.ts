/**
 * The descriptors of one open torrent's files (FileStorage.ts). They stay open while the torrent runs, in
 * a least-recently-used cache with a limit (a torrent of 100,000 files must not exhaust descriptors); a
 * file that fell out of the cache is reopened on demand, one open at a time per file, whoever asks.
 * A descriptor in use by a read or write is never closed under it: eviction retires it, and the last user
 * closes it. A file is created (grown sparse to its length) when it is first written, not when the torrent
 * opens: a download that fails before any data arrives leaves no full-size empty files behind. Each use
 * runs uninterruptibly, since Node cannot cancel a call that libuv has started, and a
 * descriptor closed while the thread pool still uses it could be reused by an unrelated open. Every
 * descriptor is closed with the scope.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import type { StorageError } from "../../domain/Errors.js"
import { type Action, closedError, failure } from "../files/FileErrors.js"
import { unit } from "../files/NodeCallback.js"
import { closeQuietly } from "../files/PositionalIo.js"
import type * as DirectIo from "./DirectIo.js"
import { openFile } from "./OpenInRoot.js"
import type { StoragePlan } from "./Storage.js"

/** An open file: its descriptor, its direct one (DirectIo.ts), and who uses them. */
export interface Handle extends DirectIo.WriteTarget {
  /** Reads and writes running on the descriptor. */
  users: number
  /** Out of the cache: closed when the last user is done. */
  retired: boolean
}

export interface DescriptorCache {
  /**
   * Runs `use` on the file's descriptor (and its handle, for direct writes), uninterruptibly and holding
   * the descriptor open meanwhile; an errno error becomes a StorageError naming the file and `action`.
   */
  readonly withFile: <A>(
    index: number,
    action: Action,
    use: (fd: number, handle: Handle) => Effect.Effect<A, NodeJS.ErrnoException>
  ) => Effect.Effect<A, StorageError>
  /** Whether the file's descriptor is in the cache now. */
  readonly isOpen: (index: number) => boolean
  /** The inode the file had when this cache first opened it: the file the torrent writes to. */
  readonly inodeOf: (index: number) => bigint | undefined
}

const closeHandle = (handle: Handle): void => {
  closeQuietly(handle.fd)
  if (typeof handle.direct === "number") closeQuietly(handle.direct)
}

/**
 * The cache of at most `maxOpenFiles` descriptors of the planned files, read-only or not. `present` holds
 * the inodes of the files there when the torrent opened: those are the files it uses (one deleted or
 * replaced since is an error, not created afresh, since its verified pieces would be lost unseen).
 */
export const make = (
  planned: StoragePlan,
  maxOpenFiles: number,
  readOnly: boolean,
  present: ReadonlyMap<number, bigint> = new Map()
): Effect.Effect<DescriptorCache, never, Scope.Scope> =>
  Effect.gen(function*() {
    const files = planned.files
    /** The inode each file had when the torrent opened, or when first opened. */
    const inodes = new Map<number, bigint>(present)
    // Least recently used first (a Map iterates in insertion order; a hit moves the entry to the end).
    const handles = new Map<number, Handle>()
    const opening = new Map<number, Deferred.Deferred<void, StorageError>>()
    /** Files opened to be written in this run: created (and grown to their length) by that first open. */
    const created = new Set<number>()
    /** Folders below the root walked to create files (OpenInRoot.walk). */
    const checked = new Set<string>()
    let closed = false

    const evict = (): void => {
      for (const [index, handle] of handles) {
        if (handles.size <= maxOpenFiles) break
        handles.delete(index)
        handle.retired = true
        if (handle.users === 0) closeHandle(handle)
      }
    }

    const openHandle = (index: number, ready: Deferred.Deferred<void, StorageError>, creating: boolean) =>
      openFile(
        planned.root,
        files[index]!,
        readOnly ? "read" : !creating ? "existing" : present.has(index) ? "resize" : "create",
        creating ? checked : undefined
      ).pipe(
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
          if (creating) created.add(index)
          const handle: Handle = { fd, users: 1, retired: false, direct: undefined }
          handles.set(index, handle)
          evict()
          return Effect.succeed(handle)
        })
      )

    /** The file's handle with one more user; one open at a time per file, whoever asks. */
    const acquire = (index: number, action: Action): Effect.Effect<Handle, StorageError> =>
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
        if (pending !== undefined) return Effect.zipRight(Deferred.await(pending), acquire(index, action))
        const ready = Deferred.unsafeMake<void, StorageError>(FiberId.none)
        opening.set(index, ready)
        return openHandle(index, ready, action === "write" && !created.has(index))
      })

    const release = (handle: Handle) =>
      Effect.sync(() => {
        handle.users -= 1
        if (handle.retired && handle.users === 0) closeHandle(handle)
      })

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

    return {
      withFile: (index, action, use) =>
        Effect.uninterruptible(
          Effect.acquireUseRelease(
            acquire(index, action),
            (handle) => Effect.mapError(use(handle.fd, handle), failure(action, files[index]!.path)),
            release
          )
        ),
      isOpen: (index) => handles.has(index),
      inodeOf: (index) => inodes.get(index)
    }
  })
