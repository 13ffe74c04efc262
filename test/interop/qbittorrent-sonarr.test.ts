/**
 * The flow Sonarr drives a qBittorrent download client through (issue 22), against a real `bt-effect daemon`
 * (on 127.0.0.31, DHT off, --rpc-auth) whose torrents come from real aria2c seeders (on 127.0.0.32) and a
 * local tracker. The requests are Sonarr's as its QBittorrentProxyV2.cs and QBittorrent.cs send them
 * (Sonarr v4): the same calls in the same order, the same bodies (urlencoded forms; multipart with Sonarr's
 * boundary and part layout for a .torrent upload), a preemptive Basic header beside the SID cookie, and the
 * fields it reads judged as it judges them (GetItems' states, HasReachedSeedLimit, content_path != save_path):
 * - app/webapiVersion without a session is 403 (the v2 API is there), then auth/login, webapiVersion,
 *   app/preferences (dht off: Sonarr takes a magnet only when it names a tracker), torrents/categories;
 * - the user's setup beforehand, in the API: an incomplete folder, a session share limit (ratio 0, then
 *   stop) and automatic management (so that a category's folder is where its torrents go), and the category
 *   "tv-sonarr" with its own save path;
 * - torrents/add of an uploaded .torrent (share limits left to the session's) and of a magnet by URL (its
 *   metadata from the seeder named in x.pe, ratioLimit=0 of its own), both with category and paused=false;
 *   then, as Sonarr does after an add, torrents/properties until the torrent is known, topPrio and addTags,
 *   and setForceStart for the magnet (Sonarr's initial state "Force Start");
 * - GetItems' poll (webapiVersion, preferences, torrents/info?category=tv-sonarr): the .torrent goes from
 *   downloading to pausedUP at its ratio limit; the forced magnet seeds on past its limit (forcedUP, as
 *   qBittorrent leaves forced torrents out of share limits) until the force is taken off, then stops too;
 *   both end with content_path under the category's folder, the payload's bytes there and nothing left in
 *   the incomplete folder; no row is ever pausedUP while its data is still in the incomplete folder (Sonarr
 *   would import and remove it in the middle of the move; qBittorrent says "moving" then);
 * - torrents/files and torrents/properties (GetImportItem, seeding_time), then torrents/delete with
 *   deleteFiles=true: the data and the torrents are gone.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { magnetLink } from "../support/aria2Magnet.js"
import { background, stop, stopAllBackground } from "../support/cli.js"
import { aria2cVersion, freePort, startAria2Seeder, startTracker, stopAll, tempDir } from "../support/interop.js"
import { makePayload, type Payload, verifyDownload } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const user = "sonarr"
const password = "s0narr-pass"
const category = "tv-sonarr"
const daemonHost = "127.0.0.31"
const seederHost = "127.0.0.32"

interface Reply {
  readonly status: number
  readonly text: string
  readonly json: () => any
}

type Form = ReadonlyArray<{ readonly name: string; readonly value: string | Uint8Array; readonly fileName?: string }>

/** Sonarr's HttpRequestBuilder.ApplyFormData: multipart when a part is a file (or over 1 KiB), else urlencoded. */
const encodeForm = (form: Form): { readonly contentType: string; readonly body: Buffer } => {
  const multipart = form.some((f) => f.fileName !== undefined || (typeof f.value === "string" ? Buffer.byteLength(f.value) : f.value.length) > 1024)
  if (!multipart) {
    return {
      contentType: "application/x-www-form-urlencoded",
      body: Buffer.from(form.map((f) => `${f.name}=${encodeURIComponent(String(f.value))}`).join("&"))
    }
  }
  const boundary = "-----------------------------" + Date.now().toString(16).padStart(14, "0")
  const chunks: Array<Buffer> = []
  for (const f of form) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"` +
      (f.fileName !== undefined ? `; filename="${f.fileName}"\r\nContent-Type: application/octet-stream` : "") + "\r\n\r\n"))
    chunks.push(Buffer.from(f.value), Buffer.from("\r\n"))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) }
}

