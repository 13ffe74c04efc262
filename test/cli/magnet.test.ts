/**
 * `bt-effect download MAGNET` through the built command line: the metadata from a bt-effect seeder named
 * by `x.pe`, the download, the .torrent saved beside the data and in the state folder; a second run that
 * needs no metadata; and the one-line errors of bad links and bad DHT options. All on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-magnet-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(dir, { recursive: true, force: true })
})

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

describe("bt-effect download with a magnet link", () => {
  it("fetches the metadata from an x.pe peer, downloads, and saves the .torrent beside the data", async () => {
    const files = [
      { path: ["clip", "a.bin"], data: randomBytes(700_000, 11) },
      { path: ["clip", "sub", "b.bin"], data: randomBytes(300_001, 12) }
    ]
    const t = makeTorrent({ name: "clip", pieceLength: 32768, files: files.map((f) => ({ path: f.path.slice(1), data: f.data })), multiFile: true })
    const torrent = path.join(dir, "clip.torrent")
    fs.writeFileSync(torrent, t.bytes)
    const content = path.join(dir, "content")
    for (const f of files) {
      fs.mkdirSync(path.join(content, ...f.path.slice(0, -1)), { recursive: true })
      fs.writeFileSync(path.join(content, ...f.path), f.data)
    }
    const seeder = await background(["seed", torrent, "--data", content, "--port", "0", "--no-dht"], /seeding clip on port (\d+)/)
    const hex = Buffer.from(t.metainfo.infoHash!).toString("hex")
    const magnet = `magnet:?xt=urn:btih:${hex}&dn=clip&x.pe=127.0.0.1:${seeder.match[1]}`
    const out = path.join(dir, "out")
    const state = path.join(dir, "state")
    const r = await runCli(["download", magnet, "--out", out, "--port", "0", "--no-dht", "--state", state, "--stall-timeout", "20"], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("fetching metadata for clip from 1 peer(s) from the link")
    expect(r.stdout).toMatch(/metadata: clip, .* in 2 file\(s\), from 127\.0\.0\.1:\d+ in /)
    for (const f of files) expect(sha256(fs.readFileSync(path.join(out, ...f.path)))).toBe(sha256(f.data))
    // The .torrent beside the data and in the state folder is the seeder's, byte for byte in its info.
    const saved = fs.readFileSync(path.join(out, "clip.torrent"))
    expect(saved.includes(Buffer.from(t.metainfo.infoBytes))).toBe(true)
    expect(fs.existsSync(path.join(state, "torrents", `${hex}.torrent`))).toBe(true)
    const info = JSON.parse((await runCli(["info", "--json", path.join(out, "clip.torrent")])).stdout)
    expect(info.infoHash).toBe(hex)

    // Again, with the seeder gone: the metadata comes from the state folder, the data is already there.
    expect(await stop(seeder.child)).toBe(130)
    const again = await runCli(["download", magnet, "--out", out, "--port", "0", "--no-dht", "--state", state], { timeoutMs: 30_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`metadata for clip from ${path.join(state, "torrents")}`)
    expect(again.stdout).toContain("already complete")
  }, 90_000)

  it("downloads only the files a magnet's so= names (BEP 53), and creates no other", async () => {
    const files = [
      { path: ["a.bin"], data: randomBytes(100_000, 21) },
      { path: ["b.bin"], data: randomBytes(70_000, 22) },
      { path: ["c.bin"], data: randomBytes(90_000, 23) },
      { path: ["d.bin"], data: randomBytes(40_000, 24) }
    ]
    const t = makeTorrent({ name: "some", pieceLength: 16384, files })
    const torrent = path.join(dir, "some.torrent")
    fs.writeFileSync(torrent, t.bytes)
    const content = path.join(dir, "some-content", "some")
    fs.mkdirSync(content, { recursive: true })
    for (const f of files) fs.writeFileSync(path.join(content, ...f.path), f.data)
    const seeder = await background(["seed", torrent, "--data", path.dirname(content), "--port", "0", "--no-dht"], /seeding some on port (\d+)/)
    const hex = Buffer.from(t.metainfo.infoHash!).toString("hex")
    // so= counts from 0: files 2 and 4 as info numbers them.
    const magnet = `magnet:?xt=urn:btih:${hex}&dn=some&x.pe=127.0.0.1:${seeder.match[1]}&so=1,3`
    const out = path.join(dir, "some-out")
    const r = await runCli(["download", magnet, "--out", out, "--port", "0", "--no-dht", "--state", path.join(dir, "some-state"), "--stall-timeout", "20"], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(fs.readdirSync(path.join(out, "some")).sort()).toEqual(["b.bin", "d.bin"])
    for (const i of [1, 3]) expect(sha256(fs.readFileSync(path.join(out, "some", ...files[i]!.path)))).toBe(sha256(files[i]!.data))
    expect(await stop(seeder.child)).toBe(130)
  }, 60_000)

  it("refuses a malformed magnet link with one line and exit 2", async () => {
    const r = await runCli(["download", "magnet:?xt=urn:btih:nothex", "--out", path.join(dir, "bad"), "--port", "0", "--no-dht"])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr.trim()).toMatch(/^bt-effect: invalid magnet link: /)
  })

  it("says so when a magnet names no peer and no tracker and the DHT is off", async () => {
    const r = await runCli(["download", `magnet:?xt=urn:btih:${"ab".repeat(20)}`, "--out", path.join(dir, "nowhere"), "--port", "0", "--no-dht"])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe("bt-effect: the magnet link names no tracker and no peer, and the DHT is off (--no-dht): nowhere to find its metadata")
  })

  it("gives up on a magnet whose metadata nobody gives within --stall-timeout", async () => {
    const r = await runCli(["download", `magnet:?xt=urn:btih:${"cd".repeat(20)}&x.pe=127.0.0.1:9`, "--out", path.join(dir, "stall"), "--port", "0", "--no-dht", "--stall-timeout", "2"])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe("bt-effect: stalled: no peer gave the metadata within 2s (1 peer(s) tried)")
  })

  it("refuses a bad --dht-bootstrap with exit 2", async () => {
    const r = await runCli(["download", `magnet:?xt=urn:btih:${"ab".repeat(20)}`, "--dht-bootstrap", "127.0.0.1", "--port", "0"])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('bt-effect: bad DHT node "127.0.0.1": expected HOST:PORT')
  })
})
