/**
 * The DHT state file on disk (the codec is protocol/DhtState.ts): loaded at start, saved every few
 * minutes and when the node stops. Saved as resume files are (ResumeStore.ts): a temporary file written
 * and flushed, renamed over the old one, the folder flushed, so that a crash leaves the old state or the
 * new one. A file that cannot be read or decoded is reported and ignored (the node bootstraps instead); a
 * save that fails is reported and retried at the next save.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as path from "node:path"
import { type DhtState, decodeState, encodeState } from "../../protocol/DhtState.js"
import { failure, node, unit, writeAll } from "../FileIo.js"

let tmpSequence = 0

/** The saved state, or undefined when there is none (or it is damaged: a warning). */
export const loadState = (file: string): Effect.Effect<DhtState | undefined> =>
  node<Buffer>((done) => fs.readFile(file, done)).pipe(
    Effect.matchEffect({
      onFailure: (e) =>
        e.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.as(Effect.logWarning(`ignoring DHT state ${file}: ${failure("read", file)(e).detail}`), undefined),
      onSuccess: (raw) =>
        Either.match(decodeState(raw), {
          onLeft: (why) => Effect.as(Effect.logWarning(`ignoring DHT state ${file}: ${why}`), undefined),
          onRight: (state) => Effect.succeed(state)
        })
    })
  )

/** Replaces the state file atomically; failures are logged, never raised. */
export const saveState = (file: string, state: Omit<DhtState, "savedAt">): Effect.Effect<void> =>
  Effect.gen(function*() {
    const folder = path.dirname(path.resolve(file))
    const tmp = `${file}.${process.pid}.${++tmpSequence}.tmp`
    yield* unit((done) => fs.mkdir(folder, { recursive: true }, (e) => done(e))).pipe(
      Effect.mapError(failure("create folder", folder))
    )
    const bytes = encodeState({ ...state, savedAt: yield* Clock.currentTimeMillis })
    const written = Effect.gen(function*() {
      const fd = yield* node<number>((done) => fs.open(tmp, "w", 0o644, done)).pipe(Effect.mapError(failure("open", tmp)))
      yield* Effect.ensuring(
        writeAll(fd, bytes, 0).pipe(Effect.zipRight(unit((done) => fs.fsync(fd, done))), Effect.mapError(failure("write", tmp))),
        unit((done) => fs.close(fd, done)).pipe(Effect.ignore)
      )
      yield* unit((done) => fs.rename(tmp, file, done)).pipe(Effect.mapError(failure("write", file)))
    })
    yield* Effect.uninterruptible(
      written.pipe(Effect.tapError(() => unit((done) => fs.rm(tmp, { force: true }, done)).pipe(Effect.ignore)))
    )
    yield* node<number>((done) => fs.open(folder, "r", done)).pipe(
      Effect.flatMap((fd) =>
        Effect.ensuring(unit((done) => fs.fsync(fd, done)), unit((done) => fs.close(fd, done)).pipe(Effect.ignore))
      ),
      Effect.ignore
    )
  }).pipe(
    Effect.catchAll((error) => Effect.logWarning(`cannot save the DHT state: ${error.message}`)),
    Effect.withSpan("Dht.saveState")
  )
