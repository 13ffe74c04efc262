/**
 * The qBittorrent API's router (QbtApi.ts) served by RpcServer on 127.0.0.1 over a memory session, as the
 * daemon serves it: the checks every request passes in qBittorrent's order (Origin/Referer 401, the ban
 * 403 with qBittorrent's words on a login, the cookie 403, unknown scope or method 404 (prototype names
 * included), GET on a POST endpoint 405, other methods 400) and the parameters from the query string,
 * an urlencoded body or a multipart body (a malformed one 400). Statuses and bodies as in the catalog
 * (/work/notes/qbt-ref: auth_*.json, error_*.json).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import { encodeMultipart } from "../../../src/protocol/Multipart.js"
import * as QbtAdd from "../../../src/services/qbittorrent/QbtAdd.js"
import * as QbtApi from "../../../src/services/qbittorrent/QbtApi.js"
import { appEndpoints } from "../../../src/services/qbittorrent/QbtApp.js"
import * as QbtAuth from "../../../src/services/qbittorrent/QbtAuth.js"
import * as QbtLabels from "../../../src/services/qbittorrent/QbtLabels.js"
import * as QbtTorrentActions from "../../../src/services/qbittorrent/QbtTorrentActions.js"
import { make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../../src/services/session/RpcServer.js"
import { SessionControl } from "../../../src/services/session/SessionControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const torrent = makeTorrent({ name: "album", pieceLength: 16384, files: [{ path: ["a.flac"], data: randomBytes(40_000, 7) }] })
const hash = Buffer.from(torrent.metainfo.infoHash!).toString("hex")
const bannedText = "Your IP address has been banned after too many failed authentication attempts."

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface Ask {
  readonly method?: string
  readonly headers?: http.OutgoingHttpHeaders
  readonly body?: string | Uint8Array
  /** The client's own address (127.0.0.x), as another machine would be. */
  readonly from?: string
}

