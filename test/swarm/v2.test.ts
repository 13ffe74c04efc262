/**
 * BitTorrent v2 (BEP 52) and hybrid torrents in whole in-memory swarms of bt-effect torrents: downloaded
 * from a seeder with the files' bytes equal, pieces checked against their merkle hashes (a hybrid's
 * against both its SHA-1 and its merkle hash), blocks wholly inside pad files never asked of a peer (seen
 * at the serving side), a peer sending corrupt blocks struck and banned as in v1, several leechers at once,
 * and bytes a peer puts in the pad part of a file's last block (not the file's in v2; zeros a hybrid's SHA-1
 * covers).
 *
 * The torrents come from test/support/v2Torrents.ts, held here to `create`'s output for the same files
 * (the same info hashes), so that the swarms run on the torrents bt-effect itself makes.
 *
 * The files are chosen for v2's layout (piece length 64 KiB, four blocks): a file of 3 pieces and 20,000
 * bytes (its last piece: a full block, a block partly pad, two blocks wholly pad), one shorter than a block,
 * an empty one, one of exactly two blocks (two pad blocks and no partial one), one of exactly one piece (no
 * pad, no piece layer), and a last file of 100,000 bytes (padded after in v2 and in a hybrid as `create`
 * makes it; a hybrid without that last pad, as BEP 47 reads, has a short last piece instead).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bitfield } from "../../src/domain/Bitfield.js"
import { toHex } from "../../src/domain/InfoHash.js"
import { layoutOf, torrentHash } from "../../src/domain/Metainfo.js"
import { createTorrent } from "../../src/services/create/CreateTorrent.js"
import type { TorrentEvent, TorrentHandle } from "../../src/services/torrent/TorrentHandle.js"
import { withClock } from "../support/clock.js"
import { fakePeer } from "../support/fakePeer.js"
import { address, all, announceUrl, makeSwarm, port } from "../support/swarm.js"
import type { TestFile } from "../support/torrents.js"
import { randomBytes } from "../support/torrents.js"
import { makeV2Torrent, type V2Torrent, type V2TorrentOptions } from "../support/v2Torrents.js"

const KiB = 1024
const BLOCK = 16 * KiB
const pieceLength = 64 * KiB

const files: ReadonlyArray<TestFile> = [
  { path: ["z", "last.bin"], data: randomBytes(100_000, 61) },
  { path: ["a", "big.bin"], data: randomBytes(3 * pieceLength + 20_000, 62) },
  { path: ["a", "tiny.txt"], data: randomBytes(1000, 63) },
  { path: ["empty.dat"], data: new Uint8Array(0) },
  { path: ["m", "two-blocks.bin"], data: randomBytes(2 * BLOCK, 64) },
  { path: ["one-piece.bin"], data: randomBytes(pieceLength, 65) }
]
type Options = Partial<V2TorrentOptions>
/** The torrents the swarms run: a v2-only one, a hybrid as `create` and libtorrent 2.0.8 pad it (after the
 *  last file too), and a hybrid as BEP 47 reads (no pad after the last file: a short last piece). */
const kinds: ReadonlyArray<{ readonly kind: string; readonly options: Options & { readonly version: "v2" | "hybrid" } }> = [
  { kind: "v2", options: { version: "v2" } },
  { kind: "hybrid", options: { version: "hybrid" } },
  { kind: "hybrid without a last pad", options: { version: "hybrid", lastPad: false } }
]

const torrentOf = (options: Options & { readonly version: "v2" | "hybrid" }) =>
  makeV2Torrent({ name: "v2 swarm", pieceLength, files, announce: announceUrl, ...options })

/** The first piece of a file (files start pieces in both kinds). */
const firstPiece = (t: V2Torrent, name: string) =>
  t.dataRanges[t.files.findIndex((f) => f.path.join("/") === name)]![0] / pieceLength

/** Every block (piece/offset) that holds a byte of a file: what a downloader must ask for, and no more. */
const dataBlocks = (t: V2Torrent): Set<string> => {
  const out = new Set<string>()
  for (let at = 0; at < t.payload.length; at += BLOCK) {
    const end = Math.min(at + BLOCK, t.payload.length, (Math.floor(at / pieceLength) + 1) * pieceLength)
    if (t.dataRanges.some(([s, e]) => s < e && s < end && at < e)) out.add(`${Math.floor(at / pieceLength)}/${at % pieceLength}`)
  }
  return out
}

