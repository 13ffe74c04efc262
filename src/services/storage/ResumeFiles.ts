/**
 * Resume data in files: one bencoded file per torrent under `dir/torrents/`, replaced atomically (a
 * temporary file written and flushed, renamed over the old one, the folder flushed), so that a crash at any
 * moment leaves the old checkpoint or the new one, never a mix. The real Layer of the ResumeStore port.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { type InfoHash, toHex } from "../../domain/InfoHash.js"
import { decodeResume, encodeResume } from "../../protocol/ResumeFile.js"
import { failure, node, unit, writeAll } from "../FileIo.js"
import { ResumeStore, type ResumeStoreService } from "./ResumeStore.js"

const ignored = (file: string, why: string) =>
  Effect.logWarning(`ignoring resume data ${file}: ${why}; the data on disk will be checked instead`)

let tmpSequence = 0

/** Resume files under `dir/torrents`. */
export const make = (dir: string): ResumeStoreService => {
  const folder = path.join(path.resolve(dir), "torrents")
  const fileOf = (infoHash: InfoHash) => path.join(folder, `${toHex(infoHash)}.resume`)
  const torrentOf = (infoHash: InfoHash) => path.join(folder, `${toHex(infoHash)}.torrent`)
  return {
    location: folder,
    load: (infoHash) => {
      const file = fileOf(infoHash)
      return node<Buffer>((done) => fs.readFile(file, done)).pipe(
        Effect.matchEffect({
          onFailure: (e) => (e.code === "ENOENT" ? Effect.succeedNone : Effect.as(ignored(file, failure("read", file)(e).detail), Option.none())),
          onSuccess: (raw) =>
            Either.match(decodeResume(raw), {
              onLeft: (why) => Effect.as(ignored(file, why), Option.none()),
              onRight: (data) => Effect.succeedSome(data)
            })
        }),
        Effect.withSpan("ResumeStore.load")
      )
    },
    save: (data) => atomicWrite(folder, fileOf(data.infoHash), encodeResume(data)).pipe(Effect.withSpan("ResumeStore.save")),
    loadTorrent: (infoHash) =>
      node<Buffer>((done) => fs.readFile(torrentOf(infoHash), done)).pipe(
        Effect.map((raw): Option.Option<Uint8Array> => Option.some(raw)),
        Effect.orElseSucceed(() => Option.none())
      ),
    saveTorrent: (infoHash, torrent) => atomicWrite(folder, torrentOf(infoHash), torrent)
  }
}

/** Replaces `file` in `folder` atomically: a temp file written and flushed, renamed over it, the folder flushed. */
const atomicWrite = Effect.fn("ResumeStore.atomicWrite")(function*(folder: string, file: string, bytes: Uint8Array) {
  const tmp = `${file}.${process.pid}.${++tmpSequence}.tmp`
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

export const layer = (dir: string): Layer.Layer<ResumeStore> => Layer.succeed(ResumeStore, make(dir))

