/**
 * v2-only and hybrid torrents' data through the built command line, bt-effect with itself on loopback:
 * `create --v2` / `--hybrid` of a folder, then `verify` (complete on the data, one piece short once a byte
 * of one file changes, the resume file naming the torrent's v2 hash under `info-hash-v2`); resume data
 * that names another v2 hash is not trusted; and a v2 download killed with SIGKILL midway resumes from
 * what it had: the pieces found again on disk are not fetched again, and the files end equal.
 *
 * The files are chosen for v2's layout (piece length 64 KiB): each file starts a piece, so a file not a
 * multiple of the piece length ends in a piece padded with zeros that are never on disk; one file is shorter
 * than a block, one empty, one exactly one piece. Each process has a loopback address of its own:
 * the tracker 127.0.0.71, the seeder 127.0.0.72, the downloader 127.0.0.73.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Bencode } from "../../src/domain/Bencode.js"
import { decode } from "../../src/protocol/Bencode.js"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { tempDir } from "../support/interop.js"
import { randomBytes } from "../support/torrents.js"

const pieceLength = 65536
const trackerHost = "127.0.0.71"
const seederHost = "127.0.0.72"
const leecherHost = "127.0.0.73"

/** Paths under the torrent's folder `share` and their sizes. */
const sizes: ReadonlyArray<readonly [string, number]> = [
  ["a.bin", 300_000],
  ["b/tiny.txt", 1000],
  ["b/empty", 0],
  ["c/one-piece.bin", pieceLength],
  ["d.bin", 150_000]
]

const root = tempDir("bt-effect-v2-data-")
afterAll(async () => {
  await stopAllBackground()
  root.remove()
}, 30_000)

/** Writes `share` under `dir` with `files` and returns `dir`. */
const writeShare = (dir: string, files: ReadonlyArray<readonly [string, number]>, seed: number) => {
  files.forEach(([name, length], i) => {
    const at = path.join(dir, "share", ...name.split("/"))
    fs.mkdirSync(path.dirname(at), { recursive: true })
    fs.writeFileSync(at, randomBytes(length, seed + i))
  })
  return dir
}

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

/** The files of `share` (of `files`) under `a` and `b` that differ (none: equal). */
const differences = (a: string, b: string, files: ReadonlyArray<readonly [string, number]>) =>
  files.map(([name]) => name).filter((name) => {
    const [x, y] = [path.join(a, "share", name), path.join(b, "share", name)]
    return !fs.existsSync(x) || !fs.existsSync(y) || sha256(x) !== sha256(y)
  })

const flipByte = (file: string, at: number) => {
  const fd = fs.openSync(file, "r+")
  const one = Buffer.alloc(1)
  fs.readSync(fd, one, 0, 1, at)
  one[0] = one[0]! ^ 0xff
  fs.writeSync(fd, one, 0, 1, at)
  fs.closeSync(fd)
}

interface Info {
  readonly infoHash: string | null
  readonly infoHashV2: string
  readonly infoHashV2Truncated: string
  readonly pieceCount: number
}

const create = async (source: string, version: "v2" | "hybrid", out: string, announce?: string) => {
  const made = await runCli(["create", path.join(source, "share"), `--${version}`, "--piece-length", String(pieceLength), "-o", out,
    ...(announce !== undefined ? ["--announce", announce] : [])])
  expect(made.code, made.stderr).toBe(0)
  const info = await runCli(["info", out, "--json"])
  expect(info.code, info.stderr).toBe(0)
  return JSON.parse(info.stdout) as Info
}

/** The resume file of the torrent known by `hash` (hex) in `state`, its keys as they are. */
const resumeFile = (state: string, hash: string) => path.join(state, "torrents", `${hash}.resume`)
const readResume = (file: string): ReadonlyMap<string, Bencode> => {
  const value = Either.getOrThrow(decode(fs.readFileSync(file))).value
  if (!(value instanceof Map)) throw new Error(`${file} is not a dictionary`)
  return value
}
const hex = (value: Bencode | undefined) => (value instanceof Uint8Array ? Buffer.from(value).toString("hex") : String(value))
const bitsSet = (value: Bencode | undefined) =>
  value instanceof Uint8Array ? [...value].reduce((n, byte) => n + byte.toString(2).replaceAll("0", "").length, 0) : 0

