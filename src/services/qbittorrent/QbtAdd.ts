/**
 * `torrents/add`, as qBittorrent takes it (multipart/form-data, or urlencoded for links only): links in
 * `urls` (one per line: magnet links, or http(s) URLs of .torrent files) and .torrent files in `torrents`
 * parts, with `savepath`, `category` (created if new, as qBittorrent 4.x does), `tags` (comma-separated),
 * `paused` / `stopped`, `skip_checking`, `sequentialDownload`, `upLimit` / `dlLimit` (bytes/s),
 * `ratioLimit` / `seedingTimeLimit` (-2 the session's, -1 none), `autoTMM` and `rename`.
 *
 * The answer is qbittorrent-nox's: "Ok." when any torrent was added, "Fails." when none was (all already
 * there, or no link that works), 415 for a file that is not a torrent (nothing of the request is added
 * then), 400 for a request without links or files. A `savepath` outside the allowed folders is refused
 * (QbtFolders.ts).
 */
import * as Effect from "effect/Effect"
import { parseTags, validCategoryName } from "../../domain/Categories.js"
import { LimitMode } from "../../domain/SeedGoals.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import type { AddOptions, AddSource, TorrentSettings } from "../session/SessionControl.js"
import { folderFor, type ActionOptions } from "./QbtTorrentActions.js"
import { boolOf, type Endpoint, failure, fromControl, missing, numberOf, type QbtCall, text } from "./QbtEndpoint.js"
import * as Either from "effect/Either"

/** The sources of a request: its links and its files (a file that is no torrent: its name, to refuse). */
const sourcesOf = (call: QbtCall): { readonly sources: ReadonlyArray<AddSource>; readonly invalid: string | undefined } => {
  const links = (call.params.text("urls") ?? "").split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "")
  const sources: Array<AddSource> = links.map((url) => (/^magnet:/i.test(url) ? { _tag: "Magnet", uri: url } : { _tag: "Url", url }))
  for (const part of call.params.files("torrents")) {
    if (Either.isLeft(decodeTorrent(part.data))) return { sources, invalid: part.filename ?? part.name }
    // A copy: the metainfo keeps views of its bytes, which must not hold the whole request body alive.
    sources.push({ _tag: "Metainfo", bytes: part.data.slice() })
  }
  return { sources, invalid: undefined }
}

/** qBittorrent's share limit value as our goal's mode and limit. */
const goal = (value: number | undefined) =>
  value === undefined || value === -2 ? undefined : value < 0 ? { mode: LimitMode.Unlimited } : { mode: LimitMode.Single, limit: value }

/** The torrent's own settings from the request. */
const settingsOf = (call: QbtCall): TorrentSettings => {
  const p = call.params
  const up = numberOf(p.text("upLimit"))
  const down = numberOf(p.text("dlLimit"))
  const ratio = goal(numberOf(p.text("ratioLimit")))
  const time = goal(numberOf(p.text("seedingTimeLimit")))
  const name = p.text("rename")
  return {
    ...(up !== undefined && up > 0 ? { uploadLimit: Math.round(up) } : {}),
    ...(down !== undefined && down > 0 ? { downloadLimit: Math.round(down) } : {}),
    ...(ratio !== undefined ? { seedRatioMode: ratio.mode, ...(ratio.limit !== undefined ? { seedRatioLimit: ratio.limit } : {}) } : {}),
    ...(time !== undefined ? { seedTimeMode: time.mode, ...(time.limit !== undefined ? { seedTimeLimit: Math.round(time.limit) } : {}) } : {}),
    ...(boolOf(p.text("sequentialDownload")) === true ? { sequential: true } : {}),
    ...(name !== undefined && name.trim() !== "" ? { name } : {})
  }
}

export const make = (options: ActionOptions): Endpoint => ({
  post: true,
  run: (call) =>
    Effect.gen(function*() {
      const { invalid, sources } = sourcesOf(call)
      if (invalid !== undefined) return failure(415, `Error: '${invalid}' is not a valid torrent file.`)
      if (sources.length === 0) return missing
      const p = call.params
      // The folder checked first: a refused request changes nothing, not even the categories.
      const savePath = p.text("savepath") ?? p.text("savePath") ?? ""
      const folder = savePath.trim() === "" ? undefined : yield* folderFor(call.control, options, savePath)
      const category = p.text("category")?.trim() ?? ""
      if (category !== "") {
        if (!validCategoryName(category)) return failure(409, "Incorrect category name")
        const known = yield* call.control.categories
        if (!known.some((c) => c.name === category)) yield* call.control.createCategory({ name: category, savePath: "" })
      }
      const autoManaged = boolOf(p.text("autoTMM"))
      const add: AddOptions = {
        ...(folder !== undefined ? { downloadDir: folder } : {}),
        paused: boolOf(p.text("paused")) === true || boolOf(p.text("stopped")) === true,
        ...(category !== "" ? { category } : {}),
        tags: parseTags(p.text("tags") ?? ""),
        ...(autoManaged !== undefined ? { autoManaged } : {}),
        ...(boolOf(p.text("skip_checking")) === true ? { skipCheck: true } : {}),
        settings: settingsOf(call)
      }
      let added = 0
      for (const source of sources) {
        const outcome = yield* Effect.either(call.control.add(source, add))
        if (Either.isRight(outcome) && !outcome.right.duplicate) added++
        if (Either.isLeft(outcome)) yield* Effect.logWarning(`qBittorrent API: not added: ${outcome.left.message}`)
      }
      return text(added > 0 ? "Ok." : "Fails.")
    }).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))
})
