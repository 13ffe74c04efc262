/**
 * Resume data and `verify` through the built command line: verify reports each file and exits 0 only when
 * complete; what it finds is resume data that `seed` and `download` trust without hashing, until a file
 * changes; a folder that holds nothing is left untouched.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { randomBytes } from "../support/torrents.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-resume-cli-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("resume data and verify through the command line", () => {
  const content = path.join(dir, "content")
  const album = path.join(content, "album")
  fs.mkdirSync(path.join(album, "disc 2"), { recursive: true })
  fs.writeFileSync(path.join(album, "a.bin"), randomBytes(3_000_000, 1))
  fs.writeFileSync(path.join(album, "disc 2", "b.bin"), randomBytes(1_234_567, 2))
  const torrent = path.join(dir, "album.torrent")
  const state = path.join(dir, "state")

  it("verify: each file's completeness and the total; exit 0 only when complete", async () => {
    const created = await runCli(["create", album, "--announce", "http://127.0.0.1:9/announce", "--piece-length", "65536", "-o", torrent])
    expect(created.code, created.stderr).toBe(0)

    const complete = await runCli(["verify", torrent, "--data", content, "--state", state])
    expect(complete.code, complete.stderr).toBe(0)
    expect(complete.stdout).toMatch(/100\.0%\s+complete\s+album\/a\.bin \(2\.86 MiB\)/)
    expect(complete.stdout).toMatch(/100\.0%\s+complete\s+album\/disc 2\/b\.bin/)
    expect(complete.stdout).toMatch(/total: 65 of 65 pieces verified \(100\.0%\)/)
    expect(fs.readdirSync(path.join(state, "torrents"))).toHaveLength(1)

    // A damaged byte in the middle of b.bin: one piece fails, b.bin is incomplete, the exit code says so.
    const damaged = path.join(dir, "damaged")
    fs.cpSync(content, damaged, { recursive: true })
    const b = path.join(damaged, "album", "disc 2", "b.bin")
    const fd = fs.openSync(b, "r+")
    fs.writeSync(fd, Buffer.from([0xff ^ fs.readFileSync(b)[500_000]!]), 0, 1, 500_000)
    fs.closeSync(fd)
    const partial = await runCli(["verify", torrent, "--data", damaged, "--state", state])
    expect(partial.code).toBe(1)
    expect(partial.stdout).toMatch(/100\.0%\s+complete\s+album\/a\.bin/)
    expect(partial.stdout).toMatch(/\d+\.\d%\s+incomplete\s+album\/disc 2\/b\.bin/)
    expect(partial.stdout).toMatch(/total: 64 of 65 pieces verified/)
    expect(partial.stderr.trim()).toBe("bt-effect: incomplete: 1 of 65 pieces missing or damaged")

    // Nothing there: every file missing, and nothing created.
    const nowhere = path.join(dir, "nowhere")
    const missing = await runCli(["verify", torrent, "--data", nowhere, "--state", state])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toMatch(/0\.0%\s+missing\s+album\/a\.bin/)
    expect(fs.existsSync(nowhere)).toBe(false)
  })

  it("seed trusts the resume data while the files are unchanged, and hashes a file that changed", async () => {
    // The first test's verify left resume data for `content`.
    const first = await background(["seed", torrent, "--data", content, "--port", "0", "--state", state], /seeding album on port \d+/)
    expect(first.output()).toMatch(/resumed .*content: 65 of 65 pieces verified \(100\.0%\) from resume data, nothing hashed/)
    expect(await stop(first.child)).toBe(130)

    // Touched (a new modification time): b.bin's pieces are hashed again, a.bin's are trusted.
    const later = new Date(Date.now() + 5_000)
    fs.utimesSync(path.join(album, "disc 2", "b.bin"), later, later)
    const second = await background(["seed", torrent, "--data", content, "--port", "0", "--state", state], /seeding album on port \d+/)
    expect(second.output()).toMatch(/resumed .*: 65 of 65 pieces verified \(100\.0%\), 45 from resume data; hashed 1\.23 MiB .*1 file\(s\) changed since the last checkpoint/)
    expect(await stop(second.child)).toBe(130)
  }, 60_000)

  it("download of data already complete finishes at once, from the resume data", async () => {
    const r = await runCli(["download", torrent, "--out", content, "--port", "0", "--state", state], { timeoutMs: 30_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/resumed .*: 65 of 65 pieces verified \(100\.0%\) from resume data, nothing hashed/)
    expect(r.stdout).toMatch(/done: album: 4\.04 MiB, already complete/)
  })
})
