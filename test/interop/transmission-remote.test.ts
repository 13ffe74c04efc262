/**
 * The real `transmission-remote` (3.00, Debian's transmission-cli) drives bt-effect's RPC server over
 * loopback, against a memory session: adding a .torrent and a magnet, listing (while a torrent moves data
 * at fractional rates too), stopping, starting, info, files (wanted or not, priorities), peers, session info and stats, limits, seed
 * ratios, the alternative limits, moving data, removing, with and without Basic authentication, and a
 * JSON-RPC client on the same session. Each case checks what the session was asked to do and what
 * transmission-remote printed.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type ControlCall, make } from "../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../src/services/session/RpcServer.js"
import { SessionControl } from "../../src/services/session/SessionControl.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { requiredInCi } from "../support/skips.js"

const remoteVersion = (): string | undefined => {
  try {
    return execFileSync("transmission-remote", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim() || "unknown"
  } catch (e) {
    const stderr = e instanceof Error ? Reflect.get(e, "stderr") : undefined
    return typeof stderr === "string" && stderr.includes("transmission-remote") ? stderr.trim() : undefined
  }
}

/** Runs transmission-remote against localhost:PORT (10 s at most: it is killed then). */
const remote = (port: number, ...args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<{ readonly code: number; readonly out: string }>((resolve) => {
      execFile("transmission-remote", [String(port), ...args], { timeout: 10_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, out: stdout + stderr }))
    }))

interface Row {
  readonly id: number
  readonly done: string
  readonly eta: string
  readonly status: string
  readonly name: string
}

/** `-l`'s table: "%6d%c  %4s  %9s  %-8s  %6.1f  %6.1f  %5s  %-11s  %s" per torrent. */
const parseList = (out: string): ReadonlyArray<Row> =>
  out.split("\n").flatMap((line) => {
    const m = /^\s+(\d+)\*?\s+(\S+)\s+(.+?)\s{2,}(.+?)\s{2,}[\d.]+\s+[\d.]+\s+(\S+)\s+(.+?)\s{2,}(.+)$/.exec(line)
    return m === null ? [] : [{ id: Number(m[1]), done: m[2]!, eta: m[4]!, status: m[6]!, name: m[7]! }]
  })

const album = makeTorrent({
  name: "album",
  pieceLength: 16384,
  files: [{ path: ["one.flac"], data: randomBytes(40_000) }, { path: ["two.flac"], data: randomBytes(9_000, 2) }],
  announce: "http://tracker.example.org:6969/announce"
})
const albumHash = Buffer.from(album.metainfo.infoHash!).toString("hex")
const magnet = "magnet:?xt=urn:btih:00112233445566778899aabbccddeeff00112233&dn=linux.iso"

const serve = (options: Partial<RpcServer.RpcServerOptions> = {}) =>
  Effect.gen(function*() {
    const memory = yield* make()
    const { port } = yield* RpcServer.make({ port: 0, ...options }).pipe(Effect.provideService(SessionControl, memory))
    return { port, memory }
  })

const summary = (c: ControlCall) => (c._tag === "add" ? { add: c.source._tag } : c)

