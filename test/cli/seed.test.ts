/**
 * The seeding side through the built command line: `create` a torrent, run `tracker` and `seed`, and
 * `download` from it with another bt-effect process, all on 127.0.0.1; `download --seed` with a ratio;
 * and the demo.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { randomBytes } from "../support/torrents.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-seed-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(dir, { recursive: true, force: true })
})

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

describe("seeding through the command line", () => {
  const content = path.join(dir, "content")
  fs.mkdirSync(path.join(content, "album", "disc 2"), { recursive: true })
  fs.writeFileSync(path.join(content, "album", "a.bin"), randomBytes(3_000_000, 1))
  fs.writeFileSync(path.join(content, "album", "disc 2", "b.bin"), randomBytes(1_234_567, 2))
  fs.writeFileSync(path.join(content, "album", "empty.txt"), "")

  it("creates a torrent that bt-effect and aria2c read, seeds it, and another process downloads it", async () => {
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+) (udp:\S+)/)
    const [, httpUrl, udpUrl] = tracker.match
    const torrent = path.join(dir, "album.torrent")
    const created = await runCli(["create", path.join(content, "album"), "--announce", httpUrl!, "--announce", udpUrl!, "-o", torrent, "--comment", "test"])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/created .*album\.torrent: album, 3 file\(s\)/)
    const info = JSON.parse((await runCli(["info", "--json", torrent])).stdout)
    expect(info.files.map((f: { path: string }) => f.path)).toEqual(["album/a.bin", "album/disc 2/b.bin", "album/empty.txt"])
    expect(info.trackers).toEqual([[httpUrl], [udpUrl]])
    // aria2c parses it and lists the same files.
    const listed = execFileSync("aria2c", ["--show-files=true", torrent], { encoding: "utf8", timeout: 20_000 })
    expect(listed).toContain("./album/disc 2/b.bin")
    // So does Transmission, with the same info hash.
    const shown = execFileSync("transmission-show", [torrent], { encoding: "utf8", timeout: 20_000 })
    expect(shown).toContain(`Hash: ${info.infoHash}`)
    expect(shown).toContain("album/disc 2/b.bin")

    const seeder = await background(["seed", torrent, "--data", content, "--port", "0"], /seeding album on port \d+/)
    expect(seeder.output()).toMatch(/checked .*: (\d+) of \1 pieces verified \(100\.0%\)/)
    const out = path.join(dir, "downloaded")
    const r = await runCli(["download", torrent, "--out", out, "--port", "0", "--stall-timeout", "20"], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    for (const f of ["a.bin", "disc 2/b.bin", "empty.txt"]) {
      expect(sha256(path.join(out, "album", f))).toBe(sha256(path.join(content, "album", f)))
    }
    expect(await stop(seeder.child)).toBe(130)
    await stop(tracker.child)
  }, 90_000)

  it("keeps seeding after a download with --seed until the ratio is reached", async () => {
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = path.join(dir, "ratio.torrent")
    expect((await runCli(["create", path.join(content, "album"), "--announce", tracker.match[1]!, "-o", torrent])).code).toBe(0)
    const seeder = await background(["seed", torrent, "--data", content, "--port", "0"], /seeding album on port \d+/)
    // The first downloader stays to seed until it has given one copy away; the second takes it.
    const first = await background(
      ["download", torrent, "--out", path.join(dir, "first"), "--port", "0", "--seed", "--seed-ratio", "0.5"],
      /seeding on port \d+/, 60_000
    )
    await stop(seeder.child)
    const second = await runCli(["download", torrent, "--out", path.join(dir, "second"), "--port", "0", "--stall-timeout", "30"], { timeoutMs: 60_000 })
    expect(second.code, second.stderr).toBe(0)
    expect(sha256(path.join(dir, "second", "album", "a.bin"))).toBe(sha256(path.join(content, "album", "a.bin")))
    const code = await new Promise<number | null>((resolve) => (first.child.exitCode !== null ? resolve(first.child.exitCode) : first.child.once("exit", resolve)))
    expect(code).toBe(0)
    expect(first.output()).toMatch(/seeded: ratio \d\.\d\d reached; uploaded/)
    await stop(tracker.child)
  }, 120_000)

  it("keeps seeding after a download with --seed-time until the time is up", async () => {
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = path.join(dir, "time.torrent")
    expect((await runCli(["create", path.join(content, "album"), "--announce", tracker.match[1]!, "-o", torrent])).code).toBe(0)
    const seeder = await background(["seed", torrent, "--data", content, "--port", "0"], /seeding album on port \d+/)
    // 0.05 minutes: 3 s of seeding after the download, then exit 0.
    const r = await runCli(["download", torrent, "--out", path.join(dir, "timed"), "--port", "0", "--seed", "--seed-time", "0.05"], {
      timeoutMs: 60_000
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/seeded: 0\.05 min of seeding; uploaded/)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 90_000)

  it("runs the demo: a tracker, a seeder and three downloaders, checked, then cleaned up", async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("bt-effect-demo-"))
    const r = await runCli(["demo", "--size-mib", "16"], { timeoutMs: 90_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.match(/downloader \d: 16\.0 MiB in .* sha256 ok/g)).toHaveLength(3)
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("bt-effect-demo-"))).toEqual(before)
  }, 120_000)

  it("refuses to seed a folder without the torrent's data", async () => {
    const torrent = path.join(dir, "nodata.torrent")
    expect((await runCli(["create", path.join(content, "album"), "--announce", "http://127.0.0.1:1/announce", "-o", torrent])).code).toBe(0)
    const r = await runCli(["seed", torrent, "--data", path.join(dir, "empty-folder"), "--port", "0"])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/none of album's data is there to seed/)
  }, 60_000)
})
