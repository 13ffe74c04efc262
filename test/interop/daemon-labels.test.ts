/**
 * Categories, tags and the incomplete folder of a real `bt-effect daemon` (on 127.0.0.41, DHT off,
 * --rpc-auth), its torrent seeded by a real aria2c on 127.0.0.42 through a local tracker:
 * - over the Transmission RPC: torrent-add `labels` become the torrent's tags; torrent-get `labels` is
 *   [category, ...tags] beside bt-effect's own `category` and `tags`; torrent-set `labels` changes the tags
 *   and keeps the category while it is named among them (drops it when not);
 * - session-set incomplete-dir and incomplete-dir-enabled: the download is in the incomplete folder while it
 *   runs and moved to the download folder when complete, nothing left behind;
 * - a torrent whose folder follows its category (torrents/setAutoManagement) moved into it, moved again
 *   when the category's path is edited (torrents/editCategory; to a folder on another file system, tmpfs,
 *   when there is one: a copy), and back when it leaves the category;
 * - categories and tags made through the qBittorrent API (auth/login, torrents/createCategory, createTags)
 *   and the torrent's own survive a restart of the daemon;
 * - the share action "remove with files" (max_ratio_act 3) at a ratio of 0: the seed and its data are gone.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { background, stop, stopAllBackground } from "../support/cli.js"
import { aria2cVersion, freePort, startAria2Seeder, startTracker, stopAll, tempDir } from "../support/interop.js"
import { makePayload, verifyDownload } from "../support/payload.js"
import { until } from "../support/rpcCall.js"
import { requiredInCi } from "../support/skips.js"

const user = "labels"
const password = "labels-pass"
const daemonHost = "127.0.0.41"
const seederHost = "127.0.0.42"
const basic = "Basic " + Buffer.from(`${user}:${password}`).toString("base64")

type Json = Record<string, any>

/** One Transmission RPC call (Basic auth, the session-id handshake); its arguments, or a throw naming the result. */
const rpcOn = (base: string) => async (method: string, args: Json): Promise<Json> => {
  const url = `${base}/transmission/rpc`
  const body = JSON.stringify({ method, arguments: args })
  const headers: Record<string, string> = { authorization: basic }
  const first = await fetch(url, { method: "POST", body, headers, signal: AbortSignal.timeout(10_000) })
  headers["x-transmission-session-id"] = first.headers.get("x-transmission-session-id") ?? ""
  const reply = await fetch(url, { method: "POST", body, headers, signal: AbortSignal.timeout(10_000) })
  const answer = (await reply.json()) as { result: string; arguments: Json }
  if (answer.result !== "success") throw new Error(`${method}: ${answer.result}`)
  return answer.arguments
}

