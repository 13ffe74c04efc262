/**
 * `bt-effect stream` through the built command line, as the issue's "done when" asks: a seeder held to an
 * upload at which the whole film takes over a minute, and ffprobe reads the MP4's duration through the
 * stream's URL, and ffmpeg seeks to near its end and decodes a frame, each in a few seconds and long
 * before the download is complete (the pieces under each read get deadlines in the picker); the same
 * through the daemon's /stream/; a range at the file's end arrives whole; a bad --file is a usage error;
 * and `download --sequential` takes the pieces in order.
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

/** The film: 60 s of 640x360 at 2 Mbit/s (about 15 MB; noise keeps the encoder from shrinking it), its
 *  index at the end as ffmpeg writes it by default (a player must seek there first). */
const width = 640
const height = 360
const makeFilm = (file: string) => {
  const codecs = execFileSync(ffmpeg, ["-hide_banner", "-encoders"], { encoding: "utf8" })
  const codec = codecs.includes("libx264") ? ["libx264", "-preset", "ultrafast"] : ["mpeg4"]
  execFileSync(ffmpeg, [
    "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc2=duration=60:size=${width}x${height}:rate=25,noise=alls=20:allf=t`,
    "-c:v", ...codec, "-b:v", "2M", "-g", "50", "-pix_fmt", "yuv420p", "-y", file
  ], { timeout: 120_000 })
}
/** The seeder's upload: the whole film takes about 75 s. */
const seederLimit = "200K"
/** "A few seconds" on a shared machine (about 2 s here). */
const fewSecondsMs = 10_000

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<{ stdout: Buffer; ms: number }>((resolve, reject) => {
    const started = Date.now()
    execFile(command, args, { timeout: 60_000, encoding: "buffer", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve({ stdout, ms: Date.now() - started }) : reject(new Error(`${error.message}: ${stderr.toString()}`)))
  })

/** ffprobe's duration of the URL, and how long it took. */
const probeDuration = async (url: string) => {
  const r = await run(ffprobe, ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url])
  return { seconds: Number(r.stdout.toString().trim()), ms: r.ms }
}

/** ffmpeg seeks to `at` seconds and decodes one frame (raw YUV 4:2:0: width * height * 1.5 bytes). */
const frameAt = async (url: string, at: number) => {
  const r = await run(ffmpeg, ["-hide_banner", "-loglevel", "error", "-ss", String(at), "-i", url, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
  return { bytes: r.stdout.length, ms: r.ms }
}

const getRange = (url: string, range: string) =>
  new Promise<{ status: number; contentRange: string | undefined; body: Buffer }>((resolve, reject) => {
    http.get(url, { headers: { range } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentRange: res.headers["content-range"], body: Buffer.concat(chunks) }))
    }).on("error", reject)
  })

/** Plays the URL as the issue asks, each step in a few seconds; `complete` says whether the download is. */
const playsWhileDownloading = async (url: string, film: Buffer, complete: () => Promise<boolean>) => {
  const probe = await probeDuration(url)
  expect(probe.seconds).toBeCloseTo(60, 0)
  expect(probe.ms).toBeLessThan(fewSecondsMs)
  const nearEnd = await frameAt(url, 57)
  expect(nearEnd.bytes).toBe(width * height * 1.5)
  expect(nearEnd.ms).toBeLessThan(fewSecondsMs)
  const middle = await frameAt(url, 30)
  expect(middle.bytes).toBe(width * height * 1.5)
  expect(middle.ms).toBeLessThan(fewSecondsMs)
  // The file's last bytes, exactly.
  const tail = await getRange(url, "bytes=-1000")
  expect(tail.status).toBe(206)
  expect(tail.contentRange).toBe(`bytes ${film.length - 1000}-${film.length - 1}/${film.length}`)
  expect(tail.body.equals(film.subarray(film.length - 1000))).toBe(true)
  // Long before the download is over.
  expect(await complete()).toBe(false)
}

