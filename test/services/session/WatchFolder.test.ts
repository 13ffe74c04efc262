/**
 * The watch folder (WatchFolder.ts) over a real temporary folder and a memory session (MemoryControl),
 * its polls driven by TestClock: each step moves the clock 2 s and waits for the poll it starts to end
 * (the polls' file calls are real). What it adds is read from the session's recorded calls, what it
 * warns from the log.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { maxTorrentBytes } from "../../../src/protocol/TorrentFile.js"
import * as MemoryControl from "../../../src/services/session/MemoryControl.js"
import * as WatchFolder from "../../../src/services/session/WatchFolder.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const torrent = (seed: number) =>
  makeTorrent({ name: `file-${seed}.bin`, pieceLength: 16384, files: [{ path: [`file-${seed}.bin`], data: randomBytes(40000, seed) }] }).bytes

/** A temporary folder, gone with the scope. */
const tempFolder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-watch-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

interface Line {
  readonly level: string
  readonly message: string
}

/**
 * A memory session, a watch folder over `folder` (a temporary one unless given) and its log; `step` is one
 * poll more (the first ran already when the watch folder is returned).
 */
const watching = (options: { readonly remove?: boolean; readonly folder?: (temp: string) => string; readonly before?: (dir: string) => void } = {}) =>
  Effect.gen(function*() {
    const temp = yield* tempFolder
    const dir = options.folder?.(temp) ?? temp
    options.before?.(dir)
    const control = yield* MemoryControl.make()
    const lines: Array<Line> = []
    const logger = Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      lines.push({ level: logLevel.label, message: text })
    })
    const watch = yield* WatchFolder.run({ folder: dir, remove: options.remove ?? false, add: WatchFolder.addTo(control) }).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
    yield* watch.polled(1)
    const step = Effect.gen(function*() {
      const done = yield* watch.polls
      yield* TestClock.adjust(WatchFolder.pollMillis)
      yield* watch.polled(done + 1)
    })
    const steps = (n: number) => Effect.repeatN(step, n - 1)
    const adds = () => control.calls().filter((c) => c._tag === "add").length
    const warnings = () => lines.filter((l) => l.level === "WARN").map((l) => l.message)
    const infos = () => lines.filter((l) => l.level === "INFO").map((l) => l.message)
    return { dir, control, step, steps, adds, warnings, infos }
  })

const write = (file: string, bytes: Uint8Array) => fs.writeFileSync(file, bytes)