/** A client that sends what Sonarr's QBittorrentProxyV2 sends, and logs every call it made. */
const sonarrClient = (base: string) => {
  let cookie: string | undefined
  const calls: Array<string> = []
  const basic = "Basic " + Buffer.from(`${user}:${password}`, "latin1").toString("base64")
  const send = async (method: string, query: Record<string, string> = {}, form?: Form, withCookie = true): Promise<Reply> => {
    const url = new URL(`${base}/api/v2/${method}`)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
    const headers: Record<string, string> = { authorization: basic, accept: "application/json, text/javascript, */*" }
    if (withCookie && cookie !== undefined) headers.cookie = cookie
    const encoded = form === undefined ? undefined : encodeForm(form)
    if (encoded !== undefined) headers["content-type"] = encoded.contentType
    const response = await fetch(url, { method: form === undefined ? "GET" : "POST", headers, ...(encoded !== undefined ? { body: encoded.body } : {}) })
    const text = await response.text()
    calls.push(`${form === undefined ? "GET" : "POST"} ${method}${url.search} -> ${response.status}`)
    const setCookie = response.headers.get("set-cookie")
    if (method === "auth/login" && setCookie !== null) cookie = setCookie.split(";")[0]
    return { status: response.status, text, json: () => JSON.parse(text) }
  }
  /** ProcessRequest: logs in first (once), and again on a 403. */
  const call = async (method: string, query: Record<string, string> = {}, form?: Form): Promise<Reply> => {
    if (cookie === undefined) await login()
    const first = await send(method, query, form)
    if (first.status !== 403) return first
    await login()
    return send(method, query, form)
  }
  const login = async () => {
    const reply = await send("auth/login", {}, [{ name: "username", value: user }, { name: "password", value: password }], false)
    if (reply.text !== "Ok." || cookie === undefined) throw new Error(`login: ${reply.status} ${reply.text}`)
  }
  return { send, call, calls, cookie: () => cookie }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Sonarr's HasReachedSeedLimit for the ratio. */
const reachedRatio = (t: any, prefs: any) =>
  t.ratio_limit >= 0 ? t.ratio_limit - t.ratio <= 0.001 : t.ratio_limit === -2 && prefs.max_ratio_enabled && prefs.max_ratio - t.ratio <= 0.001

describe("interop: Sonarr's qBittorrent flow against bt-effect daemon", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  const root = tempDir("bt-effect-sonarr-")
  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  it("logs in, sets up, adds a .torrent and a magnet into a category, sees them complete, stop at their ratio and move, deletes with files", async () => {
    const started = Date.now()
    const since = () => `${((Date.now() - started) / 1000).toFixed(1)}s`
    const tracker = await startTracker()
    // The .torrent: a folder of 30 files (1.1 MB); the magnet: one file of 3 MiB. Each seeded by aria2c
    // slowly enough (256 KB/s, 1 MB/s) to be seen downloading for a few seconds.
    const episode: Payload = makePayload(path.join(root.path, "episode"), "multi", { fileCount: 30, seed: 41, name: "Show.S01E01", announce: tracker.httpUrl, pieceLength: 65536 })
    const other: Payload = makePayload(path.join(root.path, "other"), "single", { size: 3 * 1024 * 1024, seed: 42, name: "Show.S01E02.mkv", announce: tracker.httpUrl, pieceLength: 65536 })
    await startAria2Seeder({ torrent: episode.torrentPath, dataDir: episode.dataDir, tracker, host: seederHost, extraArgs: ["--max-overall-upload-limit=256K"] })
    const otherSeeder = await startAria2Seeder({ torrent: other.torrentPath, dataDir: other.dataDir, tracker, host: seederHost, extraArgs: ["--max-overall-upload-limit=1M"] })

    const downloads = path.join(root.path, "downloads")
    const incomplete = path.join(root.path, "incomplete")
    const tvFolder = path.join(root.path, "media", "tv")
    fs.mkdirSync(incomplete, { recursive: true })
    const rpcPort = await freePort(daemonHost)
    const daemon = await background([
      "daemon", "--rpc-host", daemonHost, "--rpc-port", String(rpcPort), "--bind", daemonHost, "--peer-port", "0",
      "--download-dir", downloads, "--state", path.join(root.path, "state"), "--no-dht", "--rpc-auth", `${user}:${password}`,
      "--allow-folder", root.path
    ], /qBittorrent API http:\/\/\S+\/api\/v2/, 30_000)
    const sonarr = sonarrClient(`http://${daemonHost}:${rpcPort}`)
    const states = new Map<string, Array<string>>()
    // Rows Sonarr would take as finished and removable (pausedUP at the ratio limit) while their data is
    // still in the incomplete folder: it would import from there, and remove the torrent, during the move.
    const hazards: Array<string> = []
    try {
      // IsApiSupported: no session yet, 403 says "v2 is here".
      expect((await sonarr.send("app/webapiVersion", {}, undefined, false)).status).toBe(403)
      const version = await sonarr.call("app/webapiVersion")
      expect(version.status).toBe(200)
      expect(sonarr.cookie()).toMatch(/^SID=\S+$/)
      // Sonarr compares versions: >= 2.8.1 takes share limits on add, < 2.11 says "paused", >= 2.6.1 gives content_path.
      expect(version.text).toBe("2.9.3")

      // The user's setup (qBittorrent's options dialog sends app/setPreferences).
      const setup = await sonarr.call("app/setPreferences", {}, [{
        name: "json",
        value: JSON.stringify({ temp_path_enabled: true, temp_path: incomplete, max_ratio_enabled: true, max_ratio: 0, max_ratio_act: 0, auto_tmm_enabled: true })
      }])
      expect([setup.status, setup.text]).toEqual([200, ""])
      const created = await sonarr.call("torrents/createCategory", {}, [{ name: "category", value: category }, { name: "savePath", value: tvFolder }])
      expect([created.status, created.text]).toEqual([200, ""])

      // Sonarr's Test(): preferences (queueing, dht, the share limit action: 0 is "stop", which it accepts).
      const prefs = (await sonarr.call("app/preferences")).json()
      expect(prefs).toMatchObject({ dht: false, temp_path_enabled: true, temp_path: incomplete, max_ratio_enabled: true, max_ratio: 0, max_ratio_act: 0, auto_tmm_enabled: true })
      const categories = (await sonarr.call("torrents/categories")).json()
      expect(categories[category]).toEqual({ name: category, savePath: tvFolder })
      expect((await sonarr.call("torrents/info", { category })).json()).toEqual([])

      // AddFromTorrentFile: multipart, the file under "torrents".
      const upload = await sonarr.call("torrents/add", {}, [
        { name: "torrents", fileName: "Show.S01E01.torrent", value: fs.readFileSync(episode.torrentPath) },
        { name: "category", value: category },
        { name: "paused", value: "False" }
      ])
      expect([upload.status, upload.text]).toEqual([200, "Ok."])
      // AddFromMagnetLink: dht is off, so the magnet must name a tracker; the seed config's ratio goes along.
      const magnet = magnetLink(other.infoHash, { name: other.name, peers: [otherSeeder.address], trackers: [tracker.httpUrl] })
      expect(magnet).toContain("&tr=")
      const byUrl = await sonarr.call("torrents/add", {}, [
        { name: "urls", value: magnet },
        { name: "category", value: category },
        { name: "paused", value: "False" },
        { name: "ratioLimit", value: "0" }
      ])
      expect([byUrl.status, byUrl.text]).toEqual([200, "Ok."])

      // After an add: WaitForTorrent (properties until known), then, each by the lower-case hash, topPrio
      // (Sonarr's priority "First"; queueing is on, so not 409), addTags (its series tags) and, for the
      // magnet only, setForceStart (Sonarr's initial state "Force Start"; the .torrent is left to the
      // default "Start", which sends nothing more).
      for (const hash of [episode.infoHash, other.infoHash]) {
        let loaded = false
        for (let i = 0; i < 10 && !loaded; i++) {
          loaded = (await sonarr.call("torrents/properties", { hash })).status === 200
          if (!loaded) await sleep(100)
        }
        expect(loaded, `torrents/properties ${hash}: ${sonarr.calls.slice(-3).join("; ")}`).toBe(true)
        expect((await sonarr.call("torrents/topPrio", {}, [{ name: "hashes", value: hash }])).status).toBe(200)
        expect((await sonarr.call("torrents/addTags", {}, [{ name: "hashes", value: hash }, { name: "tags", value: "sonarr,tv" }])).status).toBe(200)
      }
      expect((await sonarr.call("torrents/setForceStart", {}, [{ name: "hashes", value: other.infoHash }, { name: "value", value: "true" }])).status).toBe(200)

      // GetItems, every 100 ms: the states each torrent goes through, until the first is where Sonarr may
      // import and remove it, and the forced one is complete and has seeded past its ratio limit for 3 s
      // (qBittorrent leaves forced seeds out of its share limits).
      type Row = Record<string, any>
      let rows: ReadonlyArray<Row> = []
      const byHash = () => new Map(rows.map((t) => [t.hash, t]))
      const done = (t: Row | undefined) => t !== undefined && t.state === "pausedUP" && t.progress === 1 && t.content_path !== t.save_path
      let forcedSeedingSince: number | undefined
      const poll = async () => {
        expect((await sonarr.call("app/webapiVersion")).text).toBe("2.9.3")
        const config = (await sonarr.call("app/preferences")).json()
        rows = (await sonarr.call("torrents/info", { category })).json()
        for (const t of rows) {
          const seen = states.get(t.hash) ?? []
          if (seen.at(-1) !== t.state) {
            states.set(t.hash, [...seen, t.state])
            console.log(`${since()} ${t.name}: ${t.state} progress ${t.progress} ratio ${t.ratio} ratio_limit ${t.ratio_limit} content_path ${t.content_path}`)
          }
          // Never stopped short of its limit (Sonarr would remove it too early).
          if (t.state === "pausedUP") expect(reachedRatio(t, config), JSON.stringify(t)).toBe(true)
          if (t.state === "pausedUP" && String(t.content_path).startsWith(incomplete + path.sep)) hazards.push(`${since()} ${t.name}: pausedUP at ${t.content_path}`)
        }
      }
      const until = async (what: string, check: () => boolean, ms: number) => {
        const end = Date.now() + ms
        while (Date.now() < end) {
          await poll()
          if (check()) return
          await sleep(100)
        }
        throw new Error(`not within ${ms} ms: ${what}; states ${JSON.stringify(Object.fromEntries(states))}; rows ${JSON.stringify(rows)}`)
      }
      await until("the .torrent stopped at its ratio, the magnet seeding forced for 3 s", () => {
        const forced = byHash().get(other.infoHash)
        // Seeding forced from its completion (after its move: a row held for the move is no stop).
        if (forced?.state === "forcedUP" && String(forced.content_path).startsWith(tvFolder)) forcedSeedingSince ??= Date.now()
        else if (forcedSeedingSince !== undefined) expect(forced?.state, JSON.stringify(forced)).toBe("forcedUP")
        return done(byHash().get(episode.infoHash)) && forcedSeedingSince !== undefined && Date.now() - forcedSeedingSince > 3_000
      }, 60_000)
      expect(byHash().get(other.infoHash)).toMatchObject({ state: "forcedUP", progress: 1, ratio_limit: 0, force_start: true })
      expect(reachedRatio(byHash().get(other.infoHash), prefs)).toBe(true)
      // The force taken off (Sonarr's user in qBittorrent's list): the share limit applies, and it stops.
      expect((await sonarr.call("torrents/setForceStart", {}, [{ name: "hashes", value: other.infoHash }, { name: "value", value: "false" }])).status).toBe(200)
      await until("the magnet stopped at its ratio", () => done(byHash().get(other.infoHash)), 15_000)
      console.log(`states: ${JSON.stringify(Object.fromEntries(states))}; both stopped at ${since()}`)

      expect(rows.map((t) => t.hash).sort()).toEqual([episode.infoHash, other.infoHash].sort())
      for (const t of rows) {
        expect(t, JSON.stringify(t)).toMatchObject({
          state: "pausedUP", progress: 1, category, tags: "sonarr, tv", save_path: tvFolder, amount_left: 0, force_start: false
        })
        expect(t.content_path.startsWith(tvFolder + path.sep)).toBe(true)
        expect(reachedRatio(t, prefs)).toBe(true)
        // Complete: eta is qBittorrent's "infinity", which Sonarr takes as none.
        expect(t.eta).toBe(8640000)
      }
      expect(byHash().get(episode.infoHash)).toMatchObject({ ratio_limit: -2, content_path: path.join(tvFolder, episode.name) })
      expect(byHash().get(other.infoHash)).toMatchObject({ ratio_limit: 0, content_path: path.join(tvFolder, other.name) })
      // Each was seen downloading before it completed; the forced one as forced.
      expect(states.get(episode.infoHash)?.some((s) => ["downloading", "stalledDL", "metaDL"].includes(s)), JSON.stringify(states.get(episode.infoHash))).toBe(true)
      expect(states.get(other.infoHash)?.some((s) => ["forcedDL", "forcedMetaDL"].includes(s)), JSON.stringify(states.get(other.infoHash))).toBe(true)
      // The data is the seeders', in the category's folder, and left the incomplete folder.
      expect(await verifyDownload(episode, tvFolder)).toEqual([])
      expect(await verifyDownload(other, tvFolder)).toEqual([])
      expect(fs.readdirSync(incomplete)).toEqual([])

      // GetImportItem's calls (not needed from 2.6.1 on, but answered): files and the save path; seeding_time.
      const files = (await sonarr.call("torrents/files", { hash: episode.infoHash })).json()
      expect(files.map((f: Row) => f.name).sort()).toEqual(episode.files.map((f) => f.path).sort())
      const props = (await sonarr.call("torrents/properties", { hash: episode.infoHash })).json()
      expect(props).toMatchObject({ save_path: tvFolder })
      expect(typeof props.seeding_time).toBe("number")

      // RemoveItem with deleteData.
      for (const hash of [episode.infoHash, other.infoHash]) {
        const removed = await sonarr.call("torrents/delete", {}, [{ name: "hashes", value: hash }, { name: "deleteFiles", value: "true" }])
        expect([removed.status, removed.text]).toEqual([200, ""])
      }
      const gone = Date.now() + 10_000
      while (Date.now() < gone && (fs.existsSync(path.join(tvFolder, episode.name)) || fs.existsSync(path.join(tvFolder, other.name)))) await sleep(100)
      expect(fs.existsSync(path.join(tvFolder, episode.name))).toBe(false)
      expect(fs.existsSync(path.join(tvFolder, other.name))).toBe(false)
      expect((await sonarr.call("torrents/info", { category })).json()).toEqual([])
      console.log(`calls: ${sonarr.calls.length}, finished at ${since()}`)
      // Last, so that all of the above is known when it fails: never "done" with the data not yet moved
      // (qBittorrent says "moving" then, which Sonarr takes as downloading).
      expect(hazards).toEqual([])
    } catch (e) {
      throw e instanceof Error ? Object.assign(e, { message: `${e.message}\ndaemon: ${daemon.output().slice(-4000)}` }) : e
    } finally {
      expect(await stop(daemon.child)).toBe(130)
    }
  }, 110_000)
})
