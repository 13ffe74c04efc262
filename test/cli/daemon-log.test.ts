/**
 * The daemon says what happens, one line each, with the time (issue 18: "one line at start, then
 * silence"): a torrent added, its metadata received, completed, started, stopped, removed; a tracker that
 * fails and answers again; a disk error; an RPC client refused. Through the built program, with a real
 * seeder and tracker on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { randomBytes } from "../support/torrents.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-cli-daemon-log-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(root, { recursive: true, force: true })
})

/** Waits until `output()` matches, polling; the daemon's output so far when it does not in time. */
const until = async (output: () => string, pattern: RegExp, timeoutMs = 20_000) => {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const match = output().match(pattern)
    if (match !== null) return match
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`no line matching ${pattern} in:\n${output()}`)
}

const stamp = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d"

describe("cli: the daemon's log", () => {
  it("added, metadata, completed, started, stopped, removed, tracker trouble, a disk error and a refused client: a line each", async () => {
    const content = path.join(root, "content")
    fs.mkdirSync(path.join(content, "album"), { recursive: true })
    fs.writeFileSync(path.join(content, "album", "a.bin"), randomBytes(2_000_000, 7))
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = path.join(root, "album.torrent")
    expect((await runCli(["create", path.join(content, "album"), "--announce", tracker.match[1]!, "-o", torrent])).code).toBe(0)
    const seeder = await background(["seed", torrent, "--data", content, "--port", "0", "--no-dht"], /seeding album on port (\d+)/)
    const info = JSON.parse((await runCli(["info", "--json", torrent])).stdout) as { infoHash: string }

    const downloads = path.join(root, "downloads")
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", downloads, "--state", path.join(root, "state"), "--no-dht", "--rpc-auth", "me:pw"],
      /RPC http:\/\/127\.0\.0\.1:(\d+)\/transmission\/rpc/,
      30_000
    )
    const at = ["--rpc-url", `127.0.0.1:${daemon.match[1]}`, "--rpc-auth", "me:pw"]
    const log = daemon.output

    // A magnet naming the seeder: its metadata comes from it, then the data.
    const magnet = `magnet:?xt=urn:btih:${info.infoHash}&dn=album&x.pe=127.0.0.1:${seeder.match[1]}`
    expect((await runCli(["add", magnet, ...at])).code).toBe(0)
    await until(log, new RegExp(`${stamp} info: added: 1 album \\(a magnet link\\) into ${downloads}\\n`))
    await until(log, new RegExp(`${stamp} info: metadata received: 1 album: 1 file\\(s\\), 1\\.91 MiB\\n`))
    await until(log, new RegExp(`${stamp} info: completed: 1 album \\(1\\.91 MiB\\)\\n`), 30_000)

    // A tracker that refuses connections.
    const dead = http.createServer()
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r))
    const deadPort = (dead.address() as { port: number }).port
    await new Promise<void>((r) => dead.close(() => r()))
    const other = path.join(root, "other")
    fs.mkdirSync(other)
    fs.writeFileSync(path.join(other, "b.bin"), randomBytes(100_000, 8))
    const otherTorrent = path.join(root, "other.torrent")
    expect((await runCli(["create", other, "--announce", `http://127.0.0.1:${deadPort}/announce`, "-o", otherTorrent])).code).toBe(0)
    expect((await runCli(["add", otherTorrent, ...at])).code).toBe(0)
    await until(log, new RegExp(`${stamp} warn: tracker: 2 other: http://127\\.0\\.0\\.1:${deadPort}/announce: .+\\n`))

    // A folder that cannot be made (a file stands in its way): an error, and the torrent stopped.
    fs.writeFileSync(path.join(root, "blocked"), "a file, not a folder")
    expect((await runCli(["add", torrent, "--download-dir", path.join(root, "blocked", "sub"), ...at])).stdout.trim()).toBe("already there: 1 album")
    const third = path.join(root, "third.torrent")
    expect((await runCli(["create", path.join(other, "b.bin"), "-o", third])).code).toBe(0)
    expect((await runCli(["add", third, "--download-dir", path.join(root, "blocked", "sub"), ...at])).code).toBe(0)
    await until(log, new RegExp(`${stamp} warn: error: 3 b\\.bin: .*blocked.*; stopped\\n`))

    expect((await runCli(["stop", "1", ...at])).stdout.trim()).toBe("stopped: 1 album")
    await until(log, new RegExp(`${stamp} info: stopped: 1 album\\n`))
    expect((await runCli(["start", "1", ...at])).code).toBe(0)
    await until(log, new RegExp(`${stamp} info: started: 1 album\\n`))
    expect((await runCli(["remove", "2", ...at])).code).toBe(0)
    await until(log, new RegExp(`${stamp} info: removed: 2 other\\n`))

    const wrong = await runCli(["list", "--rpc-url", `127.0.0.1:${daemon.match[1]}`, "--rpc-auth", "me:wrong"])
    expect(wrong.code).toBe(1)
    await runCli(["list", "--rpc-url", `127.0.0.1:${daemon.match[1]}`, "--rpc-auth", "me:wrong"])
    await until(log, new RegExp(`${stamp} warn: rpc: refused 127\\.0\\.0\\.1: wrong login\\n`))

    expect(await stop(daemon.child)).toBe(130)
    // Once: the second wrong login adds no line.
    expect(log().match(/refused 127\.0\.0\.1: wrong login/g)?.length).toBe(1)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 120_000)
})
