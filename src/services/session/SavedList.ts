/**
 * The session's list kept between runs: saved to `<state>/session.json` (SessionFile.ts) after every
 * change, and restored at start from it and the .torrent files kept in the state folder (ResumeStore), so
 * that a restarted daemon goes on with the same torrents, stopped or not as they were.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { fromHex, infoHash } from "../../domain/InfoHash.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import * as SessionFile from "./SessionFile.js"
import type { Placement, TorrentList } from "./TorrentList.js"
import type { TorrentGoals } from "../../domain/SeedGoals.js"

/** Saves the list now. One that cannot be saved is a warning: the torrents run on, the next change tries again. */
export const save = (file: string, list: TorrentList, labels: () => SessionFile.Labels): Effect.Effect<void> =>
  Effect.suspend(() => SessionFile.save(file, list.all(), labels())).pipe(
    Effect.catchAll((e) => Effect.logWarning(`session not saved: ${e.message}`))
  )

/** What session.json kept of a torrent besides its place, each part only when the file had it. */
const savedState = (saved: SessionFile.SavedTorrent, goals: TorrentGoals): NonNullable<Placement["saved"]> => ({
  ...(saved.rememberedDownloadLimit !== undefined ? { rememberedDownloadLimit: saved.rememberedDownloadLimit } : {}),
  ...(saved.rememberedUploadLimit !== undefined ? { rememberedUploadLimit: saved.rememberedUploadLimit } : {}),
  goals: {
    seedRatioMode: saved.seedRatioMode ?? goals.seedRatioMode,
    seedRatioLimit: saved.seedRatioLimit ?? goals.seedRatioLimit,
    seedIdleMode: saved.seedIdleMode ?? goals.seedIdleMode,
    seedIdleLimit: saved.seedIdleLimit ?? goals.seedIdleLimit,
    seedTimeMode: saved.seedTimeMode ?? goals.seedTimeMode,
    seedTimeLimit: saved.seedTimeLimit ?? goals.seedTimeLimit
  },
  ...(saved.savePath !== undefined ? { savePath: saved.savePath } : {}),
  ...(saved.category !== undefined ? { category: saved.category } : {}),
  ...(saved.tags !== undefined ? { tags: saved.tags } : {}),
  ...(saved.autoManaged !== undefined ? { autoManaged: saved.autoManaged } : {}),
  ...(saved.sequential !== undefined ? { sequential: saved.sequential } : {}),
  ...(saved.forced !== undefined ? { forced: saved.forced } : {}),
  ...(saved.secondsDownloading !== undefined ? { secondsDownloading: saved.secondsDownloading } : {}),
  ...(saved.secondsSeeding !== undefined ? { secondsSeeding: saved.secondsSeeding } : {}),
  ...(saved.activityDate !== undefined ? { activityDate: saved.activityDate } : {}),
  ...(saved.corruptEver !== undefined ? { corruptBefore: saved.corruptEver } : {}),
  files: { unwanted: saved.unwanted ?? [], priorities: saved.priorities ?? [] }
})

/**
 * Adds the torrents of an earlier run to `list`, as they were, and gives the session's categories and tags.
 * One whose .torrent is gone is kept only while it has its magnet link (its metadata was never fetched); one
 * whose hash is not hex is skipped.
 */
export const restore = (file: string, list: TorrentList, goals: TorrentGoals): Effect.Effect<SessionFile.Labels, never, ResumeStore> =>
  Effect.gen(function*() {
    const store = yield* ResumeStore
    const session = yield* SessionFile.load(file)
    for (const saved of session.torrents) {
      const hashBytes = fromHex(saved.hash)
      if (hashBytes === undefined) continue
      const bytes = yield* store.loadTorrent(infoHash(hashBytes))
      const metainfo = Option.isSome(bytes) ? Either.getOrUndefined(decodeTorrent(bytes.value)) : undefined
      if (metainfo === undefined && saved.magnet === undefined) continue
      yield* list.add(
        { hash: saved.hash, name: metainfo?.name ?? saved.name, metainfo, magnet: saved.magnet },
        {
          downloadDir: saved.downloadDir,
          paused: saved.paused,
          addedDate: saved.addedDate,
          doneDate: saved.doneDate,
          ...(saved.downloadLimit !== undefined ? { downloadLimit: saved.downloadLimit } : {}),
          ...(saved.uploadLimit !== undefined ? { uploadLimit: saved.uploadLimit } : {}),
          saved: savedState(saved, goals),
          goals
        }
      )
    }
    return { categories: session.categories ?? [], tags: session.tags ?? [] }
  })
