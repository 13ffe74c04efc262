/**
 * `bt-effect stream` through the built command line: a bt-effect seeder held to a slow upload, and a
 * streaming process whose URL ffprobe reads (the MP4's duration) before the download is over; a range at
 * the file's end waits for its pieces and then arrives whole; the daemon's /stream/ of the same; a bad
 * --file is a usage error; and `download --sequential` takes the pieces in order.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { requiredInCi } from "../support/skips.js"
import { randomBytes } from "../support/torrents.js"

const ffmpeg = "/usr/bin/ffmpeg"
const ffprobe = "/usr/bin/ffprobe"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-stream-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** A 20-second MP4 with its index first (+faststart), as streamed files are made. */
const makeClip = (file: string) => {
  const codecs = execFileSync(ffmpeg, ["-hide_banner", "-encoders"], { encoding: "utf8" })
  const codec = codecs.includes("libx264") ? "libx264" : "mpeg4"
  execFileSync(ffmpeg, [
    "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=20:size=320x240:rate=25",
    "-c:v", codec, "-movflags", "+faststart", "-y", file
  ], { timeout: 60_000 })
}

const probeDuration = (url: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(ffprobe, ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url], { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}: ${stderr}`)))
  })

const getRange = (url: string, range: string) =>
  new Promise<{ status: number; contentRange: string | undefined; body: Buffer }>((resolve, reject) => {
    http.get(url, { headers: { range } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentRange: res.headers["content-range"], body: Buffer.concat(chunks) }))
    }).on("error", reject)
  })

describe("stream through the command line", () => {
  requiredInCi(fs.existsSync(ffmpeg) && fs.existsSync(ffprobe), "ffmpeg and ffprobe (Debian's ffmpeg) are not installed")

  it("serves an MP4 that ffprobe reads before the download completes", async () => {
    const content = path.join(dir, "content", "show")
    fs.mkdirSync(content, { recursive: true })
    fs.writeFileSync(path.join(content, "a-notes.txt"), "notes\n")
    const clipFile = path.join(content, "clip.mp4")
    makeClip(clipFile)
    const clip = fs.readFileSync(clipFile)
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = path.join(dir, "show.torrent")
    const created = await runCli(["create", content, "--announce", tracker.match[1]!, "--piece-length", "16384", "-o", torrent])
    expect(created.code, created.stderr).toBe(0)
    // About 12 s for the whole at 8 KiB/s: ffprobe needs only the start.
    const seeder = await background(
      ["seed", torrent, "--data", path.dirname(content), "--port", "0", "--no-dht", "--upload-limit", "8K"],
      /seeding show on port \d+/
    )
    const state = path.join(dir, "state")
    const streamer = await background(
      ["stream", torrent, "--port", "0", "--http-port", "0", "--no-dht", "--state", state],
      /(http:\/\/127\.0\.0\.1:\d+\/\S+)\n(http:\S+)\n/
    )
    // The largest file first, then the others.
    expect(streamer.match[1]).toMatch(/\/2\/show\/clip\.mp4$/)
    expect(streamer.match[2]).toMatch(/\/1\/show\/a-notes\.txt$/)
    const url = streamer.match[1]!
    expect(Number(await probeDuration(url))).toBeCloseTo(20, 0)
    expect(streamer.output()).not.toContain("download complete")
    // The file's end: its pieces are the last in order, so this waits for the whole download.
    const tail = await getRange(url, "bytes=-1000")
    expect(tail.status).toBe(206)
    expect(tail.contentRange).toBe(`bytes ${clip.length - 1000}-${clip.length - 1}/${clip.length}`)
    expect(tail.body.equals(clip.subarray(clip.length - 1000))).toBe(true)
    // Kept under the state folder for a later `seed`.
    expect(fs.readFileSync(path.join(state, "streams", "show", "clip.mp4")).equals(clip)).toBe(true)
    expect(await stop(streamer.child)).toBe(130)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 90_000)

  it("serves a torrent of the daemon at /stream/<info hash>/<file number> as it downloads", async () => {
    const content = path.join(dir, "content")
    const clip = fs.readFileSync(path.join(content, "show", "clip.mp4"))
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const announced = path.join(dir, "show-daemon.torrent")
    expect((await runCli(["create", path.join(content, "show"), "--announce", tracker.match[1]!, "--piece-length", "16384", "-o", announced])).code).toBe(0)
    const announcedHash = JSON.parse((await runCli(["info", "--json", announced])).stdout).infoHash as string
    const seeder = await background(
      ["seed", announced, "--data", content, "--port", "0", "--no-dht", "--upload-limit", "16K"],
      /seeding show on port \d+/
    )
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", path.join(dir, "daemon-data"), "--state", path.join(dir, "daemon-state"), "--no-dht"],
      /web interface (http:\/\/127\.0\.0\.1:\d+)\//, 30_000
    )
    const web = daemon.match[1]!
    expect((await runCli(["add", announced, "--rpc-url", `${web}/transmission/rpc`])).code).toBe(0)
    // 404 until the torrent runs; then the whole file, each piece sent once it is verified.
    let reply = await getRange(`${web}/stream/${announcedHash}/2`, "bytes=0-")
    for (let i = 0; i < 50 && reply.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 200))
      reply = await getRange(`${web}/stream/${announcedHash}/2`, "bytes=0-")
    }
    expect(reply.status).toBe(206)
    expect(reply.body.equals(clip)).toBe(true)
    expect((await getRange(`${web}/stream/${announcedHash}/2`, `bytes=${clip.length}-`)).status).toBe(416)
    expect(await stop(daemon.child)).toBe(130)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 90_000)

  it("refuses a file number the torrent does not have, in one line", async () => {
    const torrent = path.join(dir, "show.torrent")
    const r = await runCli(["stream", torrent, "--file", "3", "--port", "0", "--http-port", "0", "--no-dht", "--state", path.join(dir, "state2")])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe("bt-effect: --file takes a file number from 1 to 2, not 3")
  }, 30_000)
})

describe("download --sequential through the command line", () => {
  it("download --sequential fetches the pieces in order", async () => {
    // 32 files of one piece each: a file is on disk once its piece is, so the files there show the order.
    const folder = path.join(dir, "content", "pieces")
    fs.mkdirSync(folder, { recursive: true })
    const names = Array.from({ length: 32 }, (_, i) => `p${String(i).padStart(2, "0")}.bin`)
    names.forEach((name, i) => fs.writeFileSync(path.join(folder, name), randomBytes(16384, i + 1)))
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const torrent = path.join(dir, "pieces.torrent")
    expect((await runCli(["create", folder, "--announce", tracker.match[1]!, "--piece-length", "16384", "-o", torrent])).code).toBe(0)
    // Two pieces a second: about 16 s for the whole, stopped after a few.
    const seeder = await background(
      ["seed", torrent, "--data", path.dirname(folder), "--port", "0", "--no-dht", "--upload-limit", "32K"],
      /seeding pieces on port \d+/
    )
    const out = path.join(dir, "sequential")
    const downloader = await background(
      ["download", torrent, "--sequential", "--out", out, "--port", "0", "--no-dht", "--state", path.join(dir, "state3")],
      /peers 1 \(1 seed\)/, 30_000
    )
    await new Promise((r) => setTimeout(r, 2500))
    expect(await stop(downloader.child)).toBe(130)
    const there = names.map((name, i) => {
      const file = path.join(out, "pieces", name)
      return fs.existsSync(file) && fs.readFileSync(file).equals(Buffer.from(randomBytes(16384, i + 1)))
    })
    const count = there.filter((t) => t).length
    expect(count).toBeGreaterThan(0)
    expect(count).toBeLessThan(names.length)
    expect(there).toEqual(names.map((_, i) => i < count))
    await stop(seeder.child)
    await stop(tracker.child)
  }, 60_000)
})
