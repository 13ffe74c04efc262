/**
 * A torrent's data moved to a new folder (TorrentLocation.ts) in real temp folders: a rename on one file
 * system, a copy then a removal across two (the rename made to fail with EXDEV, as node gives it between
 * file systems), the resume data following the data, the move of a completed torrent out of the incomplete
 * folder, and what a restarted session (`settle`) does with a move the daemon died in the middle of.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bitfield } from "../../../src/domain/Bitfield.js"
import { toHex } from "../../../src/domain/InfoHash.js"
import { layoutOf, torrentHash } from "../../../src/domain/Metainfo.js"
import { decide, ResumeData } from "../../../src/domain/ResumeData.js"
import { MemoryResume, make as memoryResume } from "../../../src/services/storage/MemoryResume.js"
import type { SessionQueue } from "../../../src/services/session/SessionQueue.js"
import * as TorrentList from "../../../src/services/session/TorrentList.js"
import * as TorrentLocation from "../../../src/services/session/TorrentLocation.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { makeV2Torrent } from "../../support/v2Torrents.js"

const torrent = makeTorrent({
  name: "album",
  pieceLength: 16384,
  files: [{ path: ["one.bin"], data: randomBytes(40_000, 1) }, { path: ["sub", "two.bin"], data: randomBytes(20_000, 2) }]
})
const m = torrent.metainfo
const hash = Buffer.from(m.infoHash!).toString("hex")

const tempRoot = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "bt-location-"))),
  (dir) => Effect.promise(() => fs.promises.rm(dir, { recursive: true, force: true }))
)

/** The torrent's files under `folder`. */
const writeData = (folder: string) => {
  fs.mkdirSync(path.join(folder, "album", "sub"), { recursive: true })
  fs.writeFileSync(path.join(folder, "album", "one.bin"), randomBytes(40_000, 1))
  fs.writeFileSync(path.join(folder, "album", "sub", "two.bin"), randomBytes(20_000, 2))
}

const dataIn = (folder: string) => {
  const one = path.join(folder, "album", "one.bin")
  const two = path.join(folder, "album", "sub", "two.bin")
  return fs.existsSync(one) && fs.existsSync(two)
    && Buffer.compare(fs.readFileSync(one), randomBytes(40_000, 1)) === 0 && Buffer.compare(fs.readFileSync(two), randomBytes(20_000, 2)) === 0
}

/** Each file's stamp under `folder`, as the storage takes it (size, modification time in ns). */
const stampsIn = (folder: string) =>
  [["one.bin"], ["sub", "two.bin"]].map((p) => {
    const s = fs.statSync(path.join(folder, "album", ...p), { bigint: true })
    return { size: Number(s.size), mtimeNs: s.mtimeNs }
  })

/** Whether resume data kept for `folder` is taken as it is there: every piece trusted, none to hash. */
const trustedIn = (data: ResumeData | undefined, folder: string) => {
  const decision = decide(layoutOf(m), data, stampsIn(folder), [true, true])
  return [decision.trusted.count, decision.toCheck.length]
}

/** A list of one torrent with its data in `folder`, its resume data kept for that folder, and a queue that records stops. */
const setUp = (root: string, options: { readonly rename?: (from: string, to: string) => Promise<void>; readonly withData?: boolean } = {}) =>
  Effect.gen(function* () {
    const from = path.join(root, "from")
    const stateDir = path.join(root, "state")
    fs.mkdirSync(stateDir, { recursive: true })
    if (options.withData !== false) writeData(from)
    const list = TorrentList.make()
    const entry = yield* list.add({ hash, name: m.name, metainfo: m, magnet: undefined }, { downloadDir: from, paused: false })
    entry.complete = true
    const memory = new MemoryResume()
    const store = memoryResume(memory)
    yield* store.save(new ResumeData({ infoHash: m.infoHash!, root: from, pieceCount: m.pieceCount, pieces: Bitfield.full(m.pieceCount).toBytes(), files: options.withData === false ? [null, null] : stampsIn(from), downloaded: 5, uploaded: 7, savedAt: 1 }))
    const stops: Array<number> = []
    let schedules = 0
    let saves = 0
    const queue: SessionQueue = {
      schedule: Effect.sync(() => void schedules++),
      stop: (e) => Effect.sync(() => {
        stops.push(e.id)
        e.phase = "stopped"
      })
    }
    const context: TorrentLocation.LocationContext = {
      list, queue, store, stateDir,
      save: Effect.sync(() => void saves++),
      ...(options.rename !== undefined ? { rename: options.rename } : {})
    }
    return { from, stateDir, entry, memory, context, stops, saves: () => saves, schedules: () => schedules }
  })

const journalOf = (stateDir: string) => path.join(stateDir, "moving", `${hash}.json`)
const tempOf = (to: string) => path.join(to, ".album.bt-effect-move")

/** fs.promises.rename, but the data's own rename fails as between two file systems. */
const acrossFileSystems = (source: string) => {
  const seen: Array<string> = []
  const rename = async (a: string, b: string) => {
    seen.push(a)
    if (a === source) throw Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${a}' -> '${b}'`), { code: "EXDEV" })
    await fs.promises.rename(a, b)
  }
  return { rename, seen }
}