/** One HTTP request with exactly these headers; 5 s at most. */
const ask = (port: number, path: string, options: Ask = {}) =>
  Effect.async<Answer, Error>((resume) => {
    const req = http.request({
      host: "127.0.0.1", port, method: options.method ?? "GET", path, headers: options.headers ?? {}, agent: false, timeout: 5_000,
      ...(options.from !== undefined ? { localAddress: options.from } : {})
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString()
})

const serve = (options: { readonly credentials: QbtAuth.Credentials | undefined } = { credentials: { username: "admin", password: "secret" } }) =>
  Effect.gen(function*() {
    const { credentials } = options
    const memory = yield* makeMemory()
    const actions = { allowedFolders: [] }
    const auth = QbtAuth.make({ credentials })
    const route = QbtApi.route({
      auth,
      scopes: {
        app: appEndpoints,
        torrents: { ...QbtTorrentActions.make(actions), ...QbtLabels.make(actions), add: QbtAdd.make(actions) },
        // An endpoint that dies: the router answers 500, the server lives on.
        test: { die: { post: false, run: () => Effect.die(new Error("boom")) } }
      }
    })
    const { port } = yield* RpcServer.make({ port: 0, routes: [route] }).pipe(Effect.provideService(SessionControl, memory))
    const call = (path: string, options: Ask = {}) => ask(port, `/api/v2/${path}`, options)
    const login = (from?: string) =>
      Effect.gen(function*() {
        const answer = yield* call("auth/login", { ...form({ username: "admin", password: "secret" }), ...(from !== undefined ? { from } : {}) })
        expect(answer.status).toBe(200)
        const cookie = /^SID=([^;]+);/.exec(String(answer.headers["set-cookie"]))
        if (cookie === null) throw new Error(`no cookie: ${JSON.stringify(answer.headers)}`)
        return `SID=${cookie[1]}`
      })
    return { port, memory, call, login }
  })

describe("qBittorrent API: the router", () => {
  it.scopedLive("login: Ok. with the SID cookie as qBittorrent sets it; Fails. without; GET 405", () =>
    Effect.gen(function*() {
      const { call } = yield* serve()
      const ok = yield* call("auth/login", form({ username: "admin", password: "secret" }))
      expect(ok.status).toBe(200)
      expect(ok.body).toBe("Ok.")
      expect(String(ok.headers["set-cookie"])).toMatch(/^SID=[A-Za-z0-9_-]{32}; HttpOnly; path=\/; SameSite=Strict$/)
      expect(ok.headers["content-type"]).toBe("text/plain; charset=UTF-8")
      // qBittorrent's common headers on every answer.
      expect(ok.headers).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", "referrer-policy": "same-origin" })
      expect(ok.headers["content-security-policy"]).toContain("frame-ancestors 'self'")
      const cookie = String(ok.headers["set-cookie"]).split(";")[0]!
      // Logged in already: Ok. and no new cookie.
      const again = yield* call("auth/login", { ...form({ username: "admin", password: "secret" }), headers: { "content-type": "application/x-www-form-urlencoded", cookie } })
      expect([again.status, again.body, again.headers["set-cookie"]]).toEqual([200, "Ok.", undefined])
      const wrong = yield* call("auth/login", form({ username: "admin", password: "nope" }))
      expect([wrong.status, wrong.body, wrong.headers["set-cookie"]]).toEqual([200, "Fails.", undefined])
      const none = yield* call("auth/login", { method: "POST" })
      expect([none.status, none.body]).toEqual([200, "Fails."])
      const get = yield* call("auth/login?username=admin&password=secret")
      expect([get.status, get.body]).toEqual([405, "Method Not Allowed"])
      expect((yield* call("auth/nosuch", { method: "POST" })).status).toBe(404)
    }))

  it.scopedLive("no cookie or a wrong one: 403 Forbidden; the cookie from a login: 200; logout ends it", () =>
    Effect.gen(function*() {
      const { call, login } = yield* serve()
      expect(yield* call("app/version")).toMatchObject({ status: 403, body: "Forbidden" })
      expect(yield* call("app/version", { headers: { cookie: "SID=made-up" } })).toMatchObject({ status: 403, body: "Forbidden" })
      expect(yield* call("app/version", { headers: { cookie: "SID=" } })).toMatchObject({ status: 403, body: "Forbidden" })
      expect(yield* call("torrents/pause", { ...form({ hashes: "all" }), headers: { "content-type": "application/x-www-form-urlencoded", cookie: "SID=x" } }))
        .toMatchObject({ status: 403, body: "Forbidden" })
      const cookie = yield* login()
      expect(yield* call("app/version", { headers: { cookie } })).toMatchObject({ status: 200, body: "v4.6.7" })
      // Among other cookies, in any place.
      expect((yield* call("app/version", { headers: { cookie: `theme=dark; ${cookie}; x=1` } })).status).toBe(200)
      // Another cookie's value is not the SID.
      expect((yield* call("app/version", { headers: { cookie: `XSID=${cookie.slice(4)}` } })).status).toBe(403)
      expect(yield* call("auth/logout", { method: "POST" })).toMatchObject({ status: 403, body: "Forbidden" })
      const out = yield* call("auth/logout", { method: "POST", headers: { cookie } })
      expect(out.status).toBe(200)
      expect(out.body).toBe("")
      expect(String(out.headers["set-cookie"])).toMatch(/^SID=; expires=.* GMT; path=\/$/)
      expect(Date.parse(/expires=([^;]+)/.exec(String(out.headers["set-cookie"]))![1]!)).toBeLessThan(Date.now())
      expect(yield* call("app/version", { headers: { cookie } })).toMatchObject({ status: 403, body: "Forbidden" })
    }))

  it.scopedLive("five failed logins ban the address: 403 with qBittorrent's words on a login, Forbidden elsewhere; another address logs in", () =>
    Effect.gen(function*() {
      const { call, login } = yield* serve()
      const cookie = yield* login("127.0.0.9")
      for (let i = 0; i < 5; i++) {
        expect(yield* call("auth/login", { ...form({ username: "admin", password: "bad" }), from: "127.0.0.9" })).toMatchObject({ status: 200, body: "Fails." })
      }
      const sixth = yield* call("auth/login", { ...form({ username: "admin", password: "bad" }), from: "127.0.0.9" })
      expect([sixth.status, sixth.body, sixth.headers["content-type"]]).toEqual([403, bannedText, "text/plain; charset=UTF-8"])
      expect(yield* call("auth/login", { ...form({ username: "admin", password: "secret" }), from: "127.0.0.9" }))
        .toMatchObject({ status: 403, body: bannedText })
      // Its session too is refused while it is banned (bt-effect bans the address, not only its logins).
      expect(yield* call("app/version", { headers: { cookie }, from: "127.0.0.9" })).toMatchObject({ status: 403, body: "Forbidden" })
      // The same session from another address, and a login from another address: fine.
      expect((yield* call("app/version", { headers: { cookie }, from: "127.0.0.10" })).status).toBe(200)
      const other = yield* login("127.0.0.10")
      expect((yield* call("app/version", { headers: { cookie: other }, from: "127.0.0.10" })).status).toBe(200)
    }))

  it.scopedLive("Origin or Referer naming another host: 401, before anything else; matching ones pass; Origin null is refused", () =>
    Effect.gen(function*() {
      const { call, login, port } = yield* serve()
      const cookie = yield* login()
      const self = `http://127.0.0.1:${port}`
      const status = (headers: http.OutgoingHttpHeaders) => Effect.map(call("app/version", { headers: { cookie, ...headers } }), (a) => [a.status, a.body])
      expect(yield* status({ origin: "http://evil.example" })).toEqual([401, "Unauthorized"])
      expect(yield* status({ referer: "http://evil.example/page" })).toEqual([401, "Unauthorized"])
      // Same host, another port: another origin.
      expect(yield* status({ origin: `http://127.0.0.1:${port + 1}` })).toEqual([401, "Unauthorized"])
      expect(yield* status({ origin: "not a url" })).toEqual([401, "Unauthorized"])
      // As qBittorrent, whose QUrl("null") names no host: a sandboxed page or a file is another's.
      expect(yield* status({ origin: "null" })).toEqual([401, "Unauthorized"])
      expect(yield* status({ origin: self })).toEqual([200, "v4.6.7"])
      expect(yield* status({ origin: self.toUpperCase().replace("HTTP", "http") })).toEqual([200, "v4.6.7"])
      expect(yield* status({ referer: `${self}/index.html` })).toEqual([200, "v4.6.7"])
      expect(yield* status({ origin: self, referer: `${self}/` })).toEqual([200, "v4.6.7"])
      // A login from another site is refused before the password is looked at (and counts no failure).
      const cross = yield* call("auth/login", { ...form({ username: "admin", password: "secret" }), headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" } })
      expect([cross.status, cross.body, cross.headers["set-cookie"]]).toEqual([401, "Unauthorized", undefined])
      // Without a cookie, the cross-site check still comes first.
      expect((yield* call("app/version", { headers: { origin: "http://evil.example" } })).status).toBe(401)
    }))

  it.scopedLive("unknown scopes and methods 404, prototype names too (not 500); GET on a POST endpoint 405; PUT 400", () =>
    Effect.gen(function*() {
      const { call, login } = yield* serve()
      const cookie = yield* login()
      const get = (path: string) => Effect.map(call(path, { headers: { cookie } }), (a) => [a.status, a.body])
      const post = (path: string) => Effect.map(call(path, { method: "POST", headers: { cookie } }), (a) => [a.status, a.body])
      expect(yield* get("nosuch/thing")).toEqual([404, "Not Found"])
      expect(yield* get("torrents/nosuch")).toEqual([404, "Not Found"])
      expect(yield* get("torrents")).toEqual([404, "Not Found"])
      expect(yield* get("")).toEqual([404, "Not Found"])
      expect(yield* get("app/version/more")).toEqual([404, "Not Found"])
      for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"]) {
        expect(yield* get(`torrents/${name}`)).toEqual([404, "Not Found"])
        expect(yield* post(`torrents/${name}`)).toEqual([404, "Not Found"])
        expect(yield* get(`${name}/version`)).toEqual([404, "Not Found"])
        expect(yield* post(`auth/${name}`)).toEqual([404, "Not Found"])
      }
      expect(yield* get("torrents/pause?hashes=all")).toEqual([405, "Method Not Allowed"])
      expect(yield* get("torrents/add")).toEqual([405, "Method Not Allowed"])
      expect(yield* get("app/setPreferences?json={}")).toEqual([405, "Method Not Allowed"])
      // Reading endpoints answer both.
      expect(yield* get("app/version")).toEqual([200, "v4.6.7"])
      expect(yield* post("app/version")).toEqual([200, "v4.6.7"])
      const put = yield* call("app/version", { method: "PUT", headers: { cookie } })
      expect([put.status, put.body, put.headers["content-type"]]).toEqual([400, "", undefined])
      expect((yield* call("app/version", { method: "DELETE", headers: { cookie } })).status).toBe(400)
      // An endpoint that fails unexpectedly: 500, and the server goes on.
      expect((yield* get("test/die")).slice(0, 1)).toEqual([500])
      expect(yield* get("app/version")).toEqual([200, "v4.6.7"])
    }))

  it.scopedLive("parameters: the query string's, an urlencoded body's, a multipart body's; the query first", () =>
    Effect.gen(function*() {
      const { call, login, memory } = yield* serve()
      const cookie = yield* login()
      yield* memory.add({ _tag: "Metainfo", bytes: torrent.bytes }, {})
      expect((yield* call(`torrents/rename?hash=${hash}&name=from-query`, { method: "POST", headers: { cookie } })).status).toBe(200)
      expect(memory.torrent(1)?.name).toBe("from-query")
      expect((yield* call("torrents/rename", { ...form({ hash, name: "from form é" }), headers: { "content-type": "application/x-www-form-urlencoded", cookie } })).status).toBe(200)
      expect(memory.torrent(1)?.name).toBe("from form é")
      const boundary = "----qbt-test-boundary"
      const multipart = (fields: Record<string, string>) => ({
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, cookie },
        body: encodeMultipart(Object.entries(fields), [], boundary)
      })
      expect((yield* call("torrents/rename", multipart({ hash, name: "from multipart" }))).status).toBe(200)
      expect(memory.torrent(1)?.name).toBe("from multipart")
      // The query string wins over the body.
      expect((yield* call(`torrents/rename?name=query-wins`, { ...form({ hash, name: "body" }), headers: { "content-type": "application/x-www-form-urlencoded", cookie } })).status).toBe(200)
      expect(memory.torrent(1)?.name).toBe("query-wins")
      // Login by multipart too (python requests' files=, curl -F).
      const viaMultipart = yield* call("auth/login", { ...multipart({ username: "admin", password: "secret" }), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } })
      expect(viaMultipart.body).toBe("Ok.")
      // A .torrent in a multipart upload reaches torrents/add.
      yield* memory.remove("all", false)
      const upload = yield* call("torrents/add", {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary="${boundary}"`, cookie },
        body: encodeMultipart([["category", "music"], ["tags", "a,b"]], [{ name: "torrents", filename: "album.torrent", contentType: "application/x-bittorrent", data: torrent.bytes }], boundary)
      })
      expect([upload.status, upload.body]).toEqual([200, "Ok."])
      const [view] = yield* memory.torrents("all")
      expect(view).toMatchObject({ hashString: hash, category: "music", tags: ["a", "b"] })
    }))

  it.scopedLive("a malformed multipart body: 400 with why, nothing done", () =>
    Effect.gen(function*() {
      const { call, login, memory } = yield* serve()
      const cookie = yield* login()
      const before = memory.calls().length
      const post = (contentType: string, body: string | Uint8Array) =>
        Effect.map(call("torrents/createTags", { method: "POST", headers: { "content-type": contentType, cookie }, body }), (a) => [a.status, a.body])
      const good = encodeMultipart([["tags", "x"]], [], "b0undary")
      // No boundary parameter.
      expect(yield* post("multipart/form-data", good)).toEqual([400, "multipart/form-data without a boundary"])
      // Cut before the closing delimiter.
      const [status, body] = yield* post("multipart/form-data; boundary=b0undary", good.subarray(0, good.length - 14))
      expect(status).toBe(400)
      expect(body).toMatch(/closing --b0undary--/)
      // Another boundary than the body's.
      expect((yield* post("multipart/form-data; boundary=other", good))[0]).toBe(400)
      // A part without Content-Disposition.
      expect((yield* post("multipart/form-data; boundary=b0undary", "--b0undary\r\nX-Foo: 1\r\n\r\nv\r\n--b0undary--\r\n"))[0]).toBe(400)
      // A part whose headers never end.
      expect((yield* post("multipart/form-data; boundary=b0undary", `--b0undary\r\nContent-Disposition: form-data; name="tags"\r\n${"x".repeat(20_000)}\r\n--b0undary--\r\n`))[0]).toBe(400)
      expect(memory.calls().length).toBe(before)
      // The same body, whole: 200 and the tag made.
      expect(yield* post("multipart/form-data; boundary=b0undary", good)).toEqual([200, ""])
      expect(yield* memory.tags).toEqual(["x"])
    }))

  it.scopedLive("without credentials: no cookie needed, a login always Ok., no ban", () =>
    Effect.gen(function*() {
      const { call } = yield* serve({ credentials: undefined })
      expect(yield* call("app/version")).toMatchObject({ status: 200, body: "v4.6.7" })
      for (let i = 0; i < 7; i++) expect((yield* call("auth/login", form({ username: "x", password: `${i}` }))).body).toBe("Ok.")
      expect((yield* call("app/version")).status).toBe(200)
      expect((yield* call("torrents/pause", form({ hashes: "all" }))).status).toBe(200)
      // The cross-site check holds without a login too.
      expect((yield* call("app/version", { headers: { origin: "http://evil.example" } })).status).toBe(401)
    }))
})
