/**
 * Pieces being downloaded: their blocks gathered into one buffer per piece, SHA-1 as the blocks come,
 * and the evidence that tells a lying peer from an honest one.
 *
 * Hashing follows the blocks: whenever the blocks from the piece's start that are in reach `hashStep`
 * bytes past what is hashed, they go into the piece's running SHA-1 while still in the cache, so the
 * check of a complete piece is a digest (plus whatever came out of order) rather than a second pass over
 * a megabyte that has left the cache. Hashing in steps, not per block, keeps the calls into the hash few.
 *
 * With hashing threads (HashThreads), the aligned block is shared memory, and a piece cut from it is not
 * hashed as it comes: the whole piece goes to a thread once complete (`offThread`), and `verify` is given
 * the thread's digest. A piece outside it is hashed here as above.
 *
 * Smart ban (as libtorrent): when a piece fails its hash, the hash and sender of each of its blocks are
 * kept. When the piece later passes, every kept block whose bytes differ from the good piece was sent
 * by a liar, however many honest peers shared the piece with it. A peer that alone sent a failing piece
 * takes a strike as well, so a liar that never shares pieces is caught too.
 *
 * v2 (BEP 52): a piece of a v2 or hybrid torrent is also checked against its file's merkle tree: the
 * SHA-256 leaves of the file's bytes in the piece up to its piece-layer hash (V2Pieces). A hybrid's piece
 * must pass both, as libtorrent holds it; a v2-only torrent has no SHA-1 to keep up as the blocks come.
 * Blocks wholly in pad files are never asked for: they are zeros here from the start, sent by no one.
 *
 * Synchronous and owned by one torrent. Memory: a buffer per piece in progress, verified and not yet
 * stored; `bufferedBytes` counts them all until `release`, and the torrent requests nothing new above
 * its budget. Buffers are reused up to that budget: touching fresh memory costs page faults (on the
 * machines this was measured on, a fresh megabyte cost more than hashing it), so a piece's buffer goes
 * back to a free list once the piece is stored or dropped. They are cut from one page-aligned block, so
 * that storage can write them past the page cache (DirectIo.ts); beyond it, ordinary buffers serve.
 */
import { createHash, type Hash } from "node:crypto"
import * as Layout from "../../domain/Layout.js"
import type { V2Piece, V2Pieces } from "../../domain/V2Pieces.js"
import * as DirectIo from "../storage/DirectIo.js"

interface InProgress {
  readonly buffer: Buffer
  /** Sender of each block, by block index (undefined: not in yet). */
  readonly senders: Array<string | undefined>
  readonly hash: Hash
  /** Bytes from the start already in the hash. */
  hashed: number
  /** Bytes from the start whose blocks are all in (at least `hashed`). */
  contiguous: number
  /** Hashed by a thread once complete, not here as the blocks come. */
  readonly offThread: boolean
}

interface FailedBlock {
  readonly offset: number
  readonly length: number
  readonly sender: string
  readonly hash: string
}

export type Verdict =
  | { readonly ok: true; readonly data: Uint8Array; readonly liars: ReadonlyArray<string> }
  | { readonly ok: false; readonly senders: ReadonlyArray<string> }

/** The sender of a pad block: no one. */
const padSender = ""

/** Contiguous bytes gathered before they are hashed (the last step of a piece may be shorter). */
const hashStep = 128 * 1024


export class PieceAssembly {
  private readonly pieces = new Map<number, InProgress>()
  private readonly free: Array<Buffer> = []
  private readonly maxFree: number
  /** The aligned block buffers are cut from (made at the first piece), and the buffers cut so far. */
  private aligned: Uint8Array | undefined
  private readonly cut = new Set<Buffer>()
  private readonly failed = new Map<number, Array<FailedBlock>>()
  private buffered = 0

