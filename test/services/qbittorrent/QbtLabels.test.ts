/**
 * The qBittorrent API's categories and tags (QbtLabels.ts) over a memory session: what each asks of the
 * session and qbittorrent-nox's answers (the catalog's torrents_*Category*.json and *Tags*.json): 409
 * "Incorrect category name" for an unknown or invalid category, 409 "Unable to create category" for one
 * that exists, 409 "Unable to edit category" for one that does not, 400 for an empty name; a save path
 * outside the allowed folders 403.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as QbtLabels from "../../../src/services/qbittorrent/QbtLabels.js"
import { make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { callEndpoint } from "./callEndpoint.js"

const album = makeTorrent({ name: "album", pieceLength: 16384, files: [{ path: ["one.flac"], data: randomBytes(40_000, 11) }] })
const albumHash = Buffer.from(album.metainfo.infoHash!).toString("hex")
const unknownHash = "ffffffffffffffffffffffffffffffffffffffff"

const ok = { status: 200, body: "", json: false }
const bad = { status: 400, body: "Bad Request", json: false }
const conflict = (body: string) => ({ status: 409, body, json: false })

const endpoints = QbtLabels.make({ allowedFolders: ["/media"] })

const session = Effect.gen(function*() {
  const control = yield* makeMemory()
  yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, {})
  let mark = control.calls().length
  const fresh = () => {
    const made = control.calls().slice(mark)
    mark = control.calls().length
    return made
  }
  return { control, fresh, call: (method: string, params: Record<string, string> = {}) => callEndpoint(endpoints, method, control, params) }
})

describe("qBittorrent API: categories and tags", () => {
  it("are all POST-only", () => {
    expect(Object.entries(endpoints).filter(([, e]) => !e.post)).toEqual([])
  })

  it.effect("createCategory: made with its folder; exists, invalid, empty, missing and a folder outside answered as qBittorrent", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("createCategory", { category: "movies", savePath: "/media/movies" })).toEqual(ok)
      expect(yield* call("createCategory", { category: "tv" })).toEqual(ok)
      expect(yield* call("createCategory", { category: "tv/hd", savePath: "" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "createCategory", category: { name: "movies", savePath: "/media/movies" } },
        { _tag: "createCategory", category: { name: "tv", savePath: "" } },
        { _tag: "createCategory", category: { name: "tv/hd", savePath: "" } }
      ])
      expect(yield* call("createCategory", { category: "movies" })).toEqual(conflict("Unable to create category"))
      expect(yield* call("createCategory", { category: "bad\\name" })).toEqual(conflict("Incorrect category name"))
      expect(yield* call("createCategory", { category: "/lead" })).toEqual(conflict("Incorrect category name"))
      expect(yield* call("createCategory", { category: "" })).toEqual({ status: 400, body: "Category cannot be empty", json: false })
      expect(yield* call("createCategory")).toEqual(bad)
      fresh()
      const outside = yield* call("createCategory", { category: "evil", savePath: "/etc" })
      expect(outside.status).toBe(403)
      expect(outside.body).toContain("/etc: outside the folders")
      expect((yield* call("createCategory", { category: "evil", savePath: "../../root" })).status).toBe(403)
      // Refused before the session is asked: nothing created.
      expect(fresh()).toEqual([])
      expect((yield* control.categories).map((c) => c.name).sort()).toEqual(["movies", "tv", "tv/hd"])
    }))

  it.effect("editCategory: the folder changed; unknown 409; a folder outside 403", () =>
    Effect.gen(function*() {
      const { call, control } = yield* session
      yield* call("createCategory", { category: "tv" })
      expect(yield* call("editCategory", { category: "tv", savePath: "/downloads/tv" })).toEqual(ok)
      expect(yield* control.categories).toEqual([{ name: "tv", savePath: "/downloads/tv" }])
      expect(yield* call("editCategory", { category: "nosuch", savePath: "/downloads/x" })).toEqual(conflict("Unable to edit category"))
      expect((yield* call("editCategory", { category: "tv", savePath: "/etc" })).status).toBe(403)
      expect(yield* control.categories).toEqual([{ name: "tv", savePath: "/downloads/tv" }])
    }))

  it.effect("setCategory: a known one set, \"\" clears, unknown 409 Incorrect category name; removeCategories", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      yield* call("createCategory", { category: "movies" })
      fresh()
      expect(yield* call("setCategory", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("setCategory", { hashes: albumHash, category: "nosuch" })).toEqual(conflict("Incorrect category name"))
      expect(control.torrent(1)?.category).toBe("")
      expect(yield* call("setCategory", { hashes: albumHash, category: "movies" })).toEqual(ok)
      expect(control.torrent(1)?.category).toBe("movies")
      expect(yield* call("setCategory", { hashes: unknownHash, category: "movies" })).toEqual(ok)
      expect(yield* call("setCategory", { hashes: albumHash, category: "" })).toEqual(ok)
      expect(control.torrent(1)?.category).toBe("")
      expect(fresh().filter((c) => c._tag === "set").map((c) => c._tag === "set" && c.settings)).toEqual([{ category: "nosuch" }, { category: "movies" }, { category: "" }])
      yield* call("setCategory", { hashes: albumHash, category: "movies" })
      expect(yield* call("removeCategories")).toEqual(bad)
      expect(yield* call("removeCategories", { categories: "movies\nunknown\n" })).toEqual(ok)
      expect(yield* control.categories).toEqual([])
      expect(control.torrent(1)?.category).toBe("")
    }))

  it.effect("tags: addTags, removeTags (none named: all of them), createTags, deleteTags", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("addTags", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("addTags", { hashes: albumHash, tags: "alpha, beta,,gamma " })).toEqual(ok)
      expect(fresh()).toEqual([{ _tag: "set", which: [1], settings: { addTags: ["alpha", "beta", "gamma"] } }])
      expect(control.torrent(1)?.tags).toEqual(["alpha", "beta", "gamma"])
      expect(yield* call("removeTags", { hashes: albumHash, tags: "beta" })).toEqual(ok)
      expect(control.torrent(1)?.tags).toEqual(["alpha", "gamma"])
      expect(yield* call("removeTags", { hashes: albumHash, tags: "" })).toEqual(ok)
      expect(control.torrent(1)?.tags).toEqual([])
      // Without `tags` at all (qBittorrent requires only `hashes`): all of them too.
      yield* call("addTags", { hashes: albumHash, tags: "alpha" })
      expect(yield* call("removeTags", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.tags).toEqual([])
      expect(yield* call("removeTags", {})).toEqual(bad)
      expect(yield* call("addTags", { hashes: unknownHash, tags: "x" })).toEqual(ok)
      fresh()
      expect(yield* call("createTags", { tags: "one, two" })).toEqual(ok)
      expect(yield* call("createTags", { tags: "" })).toEqual(ok)
      expect(yield* call("deleteTags", { tags: "one,unknown" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "createTags", names: ["one", "two"] },
        { _tag: "createTags", names: [] },
        { _tag: "deleteTags", names: ["one", "unknown"] }
      ])
      expect([...(yield* control.tags)].sort()).toEqual(["alpha", "beta", "gamma", "two"])
    }))
})
