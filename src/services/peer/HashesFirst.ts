/**
 * Piece hashes before blocks, for a peer that fetches a v2 or hybrid torrent's piece layers from us (one that
 * came from a magnet: an info dictionary has no piece layers). Both rules are for libtorrent 2.0.8 to 2.0.10
 * (Debian 12's, under qBittorrent 4.5 and 4.6), whose hash picker checks again, each time an answer comes,
 * every piece of the answer's range whose block hashes it holds; in a hybrid torrent a piece that passes
 * there while its blocks are still being written (its `have_piece` means "on disk" until 2.0.11) stops the
 * whole torrent with "v1 and v2 hashes do not describe the same data".
 *
 * - It asks again every 3 s for each chunk of piece hashes it already has (it never marks a chunk had, until
 *   a later release), all download long, so each answer is another chance of that. A request for piece
 *   hashes this peer has all had from us gets no reply (`repeats`): libtorrent keeps two hash requests in
 *   flight per peer, so after two such it asks us nothing more, having every hash by then.
 * - A first answer races the same way with the pieces that came before it. So once the peer asks us for
 *   piece hashes, a request for a block of a piece whose hash it has not had from us waits (`admit`) until it
 *   has (it asks for the chunks in turn, a round trip each), or `maxHoldMs` at most: it may have them from
 *   another peer.
 *
 * What waits is bounded by the upload queue's capacity (past it, blocks are served at once).
 *
 * Measured on a 2-core machine, libtorrent 2.0.8 fetching a hybrid torrent of 541 pieces from a btmh magnet
 * with its CPU starved (pinned beside busy loops, at nice 19): without these rules 9 runs in 26 stopped so
 * (and 1 in 8 from a libtorrent seed); with them, none in 20.
 */
import type { BlockRequest } from "../../domain/Block.js"
import type { FileHashes, FileTree } from "../../domain/FileHashes.js"
import type { HashRange } from "../../domain/MerkleProof.js"
import type { UploadQueue } from "./UploadQueue.js"

/** A block request waits this long at most for its piece's hash to be sent. */
export const maxHoldMs = 3000

const SENT = 1
const GAVE_UP = 2

interface Held extends BlockRequest {
  readonly at: number
}

export class HashesFirst {
  /** Per file, a state per piece: its hash not sent (0), sent to this peer (SENT), or not sent but its
   *  blocks waited long enough (GAVE_UP: they no longer wait). */
  private readonly pieces = new Map<FileTree, Uint8Array>()
  /** The peer has asked us for piece hashes: from then on blocks wait for theirs. */
  private fetching = false
  private held: Array<Held> = []
  /** For the session's summary. */
  readonly tally = { held: 0, repeatsUnanswered: 0 }

  constructor(
    /** The torrent's v2 hashes; absent for a v1 torrent (nothing then waits). */
    private readonly hashes: FileHashes | undefined,
    /** Most block requests held at once. */
    private readonly capacity: number
  ) {}

  private isPieceLayer(range: HashRange): boolean {
    return this.hashes !== undefined && range.baseLayer === this.hashes.pieceLayerHeight
  }

  /** A request of the peer's: true when it asks only for piece hashes it has all had from us (no reply). */
  repeats(root: Uint8Array, range: HashRange): boolean {
    if (!this.isPieceLayer(range)) return false
    const file = this.hashes!.file(root)
    if (file?.pieceLayer === undefined) return false // ours to fetch too: rejected, nothing held for it
    this.fetching = true
    const states = this.pieces.get(file)
    if (states === undefined) return false
    const end = Math.min(states.length, range.index + range.length)
    if (range.index >= end) return false // nothing of the file: served, so a bad range is rejected
    for (let p = range.index; p < end; p++) if (states[p] !== SENT) return false
    this.tally.repeatsUnanswered++
    return true
  }

  /** An answer of ours went into the outbox. */
  answered(root: Uint8Array, range: HashRange): void {
    if (!this.isPieceLayer(range)) return
    const file = this.hashes!.file(root)
    if (file === undefined) return
    this.statesOf(file).fill(SENT, Math.min(range.index, file.pieceCount), Math.min(range.index + range.length, file.pieceCount))
  }

  private statesOf(file: FileTree): Uint8Array {
    let states = this.pieces.get(file)
    if (states === undefined) this.pieces.set(file, states = new Uint8Array(file.pieceCount))
    return states
  }

  /** Whether a block of `piece` must wait for the piece's hash: one we have and have not sent (a file of one
   *  piece has no piece layer: its hash is its root, in the info). */
  private waits(piece: number): boolean {
    const at = this.hashes!.locate(piece)
    if (at === undefined || at.tree.pieceLayer === undefined) return false
    return (this.pieces.get(at.tree)?.[at.index] ?? 0) === 0
  }

  /** A piece whose blocks waited `maxHoldMs`: they no longer wait (the peer has its hash from elsewhere). */
  private giveUp(piece: number): void {
    const at = this.hashes!.locate(piece)
    if (at === undefined) return
    const states = this.statesOf(at.tree)
    if (states[at.index] === 0) states[at.index] = GAVE_UP
  }

  /** Of a batch taken from the upload queue, those to serve now; the others are held. */
  admit(batch: ReadonlyArray<BlockRequest>, now: number): ReadonlyArray<BlockRequest> {
    if (!this.fetching) return batch
    const go: Array<BlockRequest> = []
    for (const r of batch) {
      if (this.held.length < this.capacity && this.waits(r.piece)) {
        this.held.push({ piece: r.piece, offset: r.offset, length: r.length, at: now })
        this.tally.held++
      } else go.push(r)
    }
    return go
  }

  /** Held requests that may go now (their piece's hash sent, or held long enough) back to the upload queue,
   *  in the order they came; one the queue has no room for stays held. */
  release(uploads: UploadQueue, now: number): void {
    if (this.held.length === 0) return
    this.held = this.held.filter((r) => {
      if (!this.waits(r.piece)) return !uploads.push(r.piece, r.offset, r.length)
      if (now - r.at < maxHoldMs) return true
      this.giveUp(r.piece)
      return !uploads.push(r.piece, r.offset, r.length)
    })
  }

  /** Drops a held request the peer cancelled: whether one was held. */
  cancel(piece: number, offset: number, length: number): boolean {
    const i = this.held.findIndex((r) => r.piece === piece && r.offset === offset && r.length === length)
    if (i < 0) return false
    this.held.splice(i, 1)
    return true
  }

  /** Every held request, back to the caller (we choke the peer: its queue keeps what it may still fetch). */
  drain(): ReadonlyArray<BlockRequest> {
    const all = this.held
    this.held = []
    return all
  }
}
