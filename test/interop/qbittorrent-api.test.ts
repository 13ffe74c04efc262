/**
 * bt-effect's qBittorrent WebUI API against the reference, qbittorrent-nox 4.5.2 (Debian), as issue 22 asks:
 * both are set up the same way (a category with a save path and one without, tags; a small multi-file
 * torrent added with its data, which both check and seed; another added paused without data; a magnet no
 * peer serves), then every endpoint of the issue that 4.5.2 has is called on both with the same parameters,
 * and the answers compared: HTTP status, content type, and for JSON the field names and JSON type of every
 * field, recursively (./../support/jsonShape.ts). Values are not compared, except those that must agree:
 * state names, tags and categories, what each action changed, text answers ("Ok.", "Fails.", "") and the
 * error bodies. bt-effect answers as qBittorrent 4.6 does; the fields 4.6 has and 4.5.2 lacks are the only
 * differences let through, each listed in `from46` below.
 *
 * Not compared: what 4.5.2 has and the issue does not list (toggleFirstLastPiecePrio, setSuperSeeding,
 * addTrackers, editTracker, renameFile, renameFolder, setSavePath, log/*, rss, search), and the 5.0 names
 * (stop, start: 404 in 4.5.2).
 *
 * qbittorrent-nox runs on 127.0.0.22 and bt-effect's daemon on 127.0.0.21, each with its own folders; the
 * torrents' tracker and web seed are a port nothing listens on (127.0.0.23:9), refused for both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { type Background, stop } from "../support/cli.js"
import { stopAll, type TempDir, tempDir } from "../support/interop.js"
import { diffShapes, shapeOf } from "../support/jsonShape.js"
import { comparison, type Info, type Sides } from "../support/qbtCompare.js"
import { addForm, type Fixtures, makeFixtures, setUp, startDaemon } from "../support/qbtFixtures.js"
import { type QbtApiClient, qbtApiClient, type QbtParamsIn } from "../support/qbtApiClient.js"
import { type QbittorrentNox, type QbtResponse, qbittorrentNoxVersion, startQbittorrentNox } from "../support/qbittorrentNox.js"
import { requiredInCi } from "../support/skips.js"

const version = qbittorrentNoxVersion()
const USER = "admin"
const PASS = "compare-pass"
const DEAD = "http://127.0.0.23:9"
const MAGNET_HASH = "5a5e0c1b2d3e4f5061728394a5b6c7d8e9f00112"
// With a tracker (refused): bt-effect stops a magnet that names no tracker and no peer while its DHT is off,
// as an error (nowhere to find its metadata), where qBittorrent waits in metaDL.
const MAGNET = `magnet:?xt=urn:btih:${MAGNET_HASH}&dn=lonely-magnet&tr=${encodeURIComponent(`${DEAD}/announce`)}`
const UNKNOWN = "0123456789abcdef0123456789abcdef01234567"

/**
 * Fields bt-effect answers that qbittorrent-nox 4.5.2 does not, because we answer as 4.6 does: each is a
 * field 4.6 added (serialize_torrent.cpp and synccontroller.cpp at release-4.6.7). By endpoint label, the
 * paths (as jsonShape's diff names them) that may be ours only. app/preferences has none: we answer 4.5.2's
 * keys (not 4.6's max_inactive_seeding_time(_enabled)).
 */
const torrent46 = ["inactive_seeding_time_limit", "max_inactive_seeding_time"]
const from46: Readonly<Record<string, ReadonlyArray<string>>> = {
  // serialize_torrent.cpp 4.6: KEY_TORRENT_INACTIVE_SEEDING_TIME_LIMIT, KEY_TORRENT_MAX_INACTIVE_SEEDING_TIME.
  "torrents/info": torrent46.map((f) => `[].${f}`),
  // synccontroller.cpp 4.6: the torrents' new fields, and server_state's use_subcategories.
  "sync/maindata": [...torrent46.map((f) => `torrents.*.${f}`), "server_state.use_subcategories"]
}

/** Each exception of `from46` that was met ("label path"): the last test wants them all met, so that the
 *  list names no field we do not send. */
const met = new Set<string>()

