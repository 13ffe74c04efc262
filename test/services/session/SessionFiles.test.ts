/**
 * The daemon's session choosing files (TorrentFiles.ts) in a whole in-memory swarm under TestClock: a
 * three-file torrent added with its middle file unwanted downloads only the pieces of the other two, and
 * is complete (seeding, percentDone 1, nothing left) with their bytes in place and none of the middle
 * file's there; wanting it later restarts the run, which fetches the rest; priorities reach the view and,
 * with the files wanted, session.json, and a restarted session has them again.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import { toHex } from "../../../src/domain/InfoHash.js"
import { Status, type TorrentView } from "../../../src/domain/SessionView.js"
import { downloadDir, newResume, readSessionFile, startSession, tempStateDir, viewOf, waitView } from "../../support/sessionSwarm.js"
import { all, makeSwarm } from "../../support/swarm.js"
import { randomBytes } from "../../support/torrents.js"

const epochMs = 1_750_000_000_000

// Pieces of 16 KiB: a.bin is pieces 0-2, b.bin 2-4, c.bin 4-5 (the last piece 8,080 bytes).
const files = [
  { path: ["a.bin"], data: randomBytes(40_000, 11) },
  { path: ["b.bin"], data: randomBytes(30_000, 12) },
  { path: ["c.bin"], data: randomBytes(20_000, 13) }
]

const seeding = (v: TorrentView) => v.status === Status.Seed && v.percentDone === 1

describe("Session: files wanted and priorities", () => {
  it.scoped("downloads only the files wanted, completes on them, fetches a file wanted later, and keeps the choices over a restart", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const hash = toHex(swarm.torrent.metainfo.infoHash!)
      const payload = swarm.torrent.payload
      const firstRun = yield* Scope.make()
      const control = yield* Scope.extend(startSession(swarm, { stateDir, resume }), firstRun)

      const added = yield* control.add({ _tag: "Metainfo", bytes: swarm.torrent.bytes }, { files: { unwanted: [1], high: [2] } })
      const { view } = yield* waitView(control, added.id, seeding)
      // Pieces 0, 1, 2, 4 and 5 are wanted (a.bin and c.bin reach into 2 and 4): 4 x 16384 + 8080.
      expect([view.sizeWhenDone, view.leftUntilDone, view.haveValid, view.percentDone]).toEqual([73_616, 0, 73_616, 1])
      expect(view.files.map((f) => [f.name, f.bytesCompleted, f.wanted, f.priority])).toEqual([
        ["swarm/a.bin", 40_000, true, 0],
        // Of b.bin, the bytes inside pieces 2 and 4: 49152 - 40000, and 70000 - 65536.
        ["swarm/b.bin", 9_152 + 4_464, false, 0],
        ["swarm/c.bin", 20_000, true, 1]
      ])
      const stored = swarm.store.contents(downloadDir, hash)!
      expect(Buffer.compare(stored.subarray(0, 40_000), payload.subarray(0, 40_000))).toBe(0)
      expect(Buffer.compare(stored.subarray(70_000), payload.subarray(70_000))).toBe(0)
      // b.bin's bytes of the shared pieces are parked in the part file, not in the folder.
      expect(stored.subarray(40_000, 70_000).every((b) => b === 0)).toBe(true)

      // Wanted now: the run starts again, and fetches piece 3.
      yield* control.set([added.id], { files: { wanted: [1], low: [0] } })
      const after = yield* waitView(control, added.id, (v) => seeding(v) && v.sizeWhenDone === 90_000)
      expect(after.view.files.map((f) => [f.bytesCompleted, f.wanted, f.priority])).toEqual([[40_000, true, -1], [30_000, true, 0], [20_000, true, 1]])
      expect(Buffer.compare(swarm.store.contents(downloadDir, hash)!, payload)).toBe(0)

      // Unwanted again, and an empty list: every file at normal priority. Saved, and restored by a restart.
      yield* control.set([added.id], { files: { unwanted: [0], normal: "all" } })
      // The run starts again on them (checked, then seeding: every wanted piece is there).
      expect((yield* viewOf(control, added.id)).status).toBe(Status.CheckWait)
      const done = (yield* waitView(control, added.id, seeding)).view
      expect([done.percentDone, done.leftUntilDone, done.sizeWhenDone]).toEqual([1, 0, 90_000])
      const saved = (yield* readSessionFile(stateDir)).torrents[0] as unknown as Record<string, unknown>
      expect([saved["unwanted"], saved["priorities"]]).toEqual([[0], undefined])
      yield* control.set([added.id], { files: { high: [1] } })
      expect((yield* readSessionFile(stateDir)).torrents[0]).toMatchObject({ unwanted: [0], priorities: [0, 1, 0] })
      yield* Scope.close(firstRun, Exit.void)

      const again = yield* startSession(swarm, { stateDir, resume })
      const restored = yield* waitView(again, 1, seeding)
      expect(restored.view.files.map((f) => [f.wanted, f.priority])).toEqual([[false, 0], [true, 1], [true, 0]])
    }))

  it.scoped("a priority set while the torrent runs reaches its picker: the high file's pieces come first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epochMs)
      // 245 pieces of 16 KiB, sent at 256 KiB/s: far more than the requests in flight at any time (about
      // 1 MiB), so that the order of the pieces shows.
      const big = [
        { path: ["first.bin"], data: randomBytes(2_000_000, 21) },
        { path: ["last.bin"], data: randomBytes(2_000_000, 22) }
      ]
      const swarm = yield* makeSwarm({ files: big, pieceLength: 16384 })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 256 * 1024 } })
      const control = yield* startSession(swarm, { stateDir: yield* tempStateDir, resume: newResume() })
      const added = yield* control.add({ _tag: "Metainfo", bytes: swarm.torrent.bytes }, {})
      yield* waitView(control, added.id, (v) => v.status === Status.Download && v.haveValid > 0)
      yield* control.set([added.id], { files: { high: [1] } })
      const { view } = yield* waitView(control, added.id, (v) => v.files[1]!.bytesCompleted === 2_000_000)
      expect(view.files.map((f) => f.priority)).toEqual([0, 1])
      // Of first.bin, what came before the change and what was asked for then: far from all of it.
      expect(view.files[0]!.bytesCompleted).toBeLessThan(1_500_000)
      yield* waitView(control, added.id, seeding)
    }))

  it.scoped("a magnet's choice of files waits for its metadata; indices past the last file are ignored", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const stateDir = yield* tempStateDir
      const control = yield* startSession(swarm, { stateDir, resume: newResume() })
      const hash = toHex(swarm.torrent.metainfo.infoHash!)
      const added = yield* control.add(
        { _tag: "Magnet", uri: `magnet:?xt=urn:btih:${hash}&x.pe=10.0.0.1:6881` },
        { files: { unwanted: [0, 7] } }
      )
      const { view } = yield* waitView(control, added.id, seeding)
      expect(view.files.map((f) => f.wanted)).toEqual([false, true, true])
      // b.bin and c.bin: pieces 2 to 5.
      expect(view.sizeWhenDone).toBe(3 * 16384 + 8080)
    }))
})