describe("v2 and hybrid data through the command line", () => {
  const source = writeShare(path.join(root.path, "source"), sizes, 71)

  for (const version of ["v2", "hybrid"] as const) {
    it(`${version}: verify finds the data complete, and one piece missing once one byte of one file changed`, async () => {
      const dir = path.join(root.path, `verify-${version}`)
      const torrent = path.join(dir, `${version}.torrent`)
      fs.mkdirSync(dir, { recursive: true })
      const info = await create(source, version, torrent)
      // a.bin 5 pieces, tiny 1, empty none, one-piece 1, d.bin 3.
      expect(info.pieceCount).toBe(10)
      const state = path.join(dir, "state")
      const data = path.join(dir, "data")
      fs.cpSync(source, data, { recursive: true })

      const intact = await runCli(["verify", torrent, "--data", data, "--state", state])
      expect(intact.code, intact.stderr).toBe(0)
      for (const [name] of sizes) expect(intact.stdout).toMatch(new RegExp(`100\\.0%\\s+complete\\s+share/${name}`))
      expect(intact.stdout).toMatch(/total: 10 of 10 pieces verified \(100\.0%\)/)
      // The resume data is the torrent's: under the hash it is known by, naming its whole v2 hash.
      const known = info.infoHash ?? info.infoHashV2Truncated
      const saved = readResume(resumeFile(state, known))
      expect(hex(saved.get("info-hash"))).toBe(known)
      expect(hex(saved.get("info-hash-v2"))).toBe(info.infoHashV2)
      expect(bitsSet(saved.get("pieces"))).toBe(10)

      // One byte of a.bin's fourth piece (of five) changed, as an editor would (a new modification time):
      // that piece alone is missing.
      const a = path.join(data, "share", "a.bin")
      flipByte(a, 3 * pieceLength + 100)
      const later = new Date(Date.now() + 5_000)
      fs.utimesSync(a, later, later)
      const partial = await runCli(["verify", torrent, "--data", data, "--state", state])
      expect(partial.code).toBe(1)
      const percent = ((100 * (300_000 - pieceLength)) / 300_000).toFixed(1)
      expect(partial.stdout).toMatch(new RegExp(`${percent.replace(".", "\\.")}%\\s+incomplete\\s+share/a\\.bin`))
      for (const [name] of sizes.slice(1)) expect(partial.stdout).toMatch(new RegExp(`100\\.0%\\s+complete\\s+share/${name}`))
      expect(partial.stdout).toMatch(/total: 9 of 10 pieces verified/)
      expect(partial.stderr.trim().split("\n").at(-1)).toBe("bt-effect: incomplete: 1 of 10 pieces missing or damaged")
      const after = readResume(resumeFile(state, known))
      expect(hex(after.get("info-hash-v2"))).toBe(info.infoHashV2)
      // a.bin's pieces are 0-4: the fourth is piece 3, the one bit not set.
      const pieces = after.get("pieces") as Uint8Array
      expect(Array.from({ length: 10 }, (_, i) => (pieces[i >> 3]! >> (7 - (i & 7))) & 1)).toEqual([1, 1, 1, 0, 1, 1, 1, 1, 1, 1])
    })
  }

  it("v2: resume data that names another v2 hash is not trusted, and the data is hashed instead", async () => {
    const dir = path.join(root.path, "other-hash")
    const torrent = path.join(dir, "v2.torrent")
    fs.mkdirSync(dir, { recursive: true })
    const info = await create(source, "v2", torrent)
    const state = path.join(dir, "state")
    const download = () =>
      runCli(["download", torrent, "--out", source, "--port", "0", "--bind", leecherHost, "--no-dht", "--state", state], { timeoutMs: 30_000 })
    expect((await runCli(["verify", torrent, "--data", source, "--state", state])).code).toBe(0)
    const trusted = await download()
    expect(trusted.code, trusted.stderr).toBe(0)
    expect(trusted.stdout).toMatch(/resumed .*: 10 of 10 pieces verified \(100\.0%\) from resume data, nothing hashed/)

    // The same file, its v2 hash changed in one byte: data of another torrent known by the same 20 bytes.
    const file = resumeFile(state, info.infoHashV2Truncated)
    const raw = fs.readFileSync(file)
    const key = Buffer.from("12:info-hash-v232:")
    const at = raw.indexOf(key)
    expect(at).toBeGreaterThan(0)
    raw[at + key.length + 31] = raw[at + key.length + 31]! ^ 1
    fs.writeFileSync(file, raw)
    expect(hex(readResume(file).get("info-hash-v2"))).not.toBe(info.infoHashV2)
    const refused = await download()
    expect(refused.code, refused.stderr).toBe(0)
    expect(refused.stdout).toMatch(/checked .*: 10 of 10 pieces verified \(100\.0%\); hashed/)
    expect(refused.stdout).not.toMatch(/from resume data/)
    // And the resume data written again is this torrent's.
    expect(hex(readResume(file).get("info-hash-v2"))).toBe(info.infoHashV2)
  })
})

/** A larger payload for a download slow enough to be killed after its first checkpoint (every 30 s). */
const bigSizes: ReadonlyArray<readonly [string, number]> = [
  ["a.bin", 3 * 1024 * 1024 + 12_345],
  ["b/c.bin", 2 * 1024 * 1024 + 1],
  ["b/tiny.txt", 1000],
  ["b/empty", 0],
  ["d.bin", 1024 * 1024 + 70_000]
]

