/**
 * Web seeds (BEP 19): the URL of each file, runs of blocks, and whole downloads with no peer at all, from
 * a real HTTP server (nginx) and from hostile ones (in process): one that answers 404, one that answers a
 * range with the whole file (200), one that stalls, one that lies, one that redirects to a good one.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import type { Metainfo } from "../../../src/domain/Metainfo.js"
import * as PeerIdModule from "../../../src/domain/PeerId.js"
import * as WebSeedUrl from "../../../src/domain/WebSeedUrl.js"
import * as RarestFirst from "../../../src/services/pieces/RarestFirst.js"
import * as MemoryResume from "../../../src/services/storage/MemoryResume.js"
import { MemoryStore, layer as storageMemory } from "../../../src/services/storage/MemoryStorage.js"
import * as Torrent from "../../../src/services/torrent/Torrent.js"
import { hostOf } from "../../../src/services/torrent/Swarm.js"
import { blockRuns, keyOf } from "../../../src/services/torrent/WebSeeds.js"
import * as NetworkTracker from "../../../src/services/tracker/NetworkTracker.js"
import * as TcpNetwork from "../../../src/services/wire/TcpNetwork.js"
import { hasNginx, startNginx } from "../../support/nginx.js"
import { requiredInCi } from "../../support/skips.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const text = (s: string) => new TextEncoder().encode(s)

describe("web seed URLs", () => {
  const single = { multiFile: false, rawName: text("a b.iso"), files: [{ rawPath: [text("a b.iso")] }] }
  it("a single-file torrent: the URL itself, or the name under a folder URL", () => {
    expect(WebSeedUrl.fileUrls("http://h/x/file.iso", single)).toEqual(["http://h/x/file.iso"])
    expect(WebSeedUrl.fileUrls("http://h/x/", single)).toEqual(["http://h/x/a%20b.iso"])
  })
  it("a multi-file torrent: a folder, then the name and the path, each byte percent-encoded", () => {
    const multi = { multiFile: true, rawName: text("dir"), files: [{ rawPath: [text("sub"), text("é#?.txt")] }, { rawPath: [text("b")] }] }
    expect(WebSeedUrl.fileUrls("http://h/seed", multi)).toEqual(["http://h/seed/dir/sub/%C3%A9%23%3F.txt", "http://h/seed/dir/b"])
    expect(WebSeedUrl.fileUrls("http://h/seed/", multi)[1]).toBe("http://h/seed/dir/b")
  })
  it("only HTTP(S) URLs are used", () => {
    expect(["http://a/", "https://a/", "ftp://a/", "not a url"].map(WebSeedUrl.isUsable)).toEqual([true, true, false, false])
  })
  it("blocks picked become runs of consecutive blocks of one piece", () => {
    const b = (piece: number, offset: number) => ({ piece, offset, length: 16384 })
    const runs = blockRuns([b(0, 0), b(0, 16384), b(1, 0), b(1, 32768), b(1, 49152)])
    expect(runs.map((r) => r.map((x) => `${x.piece}:${x.offset}`))).toEqual([["0:0", "0:16384"], ["1:0"], ["1:32768", "1:49152"]])
  })
})

/** The torrent's files written under `root` as a web seed keeps them. */
const writeFiles = (root: string, metainfo: Metainfo, data: ReadonlyArray<Uint8Array>) => {
  metainfo.files.forEach((f, i) => {
    const where = metainfo.multiFile ? path.join(root, metainfo.name, ...f.path) : path.join(root, metainfo.name)
    fs.mkdirSync(path.dirname(where), { recursive: true })
    fs.writeFileSync(where, data[i]!)
  })
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-webseed-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A download with web seeds and no peers; its events, and its data once complete. */
const downloadFromSeeds = (metainfo: Metainfo, urls: ReadonlyArray<string>, timeoutMs = 20_000) =>
  Effect.gen(function* () {
    const store = MemoryStore.make()
    const handle = yield* Torrent.start({
      metainfo,
      root: "/leecher",
      peerId: PeerIdModule.make(Buffer.from("webseedtest#")),
      port: 0,
      listenHost: "127.0.0.1",
      trusted: Bitfield.empty(metainfo.pieceCount),
      webSeeds: { urls, requestTimeoutMs: 500, firstRetryMs: 100, maxRetryMs: 400 }
    }).pipe(Effect.provide(Layer.mergeAll(TcpNetwork.layer, storageMemory(store), RarestFirst.layer, MemoryResume.layer())))
    yield* handle.completed.pipe(Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => "not complete in time" }))
    const data = store.contents("/leecher", Buffer.from(metainfo.infoHash!).toString("hex"))!
    return { data, stats: yield* handle.stats }
  })

