/**
 * `bt-effect create --v1 | --v2 | --hybrid` on the command line: one of them at most (a one-line usage
 * error, exit 2, otherwise), a v2 piece length a power of two, v1 the default; and what `info` then shows
 * of a v2 or hybrid torrent.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { runCli } from "../support/cli.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-cli-create-v2-"))
const share = path.join(root, "share")
fs.mkdirSync(path.join(share, "sub"), { recursive: true })
fs.writeFileSync(path.join(share, "empty"), "")
fs.writeFileSync(path.join(share, "sub", "small.txt"), "hello\n")
fs.writeFileSync(path.join(share, "video.bin"), Buffer.alloc(100_000, 7))

describe("create --v2 / --hybrid", () => {
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

  it("refuses two of --v1, --v2, --hybrid in one line, exit 2, writing nothing", async () => {
    const out = path.join(root, "both.torrent")
    const r = await runCli(["create", share, "--v1", "--v2", "-o", out])
    expect([r.code, r.stderr.trim()]).toEqual([2, "bt-effect: --v1 and --v2: give at most one"])
    expect(fs.existsSync(out)).toBe(false)
  })

  it("refuses a piece length that is not a power of two, exit 2", async () => {
    const r = await runCli(["create", share, "--v2", "--piece-length", "20000", "-o", path.join(root, "odd.torrent")])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("piece length 20000 is not a power of two")
  })

  it("--hybrid: both info hashes said, and `info` shows the meta version, piece layers and each file's pieces root", async () => {
    const out = path.join(root, "hybrid.torrent")
    const made = await runCli(["create", share, "--hybrid", "--piece-length", "16384", "-o", out])
    expect(made.code, made.stderr).toBe(0)
    expect(made.stdout).toMatch(/created .*: share, 3 file\(s\)/)
    expect(made.stdout).toMatch(/^info hash [0-9a-f]{40}$/m)
    expect(made.stdout).toMatch(/^info hash v2 [0-9a-f]{64}$/m)
    const shown = await runCli(["info", out])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/^info hash v2: [0-9a-f]{64}$/m)
    expect(shown.stdout).toMatch(/^v2, 20 bytes: [0-9a-f]{40}$/m)
    expect(shown.stdout).toContain("meta version: 2")
    // video.bin: 100,000 bytes in 16 KiB pieces, 7 hashes in its layer; the others are a piece or less.
    expect(shown.stdout).toContain("piece layers: 7 hashes")
    expect(shown.stdout).toMatch(/file tree \(pieces roots\):\n\s+1 {2}\(empty: no pieces root\)\s+empty\n\s+\d+ {2}[0-9a-f]{64} {2}sub\/small.txt\n\s+\d+ {2}[0-9a-f]{64} {2}video.bin/)
  })

  it("--v2: no v1 hash; v1 stays the default", async () => {
    const v2 = path.join(root, "v2.torrent")
    const made = await runCli(["create", share, "--v2", "-o", v2])
    expect(made.code, made.stderr).toBe(0)
    expect(made.stdout).not.toMatch(/^info hash [0-9a-f]{40}$/m)
    const json = JSON.parse((await runCli(["info", v2, "--json"])).stdout) as Record<string, unknown>
    expect([json["version"], json["metaVersion"], json["infoHash"]]).toEqual(["v2", 2, null])
    const v1 = path.join(root, "v1.torrent")
    expect((await runCli(["create", share, "-o", v1])).code).toBe(0)
    const plain = await runCli(["info", v1])
    expect(plain.stdout).toContain("version:      v1")
    expect(plain.stdout).not.toContain("meta version")
  })
})
