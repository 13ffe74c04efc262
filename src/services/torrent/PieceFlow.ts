/**
 * A torrent's way from a block to a stored piece: a block the picker accepts is copied into its piece
 * (PieceAssembly, hashing as the blocks arrive); a complete piece is checked, in order and apart from any
 * peer (a piece completed by a peer that then goes away is still checked); a good one goes to the writer
 * (PieceWriter), while checking and requesting go on; once stored, every peer hears of it (HAVE). A bad
 * one goes back to the picker, and its sender gets a strike (two and its host is banned); where the blocks
 * of a piece came from several peers and it failed before, the liars are found out on the retry, or, for
 * a v2 piece, as soon as its block hashes come from a v2 peer (per-block blame).
 * "Complete" means complete on disk: flushed and recorded, so that a restart needs no hashing.
 *
 * A storage error ends the torrent (through `done`).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { BlockRequest } from "../../domain/Block.js"
import type { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { type Metainfo, pieceHash } from "../../domain/Metainfo.js"
import type { FileHashes } from "../../domain/FileHashes.js"
import { V2Pieces } from "../../domain/V2Pieces.js"
import type { HashThreads } from "../pieces/HashThreads.js"
import type { Picker } from "../pieces/PiecePicker.js"
import { PieceAssembly } from "../pieces/PieceAssembly.js"
import * as PieceWriter from "../pieces/PieceWriter.js"
import type { Checkpointer } from "../storage/Checkpoint.js"
import type { TorrentStorage } from "../storage/Storage.js"
import { hostOf, strikesToBan, type Swarm } from "./Swarm.js"
import type { TorrentEvent } from "./TorrentHandle.js"

/** Piece data held in pieces in progress, waiting to be checked or being written; past it nothing new is
 *  requested (raised to two pieces where pieces are larger). */
export const maxBufferedBytes = 8 * 1024 * 1024

export interface PieceFlowOptions {
  readonly metainfo: Metainfo
  readonly layout: Layout.Layout
  readonly picker: Picker
  readonly storage: TorrentStorage
  readonly swarm: Swarm
  readonly events: PubSub.PubSub<TorrentEvent>
  readonly checkpoint: Checkpointer
  /** Completed when every piece is stored; failed by a storage error. */
  readonly done: Deferred.Deferred<void, StorageError>
  /** Bans a peer's host (its sessions end). */
  readonly ban: (key: string, why: string) => Effect.Effect<void>
  /** Threads that hash complete pieces; without them, pieces are hashed here as their blocks come. */
  readonly hashThreads?: HashThreads
  /** A v2 or hybrid torrent's hashes: the block hashes of a failed piece are asked of v2 peers through it,
   *  so that the senders of its bad blocks are known at once (per-block blame). */
  readonly hashes?: FileHashes
}

export interface PieceFlow {
  /** A block from peer `key`: kept when the picker accepts it. */
  readonly addBlock: (key: string, block: BlockRequest, data: Uint8Array) => void
  /** Pieces wait for checking or writing beyond the memory budget: request nothing new. */
  readonly backlogged: () => boolean
  /** Blocks that may still be requested across all peers within the memory budget. */
  readonly requestAllowance: () => number
  /** Bytes of pieces verified and stored (those we had at the start included). */
  readonly verifiedBytes: () => number
  readonly hashFailures: () => number
}

