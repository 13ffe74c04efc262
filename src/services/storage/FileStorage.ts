/**
 * Storage on real files, with positional I/O (`fs.read` / `fs.write` at an explicit position): no seek and
 * no shared file position, so any number of reads and writes may run at once on one descriptor.
 *
 * The descriptors are kept in a cache with a limit (DescriptorCache.ts); files are opened so that no write
 * lands outside the root (OpenInRoot.ts); whole pieces are written past the page cache where the file
 * system allows it (DirectIo.ts).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import { failure } from "../files/FileErrors.js"
import { node, unit } from "../files/NodeCallback.js"
import { readAll, writeAll } from "../files/PositionalIo.js"
import * as DescriptorCache from "./DescriptorCache.js"
import * as DirectIo from "./DirectIo.js"
import { ensureRoot } from "./OpenInRoot.js"
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

const bigStat = (at: string) => node<fs.BigIntStats>((done) => fs.lstat(at, { bigint: true }, done))

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

/** What the parts of one open torrent share. */
interface OpenTorrent {
  readonly files: ReadonlyArray<PlannedFile>
  /** The files with bytes of their own (not pad files or links), in torrent order. */
  readonly stored: ReadonlyArray<PlannedFile>
  readonly layout: Layout.Layout
  readonly readOnly: boolean
  readonly descriptors: DescriptorCache.DescriptorCache
  /** Files written since the last sync: the next one flushes them. */
  readonly dirty: Set<number>
  /** Files written since the last `stamps`: looked at again then. */
  readonly written: Set<number>
  /** Files not selected: the empty ones are not made either. */
  readonly unselected: ReadonlySet<number>
}

const readOnlyError = (file: PlannedFile) =>
  new StorageError({ reason: "Write", path: file.path, detail: "cannot write: opened to read only" })

/**
 * Writes: a block by the file spans it covers, whole pieces by runs (one writev per file, DirectIo.ts).
 * A span is written, or read, by one positional call. Spans of one call go in sequence: a block crosses at
 * most a few file boundaries, the parallelism comes from the many blocks in flight, and in sequence the
 * error reported is that of the first failing span.
 */
const writing = (torrent: OpenTorrent): Pick<TorrentStorage, "write" | "writePieces"> => {
  const { descriptors, dirty, files, layout, readOnly, stored, written } = torrent
  const markWritten = (file: number) =>
    Effect.sync(() => {
      dirty.add(file)
      written.add(file)
    })
  // Files are created when first written (DescriptorCache.ts); an empty file has no bytes to write, so the
  // empty ones are made with the first write of all, once the download has data to keep.
  let emptiesMade = false
  const makeEmpties = Effect.suspend(() => {
    if (emptiesMade) return Effect.void
    emptiesMade = true
    return Effect.forEach(stored.filter((f) => f.length === 0 && !torrent.unselected.has(f.index)), (f) => descriptors.withFile(f.index, "write", () => Effect.void), { discard: true })
  })

  const writeSpan = (span: Layout.FileSpan, offset: number, data: Uint8Array): Effect.Effect<void, StorageError> => {
    if (!files[span.file]!.stored) return Effect.void
    const start = span.pieceOffset - offset
    const chunk = data.subarray(start, start + span.length)
    if (readOnly) return Effect.fail(readOnlyError(files[span.file]!))
    return descriptors.withFile(span.file, "write", (fd) => writeAll(fd, chunk, span.fileOffset)).pipe(
      Effect.ensuring(markWritten(span.file)),
      Effect.zipLeft(makeEmpties)
    )
  }

  return {
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
        if (readOnly && runs.length > 0) return Effect.fail(readOnlyError(files[runs[0]!.file]!))
        return Effect.forEach(runs, (run) =>
          descriptors.withFile(run.file, "write", (_, handle) => {
            const chunks = run.parts.map((p) => pieces[p.piece]!.subarray(p.pieceOffset, p.pieceOffset + p.length))
            return DirectIo.writeRun(handle, chunks, run.fileOffset)
          }).pipe(Effect.ensuring(markWritten(run.file))), { discard: true }).pipe(Effect.zipLeft(makeEmpties))
      })
  }
}

