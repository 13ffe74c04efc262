/**
 * The interop harness itself, aria2c to aria2c: a bittorrent-tracker on loopback, an aria2c seeder on
 * 127.0.0.2 and an aria2c downloader on 127.0.0.1. Needs aria2c (`apt-get install -y aria2`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  aria2cVersion,
  logTail,
  runAria2Download,
  type Seeder,
  startAria2Seeder,
  startTracker,
  stopAll,
  type TempDir,
  tempDir,
  type Tracker
} from "../support/interop.js"
import { makePayload, type Payload, sha256Tree, verifyDownload, writeTorrent } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A BEP 15 connect request; the answer is action 0 with our transaction id. */
const udpConnect = (url: string) =>
  new Promise<Buffer>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = dgram.createSocket("udp4")
    const request = Buffer.alloc(16)
    request.writeBigUInt64BE(0x41727101980n, 0)
    request.writeUInt32BE(0, 8)
    request.writeUInt32BE(0xc0ffee, 12)
    const timer = setTimeout(() => (socket.close(), reject(new Error("no UDP answer"))), 5_000)
    socket.once("message", (message) => {
      clearTimeout(timer)
      socket.close()
      resolve(message)
    })
    socket.send(request, Number(port), hostname)
  })

describe("interop harness (aria2c seeder -> aria2c downloader)", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  let root: TempDir | undefined
  let tracker: Tracker
  const seeders: Array<Seeder> = []

  const download = async (payload: Payload, out: string, announceUrl?: string) => {
    const result = await runAria2Download({
      torrent: payload.torrentPath,
      outDir: out,
      timeoutMs: 90_000,
      ...(announceUrl === undefined ? {} : { announceUrl })
    })
    expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
    expect(await verifyDownload(payload, out)).toEqual([])
    expect(await sha256Tree(out)).toEqual(await sha256Tree(payload.dataDir))
    return result
  }

  beforeAll(async () => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(aria2cVersion() !== undefined)) return
    root = tempDir()
    tracker = await startTracker()
  }, 30_000)

  afterAll(async () => {
    await Promise.all(seeders.map((s) => s.stop()))
    await tracker?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  it("the tracker answers on its HTTP and UDP URLs", async () => {
    expect(tracker.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/announce$/)
    expect(tracker.udpUrl).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/)
    const answer = await udpConnect(tracker.udpUrl)
    expect(answer.length).toBe(16)
    expect(answer.readUInt32BE(0)).toBe(0)
    expect(answer.readUInt32BE(4)).toBe(0xc0ffee)
    const scrape = await fetch(tracker.httpUrl.replace("/announce", "/scrape"))
    expect(scrape.status).toBe(200)
    expect(Buffer.from(await scrape.arrayBuffer()).toString("latin1")).toMatch(/^d5:filesde/)
  })

  it("downloads the 64 MiB single-file payload; every byte equal", async () => {
    const dir = path.join(root!.path, "single")
    const payload = makePayload(dir, "single", { announce: tracker.httpUrl })
    expect(payload.totalLength).toBe(64 * 1024 * 1024)
    expect(payload.metainfo.pieceCount).toBe(256)
    const seeder = await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker })
    seeders.push(seeder)
    expect(seeder.address).toMatch(/^127\.0\.0\.2:\d+$/)

    await download(payload, path.join(dir, "out"))
    const swarm = tracker.announces.filter((a) => a.infoHash === payload.infoHash)
    expect(swarm.some((a) => a.addr === seeder.address && a.event === "start" && a.left === 0)).toBe(true)
    expect(swarm.some((a) => a.addr.startsWith("127.0.0.1:") && a.event === "start" && a.left === payload.totalLength))
      .toBe(true)

    await seeder.stop()
    expect(seeder.hasExited()).toBe(true)
    expect(isAlive(seeder.pid)).toBe(false)
  }, 120_000)

  it("downloads the multi-file payload (nested folders, empty and odd sizes) with a UDP-only torrent", async () => {
    const dir = path.join(root!.path, "multi")
    // The torrent names only the UDP tracker (as bt-effect will get it); both aria2c peers use HTTP.
    const payload = makePayload(dir, "multi", { announce: tracker.udpUrl })
    const sizes = payload.files.map((f) => f.length)
    expect(payload.files.length).toBe(100)
    expect(sizes[0]).toBe(0)
    expect(sizes[99]).toBe(0)
    expect(sizes.filter((s) => s === 0).length).toBeGreaterThanOrEqual(5)
    expect(sizes.filter((s) => s > 0 && s < 100).length).toBeGreaterThanOrEqual(5)
    expect(sizes.filter((s) => s > payload.pieceLength).length).toBeGreaterThanOrEqual(10)
    expect(payload.files.some((f) => f.path.split("/").length >= 6)).toBe(true)
    expect(payload.metainfo.announce).toBe(tracker.udpUrl)
    // Pieces that span file boundaries: a file that neither starts nor ends on a piece boundary.
    let offset = 0
    let spanning = 0
    for (const s of sizes) {
      if (s > 0 && offset % payload.pieceLength !== 0 && (offset + s) % payload.pieceLength !== 0) spanning++
      offset += s
    }
    expect(spanning).toBeGreaterThan(50)

    const seeder = await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker })
    seeders.push(seeder)
    await download(payload, path.join(dir, "out"), tracker.httpUrl)

    // The same content under another torrent file has the same info hash (writeTorrent).
    const again = writeTorrent(payload, path.join(dir, "again.torrent"), { announce: tracker.httpUrl })
    await download({ ...payload, torrentPath: again }, path.join(dir, "out-again"))
    await seeder.stop()
  }, 120_000)

  it("verifyDownload reports missing, different, truncated and extra files", async () => {
    const dir = path.join(root!.path, "verify")
    const payload = makePayload(dir, "multi", { fileCount: 20, pieceLength: 16384, seed: 7 })
    expect(makePayload(path.join(dir, "twin"), "multi", { fileCount: 20, pieceLength: 16384, seed: 7 }).infoHash)
      .toBe(payload.infoHash)
    const out = path.join(dir, "out")
    fs.cpSync(payload.dataDir, out, { recursive: true })
    expect(await verifyDownload(payload, out)).toEqual([])
    const [a, b, c] = payload.files.filter((f) => f.length > 10)
    const fileOf = (f: { readonly path: string }) => path.join(out, ...f.path.split("/"))
    const bytes = fs.readFileSync(fileOf(a!))
    bytes[5] = bytes[5]! ^ 1
    fs.writeFileSync(fileOf(a!), bytes)
    fs.rmSync(fileOf(b!))
    fs.truncateSync(fileOf(c!), 3)
    fs.writeFileSync(path.join(out, payload.name, "stray.part"), "x")
    expect(await verifyDownload(payload, out)).toEqual([
      `sha256 ${a!.path}`,
      `missing ${b!.path}`,
      `size ${c!.path}: 3 != ${c!.length}`,
      `extra ${payload.name}/stray.part`
    ])
  })

  it("stops a seeder that cannot start and reports its log", async () => {
    const dir = path.join(root!.path, "missing")
    await expect(
      startAria2Seeder({ torrent: path.join(dir, "nothing.torrent"), dataDir: dir, tracker, timeoutMs: 10_000 })
    ).rejects.toThrow(/aria2c seeder exited/)
  }, 30_000)
})
