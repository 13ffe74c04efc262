/**
 * Pieces being downloaded: their blocks gathered into one buffer per piece, the SHA-1 check once the
 * last block is in, and the evidence that tells a lying peer from an honest one.
 *
 * Smart ban (as libtorrent): when a piece fails its hash, the hash and sender of each of its blocks are
 * kept. When the piece later passes, every kept block whose bytes differ from the good piece was sent
 * by a liar, however many honest peers shared the piece with it. A peer that alone sent a failing piece
 * takes a strike as well, so a liar that never shares pieces is caught too.
 *
 * Synchronous and owned by one torrent; memory is one buffer per piece in progress, which the picker
 * keeps low by finishing started pieces first. Buffers are reused: touching fresh memory costs page faults
 * (on the machines this was measured on, about as much as hashing it), so a piece's buffer goes back to a
 * small free list once the piece is stored or dropped.
 */
import { createHash } from "node:crypto"
import * as Layout from "../domain/Layout.js"

interface InProgress {
  readonly buffer: Buffer
  /** Sender of each block, by block index. */
  readonly senders: Array<string | undefined>
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

/** Spare piece buffers kept for reuse. */
const maxFree = 2

const sha1 = (data: Uint8Array) => createHash("sha1").update(data).digest()

export class PieceAssembly {
  private readonly pieces = new Map<number, InProgress>()
  private readonly free: Array<Buffer> = []
  private readonly failed = new Map<number, Array<FailedBlock>>()
  private buffered = 0

  constructor(
    private readonly layout: Layout.Layout,
    private readonly expectedHash: (piece: number) => Uint8Array
  ) {}

  /** Bytes held in buffers of pieces in progress. */
  get bufferedBytes(): number {
    return this.buffered
  }

  /** Copies a block (already accepted by the picker) into its piece. */
  addBlock(piece: number, offset: number, data: Uint8Array, sender: string): void {
    let p = this.pieces.get(piece)
    if (p === undefined) {
      const size = Layout.pieceSize(this.layout, piece)
      const reused = size === this.layout.pieceLength ? this.free.pop() : undefined
      p = { buffer: reused ?? Buffer.allocUnsafe(size), senders: new Array(Layout.blockCount(this.layout, piece)) }
      this.pieces.set(piece, p)
      this.buffered += size
    }
    p.buffer.set(data, offset)
    p.senders[Math.floor(offset / Layout.BLOCK_SIZE)] = sender
  }

  /**
   * Checks a complete piece and lets go of it. A verified piece's data stays valid until `release` is
   * called with it (after it is stored).
   */
  verify(piece: number): Verdict {
    const p = this.pieces.get(piece)
    if (p === undefined) return { ok: false, senders: [] }
    this.pieces.delete(piece)
    this.buffered -= p.buffer.length
    if (sha1(p.buffer).equals(this.expectedHash(piece))) {
      return { ok: true, data: p.buffer, liars: this.liarsOf(piece, p.buffer) }
    }
    const record = this.failed.get(piece) ?? []
    p.senders.forEach((sender, block) => {
      if (sender === undefined) return
      const offset = block * Layout.BLOCK_SIZE
      const length = Layout.blockSize(this.layout, piece, block)
      record.push({ offset, length, sender, hash: sha1(p.buffer.subarray(offset, offset + length)).toString("hex") })
    })
    this.failed.set(piece, record)
    this.release(p.buffer)
    return { ok: false, senders: [...new Set(p.senders.filter((s): s is string => s !== undefined))] }
  }

  /** Forgets a piece in progress (its blocks will be fetched again). */
  drop(piece: number): void {
    const p = this.pieces.get(piece)
    if (p === undefined) return
    this.pieces.delete(piece)
    this.buffered -= p.buffer.length
    this.release(p.buffer)
  }

  /** Gives a piece's buffer back for reuse, once nothing refers to its bytes. */
  release(buffer: Uint8Array): void {
    if (buffer instanceof Buffer && buffer.length === this.layout.pieceLength && this.free.length < maxFree) {
      this.free.push(buffer)
    }
  }

  private liarsOf(piece: number, good: Uint8Array): ReadonlyArray<string> {
    const record = this.failed.get(piece)
    if (record === undefined) return []
    this.failed.delete(piece)
    const liars = new Set<string>()
    for (const b of record) {
      if (sha1(good.subarray(b.offset, b.offset + b.length)).toString("hex") !== b.hash) liars.add(b.sender)
    }
    return [...liars]
  }
}
