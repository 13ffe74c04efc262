/**
 * Resume data in files: one bencoded file per torrent under `dir/torrents/`, replaced atomically (a
 * temporary file written and flushed, renamed over the old one, the folder flushed: files/AtomicFile.ts),
 * so that a crash at any moment leaves the old checkpoint or the new one, never a mix. The real Layer of
 * the ResumeStore port.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { type InfoHash, toHex } from "../../domain/InfoHash.js"
import { decodeResume, encodeResume } from "../../protocol/ResumeFile.js"
import { replaceFile } from "../files/AtomicFile.js"
import { failure } from "../files/FileErrors.js"
import { node } from "../files/NodeCallback.js"
import { filePart } from "./PartFile.js"
import { ResumeStore, type ResumeStoreService } from "./ResumeStore.js"

const ignored = (file: string, why: string) =>
  Effect.logWarning(`ignoring resume data ${file}: ${why}; the data on disk will be checked instead`)

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
    save: (data) => replaceFile(fileOf(data.infoHash), encodeResume(data)).pipe(Effect.withSpan("ResumeStore.save")),
    loadTorrent: (infoHash) =>
      node<Buffer>((done) => fs.readFile(torrentOf(infoHash), done)).pipe(
        Effect.map((raw): Option.Option<Uint8Array> => Option.some(raw)),
        Effect.orElseSucceed(() => Option.none())
      ),
    saveTorrent: (infoHash, torrent) => replaceFile(torrentOf(infoHash), torrent),
    parts: (infoHash) => filePart(path.join(path.resolve(dir), "parts", `${toHex(infoHash)}.part`))
  }
}

export const layer = (dir: string): Layer.Layer<ResumeStore> => Layer.succeed(ResumeStore, make(dir))