/** A diff line is let through when it is a field only we have, listed for this endpoint in `from46`. */
const allowed = (label: string, line: string): boolean => {
  const [where = "", what = ""] = line.split(": ")
  const ok = what.startsWith("reference missing") && (from46[label] ?? []).includes(where)
  if (ok) met.add(`${label} ${where}`)
  return ok
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe("the qBittorrent API: bt-effect against qbittorrent-nox 4.5.2", () => {
  requiredInCi(version !== undefined, "qbittorrent-nox is not installed (Debian: apt-get install -y qbittorrent-nox)")
  let root: TempDir
  let nox: QbittorrentNox | undefined
  let daemon: Background | undefined
  /** The reference and ours (set in beforeAll), and each one's own folder. */
  const sides: Sides = { roots: { qbt: "", bte: "" } }
  const sideRoot = sides.roots
  const { normalize, both, compare, sided, call, post, infoOf, agree, listed, maindata } = comparison(sides, allowed)
  let qbt: QbtApiClient
  let bte: QbtApiClient
  let fixtures: Fixtures
  let album = ""
  let incomplete = ""

  beforeAll(async () => {
    if (version === undefined) return
    root = tempDir("bt-effect-qbt-api-")
    sideRoot.qbt = path.join(root.path, "qbt")
    sideRoot.bte = path.join(root.path, "bte")
    fixtures = await makeFixtures(root.path, [sideRoot.qbt, sideRoot.bte], DEAD)
    nox = await startQbittorrentNox({ address: "127.0.0.22", saveDir: path.join(sideRoot.qbt, "downloads"), username: USER, password: PASS, profileDir: path.join(sideRoot.qbt, "profile") })
    const started = await startDaemon("127.0.0.21", sideRoot.bte, USER, PASS)
    daemon = started.daemon
    qbt = { url: nox.url, login: nox.login, call: nox.call }
    bte = qbtApiClient(started.url, USER, PASS)
    sides.qbt = qbt
    sides.bte = bte
    await Promise.all([qbt.login(), bte.login()])
    await setUp(qbt, sideRoot.qbt, fixtures, MAGNET)
    await setUp(bte, sideRoot.bte, fixtures, MAGNET)
    // The hashes, read back by name from the reference; then both must have checked the album and seed it.
    const until = Date.now() + 30_000
    for (;;) {
      const [q, o] = await Promise.all([infoOf(qbt), infoOf(bte)])
      const byName = (list: Info, name: string) => list.find((t) => t["name"] === name)
      album = String(byName(q, "album")?.["hash"] ?? "")
      incomplete = String(byName(q, "incomplete")?.["hash"] ?? "")
      const seeding = (list: Info) => byName(list, "album")?.["state"] === "stalledUP" && list.length === 3
      if (seeding(q) && seeding(o)) break
      if (Date.now() > until) throw new Error(`not both seeding the album after 30 s: reference ${JSON.stringify(q.map((t) => [t["name"], t["state"]]))}, ours ${JSON.stringify(o.map((t) => [t["name"], t["state"]]))}`)
      await sleep(250)
    }
  }, 90_000)

  afterAll(async () => {
    if (daemon !== undefined) await stop(daemon.child)
    await nox?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  it("auth: login, wrong password, no or a made-up cookie, logout, the old cookie", async () => {
    const anon = { cookie: null }
    const login = await call("auth/login", "auth/login", { username: USER, password: PASS }, { method: "POST", cookie: null, text: true })
    const cookieAttributes = (r: QbtResponse) => r.setCookie.map((c) => c.replace(/^SID=[^;]*/, "SID=…"))
    expect.soft(cookieAttributes(login.o), "auth/login: Set-Cookie").toEqual(cookieAttributes(login.q))
    expect.soft(login.q.text).toBe("Ok.")
    const fails = await call("auth/login wrong password", "auth/login", { username: USER, password: "nope" }, { method: "POST", cookie: null, text: true })
    expect.soft([fails.q.text, fails.q.setCookie, fails.o.setCookie]).toEqual(["Fails.", [], []])
    await call("auth/login GET", "auth/login", { username: USER, password: PASS }, { cookie: null })
    await call("app/version without a cookie", "app/version", {}, anon)
    await call("torrents/info without a cookie", "torrents/info", {}, anon)
    await call("app/version with a made-up SID", "app/version", {}, { cookie: "SID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
    await call("auth/logout without a cookie", "auth/logout", {}, { method: "POST", cookie: null })
    // A second session of each, logged out; its cookie is then refused, the first still works.
    const sid = (r: QbtResponse) => /^SID=[^;]*/.exec(r.setCookie[0] ?? "")?.[0] ?? ""
    const [qSid, oSid] = [sid(login.q), sid(login.o)]
    const out = await sided("auth/logout", (c, side) => c.call("auth/logout", {}, { method: "POST", cookie: side === "qbt" ? qSid : oSid }), { text: true })
    const expiry = (r: QbtResponse) => r.setCookie.map((c) => c.replace(/expires=[^;]*/, "expires=…"))
    expect.soft(expiry(out.o), "auth/logout: Set-Cookie").toEqual(expiry(out.q))
    await sided("app/version with a logged-out SID", (c, side) => c.call("app/version", {}, { cookie: side === "qbt" ? qSid : oSid }))
    await call("app/version still logged in", "app/version")
  }, 30_000)

  it("app: version, webapiVersion, buildInfo, preferences, setPreferences, defaultSavePath", async () => {
    const v = await call("app/version", "app/version")
    expect.soft([v.q.text, v.o.text]).toEqual(["v4.5.2", "v4.6.7"])
    const api = await call("app/webapiVersion", "app/webapiVersion")
    // Different on purpose: 4.5.2 says 2.8.19, we answer as 4.6 does.
    expect.soft([api.q.text, api.o.text]).toEqual(["2.8.19", "2.9.3"])
    await call("app/version by POST", "app/version", {}, { method: "POST" })
    await call("app/buildInfo", "app/buildInfo")
    await call("app/preferences", "app/preferences")
    await post("app/setPreferences", "app/setPreferences", { json: JSON.stringify({ alt_dl_limit: 204800, max_ratio_enabled: false }) })
    const prefs = await call("app/preferences after setPreferences", "app/preferences", {}, { shapeLabel: "app/preferences" })
    const pick = (r: QbtResponse) => { const p = r.json() as Record<string, unknown>; return [p["alt_dl_limit"], p["max_ratio_enabled"]] }
    expect.soft(pick(prefs.o), "app/preferences: what was set").toEqual(pick(prefs.q))
    await post("app/setPreferences bad JSON", "app/setPreferences", { json: "{nope" })
    await post("app/setPreferences without json", "app/setPreferences", {})
    const saved = await call("app/defaultSavePath", "app/defaultSavePath")
    expect.soft(normalize("bte", saved.o.text)).toBe(normalize("qbt", saved.q.text))
  }, 30_000)

  it("torrents: states, info with its filters and orders, the detail endpoints, categories, tags, limits", async () => {
    for (const hash of [album, incomplete, MAGNET_HASH]) await agree(`state, tags and category of ${hash}`, hash, ["name", "state", "tags", "category"])
    await call("torrents/info", "torrents/info")
    await call("torrents/info by POST", "torrents/info", {}, { method: "POST", shapeLabel: "torrents/info" })
    for (const filter of ["all", "downloading", "seeding", "completed", "paused", "resumed", "active", "inactive", "stalled", "stalled_uploading", "stalled_downloading", "checking", "errored", "bogus"]) {
      await listed(`torrents/info filter=${filter}`, { filter })
    }
    await listed("torrents/info category=movies", { category: "movies" })
    await listed("torrents/info category= (none)", { category: "" })
    await listed("torrents/info category=unknown", { category: "unknown" })
    await listed("torrents/info tag=alpha", { tag: "alpha" })
    await listed("torrents/info tag= (none)", { tag: "" })
    await listed("torrents/info hashes", { hashes: `${album}|${incomplete}` })
    await listed("torrents/info hashes upper case", { hashes: album.toUpperCase() })
    await listed("torrents/info sort=name", { sort: "name" }, true)
    await listed("torrents/info sort=size reverse", { sort: "size", reverse: "true" }, true)
    await listed("torrents/info sort=name limit=1", { sort: "name", limit: 1 }, true)
    await listed("torrents/info sort=name offset=1", { sort: "name", offset: 1 }, true)
    await listed("torrents/info sort=name offset=-1", { sort: "name", offset: -1 }, true)
    await listed("torrents/info filter=all category=movies tag=alpha", { filter: "all", category: "movies", tag: "alpha" })
    await call("torrents/info sort=bogus", "torrents/info", { sort: "bogus" })

    for (const [what, hash] of [["album", album], ["incomplete", incomplete], ["magnet", MAGNET_HASH]] as const) {
      await call(`torrents/properties ${what}`, "torrents/properties", { hash })
      const trackers = await call(`torrents/trackers ${what}`, "torrents/trackers", { hash })
      const urls = (r: QbtResponse) => (r.json() as Info).map((t) => t["url"])
      expect.soft(urls(trackers.o), `torrents/trackers ${what}: urls`).toEqual(urls(trackers.q))
      const seeds = await call(`torrents/webseeds ${what}`, "torrents/webseeds", { hash })
      expect.soft(seeds.o.json(), `torrents/webseeds ${what}: urls`).toEqual(seeds.q.json())
      const files = await call(`torrents/files ${what}`, "torrents/files", { hash })
      const layout = (r: QbtResponse) => (r.json() as Info).map((f) => [f["index"], f["name"], f["size"], f["piece_range"], f["priority"]])
      expect.soft(layout(files.o), `torrents/files ${what}: layout`).toEqual(layout(files.q))
      const states = await call(`torrents/pieceStates ${what}`, "torrents/pieceStates", { hash })
      expect.soft(states.o.json(), `torrents/pieceStates ${what}`).toEqual(states.q.json())
      const hashes = await call(`torrents/pieceHashes ${what}`, "torrents/pieceHashes", { hash })
      expect.soft(hashes.o.json(), `torrents/pieceHashes ${what}`).toEqual(hashes.q.json())
    }
    await call("torrents/properties upper-case hash", "torrents/properties", { hash: album.toUpperCase() }, { shapeLabel: "torrents/properties" })
    const upper = await call("torrents/uploadLimit upper-case hash", "torrents/uploadLimit", { hashes: album.toUpperCase() }, { maps: [""], shapeLabel: "torrents/uploadLimit" })
    expect.soft(upper.o.json(), "torrents/uploadLimit upper-case hash").toEqual(upper.q.json())
    const some = await call("torrents/files indexes=0|2", "torrents/files", { hash: album, indexes: "0|2" }, { shapeLabel: "torrents/files" })
    expect.soft((some.o.json() as Info).map((f) => f["index"])).toEqual((some.q.json() as Info).map((f) => f["index"]))

    const categories = await call("torrents/categories", "torrents/categories", {}, { maps: [""] })
    expect.soft(normalize("bte", categories.o.json()), "torrents/categories").toEqual(normalize("qbt", categories.q.json()))
    const tags = await call("torrents/tags", "torrents/tags")
    expect.soft((tags.o.json() as Array<string>).sort(), "torrents/tags").toEqual((tags.q.json() as Array<string>).sort())
    for (const endpoint of ["downloadLimit", "uploadLimit"]) {
      const limits = await call(`torrents/${endpoint}`, `torrents/${endpoint}`, { hashes: `${album}|${incomplete}` }, { method: "POST", maps: [""] })
      expect.soft(limits.o.json(), `torrents/${endpoint}`).toEqual(limits.q.json())
      await call(`torrents/${endpoint} GET`, `torrents/${endpoint}`, { hashes: album }, { maps: [""], shapeLabel: `torrents/${endpoint}` })
    }
    // Adding what is there already, or what is no torrent.
    const again = await both("torrents/add", {}, { method: "POST", body: addForm({ torrents: fixtures.albumTorrent }) })
    compare("torrents/add a duplicate", again, { text: true })
    const junk = new FormData()
    junk.append("torrents", new Blob([Buffer.from("not a torrent at all")], { type: "application/x-bittorrent" }), "junk.torrent")
    await call("torrents/add not a torrent", "torrents/add", {}, { method: "POST", body: junk })
  }, 60_000)

  it("errors: unknown hash, missing parameter, GET on POST-only, unknown endpoint, another Origin, PUT", async () => {
    for (const endpoint of ["properties", "trackers", "webseeds", "files", "pieceStates", "pieceHashes"]) {
      await call(`torrents/${endpoint} unknown hash`, `torrents/${endpoint}`, { hash: UNKNOWN })
    }
    await post("torrents/rename unknown hash", "torrents/rename", { hash: UNKNOWN, name: "x" })
    await post("torrents/filePrio unknown hash", "torrents/filePrio", { hash: UNKNOWN, id: "0", priority: 1 })
    await call("sync/torrentPeers unknown hash", "sync/torrentPeers", { hash: UNKNOWN })
    await call("torrents/properties malformed hash", "torrents/properties", { hash: "xyz" })
    await call("torrents/properties no hash", "torrents/properties")
    await call("sync/torrentPeers no hash", "sync/torrentPeers")
    const missing: ReadonlyArray<[string, QbtParamsIn]> = [
      ["torrents/pause", {}], ["torrents/resume", {}], ["torrents/delete", { hashes: UNKNOWN }],
      ["torrents/setShareLimits", { hashes: album }], ["torrents/setForceStart", { hashes: album }],
      ["torrents/createCategory", {}], ["torrents/setDownloadLimit", { hashes: album }],
      ["transfer/setDownloadLimit", {}], ["torrents/setLocation", { hashes: album }], ["torrents/rename", { hash: album }],
      // Checked before the hashes: also when no hash names a torrent.
      ["torrents/setDownloadLimit", { hashes: UNKNOWN }], ["torrents/setShareLimits", { hashes: UNKNOWN, ratioLimit: 1 }],
      ["torrents/setForceStart", { hashes: UNKNOWN }], ["torrents/setLocation", { hashes: UNKNOWN }],
      ["torrents/setCategory", { hashes: UNKNOWN }], ["torrents/addTags", { hashes: UNKNOWN }], ["torrents/setAutoManagement", { hashes: UNKNOWN }]
    ]
    for (const [apiPath, params] of missing) await post(`${apiPath} missing a parameter`, apiPath, params)
    await post("torrents/setLocation empty", "torrents/setLocation", { hashes: album, location: "" })
    await post("torrents/rename empty", "torrents/rename", { hash: album, name: "" })
    await post("torrents/createCategory empty", "torrents/createCategory", { category: "" })
    await post("torrents/createCategory exists", "torrents/createCategory", { category: "movies", savePath: "" })
    await post("torrents/createCategory invalid name", "torrents/createCategory", { category: "bad\\name" })
    await post("torrents/editCategory unknown", "torrents/editCategory", { category: "nosuch", savePath: "" })
    await post("torrents/setCategory unknown", "torrents/setCategory", { hashes: album, category: "nosuch" })
    await post("torrents/filePrio bad priority", "torrents/filePrio", { hash: album, id: "0", priority: 3 })
    await post("torrents/filePrio bad id", "torrents/filePrio", { hash: album, id: "99", priority: 1 })
    await post("torrents/filePrio magnet", "torrents/filePrio", { hash: MAGNET_HASH, id: "0", priority: 1 })
    for (const apiPath of ["torrents/pause", "torrents/resume", "torrents/delete", "torrents/add", "torrents/createCategory", "torrents/setCategory", "torrents/addTags", "app/setPreferences", "transfer/toggleSpeedLimitsMode", "transfer/setDownloadLimit"]) {
      await call(`${apiPath} by GET`, apiPath, { hashes: album })
    }
    for (const apiPath of ["torrents/nosuch", "nosuch/thing", "torrents/info/more"]) await call(`${apiPath} (unknown)`, apiPath)
    const evil = { headers: { Origin: "http://evil.example" } }
    await call("app/version with another Origin", "app/version", {}, evil)
    await call("auth/login with another Origin", "auth/login", { username: USER, password: PASS }, { ...evil, method: "POST", cookie: null })
    await call("app/version with another Referer", "app/version", {}, { headers: { Referer: "http://evil.example/page" } })
    await sided("app/version with its own Origin", (c) => c.call("app/version", {}, { headers: { Origin: c.url } }))
    const put = await call("app/version by PUT", "app/version", {}, { method: "PUT" })
    expect.soft(put.o.text, "PUT: body").toBe(put.q.text)
  }, 30_000)

  it("transfer: info, speed limits mode, global limits", async () => {
    await call("transfer/info", "transfer/info")
    const mode = await call("transfer/speedLimitsMode", "transfer/speedLimitsMode", {}, { text: true })
    expect.soft(mode.q.text).toBe("0")
    await post("transfer/toggleSpeedLimitsMode", "transfer/toggleSpeedLimitsMode")
    await call("transfer/speedLimitsMode after a toggle", "transfer/speedLimitsMode", {}, { text: true })
    await post("transfer/setSpeedLimitsMode", "transfer/setSpeedLimitsMode", { mode: 0 })
    await call("transfer/speedLimitsMode after set", "transfer/speedLimitsMode", {}, { text: true })
    await post("transfer/setDownloadLimit", "transfer/setDownloadLimit", { limit: 1048576 })
    await post("transfer/setUploadLimit", "transfer/setUploadLimit", { limit: 524288 })
    await call("transfer/downloadLimit", "transfer/downloadLimit", {}, { text: true })
    await call("transfer/uploadLimit", "transfer/uploadLimit", {}, { text: true })
    const info = await call("transfer/info after limits", "transfer/info", {}, { shapeLabel: "transfer/info" })
    const limits = (r: QbtResponse) => { const i = r.json() as Record<string, unknown>; return [i["dl_rate_limit"], i["up_rate_limit"]] }
    expect.soft(limits(info.o), "transfer/info: the limits").toEqual(limits(info.q))
    await post("transfer/setDownloadLimit 0", "transfer/setDownloadLimit", { limit: 0 })
    await post("transfer/setUploadLimit 0", "transfer/setUploadLimit", { limit: 0 })
  }, 30_000)

  it("sync: maindata full, then incremental after changes; torrentPeers", async () => {
    const maps = ["torrents", "categories", "trackers"]
    const full = await maindata("sync/maindata rid=0", true)
    compare("sync/maindata rid=0", full, { maps, shapeLabel: "sync/maindata" })
    for (const section of ["torrents", "categories", "tags", "trackers", "server_state"]) {
      expect.soft(section in full.od, `sync/maindata: ${section}`).toBe(section in full.qd)
    }
    expect.soft(Object.keys(full.od["torrents"] as object).sort()).toEqual(Object.keys(full.qd["torrents"] as object).sort())
    const fullShape = shapeOf(full.qd, maps)

    // A change: tags and an upload limit on the album. The next update names them, in the full update's types.
    await post("torrents/addTags (sync)", "torrents/addTags", { hashes: album, tags: "gamma" })
    await post("torrents/setUploadLimit (sync)", "torrents/setUploadLimit", { hashes: album, limit: 51200 })
    await sleep(300)
    const next = await maindata("sync/maindata incremental")
    for (const [who, d] of [["reference", next.qd], ["ours", next.od]] as const) {
      expect.soft(d["full_update"], `sync/maindata incremental, ${who}: full_update`).toBeUndefined()
      const changed = ((d["torrents"] ?? {}) as Record<string, Record<string, unknown>>)[album] ?? {}
      expect.soft([changed["tags"], changed["up_limit"]], `sync/maindata incremental, ${who}: the album's change`).toEqual(["alpha, beta, gamma", 51200])
      const differences = diffShapes(fullShape, shapeOf({ ...full.qd, ...d, torrents: { ...(full.qd["torrents"] as object), [album]: { ...((full.qd["torrents"] as Record<string, object>)[album]), ...changed } } }, maps))
        .filter((line) => !allowed("sync/maindata", line))
      expect.soft(differences, `sync/maindata incremental, ${who}: types as in the full update`).toEqual([])
    }
    const none = await maindata("sync/maindata nothing changed")
    expect.soft(Object.keys(none.od).filter((k) => k !== "server_state" && k !== "torrents").sort(), "sync/maindata with nothing changed: ours")
      .toEqual(Object.keys(none.qd).filter((k) => k !== "server_state" && k !== "torrents").sort())

    // A category removed, a torrent deleted: the update says so.
    await post("torrents/createCategory (sync)", "torrents/createCategory", { category: "scratch", savePath: "" })
    await maindata("sync/maindata after createCategory")
    await post("torrents/removeCategories (sync)", "torrents/removeCategories", { categories: "scratch" })
    const removed = await maindata("sync/maindata after removeCategories")
    expect.soft(removed.od["categories_removed"], "categories_removed").toEqual(removed.qd["categories_removed"])
    expect.soft(removed.qd["categories_removed"]).toEqual(["scratch"])

    await call("sync/maindata no rid", "sync/maindata", {}, { maps, shapeLabel: "sync/maindata" })
    await call("sync/maindata unknown rid", "sync/maindata", { rid: 999999 }, { maps, shapeLabel: "sync/maindata" })
    await call("sync/torrentPeers", "sync/torrentPeers", { hash: album, rid: 0 }, { maps: ["peers"] })
    await call("sync/torrentPeers magnet", "sync/torrentPeers", { hash: MAGNET_HASH, rid: 0 }, { maps: ["peers"], shapeLabel: "sync/torrentPeers" })
  }, 30_000)

  it("torrents actions: each answers as the reference and does what it does there", async () => {
    await post("torrents/pause", "torrents/pause", { hashes: album })
    await agree("after pause", album, ["state"], { state: "pausedUP" })
    await post("torrents/resume", "torrents/resume", { hashes: album })
    await agree("after resume", album, ["state"], { state: "stalledUP" }, 15_000)
    await post("torrents/pause all", "torrents/pause", { hashes: "all" })
    await agree("after pause all: the magnet", MAGNET_HASH, ["state"], { state: "pausedDL" })
    await post("torrents/resume all", "torrents/resume", { hashes: "all" })
    await agree("after resume all: the album", album, ["state"], { state: "stalledUP" }, 15_000)
    await post("torrents/pause the incomplete again", "torrents/pause", { hashes: incomplete })
    await agree("the incomplete paused", incomplete, ["state"], { state: "pausedDL" })

    await post("torrents/setCategory", "torrents/setCategory", { hashes: incomplete, category: "movies" })
    await agree("after setCategory", incomplete, ["category"], { category: "movies" })
    await post("torrents/setCategory clear", "torrents/setCategory", { hashes: incomplete, category: "" })
    await agree("after setCategory clear", incomplete, ["category"], { category: "" })
    for (const side of ["qbt", "bte"] as const) fs.mkdirSync(path.join(sideRoot[side], "cats", "music"), { recursive: true })
    await sided("torrents/createCategory", (c, side) => c.call("torrents/createCategory", { category: "music", savePath: path.join(sideRoot[side], "cats", "music") }, { method: "POST" }), { text: true })
    await sided("torrents/editCategory", (c, side) => c.call("torrents/editCategory", { category: "tv", savePath: path.join(sideRoot[side], "cats", "tv") }, { method: "POST" }), { text: true })
    const cats = await call("torrents/categories after create and edit", "torrents/categories", {}, { maps: [""], shapeLabel: "torrents/categories" })
    expect.soft(normalize("bte", cats.o.json()), "categories after create and edit").toEqual(normalize("qbt", cats.q.json()))
    await post("torrents/removeCategories", "torrents/removeCategories", { categories: "music\nnosuch" })
    const catsAfter = await call("torrents/categories after remove", "torrents/categories", {}, { maps: [""], shapeLabel: "torrents/categories" })
    expect.soft(Object.keys(catsAfter.o.json() as object).sort()).toEqual(Object.keys(catsAfter.q.json() as object).sort())

    await post("torrents/createTags", "torrents/createTags", { tags: " delta , epsilon,," })
    await post("torrents/addTags", "torrents/addTags", { hashes: incomplete, tags: "delta" })
    await agree("after addTags", incomplete, ["tags"], { tags: "delta, gamma" })
    await post("torrents/removeTags", "torrents/removeTags", { hashes: incomplete, tags: "delta" })
    await agree("after removeTags", incomplete, ["tags"], { tags: "gamma" })
    await post("torrents/deleteTags", "torrents/deleteTags", { tags: "epsilon,nosuch" })
    const tags = await call("torrents/tags after create and delete", "torrents/tags", {}, { shapeLabel: "torrents/tags" })
    expect.soft((tags.o.json() as Array<string>).sort()).toEqual((tags.q.json() as Array<string>).sort())
    await post("torrents/addTags again", "torrents/addTags", { hashes: incomplete, tags: "delta" })
    await post("torrents/removeTags with tags empty", "torrents/removeTags", { hashes: incomplete, tags: "" })
    await agree("after removeTags with tags empty", incomplete, ["tags"], { tags: "" })
    await post("torrents/addTags once more", "torrents/addTags", { hashes: incomplete, tags: "delta" })
    await post("torrents/removeTags without tags", "torrents/removeTags", { hashes: incomplete })
    await agree("after removeTags without tags", incomplete, ["tags"])

    const limits = ["ratio_limit", "seeding_time_limit", "max_ratio", "max_seeding_time"]
    await post("torrents/setShareLimits", "torrents/setShareLimits", { hashes: album, ratioLimit: 2, seedingTimeLimit: 120, inactiveSeedingTimeLimit: -2 })
    await agree("after setShareLimits", album, limits, { ratio_limit: 2, seeding_time_limit: 120, max_ratio: 2, max_seeding_time: 120 })
    await post("torrents/setShareLimits back to the session's", "torrents/setShareLimits", { hashes: album, ratioLimit: -2, seedingTimeLimit: -2 })
    await agree("after setShareLimits -2", album, limits)
    await post("torrents/setDownloadLimit", "torrents/setDownloadLimit", { hashes: incomplete, limit: 102400 })
    await agree("after setDownloadLimit", incomplete, ["dl_limit"], { dl_limit: 102400 })
    await post("torrents/setUploadLimit", "torrents/setUploadLimit", { hashes: album, limit: 40960 })
    await agree("after setUploadLimit", album, ["up_limit"], { up_limit: 40960 })
    await post("torrents/setUploadLimit unknown hash", "torrents/setUploadLimit", { hashes: UNKNOWN, limit: 1 })

    await post("torrents/filePrio", "torrents/filePrio", { hash: incomplete, id: "0", priority: 0 })
    const files = await call("torrents/files after filePrio", "torrents/files", { hash: incomplete }, { shapeLabel: "torrents/files" })
    const prios = (r: QbtResponse) => (r.json() as Info).map((f) => f["priority"])
    expect.soft(prios(files.o), "files after filePrio").toEqual(prios(files.q))
    expect.soft(prios(files.q)).toEqual([0, 1])
    await post("torrents/filePrio several", "torrents/filePrio", { hash: incomplete, id: "0|1", priority: 7 })

    await post("torrents/toggleSequentialDownload", "torrents/toggleSequentialDownload", { hashes: incomplete })
    await agree("after toggleSequentialDownload", incomplete, ["seq_dl"], { seq_dl: true })
    await post("torrents/setForceStart", "torrents/setForceStart", { hashes: album, value: "true" })
    await agree("after setForceStart", album, ["force_start", "state"], { force_start: true, state: "forcedUP" })
    await post("torrents/setForceStart off", "torrents/setForceStart", { hashes: album, value: "false" })
    await agree("after setForceStart off", album, ["force_start", "state"], { force_start: false, state: "stalledUP" })
    await post("torrents/setAutoManagement", "torrents/setAutoManagement", { hashes: incomplete, enable: "true" })
    await agree("after setAutoManagement", incomplete, ["auto_tmm"], { auto_tmm: true })
    await post("torrents/setAutoManagement off", "torrents/setAutoManagement", { hashes: incomplete, enable: "false" })
    await agree("after setAutoManagement off", incomplete, ["auto_tmm"], { auto_tmm: false })

    for (const endpoint of ["topPrio", "bottomPrio", "increasePrio", "decreasePrio"]) {
      await post(`torrents/${endpoint}`, `torrents/${endpoint}`, { hashes: MAGNET_HASH })
      for (const hash of [incomplete, MAGNET_HASH]) await agree(`after ${endpoint}: priority of ${hash}`, hash, ["priority"])
    }

    await post("torrents/rename", "torrents/rename", { hash: incomplete, name: "renamed" })
    await agree("after rename", incomplete, ["name"], { name: "renamed" })
    await sided("torrents/setLocation", (c, side) => c.call("torrents/setLocation", { hashes: incomplete, location: path.join(sideRoot[side], "moved") }, { method: "POST" }), { text: true })
    await agree("after setLocation", incomplete, ["save_path"], { save_path: "<root>/moved" })
    await post("torrents/recheck", "torrents/recheck", { hashes: album })
    await agree("after recheck", album, ["state", "progress"], { state: "stalledUP", progress: 1 }, 15_000)
    await post("torrents/reannounce", "torrents/reannounce", { hashes: album })

    const before = await maindata("sync/maindata before delete", true)
    expect.soft(before.o.status).toBe(200)
    await post("torrents/delete", "torrents/delete", { hashes: MAGNET_HASH, deleteFiles: "false" })
    await post("torrents/delete with files", "torrents/delete", { hashes: incomplete, deleteFiles: "true" })
    await post("torrents/delete unknown hash", "torrents/delete", { hashes: UNKNOWN, deleteFiles: "false" })
    await listed("torrents/info after delete", {})
    const after = await maindata("sync/maindata after delete")
    const removed = (d: Record<string, unknown>) => [...((d["torrents_removed"] ?? []) as Array<string>)].sort()
    expect.soft(removed(after.od), "torrents_removed").toEqual(removed(after.qd))
    expect.soft(removed(after.qd)).toEqual([incomplete, MAGNET_HASH].sort())

    // Added again with add's options; then the album deleted with its data.
    await sided("torrents/add with options", (c, side) => c.call("torrents/add", {}, {
      method: "POST",
      body: addForm({
        torrents: fixtures.incompleteTorrent, savepath: path.join(sideRoot[side], "elsewhere"), paused: "true",
        rename: "again", category: "movies", tags: "alpha,zeta", upLimit: "30000", dlLimit: "20000", ratioLimit: "1.5",
        seedingTimeLimit: "60", sequentialDownload: "true", autoTMM: "false"
      })
    }), { text: true })
    await agree("after add with options", incomplete, ["name", "state", "save_path", "category", "tags", "up_limit", "dl_limit", "ratio_limit", "seeding_time_limit", "max_ratio", "max_seeding_time", "seq_dl", "auto_tmm"], {
      name: "again", state: "pausedDL", save_path: "<root>/elsewhere", category: "movies", tags: "alpha, zeta", up_limit: 30000, dl_limit: 20000,
      ratio_limit: 1.5, seeding_time_limit: 60, max_ratio: 1.5, max_seeding_time: 60, seq_dl: true, auto_tmm: false
    })
    await post("torrents/delete the album with its data", "torrents/delete", { hashes: album, deleteFiles: "true" })
    await listed("torrents/info after the last delete", {})
    for (const side of ["qbt", "bte"] as const) {
      const gone = path.join(sideRoot[side], "data", "album")
      const until = Date.now() + 5_000
      while (fs.existsSync(gone) && Date.now() < until) await sleep(100)
      expect.soft(fs.existsSync(gone), `${side}: the album's data after delete with files`).toBe(false)
    }
  }, 90_000)

  it("every field let through as 4.6's was met", () => {
    expect([...met].sort()).toEqual(Object.entries(from46).flatMap(([label, paths]) => paths.map((p) => `${label} ${p}`)).sort())
  })
})
