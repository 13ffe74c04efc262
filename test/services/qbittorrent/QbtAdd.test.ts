/**
 * `torrents/add` (QbtAdd.ts) over a memory session, as qbittorrent-nox answers it (the catalog's
 * torrents_add_*.json): "Ok." when something was added, "Fails." when nothing was (duplicates, links that
 * do not work), 415 for an upload that is not a torrent (nothing of the request added), 400 with nothing
 * to add; a new category created; tags, paused/stopped, limits, share limits, sequential download,
 * rename, skip_checking, autoTMM and savepath passed on to the session.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { LimitMode } from "../../../src/domain/SeedGoals.js"
import type { MultipartPart } from "../../../src/protocol/Multipart.js"
import * as QbtAdd from "../../../src/services/qbittorrent/QbtAdd.js"
import type { QbtReply } from "../../../src/services/qbittorrent/QbtEndpoint.js"
import { type ControlCall, make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const album = makeTorrent({ name: "album", pieceLength: 16384, files: [{ path: ["one.flac"], data: randomBytes(40_000, 21) }] })
const other = makeTorrent({ name: "other", pieceLength: 16384, files: [{ path: ["o.bin"], data: randomBytes(20_000, 22) }] })
const magnet = "magnet:?xt=urn:btih:00112233445566778899aabbccddeeff00112233&dn=distro"
const url = "http://127.0.0.1:1/other.torrent"

const add = QbtAdd.make({ allowedFolders: ["/media"] })

const file = (data: Uint8Array, filename = "album.torrent"): MultipartPart => ({ name: "torrents", filename, contentType: "application/x-bittorrent", data })

const session = Effect.gen(function*() {
  const control = yield* makeMemory({ urls: new Map([[url, other.bytes]]) })
  const call = (fields: Record<string, string>, files: ReadonlyArray<MultipartPart> = []): Effect.Effect<QbtReply> =>
    add.run({ params: { text: (name) => fields[name], files: (name) => files.filter((f) => f.name === name) }, control, client: "test" })
  const adds = () => control.calls().filter((c): c is Extract<ControlCall, { _tag: "add" }> => c._tag === "add")
  return { control, call, adds }
})

const okText = (body: string) => ({ status: 200, body, json: false })

describe("qBittorrent API: torrents/add", () => {
  it("is POST-only", () => expect(add.post).toBe(true))

  it.effect("a .torrent upload, a magnet and a URL in `urls`: Ok.; again: Fails.; nothing: 400", () =>
    Effect.gen(function*() {
      const { adds, call, control } = yield* session
      expect(yield* call({}, [file(album.bytes)])).toEqual(okText("Ok."))
      expect(yield* call({ urls: `${magnet}\r\n\n  ${url}  \n` })).toEqual(okText("Ok."))
      expect(adds().map((c) => c.source._tag)).toEqual(["Metainfo", "Magnet", "Url"])
      expect((yield* control.torrents("all")).map((v) => v.name).sort()).toEqual(["album", "distro", "other"])
      // Every one there already: Fails.
      expect(yield* call({ urls: magnet }, [file(album.bytes)])).toEqual(okText("Fails."))
      // A link that does not work: Fails.; one that does among them: Ok.
      expect(yield* call({ urls: "notaurl" })).toEqual(okText("Fails."))
      expect(yield* call({ urls: "http://127.0.0.1:1/nothing.torrent" })).toEqual(okText("Fails."))
      expect(yield* call({})).toEqual({ status: 400, body: "Bad Request", json: false })
      expect(yield* call({ urls: "\n \n" })).toEqual({ status: 400, body: "Bad Request", json: false })
    }))

  it.effect("an upload that is not a torrent: 415 with qBittorrent's words, nothing of the request added", () =>
    Effect.gen(function*() {
      const { adds, call, control } = yield* session
      const junk = file(Buffer.from("this is not bencode"), "junk.torrent")
      expect(yield* call({}, [junk])).toEqual({ status: 415, body: "Error: 'junk.torrent' is not a valid torrent file.", json: false })
      // With a good torrent and a magnet beside it: still nothing added.
      expect((yield* call({ urls: magnet }, [file(album.bytes), junk])).status).toBe(415)
      // A truncated .torrent, and a bencoded dictionary that is no torrent.
      expect((yield* call({}, [file(album.bytes.subarray(0, 100), "cut.torrent")])).status).toBe(415)
      expect((yield* call({}, [file(Buffer.from("d3:fooi1ee"), "dict.torrent")])).status).toBe(415)
      expect(adds()).toEqual([])
      expect(yield* control.torrents("all")).toEqual([])
    }))

  it.effect("category (new ones created), tags, paused/stopped, skip_checking, autoTMM passed on", () =>
    Effect.gen(function*() {
      const { adds, call, control } = yield* session
      expect(yield* call({ category: "brandnew", tags: "alpha, beta,,", paused: "true", skip_checking: "true", autoTMM: "false" }, [file(album.bytes)]))
        .toEqual(okText("Ok."))
      expect(yield* control.categories).toEqual([{ name: "brandnew", savePath: "" }])
      expect(adds()[0]?.options).toMatchObject({ category: "brandnew", tags: ["alpha", "beta"], paused: true, skipCheck: true, autoManaged: false })
      expect(control.torrent(1)).toMatchObject({ category: "brandnew", tags: ["alpha", "beta"], status: 0 })
      // 5.0's `stopped`; a known category is not created again.
      expect(yield* call({ urls: magnet, stopped: "true", category: "brandnew" })).toEqual(okText("Ok."))
      expect(adds()[1]?.options).toMatchObject({ paused: true, category: "brandnew", tags: [] })
      expect(control.calls().filter((c) => c._tag === "createCategory")).toHaveLength(1)
      // Neither: not paused.
      expect(yield* call({ urls: url, paused: "false" })).toEqual(okText("Ok."))
      expect(adds()[2]?.options.paused).toBe(false)
      expect(adds()[2]?.options).not.toHaveProperty("skipCheck")
      expect(adds()[2]?.options).not.toHaveProperty("category")
      // An invalid category name: 409, nothing added.
      expect(yield* call({ category: "bad\\name" }, [file(other.bytes)])).toEqual({ status: 409, body: "Incorrect category name", json: false })
      expect(adds()).toHaveLength(3)
    }))

  it.effect("limits, share limits, sequential download and rename: the torrent's own settings", () =>
    Effect.gen(function*() {
      const { adds, call, control } = yield* session
      expect(yield* call({
        upLimit: "51200", dlLimit: "102400", ratioLimit: "1.5", seedingTimeLimit: "120", sequentialDownload: "true", rename: "Renamed"
      }, [file(album.bytes)])).toEqual(okText("Ok."))
      expect(adds()[0]?.options.settings).toEqual({
        uploadLimit: 51200, downloadLimit: 102400, seedRatioMode: LimitMode.Single, seedRatioLimit: 1.5,
        seedTimeMode: LimitMode.Single, seedTimeLimit: 120, sequential: true, name: "Renamed"
      })
      expect(control.torrent(1)).toMatchObject({ name: "Renamed", sequential: true, uploadLimit: 51200, downloadLimit: 102400 })
      // -1: none; -2 (or absent): the session's, so nothing of the torrent's own; 0 limits: none.
      expect(yield* call({ urls: magnet, ratioLimit: "-1", seedingTimeLimit: "-2", upLimit: "0", dlLimit: "-1", rename: " " })).toEqual(okText("Ok."))
      expect(adds()[1]?.options.settings).toEqual({ seedRatioMode: LimitMode.Unlimited })
      expect(yield* call({ urls: url })).toEqual(okText("Ok."))
      expect(adds()[2]?.options.settings).toEqual({})
    }))

  it.effect("savepath: inside the allowed folders passed on (relative under the download folder); outside 403, nothing added", () =>
    Effect.gen(function*() {
      const { adds, call } = yield* session
      expect(yield* call({ savepath: "/media/films" }, [file(album.bytes)])).toEqual(okText("Ok."))
      expect(yield* call({ urls: magnet, savePath: "later" })).toEqual(okText("Ok."))
      expect(adds().map((c) => c.options.downloadDir)).toEqual(["/media/films", "/downloads/later"])
      for (const savepath of ["/etc", "../../root", "/downloads/../home"]) {
        const refused = yield* call({ savepath, urls: url })
        expect([savepath, refused.status]).toEqual([savepath, 403])
      }
      expect(adds()).toHaveLength(2)
    }))

  it.effect("a savepath outside with a new category: 403 and no category created either", () =>
    Effect.gen(function*() {
      const { call, control } = yield* session
      expect((yield* call({ savepath: "/etc", category: "sneaky" }, [file(album.bytes)])).status).toBe(403)
      expect(yield* control.categories).toEqual([])
      expect(yield* control.torrents("all")).toEqual([])
    }))
})
