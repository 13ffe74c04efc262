/**
 * The session's categories and tags (TorrentLabels.ts) over a real torrent list: the rules qBittorrent keeps
 * for names (Invalid, Conflict), tags that go from every torrent when deleted, and a torrent whose folder
 * follows its category (autoManaged) sent where that category's folder is, through the `relocate` given.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as path from "node:path"
import { ControlError } from "../../../src/domain/Errors.js"
import type { Entry } from "../../../src/services/session/SessionEntry.js"
import * as TorrentLabels from "../../../src/services/session/TorrentLabels.js"
import * as TorrentList from "../../../src/services/session/TorrentList.js"
import type { Labels } from "../../../src/services/session/SessionFile.js"

const downloads = "/data/downloads"

const setUp = (saved: Labels = { categories: [], tags: [] }) =>
  Effect.gen(function* () {
    const list = TorrentList.make()
    const moves: Array<[number, string]> = []
    let saves = 0
    const labels = TorrentLabels.make({
      entries: list.all,
      downloadDir: () => downloads,
      // As TorrentLocation.moveOne: the torrent's folders are the new one afterwards.
      relocate: (entry, folder) => Effect.sync(() => {
        moves.push([entry.id, folder])
        entry.savePath = folder
        entry.downloadDir = folder
      }),
      save: Effect.sync(() => void saves++)
    }, saved)
    const add = (n: number) =>
      list.add({ hash: n.toString(16).padStart(2, "0").repeat(20), name: `t${n}`, metainfo: undefined, magnet: undefined }, { downloadDir: downloads, paused: true })
    return { list, labels, moves, add, saves: () => saves }
  })

const failure = <A, E extends { readonly reason: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => Exit.isFailure(exit) ? exit.cause._tag === "Fail" ? exit.cause.error.reason : exit.cause._tag : "succeeded")

describe("TorrentLabels", () => {
  it.effect("categories: created, edited, removed; invalid names are Invalid, a second of one name or an unknown one a Conflict", () =>
    Effect.gen(function* () {
      const { labels, add, saves } = yield* setUp()
      const c = labels.control
      yield* c.createCategory({ name: "tv", savePath: "" })
      yield* c.createCategory({ name: "movies/hd", savePath: "/media/movies" })
      expect(saves()).toBe(2)
      for (const name of ["", "/tv", "tv/", "a//b", "a\\b"]) {
        expect(yield* failure(c.createCategory({ name, savePath: "" }))).toBe("Invalid")
        expect(yield* failure(c.editCategory({ name, savePath: "" }))).toBe("Invalid")
      }
      expect(yield* failure(c.createCategory({ name: "tv", savePath: "/elsewhere" }))).toBe("Conflict")
      expect(yield* failure(c.editCategory({ name: "books", savePath: "/b" }))).toBe("Conflict")
      yield* c.editCategory({ name: "tv", savePath: "shows" })
      expect(yield* c.categories).toEqual([{ name: "tv", savePath: "shows" }, { name: "movies/hd", savePath: "/media/movies" }])
      expect([labels.folderOf("tv"), labels.folderOf("movies/hd"), labels.folderOf("books")])
        .toEqual([path.join(downloads, "shows"), "/media/movies", undefined])

      // A torrent in a category removed is in none; names that are no category are passed over.
      const t = yield* add(1)
      yield* labels.setCategory(t, "tv")
      yield* c.removeCategories(["tv", "nothing"])
      expect(yield* c.categories).toEqual([{ name: "movies/hd", savePath: "/media/movies" }])
      expect(t.category).toBe("")
      expect(labels.labels().categories).toEqual([{ name: "movies/hd", savePath: "/media/movies" }])
    }))

  it.effect("tags: created (trimmed, once, sorted; empty and comma'd ones dropped), deleted from the session and from every torrent", () =>
    Effect.gen(function* () {
      const { labels, add } = yield* setUp()
      const c = labels.control
      yield* c.createTags(["b", " a ", "", "x,y", "b"])
      expect(yield* c.tags).toEqual(["a", "b"])
      const [t1, t2] = [yield* add(1), yield* add(2)]
      // A tag given to a torrent exists in the session from then on.
      labels.changeTags(t1, ["a", "new"], [])
      labels.changeTags(t2, ["b", "a"], [])
      expect(yield* c.tags).toEqual(["a", "b", "new"])
      expect([t1.tags, t2.tags]).toEqual([["a", "new"], ["a", "b"]])
      labels.changeTags(t2, [], ["a"])
      expect(t2.tags).toEqual(["b"])
      yield* c.deleteTags(["a", "b"])
      expect(yield* c.tags).toEqual(["new"])
      expect([t1.tags, t2.tags]).toEqual([["new"], []])
      expect(labels.labels().tags).toEqual(["new"])
    }))

  it.effect("restored: saved categories and tags, with the tags and categories torrents of the list have; invalid saved names dropped", () =>
    Effect.gen(function* () {
      const list = TorrentList.make()
      const t = yield* list.add({ hash: "cd".repeat(20), name: "t", metainfo: undefined, magnet: undefined },
        { downloadDir: downloads, paused: true, saved: { tags: ["old"], category: "lost" } })
      const bad = yield* list.add({ hash: "ce".repeat(20), name: "u", metainfo: undefined, magnet: undefined },
        { downloadDir: downloads, paused: true, saved: { category: "/bad" } })
      const labels = TorrentLabels.make({ entries: list.all, downloadDir: () => downloads, relocate: () => Effect.void, save: Effect.void },
        { categories: [{ name: "ok", savePath: "" }, { name: "bad/", savePath: "" }], tags: ["z", " "] })
      // A category a torrent names that the file lacks is made; one of no valid name is dropped.
      expect(yield* labels.control.categories).toEqual([{ name: "ok", savePath: "" }, { name: "lost", savePath: "" }])
      expect(yield* labels.control.tags).toEqual(["old", "z"])
      expect([t.tags, t.category, bad.category]).toEqual([["old"], "lost", ""])
    }))

  it.effect("a torrent's category: set, unknown one a Conflict, none; its folder does not move unless it follows its category", () =>
    Effect.gen(function* () {
      const { labels, add, moves } = yield* setUp({ categories: [{ name: "tv", savePath: "/media/tv" }], tags: [] })
      const t = yield* add(1)
      expect(yield* failure(labels.setCategory(t, "nope"))).toBe("Conflict")
      expect(t.category).toBe("")
      yield* labels.setCategory(t, "tv")
      expect(t.category).toBe("tv")
      yield* labels.setCategory(t, "")
      expect(t.category).toBe("")
      expect(moves).toEqual([])
    }))

  it.effect("a torrent that follows its category moves when put in one, when the category's path is edited, and when its management is turned on", () =>
    Effect.gen(function* () {
      const { labels, add, moves } = yield* setUp({
        categories: [{ name: "tv", savePath: "" }, { name: "films", savePath: "films/all" }, { name: "abs", savePath: "/media/abs" }],
        tags: []
      })
      const t = yield* add(1)
      const other = yield* add(2)
      yield* labels.setAutoManaged(t, true)
      // Already in the download folder, as a torrent without a category: nothing to move.
      expect(moves).toEqual([])
      // "" is the category's own name under the download folder; a relative path is under it too.
      yield* labels.setCategory(t, "tv")
      yield* labels.setCategory(t, "films")
      yield* labels.setCategory(t, "abs")
      expect(moves).toEqual([[t.id, path.join(downloads, "tv")], [t.id, path.join(downloads, "films/all")], [t.id, "/media/abs"]])
      // The category's path edited: its torrents that follow it move; the others stay.
      yield* labels.setCategory(other, "abs")
      moves.length = 0
      yield* labels.control.editCategory({ name: "abs", savePath: "" })
      expect(moves).toEqual([[t.id, path.join(downloads, "abs")]])
      // Edited to where it is already: no move.
      yield* labels.control.editCategory({ name: "abs", savePath: path.join(downloads, "abs") })
      expect(moves).toEqual([[t.id, path.join(downloads, "abs")]])
      // Management turned on for the other: it goes to its category's folder.
      yield* labels.setAutoManaged(other, true)
      expect(moves).toEqual([[t.id, path.join(downloads, "abs")], [other.id, path.join(downloads, "abs")]])
      // Out of any category: back to the download folder.
      yield* labels.setCategory(t, "")
      expect(moves.at(-1)).toEqual([t.id, downloads])
      // A category removed, as qBittorrent does: its torrents that follow it go to the download folder.
      moves.length = 0
      yield* labels.control.removeCategories(["abs"])
      expect(other.category).toBe("")
      expect(moves).toEqual([[other.id, downloads]])
    }))

  it.effect("an edit whose move fails is that failure", () =>
    Effect.gen(function* () {
      const list = TorrentList.make()
      const labels = TorrentLabels.make({
        entries: list.all,
        downloadDir: () => downloads,
        relocate: () => Effect.fail(new ControlError({ reason: "Io", detail: "disk full" })),
        save: Effect.void
      }, { categories: [{ name: "tv", savePath: "" }], tags: [] })
      const t: Entry = yield* list.add({ hash: "ef".repeat(20), name: "t", metainfo: undefined, magnet: undefined }, { downloadDir: downloads, paused: true })
      t.autoManaged = true
      expect(yield* failure(labels.setCategory(t, "tv"))).toBe("Io")
    }))
})
