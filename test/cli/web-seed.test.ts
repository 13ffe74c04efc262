/**
 * The command line with a web seed (BEP 19) and no tracker, no DHT and no peer at all: `create --web-seed`
 * pointing at a real HTTP server (nginx) holding the files, then `download` gets them from it alone;
 * `--no-web-seeds` leaves it without a source.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { background, runCli, stop } from "../support/cli.js"
import { hasNginx, type Nginx, startNginx } from "../support/nginx.js"
import { requiredInCi } from "../support/skips.js"
import { randomBytes } from "../support/torrents.js"

describe("download from a web seed alone", () => {
  requiredInCi(hasNginx, "nginx (Debian's nginx-light) is not installed")
  let dir = ""
  let nginx: Nginx | undefined
  // The content, as the web seed's folder holds it: <folder>/album/...
  const files: ReadonlyArray<[string, Uint8Array]> = [
    ["album/one.bin", randomBytes(300_000, 21)],
    ["album/two words.bin", randomBytes(12_345, 22)],
    ["album/sub/three.bin", randomBytes(200_001, 23)]
  ]

  beforeAll(async () => {
    if (!hasNginx) return
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-webseed-cli-"))
    for (const [name, data] of files) {
      fs.mkdirSync(path.dirname(path.join(dir, "www", name)), { recursive: true })
      fs.writeFileSync(path.join(dir, "www", name), data)
    }
    nginx = await startNginx(path.join(dir, "www"), "127.0.0.6")
  })
  afterAll(async () => {
    await nginx?.stop()
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true })
  })

  const noPeers = (out: string) => ["--out", out, "--port", "0", "--no-dht", "--state", path.join(out, ".state"), "--stall-timeout", "3"]

  it("completes from the web seed, every file as on the server", async () => {
    const torrent = path.join(dir, "album.torrent")
    const created = await runCli(["create", path.join(dir, "www", "album"), "--web-seed", nginx!.url, "-o", torrent])
    expect(created.code).toBe(0)
    const out = path.join(dir, "out")
    const result = await runCli(["download", torrent, ...noPeers(out)], { timeoutMs: 30_000 })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    for (const [name, data] of files) expect(Buffer.compare(fs.readFileSync(path.join(out, name)), data)).toBe(0)
  }, 40_000)

  it("a magnet's ws= is a web seed too: the data comes from it while the only peer (giving the metadata) is slow", async () => {
    const torrent = path.join(dir, "plain.torrent")
    expect((await runCli(["create", path.join(dir, "www", "album"), "-o", torrent])).code).toBe(0)
    const seeder = await background(
      ["seed", torrent, "--data", path.join(dir, "www"), "--port", "0", "--no-dht", "--upload-limit", "8K", "--state", path.join(dir, "seeder-state")],
      /seeding album on port (\d+)/
    )
    try {
      const info = JSON.parse((await runCli(["info", "--json", torrent])).stdout)
      const before = nginx!.requests().length
      const magnet = `magnet:?xt=urn:btih:${info.infoHash}&dn=album&x.pe=127.0.0.1:${seeder.match[1]}&ws=${encodeURIComponent(nginx!.url)}`
      const out = path.join(dir, "out-magnet")
      // 500 KB at 8 KB/s from the peer would take a minute: the 20 s bound says the web seed gave it.
      const result = await runCli(["download", magnet, ...noPeers(out)], { timeoutMs: 20_000 })
      expect(result.code, result.stderr).toBe(0)
      for (const [name, data] of files) expect(Buffer.compare(fs.readFileSync(path.join(out, name)), data)).toBe(0)
      expect(nginx!.requests().length - before).toBeGreaterThan(10)
    } finally {
      await stop(seeder.child)
    }
  }, 40_000)

  it("the daemon downloads a torrent from its web seed alone", async () => {
    const torrent = path.join(dir, "album-daemon.torrent")
    expect((await runCli(["create", path.join(dir, "www", "album"), "--web-seed", nginx!.url, "-o", torrent])).code).toBe(0)
    const data = path.join(dir, "daemon-data")
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", data, "--state", path.join(dir, "daemon-state"), "--no-dht"],
      /web interface (http:\/\/127\.0\.0\.1:\d+)\//, 30_000
    )
    try {
      const rpc = `${daemon.match[1]!}/transmission/rpc`
      expect((await runCli(["add", torrent, "--rpc-url", rpc])).code).toBe(0)
      let done = false
      for (let i = 0; i < 100 && !done; i++) {
        await new Promise((r) => setTimeout(r, 200))
        const listed = JSON.parse((await runCli(["list", "--json", "--rpc-url", rpc])).stdout) as Array<{ percentDone: number }>
        done = listed[0]?.percentDone === 1
      }
      expect(done).toBe(true)
      for (const [name, bytes] of files) expect(Buffer.compare(fs.readFileSync(path.join(data, name)), bytes)).toBe(0)
    } finally {
      await stop(daemon.child)
    }
  }, 60_000)

  it("--no-web-seeds: no source, so the download stalls", async () => {
    const torrent = path.join(dir, "album2.torrent")
    expect((await runCli(["create", path.join(dir, "www", "album"), "--web-seed", nginx!.url, "-o", torrent])).code).toBe(0)
    const result = await runCli(["download", torrent, ...noPeers(path.join(dir, "out2")), "--no-web-seeds"], { timeoutMs: 30_000 })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/stalled: no peers/)
  }, 40_000)
})
