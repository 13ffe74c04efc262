/**
 * File selection in an in-memory swarm: only the selected files' pieces are requested, the unselected
 * files' bytes never reach the download folder (the boundary pieces' share goes to the part file), and a
 * second run with more files selected moves those bytes into place and fetches the rest.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSelection from "../../src/domain/FileSelection.js"
import * as Layout from "../../src/domain/Layout.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import { all, makeSwarm } from "../support/swarm.js"
import { randomBytes } from "../support/torrents.js"

// 20 files of 5,000 to 43,000 bytes in 16 KiB pieces: most files share their edge pieces.
const files = Array.from({ length: 20 }, (_, i) => ({ path: [`f${String(i).padStart(2, "0")}.bin`], data: randomBytes(5000 + ((i * 7919) % 38000), i + 1) }))

describe("file selection (swarm)", () => {
  it.scoped("fetches only the selected files' pieces and keeps the unselected bytes out of the folder", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const layout = layoutOf(m)
      const payload = swarm.torrent.payload
      yield* swarm.member("10.0.0.1", { pieces: all })
      const selection = [7, 12]
      const wanted = FileSelection.wantedPieces(layout, selection)
      const leecher = yield* swarm.member("10.0.0.2", { selection })
      yield* leecher.completed
      const stats = yield* leecher.stats
      // Exactly the wanted pieces, each once: nothing outside the selection was requested.
      expect([...(yield* leecher.pieces)]).toEqual([...wanted])
      let wantedBytes = 0
      wanted.forEachSet((p) => void (wantedBytes += Layout.pieceSize(layout, p)))
      expect(stats.downloadedBytes).toBe(wantedBytes)
      expect(stats.selectedLength).toBe(files[7]!.data.length + files[12]!.data.length)
      expect(stats.selectedVerifiedBytes).toBe(stats.selectedLength)
      const held = swarm.contents("10.0.0.2")!
      for (let f = 0; f < files.length; f++) {
        const { offset, length } = layout.files[f]!
        const bytes = held.subarray(offset, offset + length)
        if (selection.includes(f)) expect(Buffer.compare(bytes, payload.subarray(offset, offset + length))).toBe(0)
        else expect(bytes.every((b) => b === 0)).toBe(true)
      }
      // The boundary pieces' other bytes are in the part file.
      const part = swarm.resume("10.0.0.2").parts.get(Buffer.from(m.infoHash!).toString("hex"))!
      expect(part.bytes.size).toBe(wantedBytes - stats.selectedLength!)
    }))

  it.scoped("a second run with more files moves the parked bytes into place and fetches the rest", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      const layout = layoutOf(swarm.torrent.metainfo)
      const payload = swarm.torrent.payload
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* Effect.scoped(Effect.flatMap(swarm.member("10.0.0.2", { selection: [7] }), (h) => h.completed))
      const first = FileSelection.wantedPieces(layout, [7])
      const more = [6, 7, 8]
      const leecher = yield* swarm.member("10.0.0.2", { selection: more, recover: true })
      yield* leecher.completed
      const stats = yield* leecher.stats
      // Only the pieces not had before were fetched: the parked edges of files 6 and 8 came from the part file.
      let fresh = 0
      FileSelection.wantedPieces(layout, more).forEachSet((p) => {
        if (!first.has(p)) fresh += Layout.pieceSize(layout, p)
      })
      expect(stats.downloadedBytes).toBe(fresh)
      const held = swarm.contents("10.0.0.2")!
      const from = layout.files[6]!.offset
      const to = layout.files[8]!.offset + layout.files[8]!.length
      expect(Buffer.compare(held.subarray(from, to), payload.subarray(from, to))).toBe(0)
    }))

  it.scoped("a file parked whole inside its neighbours' pieces is moved into place when every file is chosen later", () =>
    Effect.gen(function* () {
      // B (3,000 bytes) lies inside piece 1, which A and C need: choosing A and C fetches every piece, and
      // B's bytes wait in the part file. A later run of every file starts complete from its checkpoint.
      const small = [20_000, 3_000, 20_000].map((length, i) => ({ path: [`${"abc"[i]}.bin`], data: randomBytes(length, 40 + i) }))
      const swarm = yield* makeSwarm({ files: small, pieceLength: 16384 })
      const layout = layoutOf(swarm.torrent.metainfo)
      const payload = swarm.torrent.payload
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* Effect.scoped(Effect.flatMap(swarm.member("10.0.0.2", { selection: [0, 2] }), (h) => h.completed))
      const b = layout.files[1]!
      expect(swarm.contents("10.0.0.2")!.subarray(b.offset, b.offset + b.length).every((x) => x === 0)).toBe(true)
      const leecher = yield* swarm.member("10.0.0.2", { recover: true })
      yield* leecher.completed
      expect((yield* leecher.stats).downloadedBytes).toBe(0)
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, payload)).toBe(0)
    }))

  it.scoped("a part file lost between runs: the boundary pieces are fetched again, never trusted as zeros", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ files, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const layout = layoutOf(m)
      const payload = swarm.torrent.payload
      yield* swarm.member("10.0.0.1", { pieces: all })
      yield* Effect.scoped(Effect.flatMap(swarm.member("10.0.0.2", { selection: [7] }), (h) => h.completed))
      swarm.resume("10.0.0.2").parts.clear()
      const leecher = yield* swarm.member("10.0.0.2", { selection: [6, 7, 8], recover: true })
      yield* leecher.completed
      const held = swarm.contents("10.0.0.2")!
      const from = layout.files[6]!.offset
      const to = layout.files[8]!.offset + layout.files[8]!.length
      expect(Buffer.compare(held.subarray(from, to), payload.subarray(from, to))).toBe(0)
      expect((yield* leecher.stats).hashFailures).toBe(0)
    }))
})
