/**
 * The qBittorrent API's torrent actions (QbtTorrentActions.ts) over a memory session: what each asks of the
 * session (MemoryControl's calls) and its status as qbittorrent-nox answers (the catalog's torrents_*.json):
 * 200 empty on success, missing parameter 400, a single unknown `hash` 404, unknown `hashes` skipped
 * (200, nothing asked), filePrio's 400/409 words, setShareLimits' -2/-1/value as LimitMode.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { LimitMode } from "../../../src/domain/SeedGoals.js"
import * as QbtTorrentActions from "../../../src/services/qbittorrent/QbtTorrentActions.js"
import { make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { callEndpoint } from "./callEndpoint.js"

const album = makeTorrent({
  name: "album", pieceLength: 16384,
  files: [{ path: ["one.flac"], data: randomBytes(40_000, 1) }, { path: ["two.flac"], data: randomBytes(20_000, 2) }, { path: ["cover.jpg"], data: randomBytes(5_000, 3) }]
})
const single = makeTorrent({ name: "single", pieceLength: 16384, files: [{ path: ["s.bin"], data: randomBytes(30_000, 4) }] })
const hex = (t: typeof album) => Buffer.from(t.metainfo.infoHash!).toString("hex")
const albumHash = hex(album)
const singleHash = hex(single)
const magnetHash = "00112233445566778899aabbccddeeff00112233"
const unknownHash = "ffffffffffffffffffffffffffffffffffffffff"

const ok = { status: 200, body: "", json: false }
const bad = { status: 400, body: "Bad Request", json: false }
const notFound = { status: 404, body: "Not Found", json: false }
const conflict = (body: string) => ({ status: 409, body, json: false })

const endpoints = QbtTorrentActions.make({ allowedFolders: ["/media"] })

/** A memory session with album (id 1), single (id 2) and a magnet without metadata (id 3). */
const session = Effect.gen(function*() {
  const control = yield* makeMemory()
  yield* control.add({ _tag: "Metainfo", bytes: album.bytes }, {})
  yield* control.add({ _tag: "Metainfo", bytes: single.bytes }, {})
  yield* control.add({ _tag: "Magnet", uri: `magnet:?xt=urn:btih:${magnetHash}&dn=m` }, {})
  const since = control.calls().length
  const call = (method: string, params: Record<string, string> = {}) => callEndpoint(endpoints, method, control, params)
  /** The calls made since the session was set up (or since the last `fresh()`). */
  let mark = since
  const fresh = () => {
    const made = control.calls().slice(mark)
    mark = control.calls().length
    return made
  }
  return { control, call, fresh }
})

