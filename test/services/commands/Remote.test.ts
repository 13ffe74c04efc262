/**
 * The remote commands (`add`, `list`, `start`, `stop`, `remove`; Remote.ts) over node:http, as the CLI
 * runs them, against the real RPC server on 127.0.0.1 with a memory session: the session-id handshake,
 * Basic authentication, what the session was asked and what the commands print; then a daemon that cannot
 * be reached, one that refuses, one whose reply is larger than the bound, and one that never answers.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Either from "effect/Either"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import type { RemoteError } from "../../../src/domain/Errors.js"
import { parseRpcAuth, parseRpcUrl } from "../../../src/domain/RpcAddress.js"
import * as Remote from "../../../src/services/commands/Remote.js"
import { make as memorySession } from "../../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../../src/services/session/RpcServer.js"
import { SessionControl } from "../../../src/services/session/SessionControl.js"
import { eventually, httpTracker as httpServer } from "../../support/hostileTracker.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const album = makeTorrent({ name: "album", pieceLength: 16384, files: [{ path: ["one.flac"], data: randomBytes(40_000) }] })
const magnet = "magnet:?xt=urn:btih:00112233445566778899aabbccddeeff00112233&dn=distro.iso"

const serve = (options: Partial<RpcServer.RpcServerOptions> = {}) =>
  Effect.gen(function*() {
    const memory = yield* memorySession()
    const { port } = yield* RpcServer.make({ port: 0, ...options }).pipe(Effect.provideService(SessionControl, memory))
    return { memory, url: `http://127.0.0.1:${port}/transmission/rpc` }
  })

const failure = <A, R>(effect: Effect.Effect<A, RemoteError, R>) => Effect.map(Effect.flip(effect), (e) => [e.reason, e.message] as const)

describe("Remote", () => {
  it.scopedLive("adds a file and a magnet, lists, stops, starts and removes through the session-id handshake and Basic auth", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-remote-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "album.torrent")
      fs.writeFileSync(file, album.bytes)
      const { memory, url } = yield* serve({ auth: { username: "me", password: "pa:ss" } })
      const options = { url, auth: "me:pa:ss" }

      expect(yield* failure(Remote.list({ url }))).toEqual(["Unreachable", `daemon at ${url}: unauthorized (give --rpc-auth USER:PASSWORD)`])
      expect(yield* Remote.add(options, file, { paused: true, downloadDir: "/music" })).toBe("added: 1 album")
      expect(yield* Remote.add(options, file, { paused: false })).toBe("already there: 1 album")
      expect(yield* Remote.add(options, magnet, { paused: false })).toBe("added: 2 distro.iso")
      yield* memory.setProgress(1, 0.5)
      const listing = (yield* Remote.list(options)).split("\n")
      expect(listing).toEqual([
        " ID   Done      Size  Status              Down     Up  Ratio  Peers  ETA  Name",
        "  1  50.0%  39.1 KiB  Stopped            0 B/s  0 B/s   0.00      0  -    album",
        "  2      -         ?  Fetching metadata  0 B/s  0 B/s      -      0  -    distro.iso",
        "Sum         39.1 KiB                     0 B/s  0 B/s             0       2 torrents"
      ])
      const json = JSON.parse(yield* Remote.list(options, "json")) as ReadonlyArray<Remote.Listed>
      expect(json.map((t) => [t.id, t.name, t.state, t.percentDone, t.totalSize])).toEqual([
        [1, "album", "Stopped", 0.5, 40_000],
        [2, "distro.iso", "Metadata", 0, 0]
      ])
      expect(yield* Remote.act(options, "torrent-stop", ["all"])).toBe("stopped: 1 album\nstopped: 2 distro.iso")
      expect(yield* Remote.act(options, "torrent-start", ["1", "00112233445566778899AABBCCDDEEFF00112233"]))
        .toBe("started: 1 album\nstarted: 2 distro.iso")
      expect(yield* Remote.act(options, "torrent-remove", ["2"], true)).toBe("removed: 2 distro.iso (and its data)")
      // An id that names no torrent is said, and nothing is done to the others named with it.
      expect(yield* failure(Remote.act(options, "torrent-stop", ["1", "99", "abc"])))
        .toEqual(["Input", "no torrent '99', 'abc' in the daemon (give an ID or info hash from 'bt-effect list', or all); nothing was changed"])
      expect(memory.calls().map((c) => (c._tag === "add" ? [c._tag, c.source._tag, c.options] : c))).toEqual([
        ["add", "Metainfo", { downloadDir: "/music", paused: true }],
        ["add", "Metainfo", { paused: false }],
        ["add", "Magnet", { paused: false }],
        { _tag: "stop", which: [1, 2] },
        { _tag: "start", which: [1, 2] },
        { _tag: "remove", which: [2], deleteData: true }
      ])
      // A bad file gets the words and the error download gives it (exit 2), before the daemon is asked.
      const bad = (effect: Effect.Effect<string, unknown, HttpClient.HttpClient | FileSystem.FileSystem>) =>
        Effect.map(Effect.flip(effect), (e) => [(e as { _tag: string })._tag, (e as Error).message])
      const nothing = path.join(dir, "nothing.torrent")
      expect(yield* bad(Remote.add(options, nothing, { paused: false }))).toEqual(["MetainfoError", `cannot read ${nothing}: no such file`])
      fs.writeFileSync(path.join(dir, "junk.torrent"), "junk")
      expect(yield* bad(Remote.add(options, path.join(dir, "junk.torrent"), { paused: false })))
        .toEqual(["MetainfoError", expect.stringMatching(/junk\.torrent: invalid bencode at byte 0/)])
      expect(yield* bad(Remote.add(options, "magnet:?dn=nohash", { paused: false }))).toEqual(["MagnetError", "invalid magnet link: no urn:btih or urn:btmh exact topic"])
      expect(memory.calls().length).toBe(6)
      yield* memory.remove([1], false)
      expect(yield* Remote.list(options)).toBe("no torrents")
      expect(yield* Remote.act(options, "torrent-start", ["all"])).toBe("no torrents")
    }).pipe(Effect.provide(NodeHttpClient.layer), Effect.provide(NodeFileSystem.layer)))

  it.scopedLive("a daemon that cannot be reached, answers an error status or a reply past the bound is one line naming it", () =>
    Effect.gen(function*() {
      const closedPort = yield* Effect.async<number>((resume) => {
        const s = http.createServer().listen(0, "127.0.0.1", () => {
          const address = s.address()
          s.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
        })
      })
      const nobody = `http://127.0.0.1:${closedPort}/transmission/rpc`
      expect(yield* failure(Remote.list({ url: nobody })))
        .toEqual(["Unreachable", `no daemon answers at ${nobody} (is 'bt-effect daemon' running there?)`])

      // A 409 twice over: the id it gave is refused again.
      const stubborn = yield* httpServer((_, res) => {
        res.writeHead(409, { "x-transmission-session-id": "again" })
        res.end()
      })
      const stubbornUrl = `http://127.0.0.1:${stubborn.port}/`
      expect(yield* failure(Remote.list({ url: stubbornUrl }))).toEqual(["Unreachable", `daemon at ${stubbornUrl}: HTTP 409`])
      expect(stubborn.targets.length).toBe(2)

      const huge = yield* httpServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Remote.maxReplyBytes + 1 })
        res.write("{\"result\": \"success\", \"arguments\": {\"torrents\": [") // and nothing more
      })
      const hugeUrl = `http://127.0.0.1:${huge.port}/`
      expect(yield* failure(Remote.list({ url: hugeUrl }))).toEqual(["Unreachable", `daemon at ${hugeUrl}: larger than ${Remote.maxReplyBytes} bytes`])
      expect(yield* eventually(() => huge.open.size === 0)).toBe(true)

      const broken = yield* httpServer((_, res) => {
        res.writeHead(500)
        res.end()
      })
      const brokenUrl = `http://127.0.0.1:${broken.port}/`
      expect(yield* failure(Remote.act({ url: brokenUrl }, "torrent-start", ["all"]))).toEqual(["Unreachable", `daemon at ${brokenUrl}: HTTP 500`])
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scoped("a daemon that never answers is given up at 30 s, and its connection closed", () =>
    Effect.gen(function*() {
      const silent = yield* httpServer(() => {})
      const url = `http://127.0.0.1:${silent.port}/transmission/rpc`
      const fiber = yield* Effect.fork(failure(Remote.list({ url })))
      expect(yield* eventually(() => silent.targets.length === 1)).toBe(true)
      yield* TestClock.adjust("29 seconds")
      expect(yield* Fiber.poll(fiber)).toEqual(Option.none())
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(["Unreachable", `daemon at ${url}: no answer within 30s`])
      expect(yield* eventually(() => silent.open.size === 0)).toBe(true)
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it("--rpc-url takes what transmission-remote takes; --rpc-auth needs a user and a password", () => {
    expect(parseRpcUrl("127.0.0.1:9091")).toEqual(Either.right("http://127.0.0.1:9091/transmission/rpc"))
    expect(parseRpcUrl("9091")).toEqual(Either.right("http://127.0.0.1:9091/transmission/rpc"))
    expect(parseRpcUrl("localhost:9091/custom/rpc")).toEqual(Either.right("http://localhost:9091/custom/rpc"))
    expect(parseRpcUrl("https://box.lan/")).toEqual(Either.right("https://box.lan/transmission/rpc"))
    expect(parseRpcUrl("http://127.0.0.1:9091/transmission/rpc")).toEqual(Either.right("http://127.0.0.1:9091/transmission/rpc"))
    expect(parseRpcUrl("[::1]:9091")).toEqual(Either.right("http://[::1]:9091/transmission/rpc"))
    expect(Either.isLeft(parseRpcUrl("ftp://host/"))).toBe(true)
    expect(Either.isLeft(parseRpcUrl("http://:9091"))).toBe(true)
    expect(parseRpcAuth("me:pa:ss")).toEqual(Either.right({ username: "me", password: "pa:ss" }))
    for (const bad of ["nopassword", ":pw", "user:", ""]) expect(parseRpcAuth(bad)).toEqual(Either.left("--rpc-auth takes USER:PASSWORD (both not empty)"))
  })
})