describe("WatchFolder", () => {
  it.scoped("adds a torrent dropped in once, and renames it .added", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const bytes = torrent(1)
      write(path.join(w.dir, "a.torrent"), bytes)
      yield* w.step
      expect(w.adds()).toBe(0) // seen once: not yet known to have settled
      yield* w.step
      expect(w.adds()).toBe(1)
      expect(fs.readdirSync(w.dir)).toEqual(["a.torrent.added"])
      expect(fs.readFileSync(path.join(w.dir, "a.torrent.added"))).toEqual(Buffer.from(bytes))
      expect(w.control.torrent(1)?.name).toBe("file-1.bin")
      expect(w.infos().filter((m) => m.includes("added a.torrent"))).toHaveLength(1)
      yield* w.steps(3)
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toEqual([])
    }), 20_000)

  it.scoped("with remove, the file is gone once added; names are any case of .torrent", () =>
    Effect.gen(function*() {
      const w = yield* watching({ remove: true })
      write(path.join(w.dir, "B.TORRENT"), torrent(2))
      yield* w.steps(2)
      expect(w.adds()).toBe(1)
      expect(fs.readdirSync(w.dir)).toEqual([])
    }), 20_000)

  it.scoped("files there at the start are added, and an older .added of that name is replaced", () =>
    Effect.gen(function*() {
      const bytes = torrent(3)
      const w = yield* watching({
        before: (dir) => {
          write(path.join(dir, "c.torrent"), bytes)
          write(path.join(dir, "c.torrent.added"), Buffer.from("an older one"))
        }
      })
      yield* w.step
      expect(w.adds()).toBe(1)
      expect(fs.readdirSync(w.dir)).toEqual(["c.torrent.added"])
      expect(fs.readFileSync(path.join(w.dir, "c.torrent.added"))).toEqual(Buffer.from(bytes))
    }), 20_000)

  it.scoped("a torrent already in the session is renamed all the same", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const bytes = torrent(4)
      yield* w.control.add({ _tag: "Metainfo", bytes }, {})
      write(path.join(w.dir, "d.torrent"), bytes)
      yield* w.steps(2)
      expect(w.adds()).toBe(2)
      expect(w.control.torrent(2)).toBeUndefined()
      expect(fs.readdirSync(w.dir)).toEqual(["d.torrent.added"])
      expect(w.infos().filter((m) => m.includes("d.torrent is already in the session"))).toHaveLength(1)
      expect(w.warnings()).toEqual([])
    }), 20_000)

  it.scoped("garbage gets one warning, is not tried again until it changes, then is added once valid", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const file = path.join(w.dir, "bad.torrent")
      write(file, Buffer.from("this is not bencode"))
      yield* w.steps(2)
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toHaveLength(1)
      expect(w.warnings()[0]).toContain(file)
      expect(w.warnings()[0]).toContain("invalid or corrupt torrent")
      yield* w.steps(3)
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toHaveLength(1)
      expect(fs.readdirSync(w.dir)).toEqual(["bad.torrent"])
      write(file, torrent(5))
      yield* w.steps(2)
      expect(w.adds()).toBe(2)
      expect(w.control.torrent(1)?.name).toBe("file-5.bin")
      expect(fs.readdirSync(w.dir)).toEqual(["bad.torrent.added"])
      expect(w.warnings()).toHaveLength(1)
    }), 20_000)

  it.scoped("a file still growing is not read until it has settled", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const bytes = torrent(6)
      const file = path.join(w.dir, "e.torrent")
      const third = Math.floor(bytes.length / 3)
      write(file, bytes.subarray(0, third))
      yield* w.step
      fs.appendFileSync(file, bytes.subarray(third, 2 * third))
      yield* w.step
      fs.appendFileSync(file, bytes.subarray(2 * third))
      yield* w.step
      expect(w.adds()).toBe(0)
      yield* w.step
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toEqual([])
      expect(fs.readdirSync(w.dir)).toEqual(["e.torrent.added"])
    }), 20_000)

  it.scoped("a file rewritten with the same size but a new time is seen as changed", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const file = path.join(w.dir, "f.torrent")
      const bytes = torrent(7)
      write(file, Buffer.alloc(bytes.length, 0x78))
      fs.utimesSync(file, 1_000_000, 1_000_000)
      yield* w.steps(2)
      expect(w.warnings()).toHaveLength(1)
      write(file, bytes)
      fs.utimesSync(file, 2_000_000, 2_000_000)
      yield* w.steps(2)
      expect(w.adds()).toBe(2)
      expect(fs.readdirSync(w.dir)).toEqual(["f.torrent.added"])
    }), 20_000)

  it.scoped("other names, folders and symbolic links are left alone", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const outside = path.join(path.dirname(w.dir), `${path.basename(w.dir)}-outside.torrent`)
      write(outside, torrent(8))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(outside, { force: true })))
      write(path.join(w.dir, "notes.txt"), torrent(9))
      write(path.join(w.dir, "g.torrent.part"), torrent(10))
      fs.mkdirSync(path.join(w.dir, "folder.torrent"))
      fs.symlinkSync(outside, path.join(w.dir, "link.torrent"))
      yield* w.steps(3)
      expect(w.adds()).toBe(0)
      expect(w.warnings()).toEqual([])
      expect(fs.readdirSync(w.dir).sort()).toEqual(["folder.torrent", "g.torrent.part", "link.torrent", "notes.txt"])
    }), 20_000)

  it.scoped("a file larger than any .torrent is skipped with one warning, unread", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      const file = path.join(w.dir, "huge.torrent")
      // Sparse: the size is there, the bytes are not.
      fs.closeSync(fs.openSync(file, "w"))
      fs.truncateSync(file, maxTorrentBytes + 1)
      yield* w.steps(4)
      expect(w.adds()).toBe(0)
      expect(w.warnings()).toHaveLength(1)
      expect(w.warnings()[0]).toContain(`larger than ${maxTorrentBytes} bytes`)
    }), 20_000)

  it.scoped("a rename that fails is one warning, and the file is not added again", () =>
    Effect.gen(function*() {
      const w = yield* watching()
      // A folder that is not empty cannot be replaced by a rename.
      fs.mkdirSync(path.join(w.dir, "h.torrent.added"))
      write(path.join(w.dir, "h.torrent.added", "keep"), Buffer.from("x"))
      write(path.join(w.dir, "h.torrent"), torrent(11))
      yield* w.steps(2)
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toHaveLength(1)
      expect(w.warnings()[0]).toContain("cannot rename it to h.torrent.added")
      yield* w.steps(3)
      expect(w.adds()).toBe(1)
      expect(w.warnings()).toHaveLength(1)
    }), 20_000)

  it.scoped("a folder missing at first is one warning, and watched once it appears", () =>
    Effect.gen(function*() {
      const w = yield* watching({ folder: (temp) => path.join(temp, "later") })
      yield* w.steps(3)
      expect(w.warnings()).toHaveLength(1)
      expect(w.warnings()[0]).toContain("no such file or folder")
      fs.mkdirSync(w.dir)
      write(path.join(w.dir, "i.torrent"), torrent(12))
      yield* w.steps(2)
      expect(w.adds()).toBe(1)
      expect(fs.readdirSync(w.dir)).toEqual(["i.torrent.added"])
      expect(w.warnings()).toHaveLength(1)
    }), 20_000)
})
