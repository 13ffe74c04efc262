/**
 * Hostile input on the qBittorrent API of a real `bt-effect daemon` (the built CLI, on its own loopback
 * address 127.0.0.41, --rpc-auth, DHT off): wrong and missing cookies, a login flood from one address
 * (banned with qBittorrent's words while another address still logs in), a body over the daemon's limit
 * and many large uploads at once (refused, the daemon answering afterwards), an upload that is not a
 * torrent (415, nothing added), folders outside the allowed ones in `savepath`, `setLocation` and
 * `createCategory` (403, nothing moved or created; allowed inside --allow-folder), and /metrics behind the
 * RPC's Basic authentication. Needs nothing outside npm.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeMultipart } from "../../src/protocol/Multipart.js"
import { type Background, background, stop } from "../support/cli.js"
import { freePort, tempDir, type TempDir } from "../support/interop.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const host = "127.0.0.41"
const user = "admin"
const password = "hostile-secret"
const bannedText = "Your IP address has been banned after too many failed authentication attempts."
const boundary = "----bt-effect-hostile"

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface Ask {
  readonly method?: string
  readonly headers?: http.OutgoingHttpHeaders
  readonly body?: string | Uint8Array
  /** The client socket's own address. */
  readonly from?: string
}

let port = 0
let daemon: Background | undefined
let root: TempDir
let downloads = ""
let allowed = ""
let outside = ""
let cookie = ""

/** One request to the daemon, 20 s at most. */
const ask = (urlPath: string, options: Ask = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const req = http.request({
      host, port, path: urlPath, method: options.method ?? "GET", headers: options.headers ?? {}, agent: false, timeout: 20_000,
      ...(options.from !== undefined ? { localAddress: options.from } : {})
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", reject)
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", reject)
    req.end(options.body)
  })

const api = (method: string, options: Ask = {}) => ask(`/api/v2/${method}`, options)

const form = (fields: Record<string, string>, extra: http.OutgoingHttpHeaders = {}): Ask => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...extra },
  body: new URLSearchParams(fields).toString()
})

const multipart = (fields: Record<string, string>, files: ReadonlyArray<{ readonly filename: string; readonly data: Uint8Array }>): Ask => ({
  method: "POST",
  headers: { "content-type": `multipart/form-data; boundary=${boundary}`, cookie },
  body: encodeMultipart(Object.entries(fields), files.map((f) => ({ name: "torrents", filename: f.filename, contentType: "application/x-bittorrent", data: f.data })), boundary)
})

const login = async (from?: string): Promise<string> => {
  const answer = await api("auth/login", { ...form({ username: user, password }), ...(from !== undefined ? { from } : {}) })
  expect([answer.status, answer.body]).toEqual([200, "Ok."])
  const sid = /^SID=([^;]+);/.exec(String(answer.headers["set-cookie"]))
  if (sid === null) throw new Error(`no SID cookie: ${JSON.stringify(answer.headers)}`)
  return `SID=${sid[1]}`
}

const torrentsInfo = async (): Promise<ReadonlyArray<{ readonly hash: string; readonly save_path: string; readonly name: string }>> => {
  const answer = await api("torrents/info", { headers: { cookie } })
  expect(answer.status).toBe(200)
  return JSON.parse(answer.body) as ReadonlyArray<{ hash: string; save_path: string; name: string }>
}

/** The daemon still answers, quickly. */
const alive = async () => {
  const started = Date.now()
  const answer = await api("app/version", { headers: { cookie } })
  expect([answer.status, answer.body]).toEqual([200, "v4.6.7"])
  expect(Date.now() - started).toBeLessThan(5_000)
}

type Upload = { readonly status: number; readonly body: string } | { readonly closed: string }

/**
 * Streams a body of `size` bytes (a multipart .torrent part of junk, so that it is not all in memory here)
 * and resolves with the answer, or with how the connection ended when it was cut before an answer.
 */
