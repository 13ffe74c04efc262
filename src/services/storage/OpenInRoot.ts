/**
 * Opening a torrent's files so that no write can land outside its root (the --out folder): every (re)open
 * walks the folders below the root with `lstat` and refuses a symlink, and opens the file itself with
 * O_NOFOLLOW. What FileStorage's descriptor cache opens files with.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"
import { failure, symlinkRefused } from "../files/FileErrors.js"
import { node, unit } from "../files/NodeCallback.js"
import { createFlags, existingFlags, readOnlyFlags } from "../files/OpenFlags.js"
import { closeQuietly } from "../files/PositionalIo.js"
import type { PlannedFile } from "./Storage.js"

/** The root exists (created when missing), is a folder and can be written in. */
export const ensureRoot = (root: string): Effect.Effect<void, StorageError> =>
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
export const walk = (root: string, file: PlannedFile, create: boolean, checked: Set<string> | undefined) =>
  Effect.gen(function*() {
    let folder = root
    for (let i = 0; i < file.components.length - 1; i++) {
      folder = path.join(folder, file.components[i]!)
      if (checked?.has(folder)) continue
      yield* checkFolder(folder, file.path, create)
      checked?.add(folder)
    }
  })

/** `create`: created when missing; `resize`: must exist (it did when the torrent opened); both grown sparse
 *  to the file's length. `existing` and `read` open what is there as it is. */
export type OpenMode = "create" | "resize" | "existing" | "read"

const flagsOf: Readonly<Record<OpenMode, number>> = {
  create: createFlags,
  resize: existingFlags,
  existing: existingFlags,
  read: readOnlyFlags
}

/** A descriptor on the file (grown sparse to its length in modes `create` and `resize`), and its inode. */
export const openFile = (
  root: string,
  file: PlannedFile,
  mode: OpenMode,
  checked: Set<string> | undefined
): Effect.Effect<{ readonly fd: number; readonly ino: bigint }, StorageError> =>
  Effect.gen(function*() {
    yield* walk(root, file, mode === "create", checked)
    // The mode counts only where the file is created; an existing file keeps its own.
    const fd = yield* node<number>((done) => fs.open(file.path, flagsOf[mode], file.executable === true ? 0o777 : 0o666, done)).pipe(
      Effect.mapError((e) => (e.code === "ELOOP" ? symlinkRefused(file.path, file.path) : failure("open", file.path)(e)))
    )
    const prepare = node<fs.BigIntStats>((done) => fs.fstat(fd, { bigint: true }, done)).pipe(
      Effect.mapError(failure("inspect", file.path)),
      Effect.tap((stats) =>
        !stats.isFile()
          ? Effect.fail(new StorageError({ reason: "Open", path: file.path, detail: "not a regular file" }))
          : (mode === "create" || mode === "resize") && stats.size < BigInt(file.length)
          ? unit((done) => fs.ftruncate(fd, file.length, done)).pipe(Effect.mapError(failure("resize", file.path)))
          : Effect.void
      )
    )
    const stats = yield* Effect.onError(prepare, () => Effect.sync(() => closeQuietly(fd)))
    return { fd, ino: stats.ino }
  })
