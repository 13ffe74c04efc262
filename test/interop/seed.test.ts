/**
 * bt-effect as a seeder for real clients, on loopback, with torrents made by `bt-effect create`:
 * aria2c downloads from it (and both sides speak the Fast extension); transmission-cli downloads from it
 * (Transmission 3.00 never dials peers at 127.x, so the seeder must connect out to it); and a mixed swarm
 * of one bt-effect seeder, three bt-effect downloaders and an aria2c downloader through bt-effect's own
 * tracker.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { aria2cVersion, logTail, runAria2Download, startTracker, stopAll, type TempDir, tempDir } from "../support/interop.js"
import { runTransmissionDownload, transmissionVersion, leecherLog } from "../support/leechers.js"
import { makePayload, type Payload, verifyDownload } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

/** The files of a download, compared with the payload's: Transmission creates no zero-length files. */
const verifyNonEmpty = async (payload: Payload, out: string) =>
  (await verifyDownload(payload, out)).filter((problem) => {
    const missing = /^missing (.*)$/.exec(problem)
    return missing === null || payload.files.find((f) => f.path === missing[1])?.length !== 0
  })

describe("interop: real clients download from bt-effect", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  requiredInCi(transmissionVersion() !== undefined, "transmission-cli is not installed (apt-get install -y transmission-cli)")
  let root: TempDir | undefined

  beforeAll(() => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(aria2cVersion() !== undefined && transmissionVersion() !== undefined)) return
    root = tempDir("bt-effect-interop-seed-")
  })

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root?.remove()
  }, 30_000)

  /** A payload and its torrent made by `bt-effect create`, announcing to `announce`. */
  const created = async (kind: "single" | "multi", name: string, announce: string, size?: number) => {
    const payload = makePayload(path.join(root!.path, name), kind, { seed: 21, ...(size === undefined ? {} : { size }), fileCount: 40 })
    const torrent = path.join(root!.path, `${name}.torrent`)
    const r = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", announce, "--piece-length", "65536", "-o", torrent])
    expect(r.code, r.stderr).toBe(0)
    const infoHash = /info hash ([0-9a-f]{40})/.exec(r.stdout)![1]!
    return { payload, torrent, infoHash }
  }

  it("aria2c downloads from a bt-effect seeder; the Fast extension is on both ways", async () => {
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const { payload, torrent } = await created("single", "to-aria2c", tracker.match[1]!, 32 * 1024 * 1024)
    const seeder = await background(["seed", torrent, "--data", payload.dataDir, "--port", "0", "--verbose"], /seeding .* on port \d+/)
    const out = path.join(root!.path, "aria2c-out")
    const result = await runAria2Download({ torrent, outDir: out, announceUrl: tracker.match[1]!, timeoutMs: 90_000 })
    expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
    expect(await verifyDownload(payload, out)).toEqual([])
    await stop(seeder.child)
    // aria2c has nothing at first and we have everything: HAVE NONE one way, HAVE ALL the other, and allowed fast sets.
    expect(seeder.output(), seeder.output()).toMatch(/connected \((inbound|outbound), aria2 1\.36\.0\)/)
    expect(seeder.output()).toMatch(/fast extension on; sent 1 HaveAll, 10 AllowedFast.*; received 1 HaveNone/)
    await stop(tracker.child)
  }, 120_000)

  it("transmission-cli downloads from a bt-effect seeder that connects out to it", async () => {
    const tracker = await startTracker()
    const { infoHash, payload, torrent } = await created("multi", "to-transmission", tracker.httpUrl)
    const out = path.join(root!.path, "transmission-out")
    let seeder: Awaited<ReturnType<typeof background>> | undefined
    const downloading = runTransmissionDownload({
      torrent,
      outDir: out,
      timeoutMs: 90_000,
      onStart: () => {
        // Once Transmission has announced, the seeder starts and finds it through the tracker. Its
        // `start`, not the `stop` Transmission 3 sends first (for a session it never had): a seeder
        // that starts quickly would otherwise announce in between and learn no peer.
        void tracker
          .waitForAnnounce((a) => a.addr.startsWith("127.0.0.1:") && a.infoHash === infoHash && a.event === "start", 30_000)
          .then(() => background(["seed", torrent, "--data", payload.dataDir, "--port", "0", "--verbose"], /seeding .* on port \d+/))
          .then((s) => (seeder = s))
      }
    })
    const result = await downloading
    expect(result.completed, leecherLog(result)).toBe(true)
    expect(await verifyNonEmpty(payload, out)).toEqual([])
    expect(seeder?.output()).toMatch(/connected \(outbound, Transmission 3\)/)
    if (seeder !== undefined) await stop(seeder.child)
    await tracker.stop()
  }, 150_000)

  it("a mixed swarm through bt-effect's tracker: one bt-effect seeder, three bt-effect downloaders and aria2c", async () => {
    const tracker = await background(["tracker", "--port", "0", "--interval", "30"], /tracker: (http:\S+)/)
    const { payload, torrent } = await created("multi", "mixed", tracker.match[1]!)
    const seeder = await background(["seed", torrent, "--data", payload.dataDir, "--port", "0", "--upload-slots", "2"], /seeding .* on port \d+/)
    const outs = ["bt-1", "bt-2", "bt-3"].map((n) => path.join(root!.path, `mixed-${n}`))
    const aria2Out = path.join(root!.path, "mixed-aria2c")
    const aria2c = runAria2Download({ torrent, outDir: aria2Out, announceUrl: tracker.match[1]!, timeoutMs: 120_000 })
    const ours = await Promise.all(
      outs.map((out) => runCli(["download", torrent, "--out", out, "--port", "0", "--stall-timeout", "60"], { timeoutMs: 120_000 }))
    )
    for (const r of ours) expect(r.code, r.stderr).toBe(0)
    const aria = await aria2c
    expect({ code: aria.code, timedOut: aria.timedOut }, logTail(aria.logPath)).toEqual({ code: 0, timedOut: false })
    for (const out of [...outs, aria2Out]) expect(await verifyDownload(payload, out)).toEqual([])
    expect(fs.existsSync(path.join(outs[0]!, payload.name))).toBe(true)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 180_000)
})
