/**
 * The session's torrents by id. Ids are given in the order torrents are added and never reused in one
 * session; a new torrent goes to the end of the queue. A request names torrents by id or by info hash (hex,
 * any case), and one name that matches none fails the whole request. Saving the list is SavedList.ts's.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { ControlError } from "../../domain/Errors.js"
import { allWanted } from "../../domain/FileChoices.js"
import { TokenBucket } from "../../domain/TokenBucket.js"
import type { Selection } from "./SessionControl.js"
import type { TorrentGoals } from "../../domain/SeedGoals.js"
import type { Entry, TorrentIdentity } from "./SessionEntry.js"

/** Transmission's default limit (kB/s), shown while a limit was never set. */
export const defaultLimitValue = 100

/** Where a torrent's data goes, whether it was stopped, and its dates (restored ones keep theirs). */
export interface Placement {
  readonly downloadDir: string
  readonly paused: boolean
  /** Seconds since the epoch; now when not given. */
  readonly addedDate?: number
  /** Seconds since the epoch, 0 never; a torrent done before is complete until its check says otherwise. */
  readonly doneDate?: number
  /** Its own rate limits in bytes per second (0: none), as saved; none when not given. */
  readonly downloadLimit?: number
  readonly uploadLimit?: number
  /** What else an earlier run saved of it (SessionFile.ts); a new torrent starts from nothing. */
  readonly saved?: Partial<Pick<Entry,
    | "rememberedDownloadLimit" | "rememberedUploadLimit" | "goals" | "secondsDownloading" | "secondsSeeding" | "activityDate" | "corruptBefore"
    | "files" | "savePath" | "category" | "tags" | "autoManaged" | "sequential" | "forced"
  >>
  /** A new torrent's seeding goals (the session's ratio limit as its own, as Transmission does), when not saved;
   *  default: the session's goals at Transmission's defaults. */
  readonly goals?: TorrentGoals
}

const defaultGoals: TorrentGoals = { seedRatioMode: 0, seedRatioLimit: 2, seedIdleMode: 0, seedIdleLimit: 30, seedTimeMode: 0, seedTimeLimit: 1440 }

export interface TorrentList {
  /** Every torrent, in the order they were added. */
  readonly all: () => ReadonlyArray<Entry>
  /** The torrent of this info hash (lower-case hex), if it is in the session. */
  readonly byHash: (hash: string) => Entry | undefined
  readonly select: (which: Selection) => Effect.Effect<ReadonlyArray<Entry>, ControlError>
  /** A new torrent, stopped (the queue starts it unless it is paused), with the limits of its placement. */
  readonly add: (identity: TorrentIdentity, placement: Placement) => Effect.Effect<Entry>
  readonly remove: (entry: Entry) => void
}

export const make = (): TorrentList => {
  const entries = new Map<number, Entry>()
  let nextId = 1

  const byHash = (hash: string) => [...entries.values()].find((e) => e.hash === hash)

  const select = (which: Selection): Effect.Effect<ReadonlyArray<Entry>, ControlError> =>
    Effect.suspend(() => {
      if (which === "all") return Effect.succeed([...entries.values()])
      const found: Array<Entry> = []
      for (const key of which) {
        const entry = typeof key === "number" ? entries.get(key) : byHash(key.toLowerCase())
        if (entry === undefined) return Effect.fail(new ControlError({ reason: "NotFound", detail: `no torrent ${key}` }))
        found.push(entry)
      }
      return Effect.succeed(found)
    })

  const add = (identity: TorrentIdentity, placement: Placement) =>
    Effect.gen(function*() {
      const doneDate = placement.doneDate ?? 0
      const now = yield* Clock.currentTimeMillis
      const downloadLimit = placement.downloadLimit ?? 0
      const uploadLimit = placement.uploadLimit ?? 0
      const entry: Entry = {
        id: nextId++,
        ...identity,
        downloadDir: placement.downloadDir,
        savePath: placement.saved?.savePath ?? placement.downloadDir,
        category: placement.saved?.category ?? "",
        tags: placement.saved?.tags ?? [],
        autoManaged: placement.saved?.autoManaged ?? false,
        sequential: placement.saved?.sequential ?? false,
        forced: placement.saved?.forced ?? false,
        paused: placement.paused,
        addedDate: placement.addedDate ?? Math.floor(now / 1000),
        doneDate,
        error: "",
        phase: "stopped",
        queuePosition: entries.size,
        handle: undefined,
        peers: [],
        recheck: false,
        skipCheck: false,
        moving: false,
        checked: 0,
        have: undefined,
        complete: doneDate > 0,
        files: placement.saved?.files ?? allWanted,
        pendingFiles: [],
        previous: { downloaded: 0, uploaded: 0 },
        earlierInSession: { downloaded: 0, uploaded: 0 },
        downloadLimit,
        uploadLimit,
        rememberedDownloadLimit: placement.saved?.rememberedDownloadLimit ?? defaultLimitValue,
        rememberedUploadLimit: placement.saved?.rememberedUploadLimit ?? defaultLimitValue,
        buckets: { down: new TokenBucket(downloadLimit, now), up: new TokenBucket(uploadLimit, now) },
        goals: placement.saved?.goals ?? placement.goals ?? defaultGoals,
        idleLimitReached: false,
        secondsDownloading: placement.saved?.secondsDownloading ?? 0,
        secondsSeeding: placement.saved?.secondsSeeding ?? 0,
        startDate: 0,
        activityDate: placement.saved?.activityDate ?? 0,
        corruptBefore: placement.saved?.corruptBefore ?? 0,
        lastTransferred: { downloaded: 0, uploaded: 0 }
      }
      entries.set(entry.id, entry)
      return entry
    })

  return {
    all: () => [...entries.values()],
    byHash,
    select,
    add,
    remove: (entry) => void entries.delete(entry.id)
  }
}