  constructor(
    private readonly layout: Layout.Layout,
    /** A piece's SHA-1 (v1 and hybrid torrents); undefined for a v2-only torrent. */
    private readonly expectedHash: ((piece: number) => Uint8Array) | undefined,
    /** Bytes of spare piece buffers kept for reuse (at least one buffer). */
    spareBytes: number = 2 * layout.pieceLength,
    /** Pieces in the aligned block are hashed by threads (it is then shared memory). */
    private readonly hashThreads = false,
    /** The merkle checks of a v2 or hybrid torrent. */
    private readonly v2?: V2Pieces,
    /** Told of a v2 piece's leaves (`width` of them, zero leaves past the file's end) once it passed. */
    private readonly onLeaves?: (check: V2Piece, leaves: Uint8Array) => void
  ) {
    this.maxFree = Math.max(1, Math.floor(spareBytes / layout.pieceLength))
  }

  /** Bytes held in buffers of pieces in progress, and of verified pieces not yet released. */
  get bufferedBytes(): number {
    return this.buffered
  }

  /** Copies a block (already accepted by the picker) into its piece, and hashes what became contiguous. */
  addBlock(piece: number, offset: number, data: Uint8Array, sender: string): void {
    let p = this.pieces.get(piece)
    if (p === undefined) {
      const size = Layout.pieceSize(this.layout, piece)
      const reused = size === this.layout.pieceLength ? this.free.pop() ?? this.cutBuffer() : undefined
      p = {
        buffer: reused ?? Buffer.allocUnsafe(size),
        senders: new Array(Layout.blockCount(this.layout, piece)),
        hash: createHash("sha1"),
        hashed: 0,
        contiguous: 0,
        offThread: this.hashThreads && reused !== undefined && this.cut.has(reused)
      }
      this.pieces.set(piece, p)
      this.buffered += size
      for (const block of Layout.padBlocks(this.layout, piece)) {
        p.buffer.fill(0, block * Layout.BLOCK_SIZE, block * Layout.BLOCK_SIZE + Layout.blockSize(this.layout, piece, block))
        p.senders[block] = padSender
      }
    }
    p.buffer.set(data, offset)
    p.senders[offset / Layout.BLOCK_SIZE] = sender
    if (offset !== p.contiguous || p.offThread || this.expectedHash === undefined) return
    const size = p.buffer.length
    let end = offset + data.length
    while (end < size && p.senders[end / Layout.BLOCK_SIZE] !== undefined) {
      end = Math.min(end + Layout.BLOCK_SIZE, size)
    }
    p.contiguous = end
    if (end - p.hashed >= hashStep || end === size) {
      p.hash.update(p.buffer.subarray(p.hashed, end))
      p.hashed = end
    }
  }

  /** A complete piece's bytes, when a thread is to hash them (its digest then goes to `verify`). */
  offThread(piece: number): Uint8Array | undefined {
    const p = this.pieces.get(piece)
    return p?.offThread === true ? p.buffer : undefined
  }

  /**
   * Checks a complete piece, against `digest` when a thread computed it (`offThread`). A verified piece's
   * buffer stays counted, and its data valid, until `release` is called with it (after it is stored); a
   * failed one is let go of at once.
   */
  verify(piece: number, digest?: Uint8Array): Verdict {
    const p = this.pieces.get(piece)
    if (p === undefined) return { ok: false, senders: [] }
    this.pieces.delete(piece)
    if (this.sha1Holds(piece, p, digest) && this.v2Holds(piece, p.buffer)) {
      return { ok: true, data: p.buffer, liars: this.liarsOf(piece, p.buffer) }
    }
    const record = this.failed.get(piece) ?? []
    p.senders.forEach((sender, block) => {
      if (sender === undefined || sender === padSender) return
      const offset = block * Layout.BLOCK_SIZE
      const length = this.fingerprinted(piece, block)
      record.push({ offset, length, sender, hash: this.fingerprint(p.buffer.subarray(offset, offset + length)) })
    })
    this.failed.set(piece, record)
    this.release(p.buffer)
    return { ok: false, senders: [...new Set(p.senders.filter((s): s is string => s !== undefined && s !== padSender))] }
  }

