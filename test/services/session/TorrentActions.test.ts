/**
 * The actions on torrents against a queue that looks at the list whenever it gets the chance: a torrent
 * being removed must be out of the queue's sight before its run stops, or the queue starts it again (its
 * files opened again, the data just deleted recreated).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { SessionQueue } from "../../../src/services/session/SessionQueue.js"
import * as TorrentActions from "../../../src/services/session/TorrentActions.js"
import * as TorrentLabels from "../../../src/services/session/TorrentLabels.js"
import * as TorrentList from "../../../src/services/session/TorrentList.js"
import { defaultSettings } from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

/** A queue whose stop lets the scheduler run meanwhile, as a real fiber switch can: it starts whatever in the
 *  list is neither paused nor running, and counts those starts. */
const eagerQueue = (list: TorrentList.TorrentList) => {
  const started: Array<number> = []
  const schedule = Effect.sync(() => {
    for (const entry of list.all()) {
      if (!entry.paused && entry.phase === "stopped") {
        entry.phase = "starting"
        started.push(entry.id)
      }
    }
  })
  const queue: SessionQueue = {
    schedule,
    stop: (entry) => Effect.zipRight(Effect.sync(() => void (entry.phase = "stopped")), schedule)
  }
  return { queue, started }
}

/** Categories and tags over the list, their moves refused (these tests move nothing). */
const labelsOf = (list: TorrentList.TorrentList) =>
  TorrentLabels.make({ entries: list.all, downloadDir: () => "/nowhere", relocate: () => Effect.die("no move here"), save: Effect.void }, { categories: [], tags: [] })

describe("TorrentActions", () => {
  it.effect("remove: the queue never starts the torrent again while it stops", () =>
    Effect.gen(function* () {
      const list = TorrentList.make()
      const entry = yield* list.add({ hash: "aa".repeat(20), name: "x", metainfo: undefined, magnet: "magnet:?xt=urn:btih:" + "aa".repeat(20) }, { downloadDir: "/nowhere", paused: false })
      entry.phase = "running"
      const { queue, started } = eagerQueue(list)
      const actions = TorrentActions.make({ list, queue, save: Effect.void, settings: () => defaultSettings, labels: labelsOf(list) })
      yield* actions.remove("all", false)
      expect(started).toEqual([])
      expect(list.all()).toEqual([])
    }))

  it.effect("stop: stopped for good; verify: started again at once", () =>
    Effect.gen(function* () {
      const list = TorrentList.make()
      const entry = yield* list.add({ hash: "bb".repeat(20), name: "y", metainfo: undefined, magnet: "magnet:?xt=urn:btih:" + "bb".repeat(20) }, { downloadDir: "/nowhere", paused: false })
      entry.phase = "running"
      const { queue, started } = eagerQueue(list)
      const actions = TorrentActions.make({ list, queue, save: Effect.void, settings: () => defaultSettings, labels: labelsOf(list) })
      yield* actions.stop([entry.id])
      expect(started).toEqual([])
      yield* actions.start([entry.id])
      yield* actions.verify([entry.id])
      expect(started).toEqual([entry.id, entry.id])
      expect(entry.recheck).toBe(true)
    }))

  it.effect("start: a seed stopped at its ratio goal starts with its ratio limit off, as Transmission's 'restarted manually'", () =>
    Effect.gen(function* () {
      const t = makeTorrent({ name: "z", pieceLength: 16384, files: [{ path: ["z.bin"], data: randomBytes(20_000, 3) }] })
      const list = TorrentList.make()
      const seedAt = (uploaded: number) =>
        Effect.map(list.add({ hash: Buffer.from(t.metainfo.infoHash!).toString("hex"), name: "z", metainfo: t.metainfo, magnet: undefined }, {
          downloadDir: "/nowhere", paused: true, goals: { seedRatioMode: 1, seedRatioLimit: 1, seedIdleMode: 0, seedIdleLimit: 30, seedTimeMode: 0, seedTimeLimit: 1440 }
        }), (entry) => Object.assign(entry, { complete: true, previous: { downloaded: 20_000, uploaded } }))
      const done = yield* seedAt(20_000)
      const notYet = yield* seedAt(19_999)
      const { queue } = eagerQueue(list)
      const actions = TorrentActions.make({ list, queue, save: Effect.void, settings: () => defaultSettings, labels: labelsOf(list) })
      yield* actions.start("all")
      expect([done.goals.seedRatioMode, notYet.goals.seedRatioMode]).toEqual([2, 1])
    }))
})