describe("qBittorrent API: torrent actions", () => {
  it("are all POST-only", () => {
    for (const [name, endpoint] of Object.entries(endpoints)) expect([name, endpoint.post]).toEqual([name, true])
    expect(Object.keys(endpoints).sort()).toEqual([
      "bottomPrio", "decreasePrio", "delete", "filePrio", "increasePrio", "pause", "reannounce", "recheck", "rename", "resume",
      "setAutoManagement", "setDownloadLimit", "setForceStart", "setLocation", "setShareLimits", "setUploadLimit", "start", "stop",
      "toggleSequentialDownload", "topPrio"
    ])
  })

  it.effect("pause/stop and resume/start, recheck, reannounce: the session asked; unknown hashes skipped; missing 400", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      for (const [method, tag] of [["pause", "stop"], ["stop", "stop"], ["resume", "start"], ["start", "start"], ["recheck", "verify"], ["reannounce", "reannounce"]] as const) {
        expect(yield* call(method, { hashes: albumHash })).toEqual(ok)
        expect(fresh()).toEqual([{ _tag: tag, which: [1] }])
        expect(yield* call(method, { hashes: `${singleHash}|${unknownHash}|${albumHash}` })).toEqual(ok)
        expect(fresh()).toEqual([{ _tag: tag, which: [1, 2] }])
        expect(yield* call(method, { hashes: "all" })).toEqual(ok)
        expect(fresh()).toEqual([{ _tag: tag, which: "all" }])
        expect(yield* call(method, { hashes: unknownHash })).toEqual(ok)
        expect(yield* call(method, { hashes: "" })).toEqual(ok)
        expect(yield* call(method)).toEqual(bad)
        expect(fresh()).toEqual([])
      }
      yield* call("pause", { hashes: "all" })
      expect(control.torrent(1)?.status).toBe(0)
    }))

  it.effect("delete: deleteFiles required; with and without files; unknown 200", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("delete", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("delete", { hashes: unknownHash, deleteFiles: "false" })).toEqual(ok)
      expect(fresh()).toEqual([])
      expect(yield* call("delete", { hashes: albumHash, deleteFiles: "false" })).toEqual(ok)
      expect(yield* call("delete", { hashes: singleHash, deleteFiles: "True" })).toEqual(ok)
      expect(fresh()).toEqual([{ _tag: "remove", which: [1], deleteData: false }, { _tag: "remove", which: [2], deleteData: true }])
      expect(control.torrent(1)).toBeUndefined()
    }))

  it.effect("setLocation: inside the allowed folders moved, relative under the download folder; outside 403; empty 400", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("setLocation", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("setLocation", { hashes: albumHash, location: "  " })).toEqual({ status: 400, body: "Save path cannot be empty", json: false })
      expect(yield* call("setLocation", { hashes: albumHash, location: "/media/films" })).toEqual(ok)
      expect(yield* call("setLocation", { hashes: singleHash, location: "done/now" })).toEqual(ok)
      expect(yield* call("setLocation", { hashes: albumHash, location: "/downloads/incomplete/x" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "setLocation", which: [1], folder: "/media/films", move: true },
        { _tag: "setLocation", which: [2], folder: "/downloads/done/now", move: true },
        { _tag: "setLocation", which: [1], folder: "/downloads/incomplete/x", move: true }
      ])
      for (const location of ["/etc", "/", "../escape", "/downloads/../etc", "/mediaX"]) {
        const refused = yield* call("setLocation", { hashes: albumHash, location })
        expect([location, refused.status]).toEqual([location, 403])
        expect(refused.body).toContain("outside the folders this daemon may write to")
      }
      expect(fresh()).toEqual([])
      expect(control.torrent(1)?.downloadDir).toBe("/downloads/incomplete/x")
    }))

  it.effect("rename: missing 400, empty 409 as the catalog, unknown hash 404, else the name shown", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("rename", { hash: albumHash })).toEqual(bad)
      expect(yield* call("rename", { name: "x" })).toEqual(bad)
      expect(yield* call("rename", { hash: albumHash, name: " " })).toEqual(conflict("Incorrect torrent name"))
      expect(yield* call("rename", { hash: unknownHash, name: "x" })).toEqual(notFound)
      expect(fresh()).toEqual([])
      expect(yield* call("rename", { hash: albumHash.toUpperCase(), name: "Best of" })).toEqual(ok)
      expect(fresh()).toEqual([{ _tag: "set", which: [1], settings: { name: "Best of" } }])
      expect(control.torrent(1)?.name).toBe("Best of")
    }))

  it.effect("setShareLimits: -2 the session's, -1 none, a value its own; both required", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("setShareLimits", { hashes: albumHash, ratioLimit: "2" })).toEqual(bad)
      expect(yield* call("setShareLimits", { hashes: albumHash, seedingTimeLimit: "2" })).toEqual(bad)
      expect(fresh()).toEqual([])
      expect(yield* call("setShareLimits", { hashes: albumHash, ratioLimit: "1.5", seedingTimeLimit: "120", inactiveSeedingTimeLimit: "-2" })).toEqual(ok)
      // inactiveSeedingTimeLimit (4.6) is the idle limit.
      expect(fresh()).toEqual([{
        _tag: "set", which: [1],
        settings: { seedRatioMode: LimitMode.Single, seedRatioLimit: 1.5, seedTimeMode: LimitMode.Single, seedTimeLimit: 120, seedIdleMode: LimitMode.Global }
      }])
      expect(control.torrent(1)).toMatchObject({ seedRatioMode: 1, seedRatioLimit: 1.5, seedTimeMode: 1, seedTimeLimit: 120 })
      expect(yield* call("setShareLimits", { hashes: albumHash, ratioLimit: "-1", seedingTimeLimit: "-2" })).toEqual(ok)
      expect(fresh()).toEqual([{ _tag: "set", which: [1], settings: { seedRatioMode: LimitMode.Unlimited, seedTimeMode: LimitMode.Global } }])
      expect(yield* call("setShareLimits", { hashes: singleHash, ratioLimit: "-2", seedingTimeLimit: "30", inactiveSeedingTimeLimit: "15" })).toEqual(ok)
      expect(fresh()).toEqual([{
        _tag: "set", which: [2],
        settings: { seedRatioMode: LimitMode.Global, seedTimeMode: LimitMode.Single, seedTimeLimit: 30, seedIdleMode: LimitMode.Single, seedIdleLimit: 15 }
      }])
      expect(yield* call("setShareLimits", { hashes: "all", ratioLimit: "0", seedingTimeLimit: "-1" })).toEqual(ok)
      expect(fresh()).toEqual([{ _tag: "set", which: "all", settings: { seedRatioMode: LimitMode.Single, seedRatioLimit: 0, seedTimeMode: LimitMode.Unlimited } }])
      expect(yield* call("setShareLimits", { hashes: unknownHash, ratioLimit: "1", seedingTimeLimit: "1" })).toEqual(ok)
      expect(fresh()).toEqual([])
    }))

  it.effect("setDownloadLimit / setUploadLimit: bytes/s, 0 none; limit required", () =>
    Effect.gen(function*() {
      const { call, fresh } = yield* session
      expect(yield* call("setDownloadLimit", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("setUploadLimit", { hashes: albumHash, limit: "abc" })).toEqual(bad)
      expect(yield* call("setDownloadLimit", { hashes: albumHash, limit: "102400" })).toEqual(ok)
      expect(yield* call("setUploadLimit", { hashes: `${albumHash}|${singleHash}`, limit: "51200" })).toEqual(ok)
      expect(yield* call("setUploadLimit", { hashes: albumHash, limit: "-1" })).toEqual(ok)
      expect(yield* call("setDownloadLimit", { hashes: unknownHash, limit: "1" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "set", which: [1], settings: { downloadLimit: 102400 } },
        { _tag: "set", which: [1, 2], settings: { uploadLimit: 51200 } },
        { _tag: "set", which: [1], settings: { uploadLimit: 0 } }
      ])
    }))

  it.effect("filePrio: 0 skips, 1 normal, 6/7 high; bad priority 400, unknown hash 404, bad id or no metadata 409", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      expect(yield* call("filePrio", { hash: albumHash, id: "0" })).toEqual(bad)
      expect(yield* call("filePrio", { hash: albumHash, priority: "1" })).toEqual(bad)
      expect(yield* call("filePrio", { id: "0", priority: "1" })).toEqual(bad)
      expect(yield* call("filePrio", { hash: albumHash, id: "0", priority: "3" })).toEqual({ status: 400, body: "Priority is not valid", json: false })
      expect(yield* call("filePrio", { hash: unknownHash, id: "0", priority: "1" })).toEqual(notFound)
      expect(yield* call("filePrio", { hash: albumHash, id: "3", priority: "1" })).toEqual(conflict("File ID is not valid"))
      expect(yield* call("filePrio", { hash: albumHash, id: "0|-1", priority: "1" })).toEqual(conflict("File ID is not valid"))
      expect(yield* call("filePrio", { hash: albumHash, id: "x", priority: "1" })).toEqual(conflict("File ID is not valid"))
      expect(yield* call("filePrio", { hash: magnetHash, id: "0", priority: "1" })).toEqual(conflict("Torrent's metadata has not yet downloaded"))
      expect(fresh()).toEqual([])
      expect(yield* call("filePrio", { hash: albumHash, id: "1|2", priority: "0" })).toEqual(ok)
      expect(yield* call("filePrio", { hash: albumHash, id: "0", priority: "7" })).toEqual(ok)
      expect(yield* call("filePrio", { hash: albumHash, id: "2", priority: "6" })).toEqual(ok)
      expect(yield* call("filePrio", { hash: albumHash, id: "1", priority: "1" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "set", which: [1], settings: { files: { unwanted: [1, 2] } } },
        { _tag: "set", which: [1], settings: { files: { wanted: [0], high: [0] } } },
        { _tag: "set", which: [1], settings: { files: { wanted: [2], high: [2] } } },
        { _tag: "set", which: [1], settings: { files: { wanted: [1], normal: [1] } } }
      ])
      expect(control.torrent(1)?.files.map((f) => [f.wanted, f.priority])).toEqual([[true, 1], [true, 0], [true, 1]])
    }))

  it.effect("topPrio / bottomPrio / increasePrio / decreasePrio move the queue positions", () =>
    Effect.gen(function*() {
      const { call, control } = yield* session
      const positions = () => [1, 2, 3].map((id) => control.torrent(id)?.queuePosition)
      expect(positions()).toEqual([0, 1, 2])
      expect(yield* call("bottomPrio", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.queuePosition).toBe(2)
      expect(yield* call("topPrio", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.queuePosition).toBe(0)
      expect(yield* call("decreasePrio", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.queuePosition).toBe(1)
      expect(yield* call("increasePrio", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.queuePosition).toBe(0)
      // Bounded at both ends.
      expect(yield* call("increasePrio", { hashes: albumHash })).toEqual(ok)
      expect(control.torrent(1)?.queuePosition).toBe(0)
      expect(yield* call("topPrio")).toEqual(bad)
    }))

  it.effect("toggleSequentialDownload flips each; setForceStart and setAutoManagement need their value", () =>
    Effect.gen(function*() {
      const { call, control, fresh } = yield* session
      yield* control.update(2, { sequential: true })
      expect(yield* call("toggleSequentialDownload", { hashes: `${albumHash}|${singleHash}` })).toEqual(ok)
      expect([control.torrent(1)?.sequential, control.torrent(2)?.sequential]).toEqual([true, false])
      expect(yield* call("setForceStart", { hashes: albumHash })).toEqual(bad)
      expect(yield* call("setForceStart", { hashes: albumHash, value: "yes" })).toEqual(bad)
      expect(yield* call("setAutoManagement", { hashes: albumHash })).toEqual(bad)
      fresh()
      expect(yield* call("setForceStart", { hashes: albumHash, value: "true" })).toEqual(ok)
      expect(yield* call("setAutoManagement", { hashes: "all", enable: "false" })).toEqual(ok)
      expect(fresh()).toEqual([
        { _tag: "set", which: [1], settings: { forced: true } },
        { _tag: "set", which: "all", settings: { autoManaged: false } }
      ])
      expect(control.torrent(1)?.forced).toBe(true)
    }))
})
