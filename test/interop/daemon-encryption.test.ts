/**
 * The daemon with protocol encryption (MSE/PE), against libtorrent 2.0 on loopback (each side on its own
 * 127.0.0.x; DHT, LSD, PEX and port mapping off), driven through the Transmission RPC as a front end
 * drives it:
 * - started with `--encryption require`, it says `required` in session-get, downloads from a libtorrent
 *   that forces RC4 and seeds to one, and its torrent-get lists each such peer with `isEncrypted` (and
 *   Transmission's `E` in `flagStr`);
 * - started with `--encryption require` and then set to `tolerated` by session-set, a magnet link's
 *   metadata and data come in plaintext from a libtorrent that refuses encryption: the metadata fetch
 *   follows the live setting, not the flag the daemon started with.
 * A forced or disabled libtorrent refuses the other kind of connection, so a transfer that completes went
 * the way the test says. libtorrent is rate-limited (1 MiB/s) so that its peer is listed long enough to be
 * seen.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { background, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, runLogged, spawnLogged, startTracker, stopAll, type TempDir, tempDir, type Tracker } from "../support/interop.js"
import { haveLibtorrent, libtorrentScript, python } from "../support/libtorrentPeer.js"
import { makePayload, type Payload, verifyDownload } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"
import { rpcCall, until } from "../support/rpcCall.js"

/** The daemon's own address for peers (--bind), and libtorrent's. */
const daemonHost = "127.0.0.13"
const libtorrentHost = "127.0.0.23"
const rate = String(1024 * 1024)

const rpc = rpcCall

interface PeerRow {
  readonly address: string
  readonly isEncrypted: boolean
  readonly isIncoming: boolean
  readonly flagStr: string
}

/** The first torrent's peers and percentDone (torrent-get, Transmission's camelCase names). */
const firstTorrent = async (port: number) => {
  const got = await rpc(port, "torrent-get", { ids: [1], fields: ["peers", "percentDone", "hashString"] })
  const torrent = (got["torrents"] as ReadonlyArray<{ peers: ReadonlyArray<PeerRow>; percentDone: number }>)[0]
  return torrent ?? { peers: [], percentDone: 0 }
}