describe("stream through the command line", () => {
  requiredInCi(fs.existsSync(ffmpeg) && fs.existsSync(ffprobe), "ffmpeg and ffprobe (Debian's ffmpeg) are not installed")
  const content = path.join(dir, "content", "show")
  const torrent = path.join(dir, "show.torrent")

  it("plays and seeks an MP4 from a slow seeder within seconds, long before the download completes", async () => {
    fs.mkdirSync(content, { recursive: true })
    fs.writeFileSync(path.join(content, "a-notes.txt"), "notes\n")
    const filmFile = path.join(content, "film.mp4")
    makeFilm(filmFile)
    const film = fs.readFileSync(filmFile)
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const created = await runCli(["create", content, "--announce", tracker.match[1]!, "--piece-length", "65536", "-o", torrent])
    expect(created.code, created.stderr).toBe(0)
    const seeder = await background(
      ["seed", torrent, "--data", path.dirname(content), "--port", "0", "--no-dht", "--upload-limit", seederLimit],
      /seeding show on port \d+/
    )
    const state = path.join(dir, "state")
    const streamer = await background(
      ["stream", torrent, "--port", "0", "--http-port", "0", "--no-dht", "--state", state],
      /(http:\/\/127\.0\.0\.1:\d+\/\S+)\n(http:\S+)\n/
    )
    // The largest file first, then the others.
    expect(streamer.match[1]).toMatch(/\/2\/show\/film\.mp4$/)
    expect(streamer.match[2]).toMatch(/\/1\/show\/a-notes\.txt$/)
    await playsWhileDownloading(streamer.match[1]!, film, async () => streamer.output().includes("download complete"))
    // Kept under the state folder for a later `seed`.
    expect(fs.existsSync(path.join(state, "streams", "show", "film.mp4"))).toBe(true)
    expect(await stop(streamer.child)).toBe(130)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 120_000)

  it("the daemon's /stream/<info hash>/<file number> plays and seeks the same way", async () => {
    const film = fs.readFileSync(path.join(content, "film.mp4"))
    const tracker = await background(["tracker", "--port", "0"], /tracker: (http:\S+)/)
    const announced = path.join(dir, "show-daemon.torrent")
    expect((await runCli(["create", content, "--announce", tracker.match[1]!, "--piece-length", "65536", "-o", announced])).code).toBe(0)
    const hash = JSON.parse((await runCli(["info", "--json", announced])).stdout).infoHash as string
    const seeder = await background(
      ["seed", announced, "--data", path.dirname(content), "--port", "0", "--no-dht", "--upload-limit", seederLimit],
      /seeding show on port \d+/
    )
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", path.join(dir, "daemon-data"), "--state", path.join(dir, "daemon-state"), "--no-dht"],
      /web interface (http:\/\/127\.0\.0\.1:\d+)\//, 30_000
    )
    const web = daemon.match[1]!
    const rpc = `${web}/transmission/rpc`
    expect((await runCli(["add", announced, "--rpc-url", rpc])).code).toBe(0)
    const url = `${web}/stream/${hash}/2`
    // 404 until the torrent runs.
    let head = await getRange(url, "bytes=0-0")
    for (let i = 0; i < 50 && head.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 200))
      head = await getRange(url, "bytes=0-0")
    }
    expect(head.status).toBe(206)
    const complete = async () => {
      const listed = await runCli(["list", "--json", "--rpc-url", rpc])
      return (JSON.parse(listed.stdout) as Array<{ percentDone: number }>)[0]!.percentDone === 1
    }
    await playsWhileDownloading(url, film, complete)
    expect((await getRange(url, `bytes=${film.length}-`)).status).toBe(416)
    expect(await stop(daemon.child)).toBe(130)
    await stop(seeder.child)
    await stop(tracker.child)
  }, 120_000)

  it("refuses a file number the torrent does not have, in one line", async () => {
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
