/**
 * Other clients as downloaders (test/support/leechers.ts and runAria2Download) from a seeder that calls
 * them: the shape of the tests where bt-effect seeds. Here the seeder is aria2c on 127.0.0.2; the
 * leechers are transmission-cli and aria2c on 127.0.0.1. Needs aria2c and transmission-cli
 * (`apt-get install -y aria2 transmission-cli`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  aria2cVersion,
  freePort,
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
import { leecherLog, runTransmissionDownload, transmissionVersion } from "../support/leechers.js"
import { makePayload, sha256Tree, verifyDownload } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
const nonEmpty = (tree: ReadonlyMap<string, string>) => new Map([...tree].filter(([, hash]) => hash !== emptySha256))

/** The lines of an aria2c log at level info that say it dialed `address`. */
const dialed = (logPath: string, address: string) =>
  fs.readFileSync(logPath, "utf8").split("\n").filter((line) => line.includes(`Connecting to ${address}`))

describe("interop: other clients download from a seeder that calls them", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  requiredInCi(transmissionVersion() !== undefined, "transmission-cli is not installed (apt-get install -y transmission-cli)")
  let root: TempDir | undefined
  let tracker: Tracker
  const seeders: Array<Seeder> = []

  beforeAll(async () => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(aria2cVersion() !== undefined && transmissionVersion() !== undefined)) return
    root = tempDir("bt-effect-interop-clients-")
    tracker = await startTracker()
  }, 30_000)

  afterAll(async () => {
    await Promise.all(seeders.map((s) => s.stop()))
    await tracker?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  for (const kind of ["single", "multi"] as const) {
    it(`transmission-cli downloads the ${kind}-file payload from an aria2c seeder that dials it`, async () => {
      const dir = path.join(root!.path, `transmission-${kind}`)
      const payload = makePayload(dir, kind, {
        announce: tracker.httpUrl,
        seed: kind === "single" ? 21 : 22,
        ...(kind === "single" ? { size: 16 * 1024 * 1024 } : { fileCount: 40 })
      })
      // The seeder comes first: it hears of the leecher at a re-announce, 2 s apart.
      const seeder = await startAria2Seeder({
        torrent: payload.torrentPath,
        dataDir: payload.dataDir,
        tracker,
        reannounceSeconds: 2,
        logLevel: "info"
      })
      seeders.push(seeder)
      const out = path.join(dir, "out")
      let leecherPid = 0
      const result = await runTransmissionDownload({
        torrent: payload.torrentPath,
        outDir: out,
        timeoutMs: 60_000,
        onStart: ({ pid }) => (leecherPid = pid)
      })
      expect({ completed: result.completed, timedOut: result.timedOut, exit: result.exit }, leecherLog(result))
        .toEqual({ completed: true, timedOut: false, exit: { code: 0, signal: null } })
      expect(result.address).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(isAlive(leecherPid)).toBe(false)
      // Transmission 3.00 creates no empty files: the only difference allowed is an empty file missing.
      const empty = new Set(payload.files.filter((f) => f.length === 0).map((f) => `missing ${f.path}`))
      expect(kind === "single" || empty.size >= 5).toBe(true)
      expect((await verifyDownload(payload, out)).filter((problem) => !empty.has(problem))).toEqual([])
      expect(nonEmpty(await sha256Tree(out))).toEqual(nonEmpty(await sha256Tree(payload.dataDir)))
      // Transmission announced from the address it listened on, and the seeder called it there.
      const swarm = tracker.announces.filter((a) => a.infoHash === payload.infoHash)
      expect(swarm.some((a) => a.addr === result.address && a.event === "start" && a.left === payload.totalLength))
        .toBe(true)
      expect(dialed(seeder.logPath, result.address).length, logTail(seeder.logPath)).toBeGreaterThan(0)
      await seeder.stop()
      expect(isAlive(seeder.pid)).toBe(false)
      console.log(`transmission-cli, ${kind}: ${(payload.totalLength / 1e6).toFixed(1)} MB in ${result.seconds.toFixed(2)} s`)
    }, 90_000)
  }

  it("aria2c downloads as a pure leecher: the seeder it never dialed calls it", async () => {
    const dir = path.join(root!.path, "aria2c")
    const payload = makePayload(dir, "single", { announce: tracker.httpUrl, seed: 23, size: 16 * 1024 * 1024 })
    const out = path.join(dir, "out")
    const port = await freePort("127.0.0.1")
    const leecher = `127.0.0.1:${port}`
    // The leecher comes first and finds nobody; the seeder's first answer names it. The tracker asks
    // for re-announces every 10 min, so the leecher does not learn of the seeder before it is done.
    const running = runAria2Download({
      torrent: payload.torrentPath,
      outDir: out,
      port,
      announceUrl: tracker.httpUrl,
      timeoutMs: 60_000,
      logLevel: "info"
    })
    await tracker.waitForAnnounce((a) => a.infoHash === payload.infoHash && a.addr === leecher, 15_000)
    const seeder = await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker, logLevel: "info" })
    seeders.push(seeder)
    const result = await running
    expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
    expect(await verifyDownload(payload, out)).toEqual([])
    expect(await sha256Tree(out)).toEqual(await sha256Tree(payload.dataDir))
    expect(dialed(seeder.logPath, leecher).length, logTail(seeder.logPath)).toBeGreaterThan(0)
    expect(dialed(result.logPath, seeder.address)).toEqual([])
    await seeder.stop()
    expect(isAlive(seeder.pid)).toBe(false)
    console.log(`aria2c leecher: ${(payload.totalLength / 1e6).toFixed(1)} MB in ${result.seconds.toFixed(2)} s`)
  }, 90_000)
})