describe("a v2 download killed with SIGKILL midway", () => {
  it("restarted, it keeps the pieces it had, fetches only the rest, and the files end equal", async () => {
    const dir = path.join(root.path, "kill")
    const big = writeShare(path.join(dir, "source"), bigSizes, 81)
    const tracker = await background(["tracker", "--port", "0", "--host", trackerHost], /tracker: (http:\S+)/)
    const torrent = path.join(dir, "v2.torrent")
    const info = await create(big, "v2", torrent, tracker.match[1]!)
    const quiet = (host: string) => ["--port", "0", "--bind", host, "--no-dht", "--no-pex"]
    // 128 KiB/s: the 6.3 MiB take about 50 s, the first checkpoint comes after 30.
    const seeder = await background(["seed", torrent, "--data", big, "--upload-limit", "128K", "--state", path.join(dir, "seed-state"), ...quiet(seederHost)],
      /seeding .* on port \d+/)
    const out = path.join(dir, "out")
    const state = path.join(dir, "state")
    const args = ["download", torrent, "--out", out, "--state", state, "--sequential", "--json", "--stall-timeout", "60", ...quiet(leecherHost)]

    const first = await background(args, /"event":"progress"/, 30_000)
    const file = resumeFile(state, info.infoHashV2Truncated)
    const checkpointed = () => fs.existsSync(file) && bitsSet(readResume(file).get("pieces")) > 0
    const until = Date.now() + 42_000
    while (!checkpointed() && Date.now() < until && first.child.exitCode === null) await new Promise((r) => setTimeout(r, 250))
    expect(first.child.exitCode, first.output().slice(-2000)).toBe(null)
    expect(checkpointed(), first.output().slice(-2000)).toBe(true)
    // A few more pieces written after the checkpoint, so that the files changed since it (their pieces are
    // then hashed again, not trusted).
    await new Promise((r) => setTimeout(r, 3_000))
    const killed = new Promise((resolve) => first.child.once("close", (_, signal) => resolve(signal)))
    first.child.kill("SIGKILL")
    expect(await killed).toBe("SIGKILL")
    const saved = readResume(file)
    expect(hex(saved.get("info-hash-v2"))).toBe(info.infoHashV2)
    const inCheckpoint = bitsSet(saved.get("pieces"))

    const second = await runCli(args, { timeoutMs: 70_000 })
    expect(second.code, second.stderr + second.stdout.slice(-2000)).toBe(0)
    const events = second.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
    const resumed = events.map((e) => String(e["text"] ?? "")).find((t) => t.startsWith("resumed "))
    // "X of N pieces verified (p%), T from resume data; hashed ..." when files changed since the checkpoint,
    // "X of N pieces verified (p%) from resume data, nothing hashed" when none did (T = X).
    const m = /: (\d+) of (\d+) pieces verified \([\d.]+%\)(?:, (\d+))? from resume data(?:; hashed|, nothing hashed)/.exec(resumed ?? "")
    expect(m, second.stdout.slice(0, 2000)).not.toBe(null)
    const [found, count, trusted] = [Number(m![1]), Number(m![2]), Number(m![3] ?? m![1])]
    console.log(`after the kill: ${found} of ${count} pieces found (${trusted} trusted from the checkpoint of ${inCheckpoint})`)
    expect(count).toBe(info.pieceCount)
    // What the checkpoint held and the files still hold is trusted; the pieces written after it are found
    // by hashing; neither is fetched again.
    expect(trusted).toBeGreaterThan(0)
    expect(trusted).toBeLessThanOrEqual(inCheckpoint)
    expect(found).toBeGreaterThanOrEqual(inCheckpoint)
    expect(found).toBeLessThan(count)
    const done = events.find((e) => e["event"] === "done")
    expect(done, second.stdout.slice(-2000)).toBeDefined()
    // The figures are the files' bytes, the pads after them left out.
    const fileBytes = bigSizes.reduce((n, [, length]) => n + length, 0)
    expect([done!["totalBytes"], done!["verifiedBytes"]]).toEqual([fileBytes, fileBytes])
    const checking = events.filter((e) => e["event"] === "checking").at(-1)
    console.log(`checking: ${JSON.stringify(checking)}; files ${fileBytes} B, pieces ${count * pieceLength} B`)
    expect(Number(done!["downloadedBytes"])).toBeLessThanOrEqual((count - found) * pieceLength)
    expect(Number(done!["downloadedBytes"])).toBeGreaterThan(0)
    expect(differences(out, big, bigSizes)).toEqual([])
    expect(hex(readResume(file).get("info-hash-v2"))).toBe(info.infoHashV2)
    expect(bitsSet(readResume(file).get("pieces"))).toBe(count)

    expect(await stop(seeder.child)).toBe(130)
    await stop(tracker.child)
  }, 150_000)
})
