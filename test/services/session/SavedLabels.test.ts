/**
 * The session's categories and tags, and each torrent's category, tags, save path, automatic management,
 * sequential download and forced start, kept in session.json (SessionFile.ts, SavedList.ts) across a
 * save and a restore; a file of an earlier version, without any of them, still loads.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { layer as resumeMemory, MemoryResume } from "../../../src/services/storage/MemoryResume.js"
import * as SavedList from "../../../src/services/session/SavedList.js"
import * as TorrentList from "../../../src/services/session/TorrentList.js"
import { tempStateDir } from "../../support/sessionSwarm.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const goals = { seedRatioMode: 0, seedRatioLimit: 2, seedIdleMode: 0, seedIdleLimit: 30, seedTimeMode: 0, seedTimeLimit: 1440 } as const

const torrents = [1, 2].map((n) => makeTorrent({ name: `t${n}`, pieceLength: 16384, files: [{ path: [`t${n}.bin`], data: randomBytes(20_000, n) }] }))
const hashOf = (n: 0 | 1) => Buffer.from(torrents[n]!.metainfo.infoHash!).toString("hex")

/** A resume store that holds both .torrent files, as the state folder would. */
const storeWithTorrents = () => {
  const memory = new MemoryResume()
  for (const t of torrents) memory.torrents.set(Buffer.from(t.metainfo.infoHash!).toString("hex"), t.bytes)
  return memory
}

describe("SavedList: labels and a torrent's own choices", () => {
  it.scoped("categories, tags, and each torrent's category, tags, save path, autoManaged, sequential and forced survive a save and a restore", () =>
    Effect.gen(function* () {
      const dir = yield* tempStateDir
      const file = path.join(dir, "session.json")
      const list = TorrentList.make()
      const [a, b] = [0, 1].map((n) => torrents[n]!)
      const first = yield* list.add({ hash: hashOf(0), name: "t1", metainfo: a!.metainfo, magnet: undefined }, { downloadDir: "/incomplete", paused: false })
      Object.assign(first, { savePath: "/media/tv", category: "tv", tags: ["hd", "new"], autoManaged: true, sequential: true, forced: true })
      const second = yield* list.add({ hash: hashOf(1), name: "t2", metainfo: b!.metainfo, magnet: undefined }, { downloadDir: "/downloads", paused: true })
      const labels = { categories: [{ name: "tv", savePath: "/media/tv" }, { name: "films/hd", savePath: "" }], tags: ["hd", "new", "unused"] }
      yield* SavedList.save(file, list, () => labels)

      const again = TorrentList.make()
      const restored = yield* SavedList.restore(file, again, goals).pipe(Effect.provide(resumeMemory(storeWithTorrents())))
      expect(restored).toEqual(labels)
      const [one, two] = again.all()
      expect(one && [one.hash, one.downloadDir, one.savePath, one.category, one.tags, one.autoManaged, one.sequential, one.forced, one.paused])
        .toEqual([hashOf(0), "/incomplete", "/media/tv", "tv", ["hd", "new"], true, true, true, false])
      // The other, with none of them, as it was: its save path its download folder.
      expect(two && [two.hash, two.downloadDir, two.savePath, two.category, two.tags, two.autoManaged, two.sequential, two.forced, two.paused])
        .toEqual([hashOf(1), "/downloads", "/downloads", "", [], false, false, false, true])
      expect(second.savePath).toBe("/downloads")
      // Only what differs from the defaults is written.
      const saved = JSON.parse(fs.readFileSync(file, "utf8")) as { torrents: Array<Record<string, unknown>> }
      expect(Object.keys(saved.torrents[1]!).filter((k) => ["savePath", "category", "tags", "autoManaged", "sequential", "forced"].includes(k))).toEqual([])
    }))

  it.scoped("a session.json of an earlier version, without labels or those fields, loads: no categories, no tags, the torrents as they were", () =>
    Effect.gen(function* () {
      const dir = yield* tempStateDir
      const file = path.join(dir, "session.json")
      fs.writeFileSync(file, JSON.stringify({
        version: 1,
        torrents: [{ hash: hashOf(0), name: "t1", downloadDir: "/old", paused: false, addedDate: 100, doneDate: 0 }]
      }))
      const list = TorrentList.make()
      const restored = yield* SavedList.restore(file, list, goals).pipe(Effect.provide(resumeMemory(storeWithTorrents())))
      expect(restored).toEqual({ categories: [], tags: [] })
      const [one] = list.all()
      expect(one && [one.downloadDir, one.savePath, one.category, one.tags, one.autoManaged, one.sequential, one.forced, one.addedDate])
        .toEqual(["/old", "/old", "", [], false, false, false, 100])
    }))
})