/** The HttpClient and trackers as the command line has them, for the whole test (a layer given to
 *  Torrent.start alone would close when it returns). */
const client = NetworkTracker.layer.pipe(Layer.provideMerge(NodeHttpClient.layer))

describe("web seeds on nginx", () => {
  requiredInCi(hasNginx, "nginx (Debian's nginx-light) is not installed")

  it.live("a single-file torrent downloads completely from nginx alone", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* tempDir
      const data = randomBytes(700_000 + 1234, 11)
      const { metainfo, payload } = makeTorrent({ name: "single file.bin", pieceLength: 65_536, files: [{ path: ["single file.bin"], data }] })
      writeFiles(dir, metainfo, [data])
      const nginx = yield* Effect.acquireRelease(Effect.promise(() => startNginx(dir)), (n) => Effect.promise(n.stop))
      // A folder URL: the name is appended.
      const result = yield* downloadFromSeeds(metainfo, [nginx.url])
      expect(Buffer.compare(result.data, payload)).toBe(0)
      expect(result.stats.hashFailures).toBe(0)
      expect(result.stats.peers).toBe(0)
      expect(result.stats.downloadedBytes).toBeGreaterThanOrEqual(payload.length)
    }).pipe(Effect.provide(client))), 30_000)

  it.live("a multi-file torrent (pieces across files, a file with a space and UTF-8) downloads from nginx alone", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* tempDir
      const files = [
        { path: ["a.bin"], data: randomBytes(100_001, 1) },
        { path: ["sub dir", "é b.bin"], data: randomBytes(5, 2) },
        { path: ["sub dir", "c.bin"], data: randomBytes(300_000, 3) }
      ]
      const { metainfo, payload } = makeTorrent({ name: "multi", pieceLength: 32_768, files })
      writeFiles(dir, metainfo, files.map((f) => f.data))
      const nginx = yield* Effect.acquireRelease(Effect.promise(() => startNginx(dir)), (n) => Effect.promise(n.stop))
      const result = yield* downloadFromSeeds(metainfo, [nginx.url.slice(0, -1)])
      expect(Buffer.compare(result.data, payload)).toBe(0)
      expect(result.stats.hashFailures).toBe(0)
    }).pipe(Effect.provide(client))), 30_000)
})

/** An in-process HTTP server answering with `handler`; its requests counted. */
const server = (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, host = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly requests: () => number; readonly server: http.Server }>((resume) => {
      let requests = 0
      const s = http.createServer((req, res) => {
        requests++
        handler(req, res)
      })
      s.listen(0, host, () => {
        const a = s.address()
        const port = typeof a === "object" && a !== null ? a.port : 0
        resume(Effect.succeed({ url: `http://${host}:${port}`, requests: () => requests, server: s }))
      })
    }),
    ({ server: s }) => Effect.async<void>((resume) => {
      s.closeAllConnections()
      s.close(() => resume(Effect.void))
    })
  )

/** Answers Range requests for `file` with its bytes, `lie` changing them. */
const ranges = (file: Uint8Array, lie = false) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "")
  if (m === null) return void res.writeHead(200, { "content-length": file.length }).end(file)
  const start = Number(m[1])
  const end = Math.min(Number(m[2]), file.length - 1)
  const body = Buffer.from(file.subarray(start, end + 1))
  if (lie) body[0] = body[0]! ^ 0xff
  res.writeHead(206, { "content-length": body.length, "content-range": `bytes ${start}-${end}/${file.length}` }).end(body)
}

