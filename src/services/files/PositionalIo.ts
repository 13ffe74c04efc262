/**
 * Reads and writes at an explicit position of an open descriptor (`pread`, `pwrite`, `pwritev`), carried
 * on after short transfers, as effects failing with the raw errno error (FileErrors.ts words it). What
 * FileStorage and the atomic file replace are built on.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"

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

