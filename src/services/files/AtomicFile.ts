/**
 * Replacing a small file atomically, so that a crash at any moment leaves the old content or the new,
 * never a mix: a temporary file beside it (in the same folder, so that the rename stays on one file
 * system) is written and flushed, renamed over the file, and the folder flushed. Resume data, the DHT
 * state, the daemon's session list and a magnet's .torrent are saved this way.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { failure } from "./FileErrors.js"
import { node, unit } from "./NodeCallback.js"
import { writeAll } from "./PositionalIo.js"

let sequence = 0

/** A name beside `file` that no other save, of this process or of another, uses at the same time. */
const temporaryName = (file: string): string => `${file}.${process.pid}.${++sequence}.tmp`

/**
 * Replaces `file` with `bytes` atomically, creating its folder when missing. A failure names the folder,
 * the temporary file or the file, and leaves no temporary file behind.
 */
export const replaceFile = Effect.fn("AtomicFile.replace")(function*(file: string, bytes: Uint8Array) {
  const folder = path.dirname(path.resolve(file))
  const tmp = temporaryName(file)
  yield* unit((done) => fs.mkdir(folder, { recursive: true }, (e) => done(e))).pipe(
    Effect.mapError(failure("create folder", folder))
  )
  const written = Effect.gen(function*() {
    const fd = yield* node<number>((done) => fs.open(tmp, "w", 0o644, done)).pipe(Effect.mapError(failure("open", tmp)))
    yield* Effect.ensuring(
      writeAll(fd, bytes, 0).pipe(
        Effect.zipRight(unit((done) => fs.fsync(fd, done))),
        Effect.mapError(failure("write", tmp))
      ),
      unit((done) => fs.close(fd, done)).pipe(Effect.ignore)
    )
    yield* unit((done) => fs.rename(tmp, file, done)).pipe(Effect.mapError(failure("write", file)))
  })
  yield* Effect.uninterruptible(
    written.pipe(Effect.tapError(() => unit((done) => fs.rm(tmp, { force: true }, done)).pipe(Effect.ignore)))
  )
  // The rename itself is durable once the folder is flushed (not every system can: then it is not).
  yield* node<number>((done) => fs.open(folder, "r", done)).pipe(
    Effect.flatMap((fd) => Effect.ensuring(unit((done) => fs.fsync(fd, done)), unit((done) => fs.close(fd, done)).pipe(Effect.ignore))),
    Effect.ignore
  )
})