/** Reads, by the file spans they cover; pad files read as zeros. */
const reading = ({ descriptors, files, layout }: OpenTorrent): Pick<TorrentStorage, "read" | "readInto"> => {
  const readSpan = (span: Layout.FileSpan, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> => {
    const start = span.pieceOffset - offset
    if (!files[span.file]!.stored) return Effect.sync(() => void into.fill(0, start, start + span.length))
    return descriptors.withFile(span.file, "read", (fd) => readAll(fd, into.subarray(start, start + span.length), span.fileOffset))
  }

  const readInto = (piece: number, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> =>
    Effect.suspend(() => {
      const spans = Layout.spans(layout, piece, offset, into.length)
      return spans.length === 1
        ? readSpan(spans[0]!, offset, into)
        : Effect.forEach(spans, (span) => readSpan(span, offset, into), { discard: true })
    })

  return {
    read: (piece, offset, length) => {
      const out = new Uint8Array(length)
      return Effect.as(readInto(piece, offset, out), out)
    },
    readInto
  }
}

/** Flushes: the files written since the last sync, or every stored file there is. */
const flushing = (
  { descriptors, dirty, stored }: OpenTorrent,
  syncLock: Effect.Semaphore
): Pick<TorrentStorage, "sync" | "syncAll"> => {
  const fsync = (index: number) => descriptors.withFile(index, "sync", (fd) => unit((done) => fs.fsync(fd, done)))
  return {
    // One at a time: a sync that found nothing dirty while another was still flushing would return
    // before the writes that one took were on disk.
    sync: syncLock.withPermits(1)(Effect.suspend(() => {
      const written = [...dirty]
      dirty.clear()
      return Effect.forEach(written, fsync, { concurrency: 8, discard: true }).pipe(
        // Not flushed after all: the next sync tries them again.
        Effect.onError(() => Effect.sync(() => written.forEach((index) => dirty.add(index))))
      )
    })).pipe(Effect.withSpan("Storage.sync")),
    syncAll: Effect.suspend(() => {
      const pending = [...dirty]
      dirty.clear()
      return Effect.forEach(
        stored,
        (file) => Effect.flatMap(stampOf(file), (stamp) => (stamp === undefined ? Effect.void : fsync(file.index))),
        { concurrency: 8, discard: true }
      ).pipe(Effect.onError(() => Effect.sync(() => pending.forEach((index) => dirty.add(index)))))
    }).pipe(Effect.withSpan("Storage.syncAll"))
  }
}

/** `stamps`: each file as on disk now, failing when a file in use was deleted or replaced. */
const stamping = ({ descriptors, files, stored, written }: OpenTorrent): TorrentStorage["stamps"] => {
  /** Stamps taken, reused for files not written since (a file is stamped after its writes). */
  const stamped = new Map<number, FileStamp | undefined>()
  return Effect.suspend(() => {
    // Files held open or written since are looked at again (a deleted one would swallow writes unseen);
    // a closed file cannot be written without reopening it, which fails once it is gone.
    const fresh = stored.filter((file) => written.has(file.index) || descriptors.isOpen(file.index) || !stamped.has(file.index))
    written.clear()
    return Effect.forEach(
      fresh,
      (file) =>
        Effect.flatMap(stampOf(file), (stamp) => {
          const ino = descriptors.inodeOf(file.index)
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

const openTorrent = (
  planned: StoragePlan,
  layout: Layout.Layout,
  maxOpenFiles: number,
  readOnly: boolean,
  unselected: ReadonlySet<number>
) =>
  Effect.gen(function*() {
    const stored = planned.files.filter((f) => f.stored)
    // The files already there, by inode: the torrent's, from now on (DescriptorCache.make).
    const present = new Map<number, bigint>()
    if (!readOnly) {
      yield* Effect.forEach(stored, (file) => Effect.map(stampOf(file), (stamp) => {
        if (stamp !== undefined) present.set(file.index, stamp.ino)
      }), { concurrency: 16, discard: true })
    }
    const torrent: OpenTorrent = {
      files: planned.files,
      stored,
      layout,
      readOnly,
      descriptors: yield* DescriptorCache.make(planned, maxOpenFiles, readOnly, present),
      dirty: new Set(),
      written: new Set(),
      unselected
    }
    const syncLock = yield* Effect.makeSemaphore(1)
    return {
      ...writing(torrent),
      ...reading(torrent),
      ...flushing(torrent, syncLock),
      stamps: stamping(torrent)
    } satisfies TorrentStorage
  })

/** The file Storage service. */
export const make = (options: FileStorageOptions = {}): StorageService => {
  const maxOpenFiles = Math.max(1, Math.floor(options.maxOpenFiles ?? 256))
  return {
    open: Effect.fn("Storage.open")(function*(metainfo: Metainfo, root: string, options?: OpenOptions) {
      const planned = yield* plan(metainfo, root)
      const readOnly = options?.readOnly === true
      if (!readOnly) yield* ensureRoot(planned.root)
      return yield* openTorrent(planned, layoutOf(metainfo), maxOpenFiles, readOnly, options?.unselected ?? new Set())
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
