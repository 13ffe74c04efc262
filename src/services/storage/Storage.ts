/**
 * The Storage port: where a torrent's bytes live. A torrent is opened under a root folder (the --out
 * folder) and then read and written by (piece, offset), the port mapping piece space to file spans.
 *
 * Two implementations: FileStorage.ts (positional I/O on real files) and MemoryStorage.ts (one
 * Uint8Array per torrent, for tests). This module holds the port and what both
 * share: where each file of a torrent goes, checked to stay inside the root.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"
import { type Metainfo, relativePath } from "../../domain/Metainfo.js"

export interface TorrentStorage {
  /** Writes bytes at (piece, offset) across file spans (Layout.spans); pad-file spans are skipped. */
  readonly write: (piece: number, offset: number, data: Uint8Array) => Effect.Effect<void, StorageError>
  /**
   * Writes whole consecutive pieces, `first` and those after it: one positional write (a writev of the
   * pieces' buffers) per file they cover, rather than one per piece, for the system calls and wake-ups of
   * the I/O threads. Pad-file spans are skipped.
   */
  readonly writePieces: (first: number, pieces: ReadonlyArray<Uint8Array>) => Effect.Effect<void, StorageError>
  /** Reads bytes at (piece, offset); pad-file spans read as zeros; missing bytes of sparse files read as zeros. */
  readonly read: (piece: number, offset: number, length: number) => Effect.Effect<Uint8Array, StorageError>
  /** As `read`, into `into` (its length is the length read): for callers that reuse their buffers. */
  readonly readInto: (piece: number, offset: number, into: Uint8Array) => Effect.Effect<void, StorageError>
  /** Flushes to disk (fsync the files written since the last sync). */
  readonly sync: Effect.Effect<void, StorageError>
  /** Flushes every stored file of the torrent, written by us or not: before data found on disk (perhaps
   *  still only in the page cache after a crash of ours) is recorded as verified. */
  readonly syncAll: Effect.Effect<void, StorageError>
  /**
   * Each file's stamp as it is on disk now, by torrent file index (undefined: not stored, or missing).
   * Fails with reason `Missing`, naming the file, when a file this storage holds open, or wrote since the
   * last call, has been deleted or replaced: writes would go to a file nobody can see any more. (A file
   * closed since cannot be written unnoticed: reopening it fails.)
   */
  readonly stamps: Effect.Effect<ReadonlyArray<FileStamp | undefined>, StorageError>
}

/**
 * A file as found on disk: what resume data records, and what must be unchanged for the pieces it recorded
 * to be trusted without hashing. Nanoseconds, as the file system keeps them.
 */
export interface FileStamp {
  readonly size: number
  readonly mtimeNs: bigint
}

export interface OpenOptions {
  /** Read existing files only: nothing is created, grown or written (`write` fails); a missing file fails
   *  when read. For checking data that may not be there. */
  readonly readOnly?: boolean
  /** Files not selected (file selection, by index): never created here, not even empty ones; their bytes
   *  in shared pieces are kept elsewhere (PartFile.ts). */
  readonly unselected?: ReadonlySet<number>
}

export interface StorageService {
  /** Opens the torrent's files under `root` (the --out folder): creates folders and files (zero-length
   *  files too; never symlinks; pad files never), never truncates existing data, never writes outside
   *  `root` (check each resolved path, beside the sanitised names Metainfo gives). Closed with the scope. */
  readonly open: (
    metainfo: Metainfo,
    root: string,
    options?: OpenOptions
  ) => Effect.Effect<TorrentStorage, StorageError, Scope.Scope>
  /** Each file's stamp as on disk, without creating or opening anything (undefined: not stored, missing,
   *  or not a regular file). */
  readonly stamps: (metainfo: Metainfo, root: string) => Effect.Effect<ReadonlyArray<FileStamp | undefined>, StorageError>
}

export class Storage extends Context.Tag("bt-effect/Storage")<Storage, StorageService>() {}

/** Where one file of a torrent goes. */
export interface PlannedFile {
  /** Index into `Metainfo.files` (and `Layout.files`). */
  readonly index: number
  /** Absolute path of the file. */
  readonly path: string
  /** The path below the root, one component per folder and the file name last. */
  readonly components: ReadonlyArray<string>
  readonly length: number
  /** Whether the file has bytes of its own: pad files and BEP 47 symlinks have none and are never created. */
  readonly stored: boolean
  /** BEP 47's `x` attribute: the file is created executable (as the umask allows), as libtorrent does. */
  readonly executable?: boolean
}

export interface StoragePlan {
  /** `path.resolve(root)`. */
  readonly root: string
  /** One entry per file of the torrent, in torrent order. */
  readonly files: ReadonlyArray<PlannedFile>
}

/** Whether `target` (absolute, normalised) lies strictly below `root` (absolute, normalised). */
export const isInside = (root: string, target: string): boolean => {
  const rel = path.relative(root, target)
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)
}

/**
 * Where each file of the torrent goes under `root`. Metainfo already gives sanitised names; this checks
 * again that every stored file resolves below the root (defence in depth), failing with `Outside`.
 */
export const plan = (metainfo: Metainfo, root: string): Either.Either<StoragePlan, StorageError> => {
  const base = path.resolve(root)
  const files: Array<PlannedFile> = []
  for (let index = 0; index < metainfo.files.length; index++) {
    const file = metainfo.files[index]!
    const target = path.join(base, ...relativePath(metainfo, file))
    const stored = !file.pad && !file.attr.includes("l")
    if (stored && !isInside(base, target)) {
      return Either.left(
        new StorageError({ reason: "Outside", path: target, detail: `resolves outside the download folder ${base}` })
      )
    }
    const components = stored ? path.relative(base, target).split(path.sep) : []
    files.push({ index, path: target, components, length: file.length, stored, ...(file.attr.includes("x") ? { executable: true } : {}) })
  }
  return Either.right({ root: base, files })
}