describe("hostile web seeds", () => {
  it.live("404, a whole file for a range, a stall and a liar: each dropped or waited out; the good one behind a redirect completes it", () =>
    Effect.scoped(Effect.gen(function* () {
      const data = randomBytes(40 * 16_384 + 77, 5)
      const { metainfo, payload } = makeTorrent({ name: "hostile.bin", pieceLength: 16_384, files: [{ path: ["hostile.bin"], data }] })
      const notFound = yield* server((_, res) => void res.writeHead(404).end("no"))
      const whole = yield* server((_, res) => void res.writeHead(200, { "content-length": data.length }).end(Buffer.from(data)))
      const stalls = yield* server(() => {})
      const liar = yield* server(ranges(data, true), "127.0.0.3")
      const good = yield* server(ranges(data), "127.0.0.4")
      // The good one is reached only through two redirects, the second relative.
      const redirects = yield* server((req, res) => {
        if (req.url === "/first") return void res.writeHead(302, { location: "/second" }).end()
        res.writeHead(307, { location: `${good.url}/hostile.bin` }).end()
      })
      const liarUrl = `${liar.url}/hostile.bin`
      const result = yield* downloadFromSeeds(metainfo, [`${notFound.url}/`, `${whole.url}/x`, `${stalls.url}/x`, liarUrl, `${redirects.url}/first`])
      expect(Buffer.compare(result.data, payload)).toBe(0)
      // Each of the three workers of the 404 and the 200 seeds asked once, and the seed was dropped.
      expect(notFound.requests()).toBeLessThanOrEqual(3)
      expect(whole.requests()).toBeLessThanOrEqual(3)
      // The liar: two pieces that failed, then banned like a peer.
      expect(result.stats.banned).toEqual([hostOf(keyOf(liarUrl))])
      expect(hostOf(keyOf(liarUrl))).toBe(`web seed ${liarUrl}`)
      // Banned, it asks for nothing more: its last requests in flight are not taken either.
      // (Two strikes ban it; a piece of its already in the check queue may fail after.)
      expect(result.stats.hashFailures).toBeGreaterThanOrEqual(2)
      expect(result.stats.hashFailures).toBeLessThanOrEqual(4)
      expect(liar.requests()).toBeLessThan(20)
      // The stalled requests timed out and were tried again after a while; the download did not wait.
      expect(stalls.requests()).toBeGreaterThanOrEqual(3)
      expect(good.requests()).toBeGreaterThan(20)
    }).pipe(Effect.provide(client))), 30_000)

  it.live("a seed that stalls, then answers 503, is tried again after a delay and completes the download alone", () =>
    Effect.scoped(Effect.gen(function* () {
      const data = randomBytes(8 * 16_384, 8)
      const { metainfo, payload } = makeTorrent({ name: "flaky.bin", pieceLength: 16_384, files: [{ path: ["flaky.bin"], data }] })
      const honest = ranges(data)
      let n = 0
      const flaky = yield* server((req, res) => {
        n++
        if (n <= 3) return // stalls: no answer at all
        if (n <= 6) return void res.writeHead(503).end()
        honest(req, res)
      })
      const result = yield* downloadFromSeeds(metainfo, [`${flaky.url}/flaky.bin`])
      expect(Buffer.compare(result.data, payload)).toBe(0)
      expect(flaky.requests()).toBeGreaterThan(6)
    }).pipe(Effect.provide(client))), 30_000)

  it.live("a 206 with another range than the one asked is refused at once, before any hash check", () =>
    Effect.scoped(Effect.gen(function* () {
      const data = randomBytes(6 * 16_384, 9)
      const { metainfo, payload } = makeTorrent({ name: "range.bin", pieceLength: 16_384, files: [{ path: ["range.bin"], data }] })
      // Always the file's first bytes, whatever was asked.
      const wrongRange = yield* server((_, res) => {
        res.writeHead(206, { "content-length": 16_384, "content-range": `bytes 0-16383/${data.length}` }).end(Buffer.from(data.subarray(0, 16_384)))
      })
      const good = yield* server(ranges(data), "127.0.0.4")
      const result = yield* downloadFromSeeds(metainfo, [`${wrongRange.url}/range.bin`, `${good.url}/range.bin`])
      expect(Buffer.compare(result.data, payload)).toBe(0)
      expect(result.stats.hashFailures).toBe(0)
      // Three requests are in flight at once (its connections); one full run under load saw a fourth go
      // out before the refusal took effect. What matters: it is not asked again and again.
      expect(wrongRange.requests()).toBeLessThanOrEqual(4)
    }).pipe(Effect.provide(client))), 30_000)

  it.live("a download from a web seed alone takes checkpoints as it goes, not only at its end", () =>
    Effect.scoped(Effect.gen(function* () {
      const data = randomBytes(24 * 16_384, 31)
      const { metainfo } = makeTorrent({ name: "slow.bin", pieceLength: 16_384, files: [{ path: ["slow.bin"], data }] })
      // A piece every 100 ms or so: about 2.5 s for the whole.
      const answer = ranges(data)
      const slow = yield* server((req, res) => void setTimeout(() => answer(req, res), 100))
      const resume = new MemoryResume.MemoryResume()
      const handle = yield* Torrent.start({
        metainfo,
        root: "/leecher",
        peerId: PeerIdModule.make(Buffer.from("webseedckpt#")),
        port: 0,
        listenHost: "127.0.0.1",
        trusted: Bitfield.empty(metainfo.pieceCount),
        checkpointIntervalMs: 300,
        webSeeds: { urls: [`${slow.url}/slow.bin`], connections: 1 }
      }).pipe(Effect.provide(Layer.mergeAll(TcpNetwork.layer, storageMemory(MemoryStore.make()), RarestFirst.layer, MemoryResume.layer(resume))))
      while ((yield* handle.stats).piecesDone < 8) yield* Effect.sleep("50 millis")
      yield* Effect.sleep("700 millis")
      const saved = resume.get(metainfo.infoHash!)
      expect((yield* handle.stats).complete).toBe(false)
      const checkpointed = saved === undefined ? 0 : Either.getOrElse(Either.map(Bitfield.fromBytes(saved.pieces, metainfo.pieceCount), (b) => b.count), () => 0)
      expect(checkpointed).toBeGreaterThanOrEqual(8)
      yield* handle.completed
    }).pipe(Effect.provide(client))), 30_000)

  it.live("a server without ranges still serves files that fit in a request whole (200 for the whole file)", () =>
    Effect.scoped(Effect.gen(function* () {
      // Files on piece boundaries (4 in the first piece, 2 in the second, a short last one): each span a whole file.
      const sizes = [4096, 4096, 4096, 4096, 8192, 8192, 1000]
      const files = sizes.map((size, i) => ({ path: [`f${i}.bin`], data: randomBytes(size, i + 1) }))
      const { metainfo, payload } = makeTorrent({ name: "small", pieceLength: 16_384, files })
      const byPath = new Map(files.map((f) => [`/seed/small/${f.path[0]}`, f.data]))
      const noRanges = yield* server((req, res) => {
        const file = byPath.get(req.url ?? "")
        if (file === undefined) return void res.writeHead(404).end()
        res.writeHead(200, { "content-length": file.length }).end(Buffer.from(file))
      })
      const result = yield* downloadFromSeeds(metainfo, [`${noRanges.url}/seed`])
      expect(Buffer.compare(result.data, payload)).toBe(0)
    }).pipe(Effect.provide(client))), 30_000)

  it.live("with web seeds turned off, nothing is asked of them", () =>
    Effect.scoped(Effect.gen(function* () {
      const data = randomBytes(3 * 16_384, 6)
      const { metainfo } = makeTorrent({ name: "off.bin", pieceLength: 16_384, files: [{ path: ["off.bin"], data }] })
      const good = yield* server(ranges(data))
      const store = MemoryStore.make()
      const handle = yield* Torrent.start({
        metainfo: { ...metainfo, urlList: [`${good.url}/off.bin`] },
        root: "/leecher",
        peerId: PeerIdModule.make(Buffer.from("webseedoff##")),
        port: 0,
        listenHost: "127.0.0.1",
        trusted: Bitfield.empty(metainfo.pieceCount),
        webSeeds: { enabled: false }
      }).pipe(Effect.provide(Layer.mergeAll(TcpNetwork.layer, storageMemory(store), RarestFirst.layer, MemoryResume.layer())))
      yield* Effect.sleep("500 millis")
      expect(good.requests()).toBe(0)
      expect((yield* handle.stats).piecesDone).toBe(0)
    }).pipe(Effect.provide(client))), 10_000)
})