const events = (handle: TorrentHandle) => PubSub.subscribe(handle.events)
const drained = (queue: Queue.Dequeue<TorrentEvent>) => Effect.map(Queue.takeAll(queue), Chunk.toReadonlyArray)

/** Waits (in virtual time) for a PeerBanned event on `queue`; the events seen so far, that one included. */
const untilBanned = (queue: Queue.Dequeue<TorrentEvent>) =>
  withClock(
    Effect.gen(function* () {
      const seen: Array<TorrentEvent> = []
      while (!seen.some((e) => e._tag === "PeerBanned")) seen.push(yield* Queue.take(queue))
      return seen
    }),
    { step: "1 second", maxVirtual: "120 seconds" }
  )

describe("v2 and hybrid torrents in in-memory swarms", () => {
  it.scoped("the test torrents are the ones `create` makes of the same files: same info bytes and hashes", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-v2-swarm-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      for (const f of files) {
        const at = path.join(dir, "v2 swarm", ...f.path)
        fs.mkdirSync(path.dirname(at), { recursive: true })
        fs.writeFileSync(at, f.data)
      }
      for (const version of ["v2", "hybrid"] as const) {
        const ours = torrentOf({ version }).metainfo
        const created = (yield* createTorrent({ path: path.join(dir, "v2 swarm"), version, pieceLength, announce: [], workers: 0 })).metainfo
        expect(Buffer.compare(ours.infoBytes, created.infoBytes), version).toBe(0)
        expect(toHex(created.infoHashV2!)).toBe(toHex(ours.infoHashV2!))
        expect(created.infoHash === undefined ? undefined : toHex(created.infoHash)).toBe(ours.infoHash === undefined ? undefined : toHex(ours.infoHash))
        expect(created.pieceLayerHashes).toBe(ours.pieceLayerHashes)
        // The piece space our payload fills is the one bt-effect lays out: 9 pieces, 5 of them padded.
        expect(layoutOf(ours).totalLength).toBe(torrentOf({ version }).payload.length)
        expect(ours.pieceCount).toBe(9)
        expect(torrentOf({ version }).payload.length).toBe(9 * pieceLength)
      }
      expect(torrentOf({ version: "v2" }).metainfo.infoHash).toBeUndefined()
      const short = torrentOf({ version: "hybrid", lastPad: false })
      expect([short.payload.length, layoutOf(short.metainfo).totalLength, short.metainfo.pieceCount]).toEqual([7 * pieceLength + 100_000, 7 * pieceLength + 100_000, 9])
    }))

  for (const { kind, options } of kinds) {
    it.scoped(`${kind}: a leecher downloads every file from a seeder, the data equal, progress without pads`, () =>
      Effect.gen(function* () {
        const t = torrentOf(options)
        const swarm = yield* makeSwarm({ torrent: t })
        const seeder = yield* swarm.member("10.0.0.1", { pieces: all })
        const leecher = yield* swarm.member("10.0.0.2")
        yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "60 seconds" })
        expect(Buffer.compare(swarm.contents("10.0.0.2")!, t.payload)).toBe(0)
        const stats = yield* leecher.stats
        const fileBytes = files.reduce((n, f) => n + f.data.length, 0)
        expect([stats.complete, stats.hashFailures, stats.piecesDone, stats.pieceCount]).toEqual([true, 0, 9, 9])
        expect([stats.totalLength, stats.verifiedBytes]).toEqual([fileBytes, fileBytes])
        // The seeder sent the blocks that hold data, whole (a block partly pad is asked for whole), and no other.
        const sent = [...dataBlocks(t)].reduce((n, key) => {
          const [piece, offset] = key.split("/").map(Number) as [number, number]
          return n + Math.min(BLOCK, t.payload.length - piece * pieceLength - offset)
        }, 0)
        expect((yield* seeder.stats).uploadedBytes).toBe(sent)
      }))

    it.scoped(`${kind}: no block wholly in a pad file is ever asked of the serving peer`, () =>
      Effect.gen(function* () {
        const t = torrentOf(options)
        const m = t.metainfo
        const swarm = yield* makeSwarm({ torrent: t })
        // A scripted seeder: it logs every request it gets and serves it from the piece space.
        const server = yield* fakePeer({
          network: swarm.network, host: "10.0.1.1", port, infoHash: torrentHash(m), layout: layoutOf(m),
          has: Bitfield.full(m.pieceCount), behaviour: { _tag: "ServeThenVanish", blocks: Infinity, payload: t.payload }
        })
        const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.1")] })
        yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "60 seconds" })
        expect(Buffer.compare(swarm.contents("10.0.0.2")!, t.payload)).toBe(0)
        const asked = server.requests.map((r) => `${r.piece}/${r.offset}`)
        const wanted = dataBlocks(t)
        expect(asked.filter((key) => !wanted.has(key))).toEqual([])
        expect(new Set(asked)).toEqual(wanted)
        expect(asked.length).toBe(wanted.size)
        // Of 36 blocks, 8 lie wholly in pads (without the last pad: 35, of which 7).
        expect(wanted.size).toBe(options.lastPad === false ? 35 - 7 : 36 - 8)
      }))

    it.scoped(`${kind}: a peer sending corrupt blocks gets its pieces failed, is struck and banned; an honest seeder finishes`, () =>
      Effect.gen(function* () {
        const t = torrentOf(options)
        const m = t.metainfo
        const swarm = yield* makeSwarm({ torrent: t })
        // The liar's bytes: the second byte of each piece's first block flipped (every piece starts with data).
        const lies = Uint8Array.from(t.payload)
        for (let piece = 0; piece < m.pieceCount; piece++) lies[piece * pieceLength + 1] = lies[piece * pieceLength + 1]! ^ 0x5a
        const liar = yield* fakePeer({
          network: swarm.network, host: "10.0.1.9", port, infoHash: torrentHash(m), layout: layoutOf(m),
          has: Bitfield.full(m.pieceCount), behaviour: { _tag: "ServeThenVanish", blocks: Infinity, payload: lies }
        })
        const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.9")] })
        const seen = yield* events(leecher)
        const before = yield* untilBanned(seen)
        const failed = before.flatMap((e) => (e._tag === "PieceFailed" ? [e] : []))
        expect(failed.length).toBeGreaterThanOrEqual(2)
        expect(failed.every((e) => e.senders.length === 1 && e.senders[0] === `10.0.1.9:${port}`)).toBe(true)
        expect(before.filter((e) => e._tag === "PieceVerified")).toEqual([])
        expect(before.at(-1)).toMatchObject({ _tag: "PeerBanned", host: "10.0.1.9" })
        // Then an honest seeder: the download completes with the true bytes, the liar kept out.
        yield* swarm.member("10.0.0.1", { pieces: all, peers: [address("10.0.0.2")] })
        yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "120 seconds" })
        expect(Buffer.compare(swarm.contents("10.0.0.2")!, t.payload)).toBe(0)
        const stats = yield* leecher.stats
        expect(stats.banned).toEqual(["10.0.1.9"])
        // The liar's pieces already received when it was banned are checked (and fail) after it: every failure
        // is its alone, and every one is counted.
        const everyFailure = [...before, ...(yield* drained(seen))].flatMap((e) => (e._tag === "PieceFailed" ? [e] : []))
        expect(everyFailure.every((e) => e.senders.join() === `10.0.1.9:${port}`)).toBe(true)
        expect(stats.hashFailures).toBe(everyFailure.length)
        expect(liar.connections).toBe(1)
        expect((yield* leecher.peers).map((p) => p.key)).not.toContain(`10.0.1.9:${port}`)
      }))

    it.scoped(`${kind}: three leechers and two half seeds; every leecher ends with the data`, () =>
      Effect.gen(function* () {
        const t = torrentOf(options)
        const swarm = yield* makeSwarm({ torrent: t })
        // A slow full seeder, and two that hold each half (and download the other): several sources at once.
        yield* swarm.member("10.0.0.1", { pieces: all, link: { bandwidth: 256 * KiB } })
        yield* swarm.member("10.0.0.2", { pieces: (i) => i % 2 === 0 })
        yield* swarm.member("10.0.0.3", { pieces: (i) => i % 2 === 1 })
        const leechers = yield* Effect.forEach(["10.0.0.4", "10.0.0.5", "10.0.0.6"], (host) => swarm.member(host))
        yield* withClock(Effect.all(leechers.map((l) => l.completed), { concurrency: "unbounded" }), { step: "200 millis", maxVirtual: "120 seconds" })
        for (const host of ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]) {
          expect(Buffer.compare(swarm.contents(host)!, t.payload), host).toBe(0)
        }
        for (const l of leechers) expect((yield* l.stats).hashFailures).toBe(0)
      }))
  }

  /**
   * A block that holds a file's last bytes and pad after them is asked for whole; a peer may fill the pad's
   * part with anything. Those bytes are not the file's: a v2 piece's merkle hash leaves them out, so the
   * piece is taken and they are neither stored nor served (a third peer downloads zeros there); a hybrid's
   * SHA-1 covers them as zeros, so there the piece fails and the sender is struck, as libtorrent does.
   */
  for (const version of ["v2", "hybrid"] as const) {
    it.scoped(`${version}: garbage in the pad part of a file's last block`, () =>
      Effect.gen(function* () {
        const t = torrentOf({ version })
        const m = t.metainfo
        const swarm = yield* makeSwarm({ torrent: t })
        const lies = Uint8Array.from(t.payload)
        const touched = new Set<number>()
        for (const [start, end] of t.dataRanges) {
          const blockEnd = Math.min(Math.ceil(end / BLOCK) * BLOCK, lies.length)
          if (end === start || end === blockEnd) continue
          lies.fill(0xee, end, blockEnd)
          touched.add(Math.floor(end / pieceLength))
        }
        // big.bin's, tiny.txt's and last.bin's last pieces; two-blocks.bin ends on a block boundary.
        expect([...touched].sort()).toEqual([3, 4, 8])
        yield* fakePeer({
          network: swarm.network, host: "10.0.1.9", port, infoHash: torrentHash(m), layout: layoutOf(m),
          has: Bitfield.full(m.pieceCount), behaviour: { _tag: "ServeThenVanish", blocks: Infinity, payload: lies }
        })
        const leecher = yield* swarm.member("10.0.0.2", { peers: [address("10.0.1.9")] })
        if (version === "v2") {
          yield* withClock(leecher.completed, { step: "1 second", maxVirtual: "60 seconds" })
          expect((yield* leecher.stats).hashFailures).toBe(0)
          expect(Buffer.compare(swarm.contents("10.0.0.2")!, t.payload)).toBe(0)
          const third = yield* swarm.member("10.0.0.3", { peers: [address("10.0.0.2")] })
          yield* withClock(third.completed, { step: "1 second", maxVirtual: "60 seconds" })
          expect(Buffer.compare(swarm.contents("10.0.0.3")!, t.payload)).toBe(0)
          expect((yield* third.stats).hashFailures).toBe(0)
          return
        }
        const seen = yield* untilBanned(yield* events(leecher))
        const failed = new Set(seen.flatMap((e) => (e._tag === "PieceFailed" ? [e.piece] : [])))
        expect(failed.size).toBeGreaterThanOrEqual(2)
        expect([...failed].filter((p) => !touched.has(p))).toEqual([])
        const have = yield* leecher.pieces
        expect([...touched].filter((p) => have.has(p))).toEqual([])
        expect((yield* leecher.stats).banned).toEqual(["10.0.1.9"])
      }))
  }

  /**
   * A hybrid whose two halves disagree on one piece: the seeder's true bytes pass one check and fail the
   * other, so the piece must never be taken, and its lone sender is banned; every other piece is.
   */
  const disagreeing = (half: "sha1Over" | "merkleOver", name: string) =>
    Effect.gen(function* () {
      const stand = files.map((f) => {
        if (f.path.join("/") !== name) return f
        const data = Uint8Array.from(f.data)
        data[data.length - 1] = data[data.length - 1]! ^ 1
        return { path: f.path, data }
      })
      const t = torrentOf({ version: "hybrid", [half]: stand })
      const bad = firstPiece(t, name) + Math.floor((files.find((f) => f.path.join("/") === name)!.data.length - 1) / pieceLength)
      const swarm = yield* makeSwarm({ torrent: t })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const leecher = yield* swarm.member("10.0.0.2")
      const seen = yield* events(leecher)
      const before = yield* untilBanned(seen)
      yield* withClock(Effect.sleep("5 seconds"), { step: "1 second", maxVirtual: "10 seconds" })
      const after = [...before, ...(yield* drained(seen))]
      const failed = after.flatMap((e) => (e._tag === "PieceFailed" ? [e.piece] : []))
      expect(failed.length).toBeGreaterThanOrEqual(2)
      expect(new Set(failed)).toEqual(new Set([bad]))
      const have = yield* leecher.pieces
      expect(Array.from({ length: 9 }, (_, i) => have.has(i))).toEqual(Array.from({ length: 9 }, (_, i) => i !== bad))
      expect((yield* leecher.stats).banned).toEqual(["10.0.0.1"])
    })

  it.scoped("hybrid: a piece whose SHA-1 fails is refused though its merkle hash passes", () =>
    disagreeing("sha1Over", "a/big.bin"))

  it.scoped("hybrid: a piece whose merkle hash fails is refused though its SHA-1 passes", () =>
    disagreeing("merkleOver", "one-piece.bin"))
})