export const make = (options: PieceFlowOptions): Effect.Effect<PieceFlow, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { layout, picker, swarm, events } = options
    const budget = Math.max(maxBufferedBytes, 2 * layout.pieceLength)
    const m = options.metainfo
    const v2 = V2Pieces.of(m)
    // Threads compute SHA-1s: a v2-only torrent has none to compute (its merkle check runs here).
    const threads = m.version === "v2" ? undefined : options.hashThreads
    // Spare buffers: the budget and what comes past it.
    const assembly = new PieceAssembly(
      layout,
      m.version === "v2" ? undefined : (i) => pieceHash(m, i),
      2 * budget,
      threads !== undefined,
      v2,
      // Leaves of the pieces verified here answer other peers' requests for block hashes (their blame).
      options.hashes === undefined ? undefined : (check, leaves) => options.hashes!.keepLeaves(check.piecesRoot, check.indexInFile, leaves)
    )
    const toCheck = yield* Queue.unbounded<number>()
    let verifiedBytes = 0
    let hashFailures = 0
    let completing = false
    picker.have.forEachSet((piece) => void (verifiedBytes += Layout.dataBytes(layout, piece)))

    const stored = (piece: number, data: Uint8Array) =>
      Effect.gen(function* () {
        verifiedBytes += Layout.dataBytes(layout, piece)
        assembly.release(data)
        picker.pieceVerified(piece)
        // Every peer hears of it (and wakes: those that stopped requesting while we were behind start again).
        for (const link of swarm.links()) link.have(piece)
        yield* PubSub.publish(events, { _tag: "PieceVerified", piece })
        // Once: the writer's two fibers may both find the picker complete.
        if (picker.isComplete && !completing) {
          completing = true
          yield* options.checkpoint.save()
          yield* PubSub.publish(events, { _tag: "Completed" })
          yield* Deferred.succeed(options.done, undefined)
        }
      })
    // A torrent complete at start asks for no block, so it has nothing to check or write: no writer and
    // no check loop (two fibers and their queues fewer for each of a daemon's 1,000 seeds).
    const downloading = !picker.isComplete
    const writer = downloading ? yield* PieceWriter.make(options.storage, stored, (error) => Deferred.fail(options.done, error)) : undefined

    const strike = (key: string, why: string) =>
      Effect.gen(function* () {
        const strikes = swarm.strike(hostOf(key))
        if (strikes >= strikesToBan) yield* options.ban(key, `${strikes} ${why}`)
      })

    // v2: a failed piece of several senders has its block hashes asked for; when they come (in a peer's
    // session, synchronously), the senders of the blocks that differ are struck, and they alone.
    const blamed = yield* Queue.unbounded<{ readonly piece: number; readonly leaves: Uint8Array }>()
    if (options.hashes !== undefined) options.hashes.blocks.onHashes = (piece, leaves) => void blamed.unsafeOffer({ piece, leaves })
    const blame = ({ leaves, piece }: { readonly piece: number; readonly leaves: Uint8Array }) =>
      Effect.gen(function* () {
        const liars = assembly.blame(piece, leaves)
        yield* Effect.logWarning(`piece ${piece}: block hashes say ${liars.length === 0 ? "no sender" : liars.join(", ")} sent bad blocks`)
        for (const liar of liars) yield* strike(liar, `strikes, the last for bad blocks shown by the block hashes of piece ${piece}`)
      })

    const failed = (piece: number, senders: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        hashFailures++
        picker.pieceFailed(piece)
        swarm.wakeAll()
        yield* Effect.logWarning(`piece ${piece} failed its hash check (from ${senders.join(", ")})`)
        yield* PubSub.publish(events, { _tag: "PieceFailed", piece, senders })
        if (senders.length === 1) return yield* strike(senders[0]!, "pieces that failed their hash check")
        const check = v2?.piece(piece)
        if (senders.length > 1 && check !== undefined && options.hashes !== undefined) {
          options.hashes.blocks.want({ piece, piecesRoot: check.piecesRoot, indexInFile: check.indexInFile, width: check.width, pieceHash: check.hash })
          // The sessions ask for them at once (PeerState.fillRequests), not at their next tick.
          swarm.wakeAll()
        }
      })

    const check = (piece: number) =>
      Effect.gen(function* () {
        const bytes = threads !== undefined ? assembly.offThread(piece) : undefined
        const digest = bytes !== undefined ? yield* threads!.sha1(bytes) : undefined
        const verdict = assembly.verify(piece, digest)
        if (!verdict.ok) return yield* failed(piece, verdict.senders)
        for (const liar of verdict.liars) yield* options.ban(liar, `sent corrupt data for piece ${piece}`)
        writer?.enqueue(piece, verdict.data)
      })
    // Hashed here, pieces are checked one after another; on threads, each has its own fiber (children of
    // the loop's), so that the threads get the next while the first is hashed.
    const checkNext = threads === undefined ? check : (piece: number) => Effect.asVoid(Effect.fork(check(piece)))
    if (downloading) yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(toCheck), checkNext)))
    if (downloading && options.hashes !== undefined) yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(blamed), blame)))

    return {
      addBlock: (key, block, data) => {
        const r = picker.blockReceived(key, block)
        if (!r.accepted) return
        assembly.addBlock(block.piece, block.offset, data, key)
        for (const other of r.cancel) swarm.get(other)?.cancel(block)
        if (r.pieceComplete) void toCheck.unsafeOffer(block.piece)
      },
      backlogged: () => assembly.bufferedBytes > budget,
      requestAllowance: () => Math.max(0, Math.floor(budget / Layout.BLOCK_SIZE) - swarm.inFlight),
      verifiedBytes: () => verifiedBytes,
      hashFailures: () => hashFailures
    } satisfies PieceFlow
  })