describe("interop: transmission-remote 3.00 drives the RPC", () => {
  requiredInCi(remoteVersion() !== undefined, "transmission-remote is not installed (apt-get install -y transmission-cli)")
  let dir = ""
  let torrentFile = ""

  beforeAll(() => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(remoteVersion() !== undefined)) return
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-remote-"))
    torrentFile = path.join(dir, "album.torrent")
    fs.writeFileSync(torrentFile, album.bytes)
    return () => fs.rmSync(dir, { recursive: true, force: true })
  })

  it.scopedLive("adds, lists, stops, starts, shows and removes torrents", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve()
      const added = yield* remote(port, "-a", torrentFile)
      expect(added).toEqual({ code: 0, out: `localhost:${port}/transmission/rpc/ responded: "success"\n` })
      expect((yield* remote(port, "-a", magnet)).code).toBe(0)
      // transmission-remote reads a local .torrent itself and sends its bytes (metainfo).
      expect(memory.calls()).toMatchObject([{ _tag: "add", source: { _tag: "Metainfo" } }, { _tag: "add", source: { _tag: "Magnet", uri: magnet } }])

      yield* memory.setProgress(1, 0.5)
      yield* memory.setRates(1, 20_000, 3_000)
      yield* memory.update(1, {
        peersConnected: 1,
        peers: [{
          address: "127.0.0.2", port: 6881, clientName: "aria2/1.36.0", peerId: "LUFSMjAwMC0=", rateToClient: 20_000, rateToPeer: 3_000,
          bytesToClient: 0, bytesToPeer: 0, progress: 1, isDownloadingFrom: true, isUploadingTo: true, isIncoming: false
        }]
      })
      const list = yield* remote(port, "-l")
      expect(parseList(list.out), list.out).toEqual([
        { id: 1, done: "50%", eta: "1 sec", status: "Up & Down", name: "album" }, // 24,500 bytes at 20,000 B/s: whole seconds, as Transmission
        { id: 2, done: "n/a", eta: "Unknown", status: "Idle", name: "linux.iso" }
      ])
      expect(list.out).toMatch(/^Sum:\s+24\.50 kB\s+3\.0\s+20\.0$/m)

      expect((yield* remote(port, "-t", "1", "-S")).code).toBe(0)
      expect(parseList((yield* remote(port, "-l")).out).map((r) => [r.id, r.status])).toEqual([[1, "Stopped"], [2, "Idle"]])
      expect((yield* remote(port, "-t", "1", "-s")).code).toBe(0)
      expect(parseList((yield* remote(port, "-l")).out)[0]?.status).toBe("Idle") // stopping dropped its peers
      yield* memory.update(1, {
        peersConnected: 1,
        peers: [{
          address: "127.0.0.9", port: 51413, clientName: "Transmission 3.00", peerId: "LVRSMzAwMC0=", rateToClient: 1_000, rateToPeer: 0,
          bytesToClient: 0, bytesToPeer: 0, progress: 0.25, isDownloadingFrom: true, isUploadingTo: false, isIncoming: true
        }]
      })
      expect(parseList((yield* remote(port, "-l")).out)[0]?.status).toBe("Downloading")

      const info = (yield* remote(port, "-t", "1", "-i")).out
      for (const line of ["Name: album", `Hash: ${albumHash}`, "State: Downloading", "Percent Done: 50.0%", "Location: /downloads", "Total size: 49.00 kB (49.00 kB wanted)", "Piece Count: 3", "Piece Size: 16.00 KiB", "Public torrent: Yes", "Download Limit: Unlimited"]) {
        expect(info, info).toContain(`  ${line}\n`)
      }
      const files = (yield* remote(port, "-t", "1", "-f")).out
      expect(files).toMatch(/^album \(2 files\):$/m)
      expect(files).toMatch(/^\s+0:\s+61% Normal\s+Yes\s+40\.00 kB\s+album\/one\.flac$/m)
      expect(files).toMatch(/^\s+1:\s+0% Normal\s+Yes\s+9\.00 kB\s+album\/two\.flac$/m)
      expect((yield* remote(port, "-t", "1", "-pi")).out).toMatch(/^127\.0\.0\.9\s+DI\s+25\.0\s+1\.0\s+0\.0\s+Transmission 3\.00$/m)
      const trackers = (yield* remote(port, "-t", "1", "-it")).out
      expect(trackers).toContain("Tracker 0: tracker.example.org:6969")

      const session = (yield* remote(port, "-si")).out
      for (const line of ["Daemon version: bt-effect 0.1.0 (Transmission RPC)", "RPC version: 17", "RPC minimum version: 14", "Download directory: /downloads", "Listenport: 6881", "Peer exchange allowed: Yes"]) {
        expect(session, session).toContain(`  ${line}\n`)
      }
      const stats = (yield* remote(port, "-st")).out
      expect(stats).toMatch(/CURRENT SESSION\n\s+Uploaded:\s+None\n\s+Downloaded:\s+24\.50 kB/)

      expect((yield* remote(port, "-t", "1", "-d", "100")).code).toBe(0)
      expect((yield* remote(port, "-d", "250")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-i")).out).toContain("  Download Limit: 100 kB/s\n")
      expect((yield* remote(port, "-si")).out).toContain("  Download speed limit: 250 kB/s")
      // What bt-effect does not do is refused, named, instead of "success" with nothing changed.
      const refused = yield* remote(port, "-t", "1", "-td", "http://tracker.example.net/announce")
      expect(refused.code).not.toBe(0)
      expect(refused.out).toMatch(/not supported: tracker-add/)

      expect((yield* remote(port, "-t", "1", "-r")).code).toBe(0)
      expect((yield* remote(port, "-t", "2", "--remove-and-delete")).code).toBe(0)
      expect(parseList((yield* remote(port, "-l")).out)).toEqual([])
      // -si asks for every session key, the download folder's free space among them: a read, left out here.
      expect(memory.calls().filter((c) => c._tag === "freeSpace")).toEqual([{ _tag: "freeSpace", path: "/downloads" }, { _tag: "freeSpace", path: "/downloads" }])
      expect(memory.calls().filter((c) => c._tag !== "freeSpace").map(summary)).toEqual([
        { add: "Metainfo" },
        { add: "Magnet" },
        { _tag: "stop", which: [1] },
        { _tag: "start", which: [1] },
        { _tag: "set", which: [1], settings: { downloadLimit: 100_000 } },
        { _tag: "updateSettings", settings: { speedLimitDown: 250_000, rememberedLimitDown: 250 } },
        { _tag: "remove", which: [1], deleteData: false },
        { _tag: "remove", which: [2], deleteData: true }
      ])
    }), 60_000)

  it.scopedLive("chooses files and their priorities: -G, -g, -ph, -pl, -pn, and -f shows them", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve()
      expect((yield* remote(port, "-a", torrentFile)).code).toBe(0)
      const fileLine = (out: string, n: number) => out.split("\n").find((l) => new RegExp(`^\\s+${n}:`).test(l))?.trim().split(/\s+/)
      // -f's columns: "#: Done Priority Get Size Name".
      const files = Effect.map(remote(port, "-t", "1", "-f"), (r) => [0, 1].map((n) => fileLine(r.out, n)?.slice(1, 4)))
      expect(yield* files).toEqual([["0%", "Normal", "Yes"], ["0%", "Normal", "Yes"]])
      expect((yield* remote(port, "-t", "1", "-G", "0")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-ph", "1")).code).toBe(0)
      expect(yield* files).toEqual([["0%", "Normal", "No"], ["0%", "High", "Yes"]])
      // Only two.flac wanted: 9,000 bytes when done.
      expect((yield* remote(port, "-t", "1", "-i")).out).toContain("  Total size: 49.00 kB (9.00 kB wanted)\n")
      expect((yield* remote(port, "-t", "1", "-pl", "all")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-g", "all")).code).toBe(0)
      expect(yield* files).toEqual([["0%", "Low", "Yes"], ["0%", "Low", "Yes"]])
      expect((yield* remote(port, "-t", "1", "-pn", "0")).code).toBe(0)
      yield* memory.setProgress(1, 1)
      expect(yield* files).toEqual([["100%", "Normal", "Yes"], ["100%", "Low", "Yes"]])
      expect(memory.calls().filter((c) => c._tag === "set")).toEqual([
        { _tag: "set", which: [1], settings: { files: { unwanted: [0] } } },
        { _tag: "set", which: [1], settings: { files: { high: [1] } } },
        { _tag: "set", which: [1], settings: { files: { low: "all" } } },
        { _tag: "set", which: [1], settings: { files: { wanted: "all" } } },
        { _tag: "set", which: [1], settings: { files: { normal: [0] } } }
      ])
    }), 60_000)

  it.scopedLive("lists a torrent while it moves data at fractional rates, and sets seed ratios, the alternative limits and the data's folder", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve()
      expect((yield* remote(port, "-a", torrentFile)).code).toBe(0)
      // Rates as meters give them: transmission-remote 3.00 left out a row whose rates were not integers.
      yield* memory.setProgress(1, 0.25)
      yield* memory.setRates(1, 20_000.7, 2_999.4)
      yield* memory.update(1, {
        peersConnected: 1,
        peers: [{
          address: "127.0.0.2", port: 6881, clientName: "aria2/1.36.0", peerId: "LUFSMjAwMC0=", rateToClient: 20_000.7, rateToPeer: 2_999.4,
          bytesToClient: 12_250, bytesToPeer: 100, progress: 1, isDownloadingFrom: true, isUploadingTo: true, isIncoming: false
        }]
      })
      const listed = parseList((yield* remote(port, "-l")).out)
      expect(listed.map((r) => [r.id, r.done, r.status, r.name])).toEqual([[1, "25%", "Up & Down", "album"]])

      // -t 1 -sr 2: the torrent's own ratio; -SR: none; -gsr 1.5: the session's.
      expect((yield* remote(port, "-t", "1", "-sr", "2")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-i")).out).toContain("  Ratio Limit: 2.0\n")
      expect((yield* remote(port, "-t", "1", "-SR")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-i")).out).toContain("  Ratio Limit: Unlimited\n")
      expect((yield* remote(port, "-gsr", "1.5")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-srd")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-i")).out).toMatch(/Ratio Limit: Default/)

      // -as / -AS, -asd / -asu: the alternative limits, shown by -si.
      expect((yield* remote(port, "-asd", "40", "-asu", "7")).code).toBe(0)
      expect((yield* remote(port, "-as")).code).toBe(0)
      const on = (yield* remote(port, "-si")).out
      expect(on).toContain("  Download speed limit: 40 kB/s (Disabled limit: 100 kB/s; Enabled turtle limit: 40 kB/s)")
      expect(on).toContain("  Upload speed limit: 7 kB/s (Disabled limit: 100 kB/s; Enabled turtle limit: 7 kB/s)")
      expect((yield* remote(port, "-AS")).code).toBe(0)
      expect((yield* remote(port, "-si")).out).toContain("  Download speed limit: Unlimited (Disabled limit: 100 kB/s; Disabled turtle limit: 40 kB/s)")

      // --move: the data goes to the new folder; --find: looked for there.
      expect((yield* remote(port, "-t", "1", "--move", "/srv/new")).code).toBe(0)
      expect((yield* remote(port, "-t", "1", "-i")).out).toContain("  Location: /srv/new\n")
      expect((yield* remote(port, "-t", "1", "--find", "/srv/found")).code).toBe(0)

      expect(memory.calls().filter((c) => c._tag !== "add" && c._tag !== "freeSpace")).toEqual([
        { _tag: "set", which: [1], settings: { seedRatioLimit: 2, seedRatioMode: 1 } },
        { _tag: "set", which: [1], settings: { seedRatioMode: 2 } },
        { _tag: "updateSettings", settings: { seedRatioLimit: 1.5, seedRatioLimited: true } },
        { _tag: "set", which: [1], settings: { seedRatioMode: 0 } },
        { _tag: "updateSettings", settings: { altSpeedDown: 40, altSpeedUp: 7 } },
        { _tag: "updateSettings", settings: { altSpeedEnabled: true } },
        { _tag: "updateSettings", settings: { altSpeedEnabled: false } },
        { _tag: "setLocation", which: [1], folder: "/srv/new", move: true },
        { _tag: "setLocation", which: [1], folder: "/srv/found", move: false }
      ])
    }), 60_000)

  it.scopedLive("reports a .torrent the session refuses and a duplicate", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve()
      const bad = path.join(dir, "bad.torrent")
      fs.writeFileSync(bad, "this is not bencode")
      const refused = yield* remote(port, "-a", bad)
      expect(refused.code).not.toBe(0)
      expect(refused.out).toMatch(/^Error: invalid or corrupt torrent file/m)
      expect((yield* remote(port, "-a", torrentFile)).code).toBe(0)
      expect((yield* remote(port, "-a", torrentFile)).code).toBe(0)
      expect(memory.calls().length).toBe(3)
      expect(parseList((yield* remote(port, "-l")).out).map((r) => r.name)).toEqual(["album"])
    }), 30_000)

  it.scopedLive("needs the credentials when the server asks for them", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve({ auth: { username: "user", password: "secret" } })
      const anonymous = yield* remote(port, "-a", magnet)
      expect(anonymous.code).not.toBe(0)
      expect(anonymous.out).toContain("Unauthorized User")
      expect((yield* remote(port, "-n", "user:wrong", "-l")).out).toContain("Unauthorized User")
      expect(memory.calls()).toEqual([])
      expect((yield* remote(port, "-n", "user:secret", "-a", magnet)).code).toBe(0)
      expect(parseList((yield* remote(port, "-n", "user:secret", "-l")).out).map((r) => r.name)).toEqual(["linux.iso"])
    }), 30_000)

  it.scopedLive("serves a JSON-RPC 2.0 client and transmission-remote on the same session", () =>
    Effect.gen(function*() {
      const { port, memory } = yield* serve()
      const url = `http://127.0.0.1:${port}/transmission/rpc`
      const post = (body: unknown, sessionId: string) =>
        Effect.promise(() => fetch(url, { method: "POST", headers: { "x-transmission-session-id": sessionId }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) }))
      const first = yield* post({}, "")
      expect(first.status).toBe(409)
      const sessionId = first.headers.get("x-transmission-session-id") ?? ""
      const call = (body: unknown) => Effect.flatMap(post(body, sessionId), (r) => Effect.promise(() => r.json()))
      const add = { jsonrpc: "2.0", method: "torrent_add", params: { metainfo: Buffer.from(album.bytes).toString("base64"), paused: true }, id: 1 }
      expect(yield* call(add))
        .toEqual({ jsonrpc: "2.0", result: { torrent_added: { id: 1, name: "album", hash_string: albumHash } }, id: 1 })
      expect(parseList((yield* remote(port, "-l")).out)).toEqual([{ id: 1, done: "0%", eta: "Unknown", status: "Stopped", name: "album" }])
      expect((yield* remote(port, "-t", "1", "-s")).code).toBe(0)
      const get = { jsonrpc: "2.0", method: "torrent_get", params: { ids: [1], fields: ["status", "name"] }, id: 2 }
      const got = yield* call(get)
      expect(got).toEqual({ jsonrpc: "2.0", result: { torrents: [{ status: 4, name: "album" }] }, id: 2 })
      expect(memory.calls().map(summary)).toEqual([{ add: "Metainfo" }, { _tag: "start", which: [1] }])
    }), 30_000)
})
