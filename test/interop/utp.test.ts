/**
 * uTP (BEP 29) against libtorrent 2.0 (Debian's python3-libtorrent) in uTP-only mode, on loopback: TCP off
 * both ways in libtorrent, DHT, LSD and port mapping off, `--no-dht` on bt-effect, each peer on its own
 * address (bt-effect on 127.0.0.1 or ::1, libtorrent on 127.0.0.3 or 127.0.0.4 or ::1).
 *
 * A uTP-only libtorrent (2.0.8) still listens on TCP, but accepts every TCP connection and closes it at
 * once, before a byte, without an alert: bt-effect's default dials TCP first, sees that close and must go
 * on over uTP. So a transfer with such a libtorrent that completes went over uTP; each case also asserts what
 * libtorrent says of its connections (its `peer_info::utp_socket` flag and its alerts' socket types), and
 * verifies the data. Where bt-effect sends, libtorrent's socket drops some of its first burst on loopback
 * and libtorrent then acks with selective ACKs of any byte length (`(span + 7) / 8`, not BEP 29's multiple
 * of 4): a bt-effect that refused those stalled after 2 to 5 MB, and these cases failed. The cases:
 * - the harness itself: libtorrent to libtorrent, uTP only (so that the script's reports are known good);
 * - bt-effect `download` (default flags, then `--no-tcp`) from a libtorrent seeder that a tracker names;
 * - a libtorrent leecher dialling a bt-effect `seed` (default flags, then `--no-tcp`, which must not even
 *   accept TCP);
 * - a bt-effect `seed --no-utp`, which a uTP-only libtorrent must not reach (it gets nothing in 14 s);
 * - over ::1, both ways (skipped where the machine has no IPv6).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { background, mainJs, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, runLogged, spawnLogged, startTracker, stopAll, tempDir } from "../support/interop.js"
import { haveLibtorrent, lastState, libtorrentUtpScript, python, utpAnnounced, utpReady, type UtpSessionState } from "../support/libtorrentUtp.js"
import { makePayload, type Payload, verifyDownload, writeTorrent } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const haveIpv6 = spawnSync(process.execPath, ["-e", "require('net').createServer().listen(0,'::1',function(){this.close()})"]).status === 0

const size = 8 * 1024 * 1024

/** Whether something accepts TCP connections at host:port. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.createConnection({ host, port })
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

/** "host:port", with brackets for IPv6. */
const endpoint = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)