  private sha1Holds(piece: number, p: InProgress, digest: Uint8Array | undefined): boolean {
    if (this.expectedHash === undefined) return true
    if (digest === undefined && p.hashed < p.buffer.length) p.hash.update(p.buffer.subarray(p.hashed))
    return Buffer.compare(digest ?? p.hash.digest(), this.expectedHash(piece)) === 0
  }

  /** The piece's file bytes against its merkle hash; a piece whose hash is not known yet passes on its SHA-1
   *  alone (a hybrid's), and a v2-only one cannot pass. */
  private v2Holds(piece: number, buffer: Uint8Array): boolean {
    if (this.v2 === undefined) return true
    const checked = this.v2.check(piece, buffer)
    if (checked === undefined) return this.expectedHash !== undefined
    if (checked !== false) this.onLeaves?.(checked.at, checked.leaves)
    return checked !== false
  }


  /** Forgets a piece in progress (its blocks will be fetched again). */
  drop(piece: number): void {
    const p = this.pieces.get(piece)
    if (p === undefined) return
    this.pieces.delete(piece)
    this.release(p.buffer)
  }

  /** Lets go of a piece's buffer (stored, failed or dropped), kept for reuse once nothing refers to it. */
  release(buffer: Uint8Array): void {
    this.buffered -= buffer.length
    if (!(buffer instanceof Buffer) || buffer.length !== this.layout.pieceLength) return
    if (this.cut.has(buffer) || this.free.length < this.maxFree) this.free.push(buffer)
  }

  /** A piece buffer from the aligned block, while it has room (one slot per spare buffer). */
  private cutBuffer(): Buffer | undefined {
    const slot = Math.ceil(this.layout.pieceLength / DirectIo.alignment) * DirectIo.alignment
    if (this.cut.size >= this.maxFree) return undefined
    this.aligned ??= DirectIo.alignedMemory(slot * this.maxFree, this.hashThreads)
    if (this.aligned === undefined) return undefined
    const buffer = Buffer.from(this.aligned.buffer, this.aligned.byteOffset + slot * this.cut.size, this.layout.pieceLength)
    this.cut.add(buffer)
    return buffer
  }

  private liarsOf(piece: number, good: Uint8Array): ReadonlyArray<string> {
    const record = this.failed.get(piece)
    if (record === undefined) return []
    this.failed.delete(piece)
    const liars = new Set<string>()
    for (const b of record) {
      if (this.fingerprint(good.subarray(b.offset, b.offset + b.length)) !== b.hash) liars.add(b.sender)
    }
    return [...liars]
  }

  /**
   * v2: the senders of a failed piece's blocks that differ from its block hashes (proved against its piece
   * hash, BlockHashes.ts), each block's fingerprint being its leaf: the liars, known without a retry.
   * The piece's record stays for the retry's smart ban.
   */
  blame(piece: number, leaves: Uint8Array): ReadonlyArray<string> {
    const liars = new Set<string>()
    for (const b of this.failed.get(piece) ?? []) {
      const leaf = leaves.subarray((b.offset / Layout.BLOCK_SIZE) * 32, (b.offset / Layout.BLOCK_SIZE + 1) * 32)
      if (leaf.length === 32 && Buffer.from(leaf).toString("hex") !== b.hash) liars.add(b.sender)
    }
    return [...liars]
  }

  /** The bytes of a block a fingerprint covers: a v2 piece's are its file's (its leaf's bytes), pad left out. */
  private fingerprinted(piece: number, block: number): number {
    const size = Layout.blockSize(this.layout, piece, block)
    const check = this.v2?.piece(piece)
    return check === undefined ? size : Math.max(0, Math.min(size, check.length - block * Layout.BLOCK_SIZE))
  }

  /** A block's fingerprint for smart ban and blame: with v2, its leaf hash (SHA-256), else its SHA-1. */
  private fingerprint(bytes: Uint8Array): string {
    return createHash(this.v2 === undefined ? "sha1" : "sha256").update(bytes).digest("hex")
  }
}