describe("TorrentLocation", () => {
  it.scoped("a move on one file system: the data renamed, the folders and the resume data's root follow, the journal gone, the torrent stopped and started again", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, stateDir, entry, memory, context, stops, saves, schedules } = yield* setUp(root)
      const to = path.join(root, "to", "deeper")
      const before = fs.statSync(path.join(from, "album", "one.bin"), { bigint: true })
      yield* TorrentLocation.make(context)([entry.id], to, true)
      expect(dataIn(to)).toBe(true)
      expect(fs.existsSync(path.join(from, "album"))).toBe(false)
      expect([entry.downloadDir, entry.savePath]).toEqual([to, to])
      expect(memory.get(m.infoHash!)?.root).toBe(to)
      expect(memory.get(m.infoHash!)?.uploaded).toBe(7)
      // Renamed: its stamps unchanged, so its resume data still holds.
      const after = fs.statSync(path.join(to, "album", "one.bin"), { bigint: true })
      expect([after.mtimeNs, after.ino]).toEqual([before.mtimeNs, before.ino])
      expect(trustedIn(memory.get(m.infoHash!), to)).toEqual([m.pieceCount, 0])
      expect(fs.existsSync(journalOf(stateDir))).toBe(false)
      expect(stops).toEqual([entry.id])
      expect([entry.paused, entry.recheck]).toEqual([false, false])
      expect(saves()).toBeGreaterThanOrEqual(1)
      expect(schedules()).toBe(1)
    }))

  it.scoped("a move across file systems: copied beside its new place, renamed into place, the old data removed, no temporary copy left", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const from = path.join(root, "from")
      const { rename, seen } = acrossFileSystems(path.join(from, "album"))
      const { stateDir, entry, memory, context } = yield* setUp(root, { rename })
      entry.paused = true
      const to = path.join(root, "other-disk")
      yield* TorrentLocation.make(context)([entry.hash.toUpperCase()], to, true)
      // The data's rename failed, then the copy's rename into place.
      expect(seen).toEqual([path.join(from, "album"), tempOf(to)])
      expect(dataIn(to)).toBe(true)
      expect(fs.existsSync(path.join(from, "album"))).toBe(false)
      expect(fs.existsSync(tempOf(to))).toBe(false)
      expect(fs.readdirSync(to)).toEqual(["album"])
      expect([entry.downloadDir, entry.savePath, entry.paused]).toEqual([to, to, true])
      expect(memory.get(m.infoHash!)?.root).toBe(to)
      // The copies' stamps (a copy loses the nanoseconds of the times): nothing is hashed again.
      expect(memory.get(m.infoHash!)?.files).toEqual(stampsIn(to))
      expect(trustedIn(memory.get(m.infoHash!), to)).toEqual([m.pieceCount, 0])
      expect(fs.existsSync(journalOf(stateDir))).toBe(false)
    }))

  it.scoped("a v2-only torrent (no v1 hash): its resume data, kept under its truncated v2 hash, follows its data too", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const v2 = makeV2Torrent({ name: "album", pieceLength: 16384, version: "v2", files: [{ path: ["one.bin"], data: randomBytes(40_000, 1) }, { path: ["sub", "two.bin"], data: randomBytes(20_000, 2) }] })
      const meta = v2.metainfo
      expect(meta.infoHash).toBeUndefined()
      const from = path.join(root, "from")
      writeData(from)
      const list = TorrentList.make()
      const entry = yield* list.add({ hash: toHex(torrentHash(meta)), name: "album", metainfo: meta, magnet: undefined }, { downloadDir: from, paused: true })
      const memory = new MemoryResume()
      const store = memoryResume(memory)
      yield* store.save(new ResumeData({ infoHash: torrentHash(meta), root: from, pieceCount: meta.pieceCount, pieces: Bitfield.full(meta.pieceCount).toBytes(), files: [null, null], downloaded: 0, uploaded: 0, savedAt: 1 }))
      const queue: SessionQueue = { schedule: Effect.void, stop: () => Effect.void }
      const to = path.join(root, "to")
      yield* TorrentLocation.make({ list, queue, store, stateDir: path.join(root, "state"), save: Effect.void })([entry.id], to, true)
      expect(dataIn(to)).toBe(true)
      expect(memory.get(torrentHash(meta))?.root).toBe(to)
    }))

  it.scoped("a failed copy leaves the data where it was, the torrent's folder unchanged, and is an Io failure", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const from = path.join(root, "from")
      const rename = async (a: string, _b: string) => {
        if (a === path.join(from, "album")) throw Object.assign(new Error("EXDEV"), { code: "EXDEV" })
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" })
      }
      const { stateDir, entry, memory, context } = yield* setUp(root, { rename })
      const to = path.join(root, "full-disk")
      const exit = yield* Effect.exit(TorrentLocation.make(context)([entry.id], to, true))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.reason : "no failure").toBe("Io")
      expect(dataIn(from)).toBe(true)
      expect([entry.downloadDir, entry.savePath]).toEqual([from, from])
      expect(memory.get(m.infoHash!)?.root).toBe(from)
      expect(entry.paused).toBe(false)
      // Neither the copy nor the journal left behind.
      expect(fs.readdirSync(to)).toEqual([])
      expect(fs.existsSync(journalOf(stateDir))).toBe(false)
    }))

  it.scoped("without `move`: nothing moves, the torrent is checked again in the new folder; a relative folder is Invalid", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, entry, context } = yield* setUp(root)
      const to = path.join(root, "elsewhere")
      yield* TorrentLocation.make(context)("all", to, false)
      expect(dataIn(from)).toBe(true)
      expect(fs.existsSync(to)).toBe(false)
      expect([entry.downloadDir, entry.savePath, entry.recheck]).toEqual([to, to, true])
      const exit = yield* Effect.exit(TorrentLocation.make(context)("all", "relative/dir", true))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.reason : "no failure").toBe("Invalid")
    }))

  it.scoped("moveOnComplete: a completed torrent leaves its incomplete folder for its save path; one already there stays", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, entry, memory, context, stops } = yield* setUp(root)
      const final = path.join(root, "complete")
      entry.savePath = final
      yield* TorrentLocation.moveOnComplete(context)(entry)
      expect(dataIn(final)).toBe(true)
      expect(fs.existsSync(path.join(from, "album"))).toBe(false)
      expect([entry.downloadDir, entry.savePath]).toEqual([final, final])
      expect(memory.get(m.infoHash!)?.root).toBe(final)
      yield* TorrentLocation.moveOnComplete(context)(entry)
      expect(stops).toEqual([entry.id])
    }))

  it.scoped("moveOne (a category's folder followed): a torrent still downloading in the incomplete folder only has its save path changed", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, entry, context, stops } = yield* setUp(root)
      entry.complete = false
      entry.savePath = path.join(root, "final")
      const category = path.join(root, "category")
      yield* TorrentLocation.moveOne(context)(entry, category)
      expect([entry.downloadDir, entry.savePath, stops]).toEqual([from, category, []])
      expect(dataIn(from)).toBe(true)
    }))

  it.scoped("settle, cut short in the copy (the journal written, a partial copy, no target): undone, the copy removed, the data and the folder the old ones", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, stateDir, entry, context } = yield* setUp(root)
      const to = path.join(root, "to")
      fs.mkdirSync(path.join(stateDir, "moving"), { recursive: true })
      fs.writeFileSync(journalOf(stateDir), JSON.stringify({ from, to, name: "album" }))
      fs.mkdirSync(tempOf(to), { recursive: true })
      fs.writeFileSync(path.join(tempOf(to), "one.bin"), randomBytes(1000, 1))
      yield* TorrentLocation.settle(context)
      expect(fs.existsSync(tempOf(to))).toBe(false)
      expect(fs.existsSync(path.join(to, "album"))).toBe(false)
      expect(dataIn(from)).toBe(true)
      expect(entry.downloadDir).toBe(from)
      expect(fs.existsSync(journalOf(stateDir))).toBe(false)
    }))

  it.scoped("settle, cut short after the copy went into place but before the list was saved: finished, the new folder taken, the old data removed", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, stateDir, entry, memory, context, saves } = yield* setUp(root)
      const to = path.join(root, "to")
      fs.mkdirSync(path.join(stateDir, "moving"), { recursive: true })
      fs.writeFileSync(journalOf(stateDir), JSON.stringify({ from, to, name: "album" }))
      fs.cpSync(path.join(from, "album"), path.join(to, "album"), { recursive: true })
      yield* TorrentLocation.settle(context)
      expect(entry.downloadDir).toBe(to)
      expect(dataIn(to)).toBe(true)
      expect(fs.existsSync(path.join(from, "album"))).toBe(false)
      expect(memory.get(m.infoHash!)?.root).toBe(to)
      expect(trustedIn(memory.get(m.infoHash!), to)).toEqual([m.pieceCount, 0])
      expect(fs.existsSync(journalOf(stateDir))).toBe(false)
      expect(saves()).toBe(1)
    }))

  it.scoped("settle without a journal touches nothing, and a journal that cannot be read is dropped", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const { from, stateDir, entry, context, saves } = yield* setUp(root)
      const to = path.join(root, "to")
      // What looks like a move's leftovers, with no journal: not the session's to touch.
      fs.mkdirSync(tempOf(to), { recursive: true })
      yield* TorrentLocation.settle(context)
      expect([entry.downloadDir, dataIn(from), fs.existsSync(tempOf(to)), saves()]).toEqual([from, true, true, 0])
      fs.mkdirSync(path.join(stateDir, "moving"), { recursive: true })
      fs.writeFileSync(journalOf(stateDir), "{ not json")
      yield* TorrentLocation.settle(context)
      expect([entry.downloadDir, dataIn(from), fs.existsSync(tempOf(to)), fs.existsSync(journalOf(stateDir))]).toEqual([from, true, true, false])
    }))
})
