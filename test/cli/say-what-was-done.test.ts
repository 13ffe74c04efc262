/**
 * What a new user tripped over (issue 18), through the built program: the remote commands say what they
 * did and what they could not find, `list` lines up, `add` and `download` judge a bad file alike,
 * `--rpc-url` and `--rpc-auth` are read as transmission-remote reads them; `download` and `seed` take
 * rate limits and `--json`, say what was done when stopped, and bind their port before hashing; `create`
 * keeps an existing file without `--force`; `seed --data` at the torrent's own folder gets a hint.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { randomBytes } from "../support/torrents.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-cli-said-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(root, { recursive: true, force: true })
})

const content = path.join(root, "content")
fs.mkdirSync(path.join(content, "share"), { recursive: true })
fs.writeFileSync(path.join(content, "share", "a.bin"), randomBytes(3_000_000, 5))
fs.writeFileSync(path.join(content, "share", "b.bin"), randomBytes(1_000_000, 6))

/** A torrent of content/share made by `create`, announcing to `announce` when given. */
const created = async (name: string, announce?: string) => {
  const file = path.join(root, `${name}.torrent`)
  const r = await runCli(["create", path.join(content, "share"), "-o", file, ...(announce !== undefined ? ["--announce", announce] : [])])
  expect(r.code, r.stderr).toBe(0)
  return file
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

describe("cli: the remote commands say what they did", () => {
  it("add, list (text and --json), stop, start and remove, each one line per torrent; unknown ids and a missing daemon said, exit 1", async () => {
    const torrent = await created("remote")
    const state = path.join(root, "daemon-state")
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", path.join(root, "daemon-dl"), "--state", state, "--no-dht", "--rpc-auth", "me:secret"],
      /RPC http:\/\/127\.0\.0\.1:(\d+)\/transmission\/rpc/,
      30_000
    )
    // As transmission-remote takes it: HOST:PORT, no scheme, no path.
    const at = ["--rpc-url", `127.0.0.1:${daemon.match[1]}`, "--rpc-auth", "me:secret"]

    const added = await runCli(["add", torrent, "--paused", ...at])
    expect(added.stdout.trim()).toBe("added: 1 share")
    const listed = await runCli(["list", ...at])
    expect(listed.code, listed.stderr).toBe(0)
    const lines = listed.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^ ID\s+Done\s+Size\s+Status\s+Down\s+Up\s+Ratio\s+Peers\s+ETA\s+Name$/)
    expect(lines[1]).toMatch(/^  1\s+0\.0%\s+3\.81 MiB\s+Stopped\s+0 B\/s\s+0 B\/s\s+-\s+0\s+-\s+share$/)
    expect(lines[2]).toMatch(/^Sum\s+3\.81 MiB\s+0 B\/s\s+0 B\/s\s+0\s+1 torrent$/)
    // Columns line up: every row's Name starts where the heading's does.
    expect(lines[1]!.indexOf("share")).toBe(lines[0]!.indexOf("Name"))
    const json = JSON.parse((await runCli(["list", "--json", ...at])).stdout) as ReadonlyArray<Record<string, unknown>>
    expect(json).toEqual([expect.objectContaining({ id: 1, name: "share", state: "Stopped", totalSize: 4_000_000, percentDone: 0 })])

    for (const [args, said] of [
      [["start", "1"], "started: 1 share"],
      [["stop", "all"], "stopped: 1 share"],
      [["remove", "1"], "removed: 1 share"]
    ] as const) {
      const r = await runCli([...args, ...at])
      expect([r.code, r.stdout.trim()], args.join(" ")).toEqual([0, said])
    }
    for (const id of ["99", "abc"]) {
      const r = await runCli(["stop", id, ...at])
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toBe(`bt-effect: no torrent '${id}' in the daemon (give an ID or info hash from 'bt-effect list', or all); nothing was changed`)
    }
    // A login without a password is refused as the daemon would refuse it: at once, exit 2.
    const noPassword = await runCli(["list", "--rpc-url", `127.0.0.1:${daemon.match[1]}`, "--rpc-auth", "nopassword"])
    expect([noPassword.code, noPassword.stderr.trim()]).toEqual([2, "bt-effect: --rpc-auth takes USER:PASSWORD (both not empty)"])
    const daemonNoPassword = await runCli(["daemon", "--rpc-auth", "nopassword", "--state", path.join(root, "unused")])
    expect([daemonNoPassword.code, daemonNoPassword.stderr.trim()]).toEqual([2, "bt-effect: --rpc-auth takes USER:PASSWORD (both not empty)"])
    expect(await stop(daemon.child)).toBe(130)

    const gone = await runCli(["list", ...at])
    expect(gone.code).toBe(1)
    expect(gone.stderr.trim()).toBe(
      `bt-effect: no daemon answers at http://127.0.0.1:${daemon.match[1]}/transmission/rpc (is 'bt-effect daemon' running there?)`
    )
    const badUrl = await runCli(["list", "--rpc-url", "ftp://x/"])
    expect([badUrl.code, badUrl.stderr.trim()]).toEqual([2, "bt-effect: --rpc-url takes an http:// or https:// address, not 'ftp://x/'"])
  }, 90_000)

  it("add and download give a bad file the same words and exit 2", async () => {
    const bad = path.join(root, "bad.torrent")
    fs.writeFileSync(bad, "garbage")
    const viaAdd = await runCli(["add", bad, "--rpc-url", `127.0.0.1:${await freePort()}`])
    const viaDownload = await runCli(["download", bad, "--out", path.join(root, "never")])
    expect(viaAdd.code).toBe(2)
    expect(viaDownload.code).toBe(2)
    expect(viaAdd.stderr.trim()).toBe(`bt-effect: ${bad}: invalid bencode at byte 0: unexpected 'g'`)
    expect(viaAdd.stderr).toBe(viaDownload.stderr)
  })
})

