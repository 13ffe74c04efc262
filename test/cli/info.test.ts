import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { toHex } from "../../src/domain/InfoHash.js"
import { runCli } from "../support/cli.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-info-"))
const torrent = makeTorrent({
  name: "My Files",
  pieceLength: 16384,
  files: [
    { path: ["a.bin"], data: randomBytes(20_000) },
    { path: ["..", "escape.txt"], data: randomBytes(5) }
  ],
  announce: "http://127.0.0.1:1/announce"
})
const good = path.join(dir, "good.torrent")
fs.writeFileSync(good, torrent.bytes)
const bad = path.join(dir, "bad.torrent")
fs.writeFileSync(bad, "d4:infod4:name1:aee")
const garbage = path.join(dir, "garbage.torrent")
fs.writeFileSync(garbage, randomBytes(1000, 7))

const oneLine = (s: string) => s.trim().split("\n").length === 1

describe("bt-effect info", () => {
  it("prints name, info hash, pieces, size, files and trackers", async () => {
    const r = await runCli(["info", good])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("My Files")
    expect(r.stdout).toContain(toHex(torrent.metainfo.infoHash!))
    expect(r.stdout).toMatch(/pieces:\s+2/)
    expect(r.stdout).toContain("(20005 bytes)")
    expect(r.stdout).toContain("My Files/escape.txt  (named '../escape.txt' in the torrent)")
    expect(r.stdout).toContain("http://127.0.0.1:1/announce")
    expect(r.stdout).toMatch(/private:\s+no/)
  })

  it("prints the same as JSON with --json", async () => {
    const r = await runCli(["info", "--json", good])
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout)
    expect(json).toMatchObject({
      name: "My Files",
      infoHash: toHex(torrent.metainfo.infoHash!),
      pieceLength: 16384,
      pieceCount: 2,
      totalLength: 20005,
      private: false,
      trackers: [["http://127.0.0.1:1/announce"]]
    })
    expect(json.files.map((f: { path: string }) => f.path)).toEqual(["My Files/a.bin", "My Files/escape.txt"])
  })

  it.each([
    [bad, "missing 'piece length'"],
    [garbage, "invalid bencode"],
    [path.join(dir, "missing.torrent"), "no such file"],
    [dir, "to be a regular file"]
  ])("gives one line of error and exit 2 for %s", async (file, reason) => {
    const r = await runCli(["info", file])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(oneLine(r.stderr)).toBe(true)
    expect(r.stderr).toContain(reason)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it("shows usage with --help and refuses unknown commands with exit 2", async () => {
    const help = await runCli(["--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("info")
    const unknown = await runCli(["frobnicate"])
    expect(unknown.code).toBe(2)
  })
})
