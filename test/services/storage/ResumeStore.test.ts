/**
 * ResumeStore: resume files under `<dir>/torrents` (saved atomically, replaced by the next save, leaving
 * no temporary file; damaged or missing ones load as none, a state folder that cannot be made fails with
 * a StorageError naming it), the default state folder per platform, and the in-memory store.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type InfoHash, infoHash, toHex } from "../../../src/domain/InfoHash.js"
import { ResumeData } from "../../../src/domain/ResumeData.js"
import { decodeResume, encodeResume } from "../../../src/protocol/ResumeFile.js"
import { defaultStateDir, ResumeStore } from "../../../src/services/storage/ResumeStore.js"
import * as ResumeFiles from "../../../src/services/storage/ResumeFiles.js"
import { MemoryResume, layer as resumeMemory } from "../../../src/services/storage/MemoryResume.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-resume-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const hashOf = (seed: number): InfoHash => infoHash(Uint8Array.from({ length: 20 }, (_, i) => (i * 7 + seed) & 0xff))

const data = (seed: number, overrides: Partial<{ downloaded: number; pieces: Uint8Array }> = {}) =>
  new ResumeData({
    infoHash: hashOf(seed),
    root: `/downloads/torrent ${seed} ✓`,
    pieceCount: 12,
    pieces: overrides.pieces ?? Uint8Array.of(0xff, 0x30),
    files: [{ size: 1000, mtimeNs: 1_700_000_000_000_000_001n + BigInt(seed) }, null, { size: 0, mtimeNs: 5n }],
    downloaded: overrides.downloaded ?? 100 * seed,
    uploaded: 7,
    savedAt: 1_700_000_000_000 + seed
  })

/** ResumeData as plain values, so that equality does not depend on buffer types. */
const plain = (d: ResumeData) => ({ ...d, infoHash: Array.from(d.infoHash), pieces: Array.from(d.pieces) })

const expectSome = (loaded: Option.Option<ResumeData>, expected: ResumeData) => {
  expect(Option.isSome(loaded)).toBe(true)
  if (Option.isSome(loaded)) expect(plain(loaded.value)).toEqual(plain(expected))
}

const resumeFile = (dir: string, hash: InfoHash) => path.join(dir, "torrents", `${toHex(hash)}.resume`)

/** Runs `effect`, collecting the messages it logs. */
const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const result = yield* Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger))
    return { result, lines }
  })

/** Runs `effect` without printing what it logs (the warnings of the damaged-file tests). */
const quiet = <A, E>(effect: Effect.Effect<A, E>) => Effect.map(logged(effect), ({ result }) => result)