describe("cli: download and seed", () => {
  it("a limited download from a limited seeder: --json progress lines, the rate held, the end as an event", async () => {
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = await created("limited", tracker.match[1]!)
    const seeder = await background(
      ["seed", torrent, "--data", content, "--port", "0", "--no-dht", "--upload-limit", "4M", "--json"],
      /"event":"message","text":"seeding share on port \d+/
    )
    // Every line the seeder printed is JSON.
    for (const line of seeder.output().trim().split("\n")) expect(() => JSON.parse(line), line).not.toThrow()
    const out = path.join(root, "limited-out")
    const started = Date.now()
    const r = await runCli(["download", torrent, "--out", out, "--port", "0", "--no-dht", "--download-limit", "1M", "--json", "--stall-timeout", "20"], {
      timeoutMs: 60_000
    })
    const seconds = (Date.now() - started) / 1000
    expect(r.code, r.stderr).toBe(0)
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>)
    expect(events.at(-1)).toMatchObject({ event: "done", name: "share", totalBytes: 4_000_000, verifiedBytes: 4_000_000, percent: 100 })
    expect(events.some((e) => e.event === "progress")).toBe(true)
    expect(events.some((e) => e.event === "tracker" && e.state === "working")).toBe(true)
    // 4,000,000 bytes at 1 MiB/s, a second's burst first: at least about 2.8 s.
    expect(seconds).toBeGreaterThan(2.5)
    expect(fs.readFileSync(path.join(out, "share", "a.bin")).equals(fs.readFileSync(path.join(content, "share", "a.bin")))).toBe(true)
    expect(await stop(seeder.child)).toBe(130)
    expect(seeder.output()).toMatch(/"event":"seeded".*"why":"stopped"/)
    await stop(tracker.child)
  }, 90_000)

  it("Ctrl-C during a download prints how far it got, as a finished one prints its summary", async () => {
    const torrent = await created("nobody")
    const d = await background(["download", torrent, "--out", path.join(root, "nobody-out"), "--port", "0", "--no-dht"], /0\.0%/)
    expect(await stop(d.child)).toBe(130)
    expect(d.output()).toMatch(/stopped: share: 0\.0% \(0 B of 3\.81 MiB\) after [\d.]+ s; 0 B downloaded \(average 0 B\/s\), 0 B uploaded/)
    // Nothing arrived, so no file was made.
    expect(fs.existsSync(path.join(root, "nobody-out", "share"))).toBe(false)
  }, 30_000)

  it("seed binds its port before it hashes, and points at the parent when given the torrent's own folder", async () => {
    const torrent = await created("seeded")
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, "0.0.0.0", resolve))
    const port = String((taken.address() as net.AddressInfo).port)
    try {
      const r = await runCli(["seed", torrent, "--data", content, "--port", port, "--no-dht"])
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toMatch(new RegExp(`^bt-effect: .*${port}.*(in use|EADDRINUSE)`))
      // Said before any hashing.
      expect(r.stdout).not.toMatch(/checked|hashed|checking/)
    } finally {
      taken.close()
    }
    const own = await runCli(["seed", torrent, "--data", path.join(content, "share"), "--port", "0", "--no-dht"])
    expect(own.code).toBe(1)
    expect(own.stderr.trim()).toBe(
      `bt-effect: ${path.join(content, "share")}: none of share's data is there to seed ` +
        `(${path.join(content, "share")} looks like the torrent's own folder: give the folder that holds it (--data ${content}))`
    )
  }, 60_000)
})

describe("cli: create", () => {
  it("keeps an existing .torrent unless --force is given", async () => {
    const file = path.join(root, "kept.torrent")
    fs.writeFileSync(file, "mine")
    const refused = await runCli(["create", path.join(content, "share"), "-o", file])
    expect([refused.code, refused.stderr.trim()]).toEqual([2, `bt-effect: ${file} exists (give --force to replace it)`])
    expect(fs.readFileSync(file, "utf8")).toBe("mine")
    const forced = await runCli(["create", path.join(content, "share"), "-o", file, "--force"])
    expect(forced.code, forced.stderr).toBe(0)
    expect(fs.readFileSync(file).subarray(0, 1).toString()).toBe("d")
  })
})
