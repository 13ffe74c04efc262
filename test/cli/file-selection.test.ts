import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runCli } from "../support/cli.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

// `info` numbers the files; `download --files/--only` refuses what does not name a file, in one line.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-select-cli-"))
const torrent = makeTorrent({
  name: "Show",
  pieceLength: 16384,
  files: [
    { path: ["e01.mkv"], data: randomBytes(20_000) },
    { path: ["e01.srt"], data: randomBytes(500) },
    { path: ["extra", "e02.mkv"], data: randomBytes(9_000) }
  ]
})
const file = path.join(dir, "show.torrent")
fs.writeFileSync(file, torrent.bytes)
const state = path.join(dir, "state")
fs.mkdirSync(state)

describe("file selection on the command line", () => {
  it("info numbers the files from 1 in torrent order, in text and JSON", async () => {
    const r = await runCli(["info", file])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\s+1\s+19\.5 KiB\s+Show\/e01\.mkv$/m)
    expect(r.stdout).toMatch(/^\s+2\s+500 B\s+Show\/e01\.srt$/m)
    expect(r.stdout).toMatch(/^\s+3\s+8\.79 KiB\s+Show\/extra\/e02\.mkv$/m)
    const json = await runCli(["info", file, "--json"])
    expect((JSON.parse(json.stdout) as { files: Array<{ number: number }> }).files.map((f) => f.number)).toEqual([1, 2, 3])
  })

  it.each([
    [["--files", "4"], "--files: 4 is past the last file (3)"],
    [["--files", "2-x"], "--files: \"2-x\" is not a file number or a range like 4-7"],
    [["--files", "0"], "--files: \"0\" is not a range of file numbers from 1"],
    [["--only", "*.avi"], "--only *.avi: no file of the torrent matches (bt-effect info lists them)"],
    [["--only", "[ab"], "--only: \"[ab\" has an unclosed ["]
  ])("download %j: one line and exit 2", async (flags, reason) => {
    const r = await runCli(["download", file, "--out", path.join(dir, "out"), "--port", "0", "--state", state, "--no-dht", ...flags], { timeoutMs: 20_000 })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toEqual([`bt-effect: ${reason}`])
    expect(fs.existsSync(path.join(dir, "out", "Show"))).toBe(false)
  })
})
