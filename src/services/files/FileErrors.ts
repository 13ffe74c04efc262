/**
 * The errors of Node's file calls in words: one table of errno codes, shown after "cannot <action>" in
 * every file error (storage, resume data, the DHT state, hashing for `create`), and those errors as
 * one-line `StorageError`s naming the file. Socket errors are not here: they are sentences about ports
 * and peers, made where the sockets are (wire/SocketErrors.ts).
 */
import { StorageError, type StorageErrorReason } from "../../domain/Errors.js"

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

/** An error of Node's file calls as a one-line reason: the table's words, else Node's message on one line. */
export const describeErrno = (error: { readonly code?: string | undefined; readonly message: string }): string =>
  causes[error.code ?? ""] ?? error.message.replace(/\s+/g, " ")

// ---------------------------------------------------------------------------------------------------------
// As StorageErrors

export type Action = "create folder" | "write in folder" | "inspect" | "open" | "resize" | "read" | "write" | "sync"

const reasonOf = (action: Action, code: string): StorageErrorReason => {
  if (code === "ENOSPC" || code === "EDQUOT") return "NoSpace"
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "Permission"
  return action === "read" ? "Read" : action === "write" || action === "sync" ? "Write" : "Open"
}

/** The file call `action` on `at` failed: a StorageError whose detail is "cannot <action>: <cause>". */
export const failure = (action: Action, at: string) => (error: NodeJS.ErrnoException): StorageError =>
  new StorageError({ reason: reasonOf(action, error.code ?? ""), path: at, detail: `cannot ${action}: ${describeErrno(error)}` })

export const symlinkRefused = (file: string, link: string): StorageError =>
  new StorageError({
    reason: "Outside",
    path: file,
    detail: `${link} is a symbolic link; refusing to follow it out of the download folder`
  })

export const closedError = (file: string, action: Action): StorageError =>
  new StorageError({ reason: reasonOf(action, ""), path: file, detail: `cannot ${action}: the torrent's storage is closed` })
