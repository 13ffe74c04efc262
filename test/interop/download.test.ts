/**
 * bt-effect downloads from a real aria2c seeder (on 127.0.0.2) through a real bittorrent-tracker (on
 * 127.0.0.1): a 64 MiB single-file torrent and a 100-file torrent with nested folders, odd sizes and
 * pieces spanning files, once through the tracker's HTTP URL and once through its UDP URL. aria2c
 * announces over HTTP (it ignores UDP trackers while its DHT is off): one swarm behind both URLs.
 * Every file's sha256 must equal the seed's.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import {
  aria2cVersion,
  logTail,
  runBtEffectDownload,
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

describe("interop: bt-effect downloads from aria2c", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  let root: TempDir | undefined
  let tracker: Tracker
  const seeders = new Map<string, { payload: Payload; seeder: Seeder }>()

  beforeAll(async () => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(aria2cVersion() !== undefined)) return
    root = tempDir("bt-effect-interop-download-")
    tracker = await startTracker()
    for (const kind of ["single", "multi"] as const) {
      const payload = makePayload(path.join(root.path, kind), kind, { announce: tracker.httpUrl, seed: kind === "single" ? 11 : 12 })
      const seeder = await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker })
      seeders.set(kind, { payload, seeder })
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([...seeders.values()].map(({ seeder }) => seeder.stop()))
    await tracker?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  for (const kind of ["single", "multi"] as const) {
    for (const via of ["http", "udp"] as const) {
      it(`downloads the ${kind}-file payload through the ${via.toUpperCase()} tracker; every file's sha256 equal`, async () => {
        const { payload } = seeders.get(kind)!
        const torrent = writeTorrent(payload, path.join(root!.path, `${kind}-${via}.torrent`), {
          announce: via === "http" ? tracker.httpUrl : tracker.udpUrl
        })
        const out = path.join(root!.path, `${kind}-${via}-out`)
        const result = await runBtEffectDownload({ torrent, outDir: out, timeoutMs: 90_000, extraArgs: ["--stall-timeout", "30"] })
        expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
        expect(await verifyDownload(payload, out)).toEqual([])
        expect(await sha256Tree(out)).toEqual(await sha256Tree(payload.dataDir))
        // bt-effect itself announced over the transport under test.
        const ours = tracker.announces.filter((a) => a.infoHash === payload.infoHash && a.addr.startsWith("127.0.0.1:"))
        expect(ours.some((a) => a.type === via && a.event === "start")).toBe(true)
        console.log(`${kind} via ${via}: ${(payload.totalLength / 1e6).toFixed(1)} MB in ${result.seconds.toFixed(2)} s`)
      }, 120_000)
    }
  }
})