const upload = (size: number, chunkDelayMs = 0) =>
  new Promise<Upload>((resolve) => {
    let settled = false
    const settle = (u: Upload) => {
      if (!settled) {
        settled = true
        resolve(u)
      }
    }
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="torrents"; filename="big.torrent"\r\n\r\n`)
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const chunk = Buffer.alloc(1 << 20, 0x61)
    const req = http.request({
      host, port, path: "/api/v2/torrents/add", method: "POST", agent: false, timeout: 60_000,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(size), cookie }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", (e) => settle({ status: res.statusCode ?? 0, body: `(cut: ${e.message})` }))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => settle({ closed: (e as NodeJS.ErrnoException).code ?? e.message }))
    let left = size - head.length - tail.length
    const pump = () => {
      while (left > 0 && !req.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
        left -= piece.length
        const more = req.write(piece)
        const next = () => (chunkDelayMs > 0 ? setTimeout(pump, chunkDelayMs) : pump())
        if (!more) return void req.once("drain", next)
        if (chunkDelayMs > 0) return void next()
      }
      if (left <= 0 && !req.destroyed) req.end(tail)
    }
    req.write(head)
    pump()
  })

beforeAll(async () => {
  root = tempDir("bt-effect-qbt-hostile-")
  downloads = path.join(root.path, "downloads")
  allowed = path.join(root.path, "allowed")
  outside = path.join(root.path, "outside")
  for (const dir of [downloads, allowed, outside]) fs.mkdirSync(dir)
  port = await freePort(host)
  daemon = await background([
    "daemon", "--rpc-host", host, "--rpc-port", String(port), "--peer-port", "0", "--download-dir", downloads,
    "--state", path.join(root.path, "state"), "--no-dht", "--rpc-auth", `${user}:${password}`, "--allow-folder", allowed
  ], /qBittorrent API http:\/\/127\.0\.0\.41:\d+\/api\/v2/, 30_000)
  cookie = await login()
}, 40_000)

afterAll(async () => {
  if (daemon !== undefined) expect(await stop(daemon.child)).toBe(130)
  root?.remove()
}, 20_000)

describe("interop: hostile input on the daemon's qBittorrent API", () => {
  it("no cookie, a made-up cookie, a logged-out cookie: 403 Forbidden; a page elsewhere: 401", async () => {
    expect(await api("torrents/info")).toMatchObject({ status: 403, body: "Forbidden" })
    expect(await api("torrents/info", { headers: { cookie: "SID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } })).toMatchObject({ status: 403, body: "Forbidden" })
    expect(await api("torrents/delete", form({ hashes: "all", deleteFiles: "true" }, { cookie: "SID=nope" }))).toMatchObject({ status: 403, body: "Forbidden" })
    const other = await login()
    expect((await api("app/version", { headers: { cookie: other } })).status).toBe(200)
    expect((await api("auth/logout", { method: "POST", headers: { cookie: other } })).status).toBe(200)
    expect(await api("app/version", { headers: { cookie: other } })).toMatchObject({ status: 403, body: "Forbidden" })
    // The cookie of a live session, sent from a page elsewhere.
    expect(await api("torrents/pause", form({ hashes: "all" }, { cookie, origin: "http://evil.example" }))).toMatchObject({ status: 401, body: "Unauthorized" })
    await alive()
  }, 20_000)

  it("a login flood: five Fails., the sixth 403 with qBittorrent's words (the right password too); another address logs in", async () => {
    const flooder = "127.0.0.43"
    for (let i = 0; i < 5; i++) {
      expect(await api("auth/login", { ...form({ username: user, password: `guess-${i}` }), from: flooder })).toMatchObject({ status: 200, body: "Fails." })
    }
    const sixth = await api("auth/login", { ...form({ username: user, password: "guess-6" }), from: flooder })
    expect([sixth.status, sixth.body, sixth.headers["set-cookie"]]).toEqual([403, bannedText, undefined])
    expect(await api("auth/login", { ...form({ username: user, password }), from: flooder })).toMatchObject({ status: 403, body: bannedText })
    expect(await api("app/version", { headers: { cookie }, from: flooder })).toMatchObject({ status: 403, body: "Forbidden" })
    // Another address: its login works, the daemon's other sessions too.
    const other = await login("127.0.0.42")
    expect((await api("app/version", { headers: { cookie: other }, from: "127.0.0.42" })).status).toBe(200)
    await alive()
  }, 20_000)

  it("a body over the daemon's limit: 413 or the connection closed, nothing added, the daemon answers afterwards", async () => {
    const result = await upload(48 * 1024 * 1024)
    if ("status" in result) expect(result.status).toBe(413)
    else expect(result.closed).toMatch(/EPIPE|ECONNRESET|socket hang up/)
    await alive()
    expect(await torrentsInfo()).toEqual([])
  }, 60_000)

  it("many large uploads at once: some refused (503 or 413 or closed), the daemon alive and nothing added", async () => {
    // Eight of 30 MiB each, streamed side by side: 240 MiB against the daemon's budget of two of its
    // largest bodies in flight.
    const results = await Promise.all(Array.from({ length: 8 }, () => upload(30 * 1024 * 1024, 2)))
    const summary = results.map((r) => ("status" in r ? r.status : r.closed))
    for (const r of results) {
      if ("status" in r) expect([r.status, r.body]).toSatisfy(([status]: [number]) => [503, 413, 415].includes(status))
      else expect(r.closed).toMatch(/EPIPE|ECONNRESET|socket hang up/)
    }
    // Not all read: some were refused for the budget.
    expect(summary.filter((s) => s !== 415).length, JSON.stringify(summary)).toBeGreaterThan(0)
    await alive()
    expect(await torrentsInfo()).toEqual([])
  }, 90_000)

  it("an upload that is not a torrent: 415 with qBittorrent's words, nothing added (nor the good one beside it)", async () => {
    const good = makeTorrent({ name: "good", pieceLength: 16384, files: [{ path: ["g.bin"], data: randomBytes(20_000, 41) }] })
    const junk = await api("torrents/add", multipart({}, [{ filename: "junk.torrent", data: Buffer.from("<html>not a torrent</html>") }]))
    expect([junk.status, junk.body]).toEqual([415, "Error: 'junk.torrent' is not a valid torrent file."])
    const mixed = await api("torrents/add", multipart({ paused: "true" }, [{ filename: "good.torrent", data: good.bytes }, { filename: "bad.torrent", data: randomBytes(5000, 3) }]))
    expect([mixed.status, mixed.body]).toEqual([415, "Error: 'bad.torrent' is not a valid torrent file."])
    expect(await torrentsInfo()).toEqual([])
  }, 20_000)

  it("folders outside the allowed ones: savepath, setLocation and createCategory refused (403), nothing moved or created; inside --allow-folder fine", async () => {
    const t = makeTorrent({ name: "placed", pieceLength: 16384, files: [{ path: ["p.bin"], data: randomBytes(30_000, 42) }] })
    const hash = Buffer.from(t.metainfo.infoHash!).toString("hex")
    const escape = path.join(outside, "taken")
    // savepath outside: 403, nothing added nor made.
    for (const savepath of [escape, `${downloads}/../outside/taken`, "../outside/taken"]) {
      const refused = await api("torrents/add", multipart({ savepath, paused: "true" }, [{ filename: "placed.torrent", data: t.bytes }]))
      expect([savepath, refused.status]).toEqual([savepath, 403])
    }
    expect(await torrentsInfo()).toEqual([])
    // Inside --allow-folder: added there.
    const placed = await api("torrents/add", multipart({ savepath: path.join(allowed, "in"), paused: "true" }, [{ filename: "placed.torrent", data: t.bytes }]))
    expect([placed.status, placed.body]).toEqual([200, "Ok."])
    let info = await torrentsInfo()
    expect(info.map((i) => [i.hash, path.resolve(i.save_path)])).toEqual([[hash, path.join(allowed, "in")]])
    // setLocation outside: 403, where it is unchanged, nothing made outside.
    for (const location of [escape, "/etc", `${allowed}/../outside/taken`]) {
      const refused = await api("torrents/setLocation", form({ hashes: hash, location }, { cookie }))
      expect([location, refused.status]).toEqual([location, 403])
    }
    // A symbolic link inside the allowed folder that points outside is no way out.
    fs.symlinkSync(outside, path.join(allowed, "link-out"))
    expect((await api("torrents/setLocation", form({ hashes: hash, location: path.join(allowed, "link-out", "x") }, { cookie }))).status).toBe(403)
    info = await torrentsInfo()
    expect(path.resolve(info[0]!.save_path)).toBe(path.join(allowed, "in"))
    // setLocation inside: moved.
    expect((await api("torrents/setLocation", form({ hashes: hash, location: path.join(allowed, "moved") }, { cookie }))).status).toBe(200)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && path.resolve((await torrentsInfo())[0]!.save_path) !== path.join(allowed, "moved")) await new Promise((r) => setTimeout(r, 200))
    expect(path.resolve((await torrentsInfo())[0]!.save_path)).toBe(path.join(allowed, "moved"))
    // createCategory with a folder outside: 403, no category; inside: made.
    expect((await api("torrents/createCategory", form({ category: "evil", savePath: "/etc" }, { cookie }))).status).toBe(403)
    expect((await api("torrents/createCategory", form({ category: "evil2", savePath: escape }, { cookie }))).status).toBe(403)
    expect((await api("torrents/createCategory", form({ category: "good", savePath: path.join(allowed, "cat") }, { cookie }))).status).toBe(200)
    expect((await api("torrents/editCategory", form({ category: "good", savePath: "/root" }, { cookie }))).status).toBe(403)
    const categories = JSON.parse((await api("torrents/categories", { headers: { cookie } })).body) as Record<string, { savePath: string }>
    expect(Object.keys(categories)).toEqual(["good"])
    expect(path.resolve(categories["good"]!.savePath)).toBe(path.join(allowed, "cat"))
    // Nothing was made outside, nor under the link.
    expect(fs.readdirSync(outside)).toEqual([])
    expect(fs.existsSync("/etc/placed")).toBe(false)
    expect((await api("torrents/delete", form({ hashes: hash, deleteFiles: "true" }, { cookie }))).status).toBe(200)
  }, 40_000)

  it("odd requests: prototype names, other methods, oversized headers, a huge password, a malformed multipart: refused, the daemon alive", async () => {
    for (const name of ["torrents/constructor", "torrents/__proto__", "__proto__/version", "constructor/constructor"]) {
      expect([name, (await api(name, { headers: { cookie } })).status]).toEqual([name, 404])
    }
    expect(await api("app/version", { method: "PUT", headers: { cookie } })).toMatchObject({ status: 400, body: "" })
    expect(await api("torrents/delete?hashes=all&deleteFiles=true", { headers: { cookie } })).toMatchObject({ status: 405, body: "Method Not Allowed" })
    // Headers over the server's limit: 431 from node's parser.
    expect((await api("app/version", { headers: { cookie, "x-filler": "x".repeat(32 * 1024) } })).status).toBe(431)
    // A megabyte of password is a failed login, from an address of its own (its count is its own).
    expect(await api("auth/login", { ...form({ username: user, password: "p".repeat(1 << 20) }), from: "127.0.0.44" })).toMatchObject({ status: 200, body: "Fails." })
    const cut = await api("torrents/add", { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}`, cookie }, body: `--${boundary}\r\nContent-Disposition: form-data; name="urls"\r\n\r\nmagnet:?xt=urn:btih:${"ab".repeat(20)}` })
    expect(cut.status).toBe(400)
    expect(await torrentsInfo()).toEqual([])
    await alive()
  }, 20_000)

  it("/metrics: 401 without Basic authentication or with a wrong one, 200 in the Prometheus text format with it", async () => {
    const without = await ask("/metrics")
    expect(without.status).toBe(401)
    expect(without.headers["www-authenticate"]).toMatch(/^Basic /)
    expect((await ask("/metrics", { headers: { authorization: `Basic ${Buffer.from(`${user}:wrong`).toString("base64")}` } })).status).toBe(401)
    // The API's cookie is not the RPC's login.
    expect((await ask("/metrics", { headers: { cookie } })).status).toBe(401)
    const scraped = await ask("/metrics", { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` } })
    expect(scraped.status).toBe(200)
    expect(scraped.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(scraped.body).toMatch(/^# HELP bt_effect_\w+ .+\n# TYPE bt_effect_\w+ (gauge|counter)\n/)
    expect(scraped.body).toMatch(/^bt_effect_uptime_seconds \d+(\.\d+)?$/m)
    // Every line a comment or a sample.
    for (const line of scraped.body.trimEnd().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+|\w+(\{[^}]*\})? (NaN|\+Inf|-Inf))$/)
  }, 20_000)
})
