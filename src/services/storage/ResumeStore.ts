/**
 * The ResumeStore port: where each torrent's resume data lives between runs, by info hash.
 *
 * `layerFile(dir)` keeps one bencoded file per torrent under `dir/torrents/` and replaces it atomically
 * (a temporary file written and flushed, renamed over the old one, the folder flushed), so that a crash at
 * any moment leaves the old checkpoint or the new one, never a mix. `layerMemory` keeps the encoded bytes
 * in a map, for tests. A resume file that cannot be read or decoded is reported and ignored: the data is
 * then checked by hashing, which is slower but never wrong.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"
import { type InfoHash, toHex } from "../../domain/InfoHash.js"
import type { ResumeData } from "../../domain/ResumeData.js"
import { decodeResume, encodeResume } from "../../protocol/ResumeFile.js"
import { failure, node, unit, writeAll } from "../FileIo.js"

export interface ResumeStoreService {
  /** Where resume data is kept, for messages. */
  readonly location: string
  /** The torrent's saved resume data, if there is any that decodes. */
  readonly load: (infoHash: InfoHash) => Effect.Effect<Option.Option<ResumeData>>
  /** Replaces the torrent's resume data, atomically. */
  readonly save: (data: ResumeData) => Effect.Effect<void, StorageError>
  /** The .torrent fetched for a magnet link earlier, so that a restart needs no peer to give it again. */
  readonly loadTorrent: (infoHash: InfoHash) => Effect.Effect<Option.Option<Uint8Array>>
  readonly saveTorrent: (infoHash: InfoHash, torrent: Uint8Array) => Effect.Effect<void, StorageError>
}

export class ResumeStore extends Context.Tag("bt-effect/ResumeStore")<ResumeStore, ResumeStoreService>() {}

/**
 * The default state folder: $XDG_STATE_HOME/bt-effect, else ~/.local/state/bt-effect (the XDG default);
 * on macOS ~/Library/Application Support/bt-effect; on Windows %LOCALAPPDATA%\bt-effect.
 */
export const defaultStateDir = (
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir()
): string => {
  if (platform === "win32") return path.join(env.LOCALAPPDATA ?? path.join(home, "AppData", "Local"), "bt-effect")
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "bt-effect")
  const xdg = env.XDG_STATE_HOME
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, ".local", "state"), "bt-effect")
}

const ignored = (file: string, why: string) =>
  Effect.logWarning(`ignoring resume data ${file}: ${why}; the data on disk will be checked instead`)

let tmpSequence = 0

/** Resume files under `dir/torrents`. */
export const makeFile = (dir: string): ResumeStoreService => {
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

/** Resume data kept in memory (encoded, so that tests go through the same codec as files). */
export class MemoryResume {
  readonly files = new Map<string, Uint8Array>()
  readonly torrents = new Map<string, Uint8Array>()
  saves = 0

  get(infoHash: InfoHash): ResumeData | undefined {
    const raw = this.files.get(toHex(infoHash))
    return raw === undefined ? undefined : Either.getOrUndefined(decodeResume(raw))
  }
}

export const makeMemory = (memory: MemoryResume): ResumeStoreService => ({
  location: "memory",
  load: (infoHash) =>
    Effect.sync(() => {
      const raw = memory.files.get(toHex(infoHash))
      return raw === undefined ? Option.none() : Option.getRight(decodeResume(raw))
    }),
  save: (data) =>
    Effect.sync(() => {
      memory.saves += 1
      memory.files.set(toHex(data.infoHash), encodeResume(data))
    }),
  loadTorrent: (infoHash) => Effect.sync(() => Option.fromNullable(memory.torrents.get(toHex(infoHash)))),
  saveTorrent: (infoHash, torrent) => Effect.sync(() => void memory.torrents.set(toHex(infoHash), torrent))
})

export const layerFile = (dir: string): Layer.Layer<ResumeStore> => Layer.succeed(ResumeStore, makeFile(dir))

export const layerMemory = (memory: MemoryResume = new MemoryResume()): Layer.Layer<ResumeStore> =>
  Layer.succeed(ResumeStore, makeMemory(memory))