describe("interop: uTP with libtorrent 2.0 in uTP-only mode", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-utp-")

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  const prepare = (name: string, seed: number, announce?: string): { payload: Payload; torrent: string } => {
    const payload = makePayload(path.join(root.path, name), "single", { seed, size })
    const torrent = announce === undefined ? payload.torrentPath : writeTorrent(payload, path.join(root.path, `${name}.torrent`), { announce })
    return { payload, torrent }
  }

  /** A uTP-only libtorrent seeding `dataDir` on host (announcing to `tracker`), running until stopped. */
  const libtorrentSeeder = async (name: string, torrent: string, dataDir: string, host: string, tracker: string) => {
    const log = path.join(root.path, `${name}-libtorrent.log`)
    const port = await freePort(host)
    const proc = spawnLogged(python, ["-c", libtorrentUtpScript, "seed", torrent, dataDir, endpoint(host, port), host, tracker, "-", "110"], log)
    await utpReady(log)
    return { proc, log, port }
  }

  /** A uTP-only libtorrent on host downloading into a new folder from `peer`, which it dials; its last state. */
  const libtorrentLeecher = async (name: string, torrent: string, host: string, peer: string, seconds: number) => {
    const out = path.join(root.path, `${name}-out`)
    fs.mkdirSync(out)
    const log = path.join(root.path, `${name}-libtorrent.log`)
    const listen = endpoint(host, await freePort(host))
    const result = await runLogged(python, ["-c", libtorrentUtpScript, "leech", torrent, out, listen, host, "-", peer, String(seconds)], log, (seconds + 20) * 1000)
    expect(result.code, logTail(log)).toBe(0)
    const state = lastState(log)
    expect(state?.final, logTail(log)).toBe(true)
    return { out, log, state: state! }
  }

  /** bt-effect's `download` (with `--verbose`, its output in a log file), bounded at 90 s. */
  const btDownload = async (name: string, torrent: string, extra: ReadonlyArray<string>) => {
    const out = path.join(root.path, `${name}-out`)
    const log = path.join(root.path, `${name}-bt-effect.log`)
    const result = await runLogged(process.execPath, [
      mainJs, "download", torrent, "--out", out, "--port", String(await freePort()), "--no-dht", "--no-pex",
      "--stall-timeout", "30", "--verbose", "--state", path.join(root.path, `${name}-state`), ...extra
    ], log, 90_000)
    return { out, log, result }
  }

  /** bt-effect's `seed`, listening on `port` (TCP and, unless `--no-utp`, uTP on the same number). */
  const btSeed = (name: string, payload: Payload, port: number, extra: ReadonlyArray<string>) =>
    background(
      ["seed", payload.torrentPath, "--data", payload.dataDir, "--port", String(port), "--no-dht", "--no-pex", "--verbose",
        "--state", path.join(root.path, `${name}-state`), ...extra],
      /seeding .* on port \d+/
    )

  /**
   * What libtorrent says of its connections with `ip`: at least one, every one a uTP socket by its
   * peer_info flag and by its alerts, and payload moved over them.
   */
  const expectOverUtp = (state: UtpSessionState, ip: string, log: string, direction: "down" | "up") => {
    const theirs = state.peers.filter((p) => p.ip === ip)
    expect(theirs.length, logTail(log)).toBeGreaterThan(0)
    expect(theirs.map((p) => p.utp), logTail(log)).toEqual(theirs.map(() => true))
    expect(theirs.some((p) => p[direction] > 0), logTail(log)).toBe(true)
    const sockets = state.sockets.filter((s) => s.ip === ip)
    expect(sockets.length, logTail(log)).toBeGreaterThan(0)
    expect(sockets.map((s) => s.socket), logTail(log)).toEqual(sockets.map(() => "utp"))
  }

  it("the harness: a uTP-only libtorrent downloads from a uTP-only libtorrent, and says uTP", async () => {
    const { payload, torrent } = prepare("lt-lt", 40)
    const seeder = await libtorrentSeeder("lt-lt-seed", torrent, payload.dataDir, "127.0.0.3", "-")
    const leecher = await libtorrentLeecher("lt-lt-leech", torrent, "127.0.0.4", `127.0.0.3:${seeder.port}`, 60)
    await seeder.proc.stop()
    expect(leecher.state.seeding, logTail(leecher.log)).toBe(true)
    expect(leecher.state.downloaded).toBe(payload.totalLength)
    expectOverUtp(leecher.state, "127.0.0.3", leecher.log, "down")
    const seen = lastState(seeder.log)!
    expect(seen.final, logTail(seeder.log)).toBe(true)
    expectOverUtp(seen, "127.0.0.4", seeder.log, "up")
    expect(await verifyDownload(payload, leecher.out)).toEqual([])
  }, 120_000)

  for (const [flags, seed] of [[[], 41], [["--no-tcp"], 42]] as const) {
    it(`bt-effect download ${flags.join(" ") || "(default flags)"} gets the torrent from a uTP-only libtorrent seeder`, async () => {
      const tracker = await startTracker()
      const name = `download-${seed}`
      const { payload, torrent } = prepare(name, seed, tracker.httpUrl)
      const seeder = await libtorrentSeeder(name, torrent, payload.dataDir, "127.0.0.3", tracker.httpUrl)
      await tracker.waitForAnnounce((a) => a.addr === `127.0.0.3:${seeder.port}`, 20_000)
      const run = await btDownload(name, torrent, flags)
      await seeder.proc.stop()
      await tracker.stop()
      expect({ code: run.result.code, timedOut: run.result.timedOut }, `${logTail(run.log)}\n${logTail(seeder.log)}`).toEqual({ code: 0, timedOut: false })
      expect(await verifyDownload(payload, run.out)).toEqual([])
      const seen = lastState(seeder.log)!
      expect(seen.final, logTail(seeder.log)).toBe(true)
      expect(seen.uploaded, logTail(seeder.log)).toBeGreaterThanOrEqual(payload.totalLength)
      // bt-effect is unbound: its uTP leaves from 127.0.0.1.
      expectOverUtp(seen, "127.0.0.1", seeder.log, "up")
    }, 120_000)
  }

  it("bt-effect download --encryption require gets the torrent from a uTP-only libtorrent at once, encrypted over uTP", async () => {
    const tracker = await startTracker()
    const name = "download-require"
    const { payload, torrent } = prepare(name, 46, tracker.httpUrl)
    const seeder = await libtorrentSeeder(name, torrent, payload.dataDir, "127.0.0.3", tracker.httpUrl)
    await tracker.waitForAnnounce((a) => a.addr === `127.0.0.3:${seeder.port}`, 20_000)
    const started = Date.now()
    const run = await btDownload(name, torrent, ["--encryption", "require"])
    const seconds = (Date.now() - started) / 1000
    await seeder.proc.stop()
    await tracker.stop()
    expect({ code: run.result.code, timedOut: run.result.timedOut }, `${logTail(run.log)}\n${logTail(seeder.log)}`).toEqual({ code: 0, timedOut: false })
    expect(await verifyDownload(payload, run.out)).toEqual([])
    // The TCP connection libtorrent closed is tried again with MSE over uTP at once, not after the
    // dialler's 30 s wait for an address that failed.
    expect(seconds, logTail(run.log)).toBeLessThan(25)
    const log = fs.readFileSync(run.log, "utf8")
    expect(log).toMatch(/peer 127\.0\.0\.3:\d+: encrypted \(MSE, RC4\)/)
    expect(log).toMatch(/peer 127\.0\.0\.3:\d+: over uTP/)
    expectOverUtp(lastState(seeder.log)!, "127.0.0.1", seeder.log, "up")
  }, 120_000)

  for (const [flags, seed] of [[[], 43], [["--no-tcp"], 44]] as const) {
    it(`a uTP-only libtorrent downloads from bt-effect seed ${flags.join(" ") || "(default flags)"}, which it dials`, async () => {
      const name = `seed-${seed}`
      const { payload } = prepare(name, seed)
      const port = await freePort()
      const seeder = await btSeed(name, payload, port, flags)
      // --no-tcp: nothing takes TCP on the port at all.
      expect(await accepts("127.0.0.1", port)).toBe(flags.length === 0)
      const leecher = await libtorrentLeecher(name, payload.torrentPath, "127.0.0.3", `127.0.0.1:${port}`, 60)
      await stop(seeder.child)
      expect(leecher.state.seeding, `${logTail(leecher.log)}\n${seeder.output().slice(-4000)}`).toBe(true)
      expect(leecher.state.downloaded).toBe(payload.totalLength)
      expectOverUtp(leecher.state, "127.0.0.1", leecher.log, "down")
      expect(await verifyDownload(payload, leecher.out)).toEqual([])
    }, 120_000)
  }

  it("bt-effect seed --no-utp is not reached by a uTP-only libtorrent (nothing in 14 s), though it takes TCP", async () => {
    const { payload } = prepare("no-utp", 45)
    const port = await freePort()
    const seeder = await btSeed("no-utp", payload, port, ["--no-utp"])
    expect(await accepts("127.0.0.1", port)).toBe(true)
    const leecher = await libtorrentLeecher("no-utp", payload.torrentPath, "127.0.0.3", `127.0.0.1:${port}`, 14)
    await stop(seeder.child)
    expect(leecher.state.seeding).toBe(false)
    expect(leecher.state.downloaded, logTail(leecher.log)).toBe(0)
    expect(leecher.state.peers.filter((p) => p.handshake), logTail(leecher.log)).toEqual([])
  }, 40_000)

  describe.skipIf(!haveIpv6)("over IPv6 (::1)", () => {
    it("a uTP-only libtorrent on [::1] downloads from bt-effect seed (default flags) at [::1]", async () => {
      const { payload } = prepare("v6-seed", 46)
      const port = await freePort("::1")
      const seeder = await btSeed("v6-seed", payload, port, [])
      const leecher = await libtorrentLeecher("v6-seed", payload.torrentPath, "::1", `[::1]:${port}`, 60)
      await stop(seeder.child)
      expect(leecher.state.seeding, `${logTail(leecher.log)}\n${seeder.output().slice(-4000)}`).toBe(true)
      expect(leecher.state.downloaded).toBe(payload.totalLength)
      expectOverUtp(leecher.state, "::1", leecher.log, "down")
      expect(await verifyDownload(payload, leecher.out)).toEqual([])
    }, 120_000)

    it("bt-effect download (default flags) gets the torrent from a uTP-only libtorrent on [::1], named by peers6", async () => {
      const trackerPort = await freePort("::1")
      const tracker = await background(["tracker", "--host", "::1", "--port", String(trackerPort)], /tracker: http/)
      const announce = `http://[::1]:${trackerPort}/announce`
      const { payload, torrent } = prepare("v6-leech", 47, announce)
      const seeder = await libtorrentSeeder("v6-leech", torrent, payload.dataDir, "::1", announce)
      await utpAnnounced(seeder.log)
      const run = await btDownload("v6-leech", torrent, [])
      await seeder.proc.stop()
      await stop(tracker.child)
      expect({ code: run.result.code, timedOut: run.result.timedOut }, `${logTail(run.log)}\n${logTail(seeder.log)}`).toEqual({ code: 0, timedOut: false })
      expect(await verifyDownload(payload, run.out)).toEqual([])
      const seen = lastState(seeder.log)!
      expect(seen.uploaded, logTail(seeder.log)).toBeGreaterThanOrEqual(payload.totalLength)
      expectOverUtp(seen, "::1", seeder.log, "up")
    }, 120_000)
  })
})