describe("ResumeStore (files)", () => {
  it.scopedLive("save then load gives the same data back", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      expect(store.location).toBe(path.join(dir, "torrents"))
      yield* store.save(data(1))
      expectSome(yield* store.load(hashOf(1)), data(1))
      expect(fs.readFileSync(resumeFile(dir, hashOf(1))).equals(encodeResume(data(1)))).toBe(true)
    }))

  it.scopedLive("a relative state folder is resolved when the store is made", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const relative = path.relative(process.cwd(), dir)
      expect(ResumeFiles.make(relative).location).toBe(path.join(dir, "torrents"))
    }))

  it.scopedLive("saving twice replaces the data; torrents are kept apart", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      yield* store.save(data(1))
      yield* store.save(data(2))
      const newer = data(1, { downloaded: 999_999, pieces: Uint8Array.of(0xff, 0xf0) })
      yield* store.save(newer)
      expectSome(yield* store.load(hashOf(1)), newer)
      expectSome(yield* store.load(hashOf(2)), data(2))
      expect(fs.readdirSync(path.join(dir, "torrents")).sort()).toEqual(
        [`${toHex(hashOf(1))}.resume`, `${toHex(hashOf(2))}.resume`].sort()
      )
    }))

  it.scopedLive("no temporary file is left behind, even after many saves at once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => store.save(data(i % 3, { downloaded: i })), {
        concurrency: 8,
        discard: true
      })
      const names = fs.readdirSync(path.join(dir, "torrents"))
      expect(names.filter((n) => n.endsWith(".tmp"))).toEqual([])
      expect(names.sort()).toEqual([0, 1, 2].map((s) => `${toHex(hashOf(s))}.resume`).sort())
      // Each file is whole: one of the saves, not a mix.
      for (const seed of [0, 1, 2]) {
        const loaded = yield* store.load(hashOf(seed))
        expect(Option.isSome(loaded) && loaded.value.downloaded % 3).toBe(seed)
      }
    }))

  it.scopedLive("a missing file loads as none, and loading creates nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(path.join(dir, "state"))
      expect(Option.isNone(yield* store.load(hashOf(1)))).toBe(true)
      expect(fs.readdirSync(dir)).toEqual([])
      // The folder exists but holds another torrent.
      yield* store.save(data(2))
      expect(Option.isNone(yield* store.load(hashOf(1)))).toBe(true)
    }))

  it.scopedLive("a damaged resume file loads as none, with a warning naming it, and does not fail", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      const file = resumeFile(dir, hashOf(1))
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, Buffer.from("\x00\xffgarbage: not a resume file"))
      const { lines, result } = yield* logged(store.load(hashOf(1)))
      expect(Option.isNone(result)).toBe(true)
      expect(lines.some((l) => l.includes(file) && l.includes("ignoring resume data"))).toBe(true)
      // Cut short.
      fs.writeFileSync(file, encodeResume(data(1)).subarray(0, 40))
      expect(Option.isNone(yield* quiet(store.load(hashOf(1))))).toBe(true)
      // Another program's bencode.
      fs.writeFileSync(file, Buffer.from("d11:file-format22:libtorrent resume filee"))
      expect(Option.isNone(yield* quiet(store.load(hashOf(1))))).toBe(true)
      // A later save repairs it.
      yield* store.save(data(1))
      expectSome(yield* store.load(hashOf(1)), data(1))
    }))

  it.scopedLive("a resume file that is a folder loads as none", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.mkdirSync(resumeFile(dir, hashOf(1)), { recursive: true })
      expect(Option.isNone(yield* quiet(ResumeFiles.make(dir).load(hashOf(1))))).toBe(true)
    }))

  it.scopedLive("resume data saved for another info hash under this one's name loads as that data", () =>
    Effect.gen(function*() {
      // The store names files by hash; what a file holds is its own business (the caller checks the root).
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      yield* store.save(data(2))
      fs.renameSync(resumeFile(dir, hashOf(2)), resumeFile(dir, hashOf(1)))
      const loaded = yield* store.load(hashOf(1))
      expect(Option.isSome(loaded) && toHex(loaded.value.infoHash)).toBe(toHex(hashOf(2)))
    }))

  it.scopedLive("saving under a state folder that is a file fails with a StorageError naming the path", () =>
    Effect.gen(function*() {
      const base = yield* tempDir
      const file = path.join(base, "state")
      fs.writeFileSync(file, "x")
      const store = ResumeFiles.make(file)
      const error = yield* Effect.flip(store.save(data(1)))
      expect(error._tag).toBe("StorageError")
      expect(error.path).toBe(path.join(file, "torrents"))
      expect(error.message).toContain(file)
      expect(error.message).toBe(`${path.join(file, "torrents")}: ${error.detail}`)
      expect(error.detail).toMatch(/^cannot create folder: /)
      expect(fs.readFileSync(file, "utf8")).toBe("x")
      // Loading from it is not an error.
      expect(Option.isNone(yield* quiet(store.load(hashOf(1))))).toBe(true)
    }))

  it.scopedLive("saving when `torrents` is a file fails with a StorageError naming it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const torrents = path.join(dir, "torrents")
      fs.writeFileSync(torrents, "x")
      const error = yield* Effect.flip(ResumeFiles.make(dir).save(data(1)))
      expect(error.message).toContain(torrents)
      expect(fs.readFileSync(torrents, "utf8")).toBe("x")
    }))

  it.scopedLive("a failed save leaves the old checkpoint and no temporary file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = ResumeFiles.make(dir)
      yield* store.save(data(1))
      // The resume file's name taken by a non-empty folder: the rename cannot replace it.
      const file = resumeFile(dir, hashOf(2))
      fs.mkdirSync(path.join(file, "inside"), { recursive: true })
      const error = yield* Effect.flip(store.save(data(2)))
      expect(error.path).toBe(file)
      expect(error.detail).toMatch(/^cannot write: /)
      expect(fs.readdirSync(path.join(dir, "torrents")).filter((n) => n.endsWith(".tmp"))).toEqual([])
      expectSome(yield* store.load(hashOf(1)), data(1))
    }))
})

