/**
 * Resume in whole in-memory swarms: a torrent stopped and started again keeps what it verified, asks
 * only for what it lacks, hashes again only files that changed, and a disk error or a deleted file stops
 * it with an error naming the file, leaving resume data that is still true.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Bitfield } from "../../src/domain/Bitfield.js"
import * as Layout from "../../src/domain/Layout.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import { layer as storageMemory } from "../../src/services/storage/MemoryStorage.js"
import * as Resume from "../../src/services/storage/Resume.js"
import type { TorrentHandle } from "../../src/services/torrent/Torrent.js"
import { realTurn, withClock } from "../support/clock.js"
import { fakePeer } from "../support/fakePeer.js"
import { address, all, makeSwarm, type Swarm } from "../support/swarm.js"
import * as MemoryResume from "../../src/services/storage/MemoryResume.js"


const waitFor = (handle: TorrentHandle, pieces: number) =>
  Effect.gen(function* () {
    while ((yield* handle.stats).piecesDone < pieces) yield* realTurn
  })

/** What `download` would find on starting `host` again now. */
const recoverNow = (swarm: Swarm, host: string) =>
  Resume.recover(swarm.torrent.metainfo, swarm.root(host)).pipe(
    Effect.provide(Layer.merge(storageMemory(swarm.store), MemoryResume.layer(swarm.resume(host))))
  )

const piecesOf = (swarm: Swarm, bytes: Uint8Array | undefined) => {
  const m = swarm.torrent.metainfo
  const layout = layoutOf(m)
  const good: Array<number> = []
  for (let p = 0; p < m.pieceCount; p++) {
    const at = Layout.pieceOffset(layout, p)
    const size = Layout.pieceSize(layout, p)
    if (bytes !== undefined && Buffer.compare(bytes.subarray(at, at + size), swarm.torrent.payload.subarray(at, at + size)) === 0) good.push(p)
  }
  return good
}