/** The qBittorrent API, logged in (the SID cookie): a POST of a urlencoded form, or a GET. */
const qbtOn = async (base: string) => {
  const login = await fetch(`${base}/api/v2/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", referer: base },
    body: new URLSearchParams({ username: user, password }).toString()
  })
  const text = await login.text()
  const cookie = login.headers.get("set-cookie")?.split(";")[0]
  if (text !== "Ok." || cookie === undefined) throw new Error(`login: ${login.status} ${text}`)
  return async (method: string, form?: Record<string, string>) => {
    const response = await fetch(`${base}/api/v2/${method}`, {
      method: form === undefined ? "GET" : "POST",
      headers: { cookie, referer: base, ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
      signal: AbortSignal.timeout(10_000)
    })
    return { status: response.status, text: await response.text() }
  }
}

const fields = ["id", "labels", "category", "tags", "downloadDir", "percentDone", "status"]

describe("interop: categories, tags and the incomplete folder of the daemon", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  const root = tempDir("bt-effect-labels-")
  // A folder on another file system when there is one (tmpfs): a move there is a copy, not a rename.
  const otherDevice = fs.existsSync("/dev/shm") && fs.statSync("/dev/shm").dev !== fs.statSync(root.path).dev
  const elsewhere = otherDevice ? fs.mkdtempSync("/dev/shm/bt-effect-labels-") : path.join(root.path, "elsewhere")
  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
    fs.rmSync(elsewhere, { recursive: true, force: true })
  }, 30_000)

  it("labels over the Transmission RPC, a download through the incomplete folder, labels kept across a restart, removal with data at the share limit", async () => {
    const tracker = await startTracker()
    const payload = makePayload(path.join(root.path, "payload"), "multi", { fileCount: 30, seed: 61, name: "Album", announce: tracker.httpUrl, pieceLength: 65536 })
    // Slowly enough (about 8 s) that the download is seen in the incomplete folder.
    const limit = `${Math.ceil(payload.totalLength / 8 / 1024)}K`
    await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker, host: seederHost, extraArgs: [`--max-overall-upload-limit=${limit}`] })

    const downloads = path.join(root.path, "downloads")
    const incomplete = path.join(root.path, "incomplete")
    const state = path.join(root.path, "state")
    const rpcPort = await freePort(daemonHost)
    const base = `http://${daemonHost}:${rpcPort}`
    const startDaemon = () => background([
      "daemon", "--rpc-host", daemonHost, "--rpc-port", String(rpcPort), "--bind", daemonHost, "--peer-port", "0",
      "--download-dir", downloads, "--state", state, "--no-dht", "--rpc-auth", `${user}:${password}`,
      "--allow-folder", path.join(root.path, "films"), "--allow-folder", elsewhere
    ], /qBittorrent API http:\/\/\S+\/api\/v2/, 30_000)
    const rpc = rpcOn(base)
    const get = async () => ((await rpc("torrent-get", { fields })).torrents as Array<Json>)[0]!

    let daemon = await startDaemon()
    try {
      const qbt = await qbtOn(base)
      expect(await qbt("torrents/createCategory", { category: "music", savePath: "" })).toEqual({ status: 200, text: "" })
      expect(await qbt("torrents/createCategory", { category: "films/hd", savePath: path.join(root.path, "films") })).toEqual({ status: 200, text: "" })
      expect((await qbt("torrents/createCategory", { category: "music", savePath: "" })).status).toBe(409)
      // A folder outside the download folders and those allowed: refused.
      expect((await qbt("torrents/createCategory", { category: "away", savePath: path.join(root.path, "away") })).status).toBe(403)
      expect(await qbt("torrents/createTags", { tags: "spare,other" })).toEqual({ status: 200, text: "" })

      await rpc("session-set", { "incomplete-dir": incomplete, "incomplete-dir-enabled": true })
      expect(await rpc("session-get", { fields: ["incomplete-dir", "incomplete-dir-enabled"] })).toMatchObject({ "incomplete-dir": incomplete, "incomplete-dir-enabled": true })

      // Added with labels: they are its tags (and the session's from then on).
      const added = await rpc("torrent-add", { metainfo: fs.readFileSync(payload.torrentPath).toString("base64"), labels: ["new", "flac"] })
      expect(added["torrent-added"]?.hashString).toBe(payload.infoHash)
      expect(await get()).toMatchObject({ labels: ["flac", "new"], category: "", tags: ["flac", "new"] })
      expect(await qbt("torrents/setCategory", { hashes: payload.infoHash, category: "music" })).toEqual({ status: 200, text: "" })
      expect(await get()).toMatchObject({ labels: ["music", "flac", "new"], category: "music", tags: ["flac", "new"] })

      // torrent-set labels: the category named stays, the rest are the tags.
      await rpc("torrent-set", { ids: [payload.infoHash], labels: ["music", "flac", "lossless"] })
      expect(await get()).toMatchObject({ labels: ["music", "flac", "lossless"], category: "music", tags: ["flac", "lossless"] })

      // While it downloads it is in the incomplete folder; complete, it is in the download folder and nothing is left behind.
      let last: Json = {}
      const running = await until("some data in the incomplete folder", async () => {
        last = await get()
        return last.percentDone > 0 && last.percentDone < 1 ? last : undefined
      }, 60_000).catch((e) => {
        throw new Error(`${e}: ${JSON.stringify(last)} (${payload.totalLength} bytes)\n${daemon.output().slice(-3000)}`)
      })
      expect(running.downloadDir).toBe(incomplete)
      expect(fs.existsSync(path.join(incomplete, payload.name))).toBe(true)
      expect(fs.existsSync(path.join(downloads, payload.name))).toBe(false)
      await until("complete in the download folder", async () => {
        const t = await get()
        return t.percentDone === 1 && t.downloadDir === downloads ? t : undefined
      }, 90_000)
      expect(await verifyDownload(payload, downloads)).toEqual([])
      await until("the incomplete folder emptied", async () => (fs.existsSync(path.join(incomplete, payload.name)) ? undefined : true), 10_000)
      expect(fs.readdirSync(incomplete)).toEqual([])

      // Its folder made to follow its category: moved to the category's ("" is its name under the download
      // folder), and again when the category's path is edited.
      expect((await qbt("torrents/setAutoManagement", { hashes: payload.infoHash, enable: "true" })).status).toBe(200)
      await until("moved to the category's folder", async () => ((await get()).downloadDir === path.join(downloads, "music") ? true : undefined), 15_000)
      expect(await verifyDownload(payload, path.join(downloads, "music"))).toEqual([])
      expect(fs.existsSync(path.join(downloads, payload.name))).toBe(false)
      // To another file system when there is one: copied, the old data removed, no temporary copy left.
      expect(await qbt("torrents/editCategory", { category: "music", savePath: elsewhere })).toEqual({ status: 200, text: "" })
      await until("moved to the category's new folder", async () => ((await get()).downloadDir === elsewhere ? true : undefined), 15_000)
      expect(await verifyDownload(payload, elsewhere)).toEqual([])
      expect(fs.readdirSync(elsewhere)).toEqual([payload.name])
      expect(fs.readdirSync(path.join(downloads, "music"))).toEqual([])
      expect(fs.readdirSync(path.join(state, "moving"))).toEqual([])
      // Seeding again from there.
      await until("seeding in the new folder", async () => ((await get()).status === 6 ? true : undefined), 15_000)

      expect(await stop(daemon.child)).toBe(130)
      daemon = await startDaemon()
      const again = await qbtOn(base)
      expect(JSON.parse((await again("torrents/categories")).text)).toEqual({
        music: { name: "music", savePath: elsewhere },
        "films/hd": { name: "films/hd", savePath: path.join(root.path, "films") }
      })
      expect((JSON.parse((await again("torrents/tags")).text) as Array<string>).sort()).toEqual(["flac", "lossless", "new", "other", "spare"])
      const restored = await until("the torrent restored, seeding", async () => {
        const t = await get()
        return t.percentDone === 1 && t.status === 6 ? t : undefined
      }, 30_000)
      expect(restored).toMatchObject({ labels: ["music", "flac", "lossless"], category: "music", tags: ["flac", "lossless"], downloadDir: elsewhere })

      // Labels without the category: it is out of it, and (following its category) back in the download folder.
      await rpc("torrent-set", { ids: [payload.infoHash], labels: ["flac"] })
      expect(await get()).toMatchObject({ labels: ["flac"], category: "", tags: ["flac"] })
      await until("back in the download folder", async () => ((await get()).downloadDir === downloads ? true : undefined), 15_000)
      expect(await verifyDownload(payload, downloads)).toEqual([])

      // A share limit reached at once (ratio 0), acted on by removing the seed with its data.
      const prefs = await again("app/setPreferences", { json: JSON.stringify({ max_ratio_enabled: true, max_ratio: 0, max_ratio_act: 3 }) })
      expect(prefs.status).toBe(200)
      await until("the seed removed", async () => (((await rpc("torrent-get", { fields })).torrents as Array<Json>).length === 0 ? true : undefined), 15_000)
      await until("its data removed", async () => (fs.existsSync(path.join(downloads, payload.name)) ? undefined : true), 10_000)
    } finally {
      await stop(daemon.child)
    }
  }, 240_000)
})
