/**
 * Node's file calls as effects (failing with the raw errno error), and those errors as one-line
 * `StorageError`s naming the file: what FileStorage is built on.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { StorageError, type StorageErrorReason } from "../domain/Errors.js"
// ---------------------------------------------------------------------------------------------------------
// Errors

export type Action = "create folder" | "write in folder" | "inspect" | "open" | "resize" | "read" | "write" | "sync"

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

export const failure = (action: Action, at: string) => (error: NodeJS.ErrnoException): StorageError => {
  const code = error.code ?? ""
  const cause = causes[code] ?? error.message.replace(/\s+/g, " ")
  return new StorageError({ reason: reasonOf(action, code), path: at, detail: `cannot ${action}: ${cause}` })
}

export const symlinkRefused = (file: string, link: string): StorageError =>
  new StorageError({
    reason: "Outside",
    path: file,
    detail: `${link} is a symbolic link; refusing to follow it out of the download folder`
  })

export const closedError = (file: string, action: Action): StorageError =>
  new StorageError({ reason: reasonOf(action, ""), path: file, detail: `cannot ${action}: the torrent's storage is closed` })

// ---------------------------------------------------------------------------------------------------------
// Node's callback API as effects (failing with the raw errno error, mapped by the caller)

export const node = <A>(run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void) =>
  Effect.async<A, NodeJS.ErrnoException>((resume) => {
    run((error, value) => resume(error === null ? Effect.succeed(value) : Effect.fail(error)))
  })

export const unit = (run: (done: (error: NodeJS.ErrnoException | null) => void) => void) =>
  node<void>((done) => run((error) => done(error, undefined)))

const noFollow = fs.constants.O_NOFOLLOW ?? 0
export const createFlags = fs.constants.O_RDWR | fs.constants.O_CREAT | noFollow
export const existingFlags = fs.constants.O_RDWR | noFollow
export const readOnlyFlags = fs.constants.O_RDONLY | noFollow

export const closeQuietly = (fd: number): void => fs.close(fd, () => {})

const shortIo = (what: string): NodeJS.ErrnoException => Object.assign(new Error(what), { code: "EIO" })

/** Writes all of `data` at `position`, continuing after short writes. */
export const writeAll = (fd: number, data: Uint8Array, position: number) =>
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

/** Writes `chunks` one after the other from `position` (a pwritev), continuing after short writes. */
export const writevAll = (fd: number, chunks: ReadonlyArray<Uint8Array>, position: number) =>
  Effect.async<void, NodeJS.ErrnoException>((resume) => {
    let rest = chunks
    let at = position
    const step = (): void =>
      fs.writev(fd, rest, at, (error, written) => {
        if (error !== null) return resume(Effect.fail(error))
        if (written === 0) return resume(Effect.fail(shortIo("the file system accepted no bytes")))
        at += written
        // What a short write left: the chunks not (wholly) written, the first of them cut.
        const next: Array<Uint8Array> = []
        for (const chunk of rest) {
          if (written >= chunk.length) written -= chunk.length
          else {
            next.push(written > 0 ? chunk.subarray(written) : chunk)
            written = 0
          }
        }
        if (next.length === 0) return resume(Effect.void)
        rest = next
        step()
      })
    step()
  })

/** Fills `into` from `position`; bytes past the end of the file read as zeros (a shortened file reads as a hole). */
export const readAll = (fd: number, into: Uint8Array, position: number) =>
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