describe("swarm: resume", () => {
  it.scoped("stopped at half and started again, it asks only for the missing pieces, without hashing", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 4 * 1024 * 1024, pieceLength: 16384 })
      const m = swarm.torrent.metainfo
      const half = m.pieceCount / 2

      const first = yield* Scope.make()
      // A slow seeder (1 MiB/s), so that the stop comes in the middle.
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 1024 * 1024 } }).pipe(Scope.extend(first))
      const leecher = yield* swarm.member("10.0.0.2", { recover: true }).pipe(Scope.extend(first))
      yield* withClock(waitFor(leecher, half), { step: "50 millis", maxVirtual: "60 seconds" })
      yield* Scope.close(first, Exit.void)

      // The stop's checkpoint names exactly what was verified and stored.
      const recorded = swarm.resume("10.0.0.2").get(m.infoHash!)!
      const have = Bitfield.fromBytes(recorded.pieces, m.pieceCount).pipe((e) => (e._tag === "Right" ? e.right : undefined))!
      expect(have.count).toBeGreaterThanOrEqual(half)
      expect(have.count).toBeLessThan(m.pieceCount)
      const onDisk = piecesOf(swarm, swarm.contents("10.0.0.2"))
      have.forEachSet((p) => expect(onDisk).toContain(p))

      // Unchanged files: trusted as recorded, nothing hashed.
      const recovered = yield* recoverNow(swarm, "10.0.0.2")
      expect(recovered.check).toBeUndefined()
      expect(recovered.have.equals(have)).toBe(true)

      // Started again with only a scripted seeder that logs every request.
      const seeder = yield* fakePeer({
        network: swarm.network, host: "10.0.1.1", port: 6881, infoHash: m.infoHash!, layout: layoutOf(m),
        has: Bitfield.full(m.pieceCount), behaviour: { _tag: "ServeThenVanish", blocks: 1_000_000, payload: swarm.torrent.payload }
      })
      const again = yield* swarm.member("10.0.0.2", { recover: true, peers: [address("10.0.1.1")] })
      yield* withClock(again.completed, { step: "500 millis", maxVirtual: "100 seconds" })
      const requested = [...new Set(seeder.requests.map((r) => r.piece))].sort((a, b) => a - b)
      const missing = Array.from({ length: m.pieceCount }, (_, p) => p).filter((p) => !have.has(p))
      expect(requested).toEqual(missing)
      expect(seeder.requests.length).toBe(missing.length) // one 16 KiB block per piece, each asked once
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      expect((yield* again.stats).downloadedBytes).toBe(missing.length * 16384)
    }))

  it.scoped("a flipped byte in a verified piece is caught once its file's modification time changed", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({
        pieceLength: 32768,
        files: [
          { path: ["a.bin"], data: new Uint8Array(100_000).fill(1) },
          { path: ["b.bin"], data: new Uint8Array(150_000).fill(2) },
          { path: ["c.bin"], data: new Uint8Array(50_000).fill(3) }
        ]
      })
      const m = swarm.torrent.metainfo
      const root = swarm.root("10.0.0.2")
      const done = yield* Scope.make()
      yield* swarm.member("10.0.0.1", { pieces: all }).pipe(Scope.extend(done))
      const leecher = yield* swarm.member("10.0.0.2", { recover: true }).pipe(Scope.extend(done))
      yield* leecher.completed
      yield* Scope.close(done, Exit.void)

      // Damage without a changed stamp (bit rot) is invisible: the recorded pieces are trusted unhashed.
      swarm.store.corrupt(root, m, 120_000, { touch: false })
      const quiet = yield* recoverNow(swarm, "10.0.0.2")
      expect([quiet.check, quiet.have.count]).toEqual([undefined, m.pieceCount])

      // With a changed modification time (an edit), b.bin's pieces (3 to 7) are hashed and piece 3 fails.
      swarm.store.corrupt(root, m, 120_000, { touch: false }) // undo
      swarm.store.corrupt(root, m, 99_000 + 32768, { touch: true }) // byte 131768 of the torrent: piece 4, in b.bin
      const recovered = yield* recoverNow(swarm, "10.0.0.2")
      expect(recovered.why).toBe("1 file(s) changed since the last checkpoint")
      expect(recovered.check?.checkedBytes).toBe(5 * 32768) // pieces 3-7 touch b.bin (bytes 100,000-250,000)
      expect(recovered.trusted).toBe(m.pieceCount - 5)
      expect(recovered.have.has(4)).toBe(false)
      expect(recovered.have.count).toBe(m.pieceCount - 1)
    }))

  it.scoped("a write that fails (no space) stops the torrent naming the file; what it verified is kept", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 1024 * 1024, pieceLength: 32768 })
      const m = swarm.torrent.metainfo
      yield* swarm.member("10.0.0.1", { pieces: all })
      const run = yield* Scope.make()
      const leecher = yield* swarm.member("10.0.0.2", { recover: true }).pipe(Scope.extend(run))
      // The seeder's own check wrote nothing; the leecher's 11th piece write fails.
      swarm.store.failWrites(11)
      const error = yield* Effect.flip(leecher.completed)
      expect(error.reason).toBe("NoSpace")
      expect(error.message).toBe("/swarm/10.0.0.2/swarm: cannot write: no space left on device")
      yield* Scope.close(run, Exit.fail(error))

      // The stop's checkpoint: the pieces written (the ten before the failure, and those whose writes were
      // under way beside it), each of them good on "disk"; not the one that failed.
      const recorded = swarm.resume("10.0.0.2").get(m.infoHash!)!
      const have = Bitfield.fromBytes(recorded.pieces, m.pieceCount).pipe((e) => (e._tag === "Right" ? e.right : undefined))!
      expect(have.count).toBeGreaterThanOrEqual(10)
      expect(have.count).toBeLessThan(m.pieceCount)
      const onDisk = piecesOf(swarm, swarm.contents("10.0.0.2"))
      have.forEachSet((p) => expect(onDisk).toContain(p))

      // Space again: it finishes, fetching only the rest.
      const again = yield* swarm.member("10.0.0.2", { recover: true })
      yield* again.completed
      expect(Buffer.compare(swarm.contents("10.0.0.2")!, swarm.torrent.payload)).toBe(0)
      expect((yield* again.stats).downloadedBytes).toBe((m.pieceCount - have.count) * 32768)
    }))

  it.scoped("a file deleted while downloading stops the torrent at the next checkpoint, naming the file", () =>
    Effect.gen(function* () {
      // 4 MiB at 256 KiB/s: the seeder's writes (a megabyte each) arrive one by one, 4 s apart.
      const swarm = yield* makeSwarm({ size: 4 * 1024 * 1024, pieceLength: 32768 })
      const m = swarm.torrent.metainfo
      yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 256 * 1024 } })
      const leecher = yield* swarm.member("10.0.0.2", { recover: true, checkpointIntervalMs: 1000 })
      // Until a checkpoint has recorded some pieces.
      const state = swarm.resume("10.0.0.2")
      const recordsSome = () => state.get(m.infoHash!)?.pieces.some((byte) => byte !== 0) === true
      yield* withClock(
        Effect.gen(function* () {
          while (!recordsSome()) yield* realTurn
        }),
        { step: "100 millis", maxVirtual: "30 seconds" }
      )
      const before = state.saves
      swarm.store.deleteFile(swarm.root("10.0.0.2"), m, 0)
      const error = yield* withClock(Effect.flip(leecher.completed), { step: "100 millis", maxVirtual: "10 seconds" })
      expect(error).toMatchObject({ reason: "Missing", message: "/swarm/10.0.0.2/swarm: deleted while the torrent was using it" })
      // No checkpoint after the deletion: the resume data never names pieces written to the lost file.
      expect(state.saves).toBe(before)
      const recovered = yield* recoverNow(swarm, "10.0.0.2")
      expect(recovered.have.count).toBe(0)
    }))

  it.scoped("a seed started again on a current checkpoint writes none at start, none while no peer comes, and checkpoints once one does", () =>
    Effect.gen(function* () {
      const swarm = yield* makeSwarm({ size: 512 * 1024, pieceLength: 16384 })
      const state = swarm.resume("10.0.0.1")
      const first = yield* Scope.make()
      yield* swarm.member("10.0.0.1", { pieces: all }).pipe(Scope.extend(first))
      // No checkpoint yet: one at start (the state folder is known writable at once).
      expect(state.saves).toBe(1)
      yield* Scope.close(first, Exit.void)
      const saved = state.saves

      const recovered = yield* recoverNow(swarm, "10.0.0.1")
      expect(recovered.current).toBe(true)
      yield* swarm.member("10.0.0.1", { recover: true, checkpointIntervalMs: 30_000 })
      yield* TestClock.adjust("10 minutes")
      // A daemon restarting 1,000 seeds would rewrite and flush 1,000 unchanged files, and wake 33 times a
      // second to look at them.
      expect(state.saves).toBe(saved)
      // Its only timers are its next announce (the tracker's interval, 30 minutes, from the first start
      // and this one): no choker round and no checkpoint look while no peer is here.
      expect([...(yield* TestClock.sleeps())].filter((at) => at < 30 * 60_000)).toEqual([])

      // A leecher comes: what we upload changes the checkpoint, saved within an interval.
      const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.0.1")] })
      yield* withClock(leecher.completed, { step: "50 millis", maxVirtual: "60 seconds" })
      yield* TestClock.adjust("40 seconds")
      expect(state.saves).toBeGreaterThan(saved)
    }))
})