describe("interop: the daemon with protocol encryption (MSE/PE)", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  let root: TempDir
  let tracker: Tracker

  beforeAll(async () => {
    if (!haveLibtorrent) return
    root = tempDir("bt-effect-daemon-mse-")
    tracker = await startTracker()
  }, 30_000)

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root?.remove()
  }, 30_000)

  const payloadOf = (name: string, seed: number): Payload =>
    makePayload(path.join(root.path, name), "single", { size: 4 * 1024 * 1024, seed, name, announce: tracker.httpUrl, pieceLength: 65536 })

  /** `bt-effect daemon --encryption POLICY` on its own address for peers; its RPC port, peer port and process. */
  const startDaemon = async (name: string, policy: string) => {
    const rpcPort = await freePort()
    const peerPort = await freePort(daemonHost)
    const daemon = await background(
      ["daemon", "--rpc-port", String(rpcPort), "--peer-port", String(peerPort), "--bind", daemonHost,
        "--download-dir", path.join(root.path, `${name}-downloads`), "--state", path.join(root.path, `${name}-state`),
        "--no-dht", "--no-pex", "--encryption", policy, "--verbose"],
      /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//, 30_000
    )
    return { rpcPort, peerPort, daemon }
  }

  /** A libtorrent seeding `payload` on its own address with POLICY; resolves once it has announced. */
  const libtorrentSeeder = async (payload: Payload, policy: "forced" | "disabled", host: string) => {
    const port = await freePort(host)
    const log = path.join(root.path, `${payload.name}-libtorrent.log`)
    const proc = spawnLogged(python, ["-c", libtorrentScript, payload.torrentPath, payload.dataDir, host, String(port), policy, tracker.httpUrl, "-", "seed", rate], log)
    await tracker.waitForAnnounce((a) => a.addr === `${host}:${port}` && a.infoHash === payload.infoHash, 30_000)
    return { proc, log, port }
  }

  it("started with --encryption require: session-get says required, it downloads from a libtorrent forcing RC4, and lists that peer as encrypted", async () => {
    const payload = payloadOf("daemon-mse-down", 81)
    const seeder = await libtorrentSeeder(payload, "forced", libtorrentHost)
    const { rpcPort, daemon } = await startDaemon("down", "require")
    try {
      expect((await rpc(rpcPort, "session-get", { fields: ["encryption"] }))["encryption"]).toBe("required")
      const downloads = path.join(root.path, "down-out")
      await rpc(rpcPort, "torrent-add", { filename: payload.torrentPath, "download-dir": downloads })
      // While it downloads (a few seconds at libtorrent's rate), the seeder is in the peer list.
      const peer = await until("libtorrent in the peer list", async () =>
        (await firstTorrent(rpcPort)).peers.find((p) => p.address === libtorrentHost), 30_000)
      expect(peer, JSON.stringify(peer)).toMatchObject({ isEncrypted: true })
      expect(peer.flagStr).toContain("E")
      await until("the download complete", async () => ((await firstTorrent(rpcPort)).percentDone === 1 ? true : undefined), 60_000)
      expect(await verifyDownload(payload, downloads)).toEqual([])
      expect(daemon.output()).toMatch(/peer 127\.0\.0\.23:\d+: encrypted \(MSE, RC4\)/)
    } finally {
      await stop(daemon.child)
      await seeder.proc.stop()
    }
  }, 120_000)

  it("started with --encryption require, it seeds to a libtorrent forcing RC4 that dials it, and lists that peer as encrypted and incoming", async () => {
    const payload = payloadOf("daemon-mse-up", 82)
    const { rpcPort, peerPort, daemon } = await startDaemon("up", "require")
    try {
      await rpc(rpcPort, "torrent-add", { filename: payload.torrentPath, "download-dir": payload.dataDir })
      // Checked, then seeding.
      await until("the data checked", async () => ((await firstTorrent(rpcPort)).percentDone === 1 ? true : undefined), 30_000)
      const out = path.join(root.path, "up-out")
      fs.mkdirSync(out)
      const log = path.join(root.path, "up-libtorrent.log")
      const leecher = runLogged(python, ["-c", libtorrentScript, payload.torrentPath, out, libtorrentHost, String(await freePort(libtorrentHost)), "forced", "-",
        `${daemonHost}:${peerPort}`, "leech", rate], log, 90_000)
      const peer = await until("libtorrent in the peer list", async () =>
        (await firstTorrent(rpcPort)).peers.find((p) => p.address === libtorrentHost), 30_000)
      expect(peer, JSON.stringify(peer)).toMatchObject({ isEncrypted: true, isIncoming: true })
      expect(peer.flagStr).toMatch(/EI$/)
      const result = await leecher
      expect({ code: result.code, timedOut: result.timedOut }, logTail(log)).toEqual({ code: 0, timedOut: false })
      expect(JSON.parse(fs.readFileSync(log, "utf8").trim().split("\n").at(-1)!), logTail(log)).toEqual({ seeding: true })
      expect(await verifyDownload(payload, out)).toEqual([])
      expect(daemon.output()).toMatch(/peer 127\.0\.0\.23:\d+: encrypted \(MSE, RC4\)/)
    } finally {
      await stop(daemon.child)
    }
  }, 120_000)

  it("session-set from required to tolerated: a magnet's metadata and data then come in plaintext from a libtorrent that refuses encryption", async () => {
    const payload = payloadOf("daemon-mse-magnet", 83)
    const host = "127.0.0.24"
    const seeder = await libtorrentSeeder(payload, "disabled", host)
    const { rpcPort, daemon } = await startDaemon("magnet", "require")
    try {
      await rpc(rpcPort, "session-set", { encryption: "tolerated" })
      expect((await rpc(rpcPort, "session-get", { fields: ["encryption"] }))["encryption"]).toBe("tolerated")
      // Only the libtorrent's address: no tracker, no DHT.
      const magnet = `magnet:?xt=urn:btih:${payload.infoHash}&dn=${payload.name}&x.pe=${host}:${seeder.port}`
      const downloads = path.join(root.path, "magnet-out")
      await rpc(rpcPort, "torrent-add", { filename: magnet, "download-dir": downloads })
      await until("the download complete", async () => ((await firstTorrent(rpcPort)).percentDone === 1 ? true : undefined), 45_000)
      expect(await verifyDownload(payload, downloads)).toEqual([])
      expect(daemon.output()).toMatch(/metadata received: 1 daemon-mse-magnet/)
      expect(daemon.output()).not.toMatch(/encrypted \(MSE, RC4\)/)
    } finally {
      await stop(daemon.child)
      await seeder.proc.stop()
    }
  }, 120_000)
})