describe("defaultStateDir", () => {
  const home = path.join(path.sep, "home", "ann")

  it("linux: $XDG_STATE_HOME/bt-effect when it is absolute", () => {
    const xdg = path.join(path.sep, "var", "state")
    expect(defaultStateDir({ XDG_STATE_HOME: xdg }, "linux", home)).toBe(path.join(xdg, "bt-effect"))
  })

  it("linux: ~/.local/state/bt-effect without XDG_STATE_HOME, or with a relative one (ignored, as XDG says)", () => {
    const fallback = path.join(home, ".local", "state", "bt-effect")
    expect(defaultStateDir({}, "linux", home)).toBe(fallback)
    expect(defaultStateDir({ XDG_STATE_HOME: "relative/state" }, "linux", home)).toBe(fallback)
    expect(defaultStateDir({ XDG_STATE_HOME: "" }, "linux", home)).toBe(fallback)
    // Other Unix systems follow XDG too.
    expect(defaultStateDir({}, "freebsd", home)).toBe(fallback)
  })

  it("darwin: ~/Library/Application Support/bt-effect, whatever XDG_STATE_HOME says", () => {
    const expected = path.join(home, "Library", "Application Support", "bt-effect")
    expect(defaultStateDir({}, "darwin", home)).toBe(expected)
    expect(defaultStateDir({ XDG_STATE_HOME: "/var/state" }, "darwin", home)).toBe(expected)
  })

  it("win32: %LOCALAPPDATA%\\bt-effect, else AppData/Local under the home folder", () => {
    const local = path.join(path.sep, "Users", "ann", "AppData", "Local", "Custom")
    expect(defaultStateDir({ LOCALAPPDATA: local }, "win32", home)).toBe(path.join(local, "bt-effect"))
    expect(defaultStateDir({}, "win32", home)).toBe(path.join(home, "AppData", "Local", "bt-effect"))
    expect(defaultStateDir({ XDG_STATE_HOME: "/var/state" }, "win32", home)).toBe(path.join(home, "AppData", "Local", "bt-effect"))
  })

  it("defaults to this process's environment, platform and home", () => {
    expect(defaultStateDir()).toBe(defaultStateDir(process.env, process.platform, os.homedir()))
  })
})

describe("ResumeStore (memory)", () => {
  it.effect("save then load through the layer gives the same data back", () =>
    Effect.gen(function*() {
      const memory = new MemoryResume()
      const result = yield* Effect.gen(function*() {
        const store = yield* ResumeStore
        expect(store.location).toBe("memory")
        expect(Option.isNone(yield* store.load(hashOf(1)))).toBe(true)
        yield* store.save(data(1))
        yield* store.save(data(2))
        const newer = data(1, { downloaded: 5 })
        yield* store.save(newer)
        return { one: yield* store.load(hashOf(1)), two: yield* store.load(hashOf(2)), newer }
      }).pipe(Effect.provide(resumeMemory(memory)))
      expectSome(result.one, result.newer)
      expectSome(result.two, data(2))
      expect(memory.saves).toBe(3)
      expect([...memory.files.keys()].sort()).toEqual([toHex(hashOf(1)), toHex(hashOf(2))].sort())
      // Kept encoded, as a file would be.
      expect(Buffer.from(memory.files.get(toHex(hashOf(2)))!).equals(encodeResume(data(2)))).toBe(true)
      const got = memory.get(hashOf(1))
      expect(got !== undefined && plain(got)).toEqual(plain(result.newer))
      expect(memory.get(hashOf(3))).toBeUndefined()
    }))

  it.effect("damaged bytes load as none", () =>
    Effect.gen(function*() {
      const memory = new MemoryResume()
      memory.files.set(toHex(hashOf(1)), Uint8Array.from(Buffer.from("garbage")))
      const loaded = yield* Effect.flatMap(ResumeStore, (s) => s.load(hashOf(1))).pipe(Effect.provide(resumeMemory(memory)))
      expect(Option.isNone(loaded)).toBe(true)
      expect(memory.get(hashOf(1))).toBeUndefined()
      expect(Either.isLeft(decodeResume(memory.files.get(toHex(hashOf(1)))!))).toBe(true)
    }))

  it.effect("MemoryResume.layer without a store starts empty", () =>
    Effect.gen(function*() {
      const loaded = yield* Effect.flatMap(ResumeStore, (s) => s.load(hashOf(1))).pipe(Effect.provide(resumeMemory()))
      expect(Option.isNone(loaded)).toBe(true)
    }))
})
