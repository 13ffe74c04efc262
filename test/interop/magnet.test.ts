/**
 * Magnet links against aria2c 1.36 on loopback: bt-effect fetches the metadata (several ut_metadata pieces)
 * from an aria2c seeder and serves it to an aria2c downloader; PEX both ways (bt-effect dials a peer only
 * aria2c's ut_pex named, aria2c dials a peer only bt-effect's ut_pex named); and trackerless magnets through
 * a DHT whose only node is a bt-effect node in this process, both ways. Real clients run with DHT, LPD and
 * PEX off except the one a case is about, and their DHT knows only 127.0.0.1 nodes. Facts about aria2c
 * relied on here are in docs/aria2-behaviour.md (it ignores x.pe; it names in ut_pex only peers of
 * another IP met within 60 s, that announced a listening port; it drops a peer when both are seeds).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  announceFor,
  aria2DhtArgs,
  type DhtNodeHandle,
  freeUdpPort,
  magnetLink,
  manyFilesPayload,
  metadataPieces,
  readLog,
  startAria2,
  startDhtNode,
  waitUntil
} from "../support/aria2Magnet.js"
import { background, mainJs, runCli, stop, stopAllBackground } from "../support/cli.js"
import {
  aria2cVersion,
  logTail,
  runAria2Download,
  runBtEffectDownload,
  startAria2Seeder,
  startTracker,
  stopAll,
  type TempDir,
  tempDir,
  type Tracker
} from "../support/interop.js"
import { type Payload, verifyDownload, writeTorrent } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("interop: magnet links, ut_metadata, PEX and the DHT with aria2c", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  let root: TempDir | undefined
  let tracker: Tracker
  let payload: Payload
  /** Processes and nodes a case started, stopped after it even when it fails. */
  const cleanups: Array<() => Promise<unknown>> = []
  const later = <A extends { readonly stop: () => Promise<unknown> }>(thing: A): A => {
    cleanups.push(() => thing.stop())
    return thing
  }
  const cleanUp = async () => {
    for (const undo of cleanups.splice(0).reverse()) await undo().catch(() => {})
  }
  const dir = (name: string) => path.join(root!.path, name)
  const btSeed = (torrent: string, name: string, extra: ReadonlyArray<string>) =>
    background(["seed", torrent, "--data", payload.dataDir, "--port", "0", "--verbose", "--state", dir(`${name}-state`), ...extra],
      /seeding .* on port (\d+)/).then((s) => {
      cleanups.push(() => stop(s.child))
      return { ...s, port: Number(s.match[1]) }
    })
  const node = async (): Promise<DhtNodeHandle> => {
    const n = await startDhtNode()
    cleanups.push(() => n.close())
    return n
  }

  beforeAll(async () => {
    // Without the clients the tests are skipped (or fail, in CI) and there is nothing to set up.
    if (!(aria2cVersion() !== undefined)) return
    if (!fs.existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first (npx tsc -p tsconfig.build.json)`)
    root = tempDir("bt-effect-interop-magnet-")
    tracker = await startTracker()
    // 600 small files: about 4 MiB whose info dictionary takes three metadata pieces.
    payload = manyFilesPayload(dir("payload"), { fileCount: 600, seed: 7 })
    expect(metadataPieces(payload)).toBeGreaterThanOrEqual(3)
  }, 60_000)

  afterAll(async () => {
    await cleanUp()
    await stopAllBackground()
    await tracker?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  it("fetches the metadata (several pieces) from an aria2c seeder named by x.pe, downloads, saves the .torrent", async () => {
    try {
      const seeder = later(await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker }))
      const out = dir("x-pe-out")
      const magnet = magnetLink(payload.infoHash, { name: payload.name, peers: [seeder.address] })
      const r = await runBtEffectDownload({
        torrent: magnet,
        outDir: out,
        timeoutMs: 60_000,
        extraArgs: ["--no-dht", "--verbose", "--state", dir("x-pe-state"), "--stall-timeout", "60"]
      })
      const log = readLog(r.logPath)
      expect({ code: r.code, timedOut: r.timedOut }, logTail(r.logPath)).toEqual({ code: 0, timedOut: false })
      expect(log).toContain(`fetching metadata for ${payload.name} from 1 peer(s) from the link`)
      expect(log).toMatch(new RegExp(`metadata: ${payload.name}, .* in ${payload.files.length} file\\(s\\), from ${escape(seeder.address)} in `))
      expect(await verifyDownload(payload, out)).toEqual([])
      // The .torrent written beside the data carries the same info dictionary.
      const saved = path.join(out, `${payload.name}.torrent`)
      expect(fs.readFileSync(saved).includes(Buffer.from(payload.metainfo.infoBytes))).toBe(true)
      const info = await runCli(["info", "--json", saved])
      expect(info.code, info.stderr).toBe(0)
      expect(JSON.parse(info.stdout).infoHash).toBe(payload.infoHash)
      console.log(`x.pe magnet from aria2c: ${metadataPieces(payload)} metadata pieces, ${(payload.totalLength / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s`)
    } finally {
      await cleanUp()
    }
  }, 90_000)

  it("serves the metadata to aria2c downloading a magnet through a tracker: every piece exactly once", async () => {
    try {
      const torrent = writeTorrent(payload, dir("serve.torrent"), { announce: tracker.httpUrl })
      const seeder = await btSeed(torrent, "serve", ["--no-dht"])
      await tracker.waitForAnnounce((a) => a.infoHash === payload.infoHash && a.addr === `127.0.0.1:${seeder.port}`, 20_000)
      const out = dir("serve-out")
      fs.mkdirSync(out, { recursive: true }) // aria2c saves the metadata only into an existing folder
      const r = await runAria2Download({
        torrent: magnetLink(payload.infoHash, { trackers: [tracker.httpUrl] }),
        outDir: out,
        timeoutMs: 60_000,
        extraArgs: ["--bt-save-metadata=true"]
      })
      expect({ code: r.code, timedOut: r.timedOut }, logTail(r.logPath)).toEqual({ code: 0, timedOut: false })
      expect(await verifyDownload(payload, out)).toEqual([])
      expect(fs.readFileSync(path.join(out, `${payload.infoHash}.torrent`)).includes(Buffer.from(payload.metainfo.infoBytes))).toBe(true)
      // aria2c fetches the metadata on one connection and the data on another: the seeder logs each at its end.
      const served = /peer 127\.0\.0\.1:\d+: .*extensions ([^;]*); metadata pieces served (\d+), rejected (\d+)/g
      await waitUntil(() => [...seeder.output().matchAll(served)].some((m) => m[2] !== "0"), 10_000, seeder.output)
      const lines = [...seeder.output().matchAll(served)]
      const metadataLine = lines.find((m) => m[2] !== "0")!
      expect(metadataLine[1]).toContain("ut_metadata")
      expect(metadataLine[1]).toContain("(aria2/1.36.0)")
      expect({ served: Number(metadataLine[2]), rejected: Number(metadataLine[3]) }).toEqual({ served: metadataPieces(payload), rejected: 0 })
      expect(lines.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(metadataPieces(payload))
      console.log(`aria2c magnet from bt-effect: ${r.seconds.toFixed(2)} s`)
    } finally {
      await cleanUp()
    }
  }, 90_000)

  it("dials a peer that only aria2c's ut_pex named", async () => {
    try {
      const pexTracker = later(await startTracker())
      // A seeds with PEX on; L, throttled so that it stays a leecher (two seeds drop each other), finds A
      // through the tracker. C (bt-effect) knows only A, and no tracker: only A's ut_pex can name L. A's
      // upload is capped too, or C would be done before its handshake with L (aria2c answers after ~1 s).
      const a = later(await startAria2Seeder({
        torrent: payload.torrentPath,
        dataDir: payload.dataDir,
        tracker: pexTracker,
        extraArgs: ["--enable-peer-exchange=true", "--max-upload-limit=512K"]
      }))
      const l = later(await startAria2({
        host: "127.0.0.3",
        dir: dir("pex-l"),
        logPath: dir("pex-l.log"),
        args: [`--bt-tracker=${pexTracker.httpUrl}`, "--enable-peer-exchange=true", "--max-download-limit=32K", payload.torrentPath]
      }))
      // L has told A its listening port (its extension handshake): from now on A names L to newcomers.
      await waitUntil(() => l.log().includes(`To: ${a.address} extended handshake`), 20_000, () => logTail(l.logPath))
      const out = dir("pex-c")
      const r = await runBtEffectDownload({
        torrent: magnetLink(payload.infoHash, { name: payload.name, peers: [a.address] }),
        outDir: out,
        timeoutMs: 60_000,
        extraArgs: ["--no-dht", "--verbose", "--state", dir("pex-c-state"), "--stall-timeout", "60"]
      })
      const log = readLog(r.logPath)
      expect({ code: r.code, timedOut: r.timedOut }, logTail(r.logPath)).toEqual({ code: 0, timedOut: false })
      expect(await verifyDownload(payload, out)).toEqual([])
      expect(log, log).toMatch(new RegExp(`peer ${escape(l.address)} connected \\(outbound, aria2 1\\.36\\.0\\)`))
      expect(log).toMatch(new RegExp(`peer ${escape(a.address)}: .*\\(aria2/1\\.36\\.0\\); .*PEX received [1-9]\\d* \\([1-9]\\d* peers\\)`))
      expect(l.hasExited()).toBe(false)
    } finally {
      await cleanUp()
    }
  }, 90_000)

  it("aria2c dials a peer that only bt-effect's ut_pex named", async () => {
    try {
      // S (bt-effect) seeds, announcing to T1. Y finds S through T2, where the test announced S; X finds S
      // through T1. Neither tracker knows both X and Y, so only S's ut_pex can tell X of Y.
      const t1 = later(await startTracker())
      const t2 = later(await startTracker())
      const s = await btSeed(writeTorrent(payload, dir("pex-s.torrent"), { announce: t1.httpUrl }), "pex-s", ["--no-dht"])
      await announceFor(t2.httpUrl, payload.infoHash, s.port)
      const leecher = (name: string, host: string, trackerUrl: string, pex: boolean) =>
        startAria2({
          host,
          dir: dir(`pex-${name}`),
          logPath: dir(`pex-${name}.log`),
          // Throttled: a leecher for the whole case (aria2c dials no new peer once complete).
          args: [`--bt-tracker=${trackerUrl}`, `--enable-peer-exchange=${pex}`, "--max-download-limit=32K", payload.torrentPath]
        }).then(later)
      const y = await leecher("y", "127.0.0.4", t2.httpUrl, false)
      await waitUntil(() => /peer 127\.0\.0\.4:\d+ connected \(inbound, aria2 1\.36\.0\)/.test(s.output()), 20_000, s.output)
      const x = await leecher("x", "127.0.0.3", t1.httpUrl, true)
      await waitUntil(() => x.log().includes(`From: ${y.address} handshake`), 30_000, () => `${logTail(x.logPath)}\n${s.output()}`)
      expect(x.log()).toContain(`Connecting to ${y.address}`)
      expect(s.output()).toMatch(/peer 127\.0\.0\.3:\d+ connected \(inbound, aria2 1\.36\.0\)/)
      // Neither tracker ever named Y to X.
      expect(t1.announces.some((a) => a.addr.startsWith("127.0.0.4:"))).toBe(false)
    } finally {
      await cleanUp()
    }
  }, 90_000)

  it("downloads a trackerless magnet from an aria2c seeder found through the DHT", async () => {
    try {
      const dht = await node()
      const a = later(await startAria2Seeder({
        torrent: payload.torrentPath,
        dataDir: payload.dataDir,
        tracker,
        logLevel: "info",
        extraArgs: aria2DhtArgs({ dhtPort: await freeUdpPort("127.0.0.2"), entry: dht.address, stateDir: root!.path })
      }))
      // aria2c announces to its entry point about 6 s after starting (its first lookup has no node yet).
      await waitUntil(async () => (await dht.stats()).storedPeers >= 1, 30_000, () => logTail(a.logPath))
      const out = dir("dht-out")
      const r = await runBtEffectDownload({
        torrent: magnetLink(payload.infoHash),
        outDir: out,
        timeoutMs: 60_000,
        extraArgs: ["--dht-bootstrap", dht.address, "--dht-port", "0", "--verbose", "--state", dir("dht-state"), "--stall-timeout", "60"]
      })
      const log = readLog(r.logPath)
      expect({ code: r.code, timedOut: r.timedOut }, logTail(r.logPath)).toEqual({ code: 0, timedOut: false })
      expect(log).toContain(`fetching metadata for ${payload.infoHash} from the DHT`)
      expect(log).toMatch(new RegExp(`metadata: ${payload.name}, .* from ${escape(a.address)} in `))
      expect(await verifyDownload(payload, out)).toEqual([])
      console.log(`trackerless magnet from aria2c through the DHT: ${r.seconds.toFixed(2)} s`)
    } finally {
      await cleanUp()
    }
  }, 90_000)

  it("aria2c downloads a trackerless magnet from a bt-effect seeder found through the DHT", async () => {
    try {
      const dht = await node()
      const s = await btSeed(payload.torrentPath, "dht-s", ["--dht-bootstrap", dht.address, "--dht-port", "0"])
      await waitUntil(async () => (await dht.stats()).storedPeers >= 1, 20_000, s.output)
      const out = dir("dht-aria2c")
      fs.mkdirSync(out, { recursive: true })
      const r = await runAria2Download({
        torrent: magnetLink(payload.infoHash),
        outDir: out,
        host: "127.0.0.3",
        timeoutMs: 60_000,
        extraArgs: [
          "--bt-save-metadata=true",
          ...aria2DhtArgs({ dhtPort: await freeUdpPort("127.0.0.3"), entry: dht.address, stateDir: root!.path })
        ]
      })
      expect({ code: r.code, timedOut: r.timedOut }, logTail(r.logPath)).toEqual({ code: 0, timedOut: false })
      expect(await verifyDownload(payload, out)).toEqual([])
      expect(fs.readFileSync(path.join(out, `${payload.infoHash}.torrent`)).includes(Buffer.from(payload.metainfo.infoBytes))).toBe(true)
      // The only peer aria2c could have found is the seeder, through the node: the metadata came from it.
      expect(s.output()).toMatch(/peer 127\.0\.0\.3:\d+ connected \(inbound, aria2 1\.36\.0\)/)
      const served = /peer 127\.0\.0\.3:\d+: .*metadata pieces served (\d+), rejected 0/g
      await waitUntil(() => [...s.output().matchAll(served)].some((m) => m[1] !== "0"), 10_000, s.output)
      expect([...s.output().matchAll(served)].reduce((sum, m) => sum + Number(m[1]), 0)).toBe(metadataPieces(payload))
      console.log(`aria2c trackerless magnet from bt-effect through the DHT: ${r.seconds.toFixed(2)} s`)
    } finally {
      await cleanUp()
    }
  }, 90_000)
})
