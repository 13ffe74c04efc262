/**
 * The Transmission RPC server over real HTTP on 127.0.0.1, against a memory session: the 409 session-id
 * handshake, the Host check against DNS rebinding, Basic authentication, static files and the body limit,
 * then every method in both dialects, checked by what the session was asked to do (MemoryControl's
 * calls) and what the client was answered.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { make, type MemoryControlOptions } from "../../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../../src/services/session/RpcServer.js"
import { SessionControl } from "../../../src/services/session/SessionControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { Status } from "../../../src/domain/SessionView.js"

const torrent = makeTorrent({ name: "album", pieceLength: 16384, files: [{ path: ["one.flac"], data: randomBytes(40_000) }, { path: ["two.flac"], data: randomBytes(9_000, 2) }] })
const hash = Buffer.from(torrent.metainfo.infoHash!).toString("hex")
const magnet = "magnet:?xt=urn:btih:00112233445566778899aabbccddeeff00112233&dn=distro.iso"

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One HTTP request with exactly these headers (fetch cannot set Host); 5 s at most. */
const request = (port: number, options: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Uint8Array } = {}) =>
  Effect.async<Answer, Error>((resume) => {
    const req = http.request({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: options.headers ?? {}, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

/** A client that does the 409 dance once, then posts JSON with the session id (node's fetch). */
const client = (port: number, headers: Record<string, string> = {}) => {
  let sessionId = ""
  const post = (body: string) =>
    Effect.promise(() =>
      fetch(`http://127.0.0.1:${port}/transmission/rpc`, {
        method: "POST",
        headers: { ...headers, "x-transmission-session-id": sessionId },
        body,
        signal: AbortSignal.timeout(5_000)
      }))
  return (message: unknown) =>
    Effect.gen(function*() {
      const body = typeof message === "string" ? message : JSON.stringify(message)
      let response = yield* post(body)
      if (response.status === 409) {
        sessionId = response.headers.get("x-transmission-session-id") ?? ""
        response = yield* post(body)
      }
      const text = yield* Effect.promise(() => response.text())
      return { status: response.status, json: text === "" ? undefined : JSON.parse(text) }
    })
}

const serve = (options: Partial<RpcServer.RpcServerOptions> = {}, memoryOptions: MemoryControlOptions = {}) =>
  Effect.gen(function*() {
    const memory = yield* make(memoryOptions)
    const { port } = yield* RpcServer.make({ port: 0, ...options }).pipe(Effect.provideService(SessionControl, memory))
    return { port, memory, rpc: client(port) }
  })

const metainfo = Buffer.from(torrent.bytes).toString("base64")

describe("RpcServer: HTTP", () => {
  it.scopedLive("answers 409 with the session id until a request carries it", () =>
    Effect.gen(function*() {
      const { port } = yield* serve()
      const body = JSON.stringify({ method: "session-get", arguments: { fields: ["version"] }, tag: 1 })
      const first = yield* request(port, { method: "POST", path: "/transmission/rpc/", body })
      expect(first.status).toBe(409)
      const id = first.headers["x-transmission-session-id"]
      expect(typeof id === "string" && id.length >= 32).toBe(true)
      expect(first.body).toContain("X-Transmission-Session-Id")
      const wrong = yield* request(port, { method: "POST", path: "/transmission/rpc/", body, headers: { "x-transmission-session-id": "guess" } })
      expect([wrong.status, wrong.headers["x-transmission-session-id"]]).toEqual([409, id])
      const ok = yield* request(port, { method: "POST", path: "/transmission/rpc", body, headers: { "x-transmission-session-id": id } })
      expect([ok.status, ok.headers["content-type"], JSON.parse(ok.body)])
        .toEqual([200, "application/json; charset=UTF-8", { arguments: { version: "bt-effect 0.1.0 (Transmission RPC)" }, result: "success", tag: 1 }])
      const get = yield* request(port, { path: "/transmission/rpc", headers: { "x-transmission-session-id": id } })
      expect([get.status, get.headers["allow"]]).toEqual([405, "POST"])
      const other = yield* serve()
      const otherFirst = yield* request(other.port, { method: "POST", path: "/transmission/rpc", body })
      expect(otherFirst.headers["x-transmission-session-id"]).not.toBe(id)
    }))

  it.scopedLive("refuses an unknown Host with 421, and allows localhost, IP literals and allowed names", () =>
    Effect.gen(function*() {
      const { port } = yield* serve({ allowedHosts: ["my.box", "*.lan"], staticFiles: new Map([["/", { contentType: "text/plain", body: "hello" }]]) })
      const statusFor = (host: string) => Effect.map(request(port, { headers: { host } }), (a) => a.status)
      const evil = yield* request(port, { headers: { host: `evil.example:${port}` } })
      expect(evil.status).toBe(421)
      expect(evil.body).toContain("DNS rebinding")
      const refused = ["localhost.evil.example", "127.0.0.1.evil.example", "lan", "my.box.evil", "[::1"]
      const allowed = [`localhost:${port}`, "LOCALHOST.", `127.0.0.1:${port}`, `[::1]:${port}`, "192.168.1.9", "my.box:9091", "nas.lan"]
      expect(yield* Effect.forEach(refused, statusFor)).toEqual(refused.map(() => 421))
      expect(yield* Effect.forEach(allowed, statusFor)).toEqual(allowed.map(() => 200))
      // The RPC path is checked the same way, before the session id.
      const rpc = yield* request(port, { method: "POST", path: "/transmission/rpc", headers: { host: "evil.example" }, body: "{}" })
      expect([rpc.status, rpc.headers["x-transmission-session-id"]]).toEqual([421, undefined])
    }))

  it.scopedLive("asks for Basic credentials with 401 and lets the right ones through", () =>
    Effect.gen(function*() {
      const { port } = yield* serve({ auth: { username: "user", password: "pa:ss" } })
      const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`
      const none = yield* request(port, { method: "POST", path: "/transmission/rpc", body: "{}" })
      expect([none.status, none.headers["www-authenticate"]]).toEqual([401, "Basic realm=\"Transmission\""])
      const wrong = yield* request(port, { method: "POST", path: "/transmission/rpc", body: "{}", headers: { authorization: basic("user:pass") } })
      expect(wrong.status).toBe(401)
      const evilHost = yield* request(port, { headers: { host: "evil.example", authorization: basic("user:pa:ss") } })
      expect(evilHost.status).toBe(421)
      const rpc = client(port, { authorization: basic("user:pa:ss") })
      expect(yield* rpc({ method: "session-get", arguments: { fields: ["rpc-version"] } }))
        .toEqual({ status: 200, json: { arguments: { "rpc-version": 17 }, result: "success" } })
    }))

  it.scopedLive("serves static files, redirects /transmission/web/ to /, and limits bodies", () =>
    Effect.gen(function*() {
      const page = "<!doctype html><title>bt-effect</title>"
      const { port } = yield* serve({ staticFiles: new Map([["/", { contentType: "text/html; charset=utf-8", body: page }], ["/app.js", { contentType: "text/javascript", body: new Uint8Array([59]) }]]) })
      const root = yield* request(port, { path: "/?x=1" })
      expect([root.status, root.headers["content-type"], root.body]).toEqual([200, "text/html; charset=utf-8", page])
      expect((yield* request(port, { path: "/app.js" })).body).toBe(";")
      const head = yield* request(port, { method: "HEAD" })
      expect([head.status, head.body]).toEqual([200, ""])
      const web = yield* request(port, { path: "/transmission/web/" })
      expect([web.status, web.headers["location"]]).toEqual([302, "/"])
      expect((yield* request(port, { path: "/nope" })).status).toBe(404)
      expect((yield* request(port, { method: "POST", body: "x" })).status).toBe(405)
      const id = (yield* request(port, { method: "POST", path: "/transmission/rpc" })).headers["x-transmission-session-id"]
      const huge = yield* request(port, { method: "POST", path: "/transmission/rpc", headers: { "x-transmission-session-id": id }, body: new Uint8Array(RpcServer.limits.maxBodyBytes + 1) })
      expect(huge.status).toBe(413)
    }), 30_000)

  it.scopedLive("holds at most two of the largest bodies at once, and forgets those of clients gone", () =>
    Effect.gen(function*() {
      const { port } = yield* serve()
      const id = (yield* request(port, { method: "POST", path: "/transmission/rpc" })).headers["x-transmission-session-id"]
      const size = RpcServer.limits.maxBodyBytes - 10
      const chunk = new Uint8Array(size).fill(32)
      // Three uploads of nearly the largest body, never finished: the one that overflows the budget is answered 503.
      const uploads = [0, 1, 2].map(() => {
        let status = 0
        const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/transmission/rpc", agent: false, headers: { "x-transmission-session-id": id, "content-length": String(size + 10) } }, (res) => {
          status = res.statusCode ?? 0
          res.resume()
        })
        req.on("error", () => {})
        req.write(chunk)
        return { req, status: () => status }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => uploads.forEach((u) => u.req.destroy())))
      const answered = () => uploads.filter((u) => u.status() !== 0)
      yield* Effect.repeat(Effect.sync(answered), { until: (a) => a.length > 0, schedule: Schedule.spaced("50 millis") }).pipe(Effect.timeout("15 seconds"))
      yield* Effect.sleep("300 millis")
      expect(uploads.map((u) => u.status()).sort()).toEqual([0, 0, 503])
      for (const u of uploads) u.req.destroy()
      // Were the abandoned bodies still counted, a body this large would be refused.
      const full = request(port, { method: "POST", path: "/transmission/rpc", headers: { "x-transmission-session-id": id }, body: chunk })
      let after = yield* full
      for (let attempt = 0; attempt < 20 && after.status === 503; attempt++) after = yield* Effect.zipRight(Effect.sleep("100 millis"), full)
      expect(after.status, after.body).toBe(200)
      expect(JSON.parse(after.body)).toEqual({ arguments: {}, result: "invalid JSON" })
    }), 60_000)

  it.live("stops serving when its scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port } = yield* Scope.extend(serve(), scope)
      expect((yield* request(port, { method: "POST", path: "/transmission/rpc" })).status).toBe(409)
      yield* Scope.close(scope, Exit.void)
      const after = yield* Effect.either(request(port))
      expect(after._tag === "Left" && after.left.message).toContain("ECONNREFUSED")
    }))
})

describe("RpcServer: classic methods against a memory session", () => {
  it.scopedLive("torrent-add takes metainfo, a magnet, a path or a URL, and reports duplicates and bad torrents", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-rpc-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const url = "http://files.example/other.torrent"
      const other = makeTorrent({ name: "other", pieceLength: 16384, files: [{ path: ["x"], data: randomBytes(1000, 7) }] })
      const { rpc, memory } = yield* serve({}, { urls: new Map([[url, other.bytes]]) })
      expect((yield* rpc({ method: "torrent-add", arguments: { metainfo, "download-dir": "/music" }, tag: 1 })).json)
        .toEqual({ arguments: { "torrent-added": { id: 1, name: "album", hashString: hash } }, result: "success", tag: 1 })
      expect((yield* rpc({ method: "torrent-add", arguments: { metainfo } })).json)
        .toEqual({ arguments: { "torrent-duplicate": { id: 1, name: "album", hashString: hash } }, result: "success" })
      expect((yield* rpc({ method: "torrent-add", arguments: { filename: magnet, paused: true } })).json.arguments["torrent-added"])
        .toEqual({ id: 2, name: "distro.iso", hashString: "00112233445566778899aabbccddeeff00112233" })
      const file = path.join(dir, "album-copy.torrent")
      fs.writeFileSync(file, makeTorrent({ name: "copy", pieceLength: 16384, files: [{ path: ["c"], data: randomBytes(500, 9) }] }).bytes)
      expect((yield* rpc({ method: "torrent-add", arguments: { filename: file } })).json.arguments["torrent-added"]).toMatchObject({ id: 3, name: "copy" })
      expect((yield* rpc({ method: "torrent-add", arguments: { filename: url } })).json.arguments["torrent-added"]).toMatchObject({ id: 4, name: "other" })
      expect((yield* rpc({ method: "torrent-add", arguments: { filename: path.join(dir, "missing.torrent") } })).json.result).toMatch(/^cannot read .*missing\.torrent: ENOENT/)
      expect((yield* rpc({ method: "torrent-add", arguments: { metainfo: Buffer.from("not bencode").toString("base64") } })).json.result)
        .toMatch(/^invalid or corrupt torrent file/)
      expect((yield* rpc({ method: "torrent-add", arguments: { filename: "http://files.example/none.torrent" } })).json.result).toBe("cannot fetch http://files.example/none.torrent: not found")
      expect(memory.torrent(1)?.downloadDir).toBe("/music")
      expect(memory.torrent(2)?.status).toBe(Status.Stopped)
      expect(memory.calls().map((c) => c._tag === "add" ? [c.source._tag, c.options] : c._tag)).toEqual([
        ["Metainfo", { downloadDir: "/music" }], ["Metainfo", {}], ["Magnet", { paused: true }], ["Metainfo", {}], ["Url", {}], ["Metainfo", {}], ["Url", {}]
      ])
    }))

  it.scopedLive("torrent-get answers the fields asked for, for ids, hashes, all, and recently-active with removed ids", () =>
    Effect.gen(function*() {
      const { rpc, memory } = yield* serve()
      yield* rpc({ method: "torrent-add", arguments: { metainfo } })
      yield* rpc({ method: "torrent-add", arguments: { filename: magnet } })
      yield* memory.setProgress(1, 0.5)
      yield* memory.setRates(1, 4000, 1000)
      const get = (args: object) => Effect.map(rpc({ method: "torrent-get", arguments: args }), (r) => r.json.arguments)
      expect(yield* get({ ids: 1, fields: ["id", "name", "percentDone", "rateDownload", "leftUntilDone", "sizeWhenDone", "noSuchField"] }))
        .toEqual({ torrents: [{ id: 1, name: "album", percentDone: 0.5, rateDownload: 4000, leftUntilDone: 24500, sizeWhenDone: 49000 }] })
      expect(yield* get({ ids: [hash, 99], fields: ["id"] })).toEqual({ torrents: [{ id: 1 }] })
      expect(yield* get({ fields: ["id", "metadataPercentComplete"] })).toEqual({ torrents: [{ id: 1, metadataPercentComplete: 1 }, { id: 2, metadataPercentComplete: 0 }] })
      expect(yield* get({ fields: ["files"], ids: [1] })).toEqual({ torrents: [{ files: [
        { begin_piece: 0, bytesCompleted: 24500, end_piece: 3, length: 40000, name: "album/one.flac" },
        { begin_piece: 2, bytesCompleted: 0, end_piece: 3, length: 9000, name: "album/two.flac" }
      ] }] })
      yield* rpc({ method: "torrent-remove", arguments: { ids: [2] } })
      expect(yield* get({ ids: "recently-active", fields: ["id"] })).toEqual({ torrents: [{ id: 1 }], removed: [2] })
      expect(yield* get({ ids: 1, fields: ["id", "name"], format: "table" })).toEqual({ torrents: [["id", "name"], [1, "album"]] })
    }))

  it.scopedLive("start, stop, verify and remove reach the session for the torrents named, and unknown ids are skipped", () =>
    Effect.gen(function*() {
      const { rpc, memory } = yield* serve()
      yield* rpc({ method: "torrent-add", arguments: { metainfo } })
      yield* rpc({ method: "torrent-add", arguments: { filename: magnet } })
      const answers = yield* Effect.forEach([
        { method: "torrent-stop", arguments: { ids: [1] } },
        { method: "torrent-start", arguments: { ids: [hash.toUpperCase()] } },
        { method: "torrent-verify", arguments: { ids: 1 } },
        { method: "torrent-stop", arguments: { ids: [99] } },
        { method: "torrent-stop" },
        { method: "torrent-start-now", arguments: { ids: [2] } },
        { method: "torrent-remove", arguments: { ids: [2], "delete-local-data": true } },
        { method: "torrent-remove", arguments: { ids: 1 } }
      ], (m) => Effect.map(rpc(m), (r) => r.json.result))
      expect(answers).toEqual(answers.map(() => "success"))
      expect(memory.calls().filter((c) => c._tag !== "add")).toEqual([
        { _tag: "stop", which: [1] },
        { _tag: "start", which: [1] },
        { _tag: "verify", which: [1] },
        { _tag: "stop", which: "all" },
        { _tag: "start", which: [2] },
        { _tag: "remove", which: [2], deleteData: true },
        { _tag: "remove", which: [1], deleteData: false }
      ])
      expect(memory.torrent(1)).toBeUndefined()
    }))

  it.scopedLive("torrent-set converts kB/s to bytes/s and keeps a limit's value while it is off; queue moves set positions", () =>
    Effect.gen(function*() {
      const { rpc, memory } = yield* serve()
      yield* rpc({ method: "torrent-add", arguments: { metainfo } })
      yield* rpc({ method: "torrent-set", arguments: { ids: [1], downloadLimit: 100, downloadLimited: true, queuePosition: 0 } })
      yield* rpc({ method: "torrent-set", arguments: { ids: [1], uploadLimit: 25 } })
      yield* rpc({ method: "torrent-set", arguments: { ids: [1], downloadLimited: false } })
      // The value set while a limit is off is the session's to keep (rememberedUploadLimit), saved with the torrent.
      expect(memory.calls().filter((c) => c._tag === "set")).toEqual([
        { _tag: "set", which: [1], settings: { queuePosition: 0, downloadLimit: 100_000 } },
        { _tag: "set", which: [1], settings: { uploadLimit: 0, rememberedUploadLimit: 25 } },
        { _tag: "set", which: [1], settings: { downloadLimit: 0 } }
      ])
      const shown = yield* rpc({ method: "torrent-get", arguments: { ids: 1, fields: ["downloadLimit", "downloadLimited", "uploadLimit", "uploadLimited"] } })
      expect(shown.json.arguments.torrents).toEqual([{ downloadLimit: 100, downloadLimited: false, uploadLimit: 25, uploadLimited: false }])
      yield* rpc({ method: "torrent-set", arguments: { ids: [1], uploadLimited: true } })
      // transmission-remote -t 1 -td URL (tracker-add): refused, naming it, nothing changed.
      const refused = yield* rpc({ method: "torrent-set", arguments: { ids: [1], uploadLimit: 5, trackerAdd: ["http://t.example/announce"], seedRatioLimit: 2 } })
      expect(refused.json.result).toBe("not supported: tracker-add (nothing was changed)")
      expect(memory.torrent(1)?.uploadLimit).toBe(25_000)
      // The seeding goals (transmission-remote -t 1 -sr 2, -t 1 --idle-seeding-limit 10).
      expect((yield* rpc({ method: "torrent-set", arguments: { ids: [1], seedRatioLimit: 2.5, seedRatioMode: 1, seedIdleLimit: 10, seedIdleMode: 1 } })).json.result).toBe("success")
      const goals = yield* rpc({ method: "torrent-get", arguments: { ids: 1, fields: ["seedRatioLimit", "seedRatioMode", "seedIdleLimit", "seedIdleMode"] } })
      expect(goals.json.arguments.torrents).toEqual([{ seedRatioLimit: 2.5, seedRatioMode: 1, seedIdleLimit: 10, seedIdleMode: 1 }])
      yield* rpc({ method: "torrent-add", arguments: { filename: magnet } })
      yield* rpc({ method: "queue-move-top", arguments: { ids: [2] } })
      yield* rpc({ method: "queue-move-bottom", arguments: { ids: [1] } })
      expect(memory.calls().filter((c) => c._tag === "set").slice(5)).toEqual([
        { _tag: "set", which: [2], settings: { queuePosition: 0 } },
        { _tag: "set", which: [1], settings: { queuePosition: 1 } }
      ])
    }))

  it.scopedLive("session-get, session-set, session-stats and free-space", () =>
    Effect.gen(function*() {
      const { rpc, memory } = yield* serve({}, { freeSpace: { sizeBytes: 123, totalSize: 456 } })
      yield* rpc({ method: "torrent-add", arguments: { metainfo } })
      yield* memory.setRates(1, 3000, 700)
      // A setter naming what bt-effect does not do is refused whole, naming it; asking for what it is, is no change.
      const refused = yield* rpc({ method: "session-set", arguments: { "speed-limit-down": 1, "peer-port": 1, "alt-speed-enabled": true, "blocklist-enabled": true, "utp-enabled": false } })
      // uTP is on in this session (chosen at start): turning it off while running is refused, asking for it is no change.
      expect(refused.json.result).toBe("not supported: peer-port, blocklist-enabled, utp-enabled (nothing was changed)")
      expect((yield* rpc({ method: "session-set", arguments: { "peer-port": 6881, "utp-enabled": true, "tcp-enabled": true } })).json.result).toBe("success")
      // The DHT runs (the memory session says so): turning it off while running would change nothing.
      expect((yield* rpc({ method: "session-set", arguments: { "dht-enabled": false } })).json.result).toMatch(/^not supported: dht-enabled/)
      expect((yield* rpc({ method: "session-set", arguments: { "dht-enabled": true } })).json.result).toBe("success")
      expect((yield* rpc({ method: "session-set", arguments: { "speed-limit-down": 200, "speed-limit-down-enabled": true, "download-dir": "/srv" } })).json.result).toBe("success")
      yield* rpc({ method: "session-set", arguments: { "speed-limit-up-enabled": true } })
      expect(memory.calls().filter((c) => c._tag === "updateSettings")).toEqual([
        { _tag: "updateSettings", settings: { downloadDir: "/srv", speedLimitDown: 200_000, rememberedLimitDown: 200 } },
        { _tag: "updateSettings", settings: { speedLimitUp: 100_000 } }
      ])
      // Encryption, in Transmission's three words and no other, told as it is set.
      expect((yield* rpc({ method: "session-get", arguments: { fields: ["encryption"] } })).json.arguments).toEqual({ encryption: "preferred" })
      expect((yield* rpc({ method: "session-set", arguments: { encryption: "sometimes" } })).json.result).toMatch(/^encryption is one of tolerated, preferred, required/)
      expect((yield* rpc({ method: "session-set", arguments: { encryption: "required" } })).json.result).toBe("success")
      expect(memory.calls().filter((c) => c._tag === "updateSettings").at(-1)).toEqual({ _tag: "updateSettings", settings: { encryption: "required" } })
      expect((yield* rpc({ method: "session-get", arguments: { fields: ["encryption"] } })).json.arguments).toEqual({ encryption: "required" })
      // Alternative limits, their schedule and the seeding goals (transmission-remote -as, -asd, -sr 2, --idle-seeding-limit).
      expect((yield* rpc({ method: "session-set", arguments: {
        "alt-speed-enabled": true, "alt-speed-down": 30, "alt-speed-time-enabled": true, "alt-speed-time-begin": 60, "alt-speed-time-end": 120,
        "alt-speed-time-day": 62, seedRatioLimit: 1.5, seedRatioLimited: true, "idle-seeding-limit": 12, "idle-seeding-limit-enabled": true
      } })).json.result).toBe("success")
      const turtle = (yield* rpc({ method: "session-get", arguments: { fields: [
        "alt-speed-enabled", "alt-speed-down", "alt-speed-up", "alt-speed-time-enabled", "alt-speed-time-begin", "alt-speed-time-end", "alt-speed-time-day",
        "seedRatioLimit", "seedRatioLimited", "idle-seeding-limit", "idle-seeding-limit-enabled"
      ] } })).json.arguments
      expect(turtle).toEqual({
        "alt-speed-enabled": true, "alt-speed-down": 30, "alt-speed-up": 50, "alt-speed-time-enabled": true, "alt-speed-time-begin": 60,
        "alt-speed-time-end": 120, "alt-speed-time-day": 62, seedRatioLimit: 1.5, seedRatioLimited: true, "idle-seeding-limit": 12, "idle-seeding-limit-enabled": true
      })
      const session = (yield* rpc({ method: "session-get", arguments: { fields: ["download-dir", "speed-limit-down", "speed-limit-down-enabled", "peer-port", "download-dir-free-space"] } })).json
      expect(session.arguments).toEqual({ "download-dir": "/srv", "speed-limit-down": 200, "speed-limit-down-enabled": true, "peer-port": 6881, "download-dir-free-space": 123 })
      const stats = (yield* rpc({ method: "session-stats" })).json.arguments
      expect([stats.activeTorrentCount, stats.torrentCount, stats.downloadSpeed, stats.uploadSpeed, stats["current-stats"].sessionCount]).toEqual([1, 1, 3000, 700, 1])
      expect((yield* rpc({ method: "free-space", arguments: { path: "/srv" } })).json.arguments).toEqual({ path: "/srv", "size-bytes": 123, total_size: 456 })
      expect((yield* rpc({ method: "free-space", arguments: { path: "srv" } })).json.result).toBe("directory path is not absolute")
    }))

  it.scopedLive("answers an unknown method and malformed JSON with an error result", () =>
    Effect.gen(function*() {
      const { rpc } = yield* serve()
      expect((yield* rpc({ method: "session-close", tag: 4 })).json).toEqual({ arguments: {}, result: "method name not recognized", tag: 4 })
      expect((yield* rpc("{\"method\": \"torrent-get\", ")).json).toEqual({ arguments: {}, result: "invalid JSON" })
    }))
})

describe("RpcServer: JSON-RPC 2.0", () => {
  it.scopedLive("answers results and error objects, runs notifications without answering, and batches", () =>
    Effect.gen(function*() {
      const { rpc, memory } = yield* serve()
      const added = yield* rpc({ jsonrpc: "2.0", method: "torrent_add", params: { metainfo }, id: 1 })
      expect(added.json).toEqual({ jsonrpc: "2.0", result: { torrent_added: { id: 1, name: "album", hash_string: hash } }, id: 1 })
      const got = yield* rpc({ jsonrpc: "2.0", method: "torrent_get", params: { ids: [1], fields: ["id", "hash_string", "percent_done", "file_stats"] }, id: "x" })
      expect(got.json).toEqual({ jsonrpc: "2.0", result: { torrents: [{ id: 1, hash_string: hash, percent_done: 0, file_stats: [
        { bytes_completed: 0, priority: 0, wanted: true }, { bytes_completed: 0, priority: 0, wanted: true }
      ] }] }, id: "x" })
      expect((yield* rpc({ jsonrpc: "2.0", method: "session_close", id: 2 })).json).toEqual({ jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: 2 })
      expect((yield* rpc({ jsonrpc: "2.0", method: "free_space", params: { path: "x" }, id: 3 })).json.error)
        .toEqual({ code: 3, message: "path is not absolute", data: { error_string: "directory path is not absolute" } })
      expect(yield* rpc({ jsonrpc: "2.0", method: "torrent_stop", params: { ids: [1] } })).toEqual({ status: 204, json: undefined })
      expect(memory.torrent(1)?.status).toBe(Status.Stopped)
      expect(yield* rpc({ jsonrpc: "2.0", method: "free_space", params: { path: "/x" } })).toEqual({ status: 204, json: undefined })
      expect(memory.calls().some((c) => c._tag === "freeSpace")).toBe(false)
      const batch = yield* rpc([
        { jsonrpc: "2.0", method: "session_get", params: { fields: ["rpc_version", "speed_limit_down_enabled"] }, id: 10 },
        { jsonrpc: "2.0", method: "torrent_start", params: { ids: [1] } },
        { jsonrpc: "2.0", method: "session_stats", id: 11 }
      ])
      expect(batch.json.map((r: { id: number }) => r.id)).toEqual([10, 11])
      expect(batch.json[0].result).toEqual({ rpc_version: 17, speed_limit_down_enabled: false })
      expect(batch.json[1].result).toMatchObject({ torrent_count: 1, current_stats: { session_count: 1 } })
      expect(memory.torrent(1)?.status).toBe(Status.Download)
      expect((yield* rpc("{\"jsonrpc\": \"2.0\", \"method\": ")).json).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 }, id: null })
    }))
})
