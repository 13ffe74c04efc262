/**
 * Message Stream Encryption with real clients, on loopback (each peer on its own 127.0.0.x; DHT, LSD and
 * port mapping off): bt-effect with `--encryption require` downloading from and seeding to libtorrent 2.0
 * with encryption forced (RC4 only) and aria2c with `--bt-require-crypto=true`, and bt-effect's default
 * `prefer` against a libtorrent that has encryption disabled (it falls back to plaintext), and Transmission
 * 3.00 requiring encryption both as the downloader and as the seeder. Each of these peers refuses the
 * other kind of connection, so a download that completes went the way the test says; bt-effect's debug
 * log says which of its connections were encrypted. (The daemon's side: daemon-encryption.test.ts.)
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { aria2cVersion, freePort, logTail, runAria2Download, runLogged, spawnLogged, startAria2Seeder, startTracker, stopAll, tempDir } from "../support/interop.js"
import { leecherLog, runTransmissionDownload, transmissionVersion } from "../support/leechers.js"
import { haveLibtorrent, libtorrentScript as libtorrent, python } from "../support/libtorrentPeer.js"
import { makePayload, verifyDownload } from "../support/payload.js"
import { startTransmissionSeeder } from "../support/seeders.js"
import { requiredInCi } from "../support/skips.js"

const payloadSize = 4 * 1024 * 1024

describe("interop: protocol encryption (MSE/PE)", () => {
  const root = tempDir("bt-effect-interop-mse-")

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  const prepare = (name: string, seed: number) => makePayload(path.join(root.path, name), "single", { seed, size: payloadSize })

  /** bt-effect downloads the torrent from the swarm its tracker names, with `policy`; its output. */
  const btDownload = async (torrent: string, name: string, policy: string) => {
    const out = path.join(root.path, `${name}-out`)
    const r = await runCli(
      ["download", torrent, "--out", out, "--port", "0", "--no-dht", "--no-pex", "--encryption", policy, "--verbose", "--state", path.join(root.path, `${name}-state`)],
      { timeoutMs: 90_000 }
    )
    return { ...r, out }
  }

  describe("libtorrent 2.0", () => {
    requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")

    const libtorrentSeeder = async (torrent: string, dataDir: string, policy: "forced" | "disabled", trackerUrl: string, name: string) => {
      const port = await freePort("127.0.0.3")
      const log = path.join(root.path, `${name}-libtorrent.log`)
      return { proc: spawnLogged(python, ["-c", libtorrent, torrent, dataDir, "127.0.0.3", String(port), policy, trackerUrl, "-", "seed"], log), log }
    }

    it("bt-effect --encryption require downloads from a libtorrent that forces RC4", async () => {
      const tracker = await startTracker()
      const payload = prepare("lt-forced-seed", 31)
      const torrent = path.join(root.path, "lt-forced.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const seeder = await libtorrentSeeder(torrent, payload.dataDir, "forced", tracker.httpUrl, "lt-forced")
      await tracker.waitForAnnounce((a) => a.addr.startsWith("127.0.0.3:"), 30_000)
      const r = await btDownload(torrent, "lt-forced", "require")
      await seeder.proc.stop()
      expect(r.code, `${r.stderr}\n${logTail(seeder.log)}`).toBe(0)
      expect(r.stderr + r.stdout).toMatch(/peer 127\.0\.0\.3:\d+: encrypted \(MSE, RC4\)/)
      expect(await verifyDownload(payload, r.out)).toEqual([])
      await tracker.stop()
    }, 120_000)

    it("a libtorrent that forces RC4 downloads from bt-effect --encryption require", async () => {
      const tracker = await startTracker()
      const payload = prepare("lt-forced-leech", 32)
      const torrent = path.join(root.path, "lt-leech.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const seederPort = await freePort()
      const seeder = await background(
        ["seed", torrent, "--data", payload.dataDir, "--port", String(seederPort), "--no-dht", "--no-pex", "--encryption", "require", "--verbose",
          "--state", path.join(root.path, "lt-leech-state")],
        /seeding .* on port \d+/
      )
      const out = path.join(root.path, "lt-leech-out")
      fs.mkdirSync(out)
      const log = path.join(root.path, "lt-leech-libtorrent.log")
      const result = await runLogged(python, ["-c", libtorrent, torrent, out, "127.0.0.3", String(await freePort("127.0.0.3")), "forced", tracker.httpUrl, `127.0.0.1:${seederPort}`, "leech"], log, 90_000)
      await stop(seeder.child)
      expect(result.code, logTail(log)).toBe(0)
      expect(JSON.parse(fs.readFileSync(log, "utf8").trim().split("\n").at(-1)!), logTail(log)).toEqual({ seeding: true })
      expect(seeder.output()).toMatch(/peer 127\.0\.0\.\d+:\d+: encrypted \(MSE, RC4\)/)
      expect(await verifyDownload(payload, out)).toEqual([])
      await tracker.stop()
    }, 120_000)

    it("bt-effect's default (prefer) falls back to plaintext with a libtorrent that has encryption disabled", async () => {
      const tracker = await startTracker()
      const payload = prepare("lt-plain-seed", 33)
      const torrent = path.join(root.path, "lt-plain.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const seeder = await libtorrentSeeder(torrent, payload.dataDir, "disabled", tracker.httpUrl, "lt-plain")
      await tracker.waitForAnnounce((a) => a.addr.startsWith("127.0.0.3:"), 30_000)
      const r = await btDownload(torrent, "lt-plain", "prefer")
      await seeder.proc.stop()
      expect(r.code, `${r.stderr}\n${logTail(seeder.log)}`).toBe(0)
      expect(r.stderr + r.stdout).toMatch(/peer 127\.0\.0\.3:\d+: no encryption .*dialling again in plaintext/)
      expect(r.stderr + r.stdout).not.toMatch(/encrypted \(MSE, RC4\)/)
      expect(await verifyDownload(payload, r.out)).toEqual([])
      await tracker.stop()
    }, 120_000)
  })

  describe("aria2c --bt-require-crypto=true", () => {
    requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")

    it("bt-effect --encryption require downloads from aria2c requiring crypto", async () => {
      const tracker = await startTracker()
      const payload = prepare("aria2-seed", 34)
      const torrent = path.join(root.path, "aria2-seed.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const seeder = await startAria2Seeder({ torrent, dataDir: payload.dataDir, tracker, extraArgs: ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"] })
      const r = await btDownload(torrent, "aria2-seed", "require")
      await seeder.stop()
      expect(r.code, `${r.stderr}\n${logTail(seeder.logPath)}`).toBe(0)
      expect(r.stderr + r.stdout).toMatch(/peer 127\.0\.0\.2:\d+: encrypted \(MSE, RC4\)/)
      expect(await verifyDownload(payload, r.out)).toEqual([])
      await tracker.stop()
    }, 120_000)

    it("aria2c requiring crypto downloads from bt-effect --encryption require", async () => {
      const tracker = await startTracker()
      const payload = prepare("aria2-leech", 35)
      const torrent = path.join(root.path, "aria2-leech.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const seeder = await background(
        ["seed", torrent, "--data", payload.dataDir, "--port", "0", "--no-dht", "--no-pex", "--encryption", "require", "--verbose", "--state", path.join(root.path, "aria2-leech-state")],
        /seeding .* on port \d+/
      )
      const out = path.join(root.path, "aria2-leech-out")
      const result = await runAria2Download({ torrent, outDir: out, announceUrl: tracker.httpUrl, timeoutMs: 90_000, extraArgs: ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"] })
      await stop(seeder.child)
      expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
      expect(seeder.output()).toMatch(/: encrypted \(MSE, RC4\)/)
      expect(await verifyDownload(payload, out)).toEqual([])
      await tracker.stop()
    }, 120_000)
  })

  describe("transmission-cli --encryption-required", () => {
    requiredInCi(transmissionVersion() !== undefined, "transmission-cli is not installed (apt-get install -y transmission-cli)")

    it("bt-effect --encryption require downloads from a Transmission seeder requiring encryption", async () => {
      const tracker = await startTracker()
      const payload = prepare("transmission-seed", 37)
      const torrent = path.join(root.path, "transmission-seed.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      // On its own address, which the tracker hands out; bt-effect dials it (Transmission never dials 127.x).
      const seeder = await startTransmissionSeeder({ torrent, dataDir: payload.dataDir, tracker, host: "127.0.0.12", encryption: "required" })
      try {
        const r = await btDownload(torrent, "transmission-seed", "require")
        expect(r.code, `${r.stderr}\n${logTail(seeder.logPath)}`).toBe(0)
        const said = r.stderr + r.stdout
        const at = seeder.address.replaceAll(".", "\\.")
        expect(said).toMatch(new RegExp(`peer ${at} connected \\(outbound, Transmission 3`))
        expect(said).toMatch(new RegExp(`peer ${at}: encrypted \\(MSE, RC4\\)`))
        expect(await verifyDownload(payload, r.out)).toEqual([])
      } finally {
        await seeder.stop()
        await tracker.stop()
      }
    }, 120_000)

    it("Transmission requiring encryption downloads from bt-effect --encryption require, which dials it", async () => {
      const tracker = await startTracker()
      const payload = prepare("transmission-leech", 36)
      const torrent = path.join(root.path, "transmission-leech.torrent")
      const made = await runCli(["create", path.join(payload.dataDir, payload.name), "--announce", tracker.httpUrl, "--piece-length", "65536", "-o", torrent])
      expect(made.code, made.stderr).toBe(0)
      const infoHash = /info hash ([0-9a-f]{40})/.exec(made.stdout)![1]!
      const out = path.join(root.path, "transmission-leech-out")
      let seeder: Awaited<ReturnType<typeof background>> | undefined
      // Transmission 3 never dials a peer at 127.x: the seeder, started once Transmission has announced, dials it.
      const result = await runTransmissionDownload({
        torrent,
        outDir: out,
        timeoutMs: 90_000,
        encryption: "required",
        onStart: () => {
          void tracker
            .waitForAnnounce((a) => a.addr.startsWith("127.0.0.1:") && a.infoHash === infoHash && a.event === "start", 30_000)
            .then(() => background(
              ["seed", torrent, "--data", payload.dataDir, "--port", "0", "--no-dht", "--no-pex", "--encryption", "require", "--verbose",
                "--state", path.join(root.path, "transmission-leech-state")],
              /seeding .* on port \d+/
            ))
            .then((s) => (seeder = s))
        }
      })
      expect(result.completed, leecherLog(result)).toBe(true)
      expect(await verifyDownload(payload, out)).toEqual([])
      expect(seeder?.output()).toMatch(/connected \(outbound, Transmission 3/)
      expect(seeder?.output()).toMatch(/: encrypted \(MSE, RC4\)/)
      if (seeder !== undefined) await stop(seeder.child)
      await tracker.stop()
    }, 150_000)
  })
})
