/**
 * Where a torrent being added goes, and what it is given besides, as qBittorrent decides both:
 * - a folder given wins, and the torrent's folder then does not follow its category;
 * - else, with automatic management (asked for, or the session's default), the folder of its category
 *   (domain/Categories.ts: under the download folder unless absolute);
 * - else the session's download folder.
 * That folder is where the data ends up (`savePath`). With the incomplete folder on, the torrent downloads
 * there and is moved to it when complete (TorrentLocation.moveOnComplete).
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { ControlError } from "../../domain/Errors.js"
import type { SessionSettings } from "../../domain/SessionView.js"
import type { AddOptions } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { TorrentActions } from "./TorrentActions.js"
import type { TorrentLabels } from "./TorrentLabels.js"

export interface Folders {
  readonly downloadDir: string
  readonly savePath: string
  readonly autoManaged: boolean
}

export const foldersOf = (options: AddOptions, settings: SessionSettings, labels: TorrentLabels): Effect.Effect<Folders, ControlError> =>
  Effect.suspend(() => {
    const category = options.category ?? ""
    const categoryFolder = category === "" ? settings.downloadDir : labels.folderOf(category)
    if (categoryFolder === undefined) return Effect.fail(new ControlError({ reason: "Conflict", detail: `${category}: no such category` }))
    const autoManaged = options.downloadDir === undefined && (options.autoManaged ?? settings.autoManageByDefault)
    const savePath = path.resolve(options.downloadDir ?? (autoManaged ? categoryFolder : settings.downloadDir))
    const downloadDir = settings.incompleteDirEnabled ? path.resolve(settings.incompleteDir) : savePath
    return Effect.succeed({ downloadDir, savePath, autoManaged })
  })

/** A new torrent's category, tags and own settings, before the queue may start it. */
export const configure = (entry: Entry, options: AddOptions, labels: TorrentLabels, actions: TorrentActions): Effect.Effect<void, ControlError> =>
  Effect.gen(function*() {
    if (options.tags !== undefined) labels.changeTags(entry, options.tags, [])
    if (options.skipCheck === true && entry.metainfo !== undefined) entry.skipCheck = true
    // Its folder is already its category's: only the name is set.
    if (options.category !== undefined && options.category !== "") entry.category = options.category
    if (options.settings !== undefined) yield* actions.set([entry.id], options.settings)
  })
