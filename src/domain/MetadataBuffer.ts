/**
 * The info dictionary of a magnet download, gathered 16 KiB piece by piece through ut_metadata (BEP 9)
 * and accepted only once its hash is the torrent's: SHA-1 for a v1 info hash (20 bytes), SHA-256 for a v2
 * one (32 bytes, a btmh magnet's).
 *
 * Pure and synchronous, like the other domain values. Pieces are held one by one as they arrive, never as
 * one buffer of the announced size: a peer that claims a 16 MiB info dictionary costs us what it actually
 * sends, not 16 MiB up front. The size limits live here (the protocol codec re-exports them), since the
 * domain does not import the protocol.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"

/** Every metadata piece is this long but the last (BEP 9). */
export const metadataPieceSize = 16 * 1024

/**
 * The largest metadata (info dictionary) we accept or serve: 16 MiB, in the range of libtorrent's
 * `max_metadata_size`. That holds the piece hashes of a torrent of 800,000 pieces, and still bounds what
 * a peer can make us hold.
 */
export const maxMetadataSize = 16 * 1024 * 1024

/** The number of pieces metadata of `totalSize` bytes is sent in. */
export const metadataPieceCount = (totalSize: number): number => Math.ceil(totalSize / metadataPieceSize)

/** What `add` did with a piece. */
export type AddResult = "ok" | "bad" | "duplicate"

/** SHA-1 of `data` against a v1 info hash, SHA-256 against a v2 one. */
const digestFor = (infoHash: Uint8Array, data: Uint8Array): Uint8Array =>
  createHash(infoHash.length === 32 ? "sha256" : "sha1").update(data).digest()

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export class MetadataBuffer {
  readonly pieceCount: number
  private readonly pieces: Array<Uint8Array | undefined>
  private held = 0

  private constructor(readonly totalSize: number) {
    this.pieceCount = metadataPieceCount(totalSize)
    this.pieces = new Array<Uint8Array | undefined>(this.pieceCount).fill(undefined)
  }

  /** A buffer for metadata of `totalSize` bytes (a peer's `metadata_size`): 1 to `maxMetadataSize`. */
  static make(totalSize: number): Either.Either<MetadataBuffer, string> {
    if (!Number.isSafeInteger(totalSize) || totalSize < 1 || totalSize > maxMetadataSize) {
      return Either.left(`metadata size ${totalSize} is not between 1 and ${maxMetadataSize} bytes`)
    }
    return Either.right(new MetadataBuffer(totalSize))
  }

  /** The length piece `piece` must have: 16 KiB, except the last, which holds the rest. */
  pieceLength(piece: number): number {
    return piece === this.pieceCount - 1 ? this.totalSize - piece * metadataPieceSize : metadataPieceSize
  }

  /** Pieces not yet received, lowest first (for requests). */
  missing(): ReadonlyArray<number> {
    const out: Array<number> = []
    for (let i = 0; i < this.pieceCount; i++) if (this.pieces[i] === undefined) out.push(i)
    return out
  }

  /** Whether piece `piece` is held. */
  has(piece: number): boolean {
    return this.pieces[piece] !== undefined
  }

  /** How many pieces are held. */
  get heldPieces(): number {
    return this.held
  }

  /**
   * Stores a piece. "bad" if the index is out of range or the data is not that piece's length (checked
   * first, so a held piece re-sent with the wrong length is still "bad"); "duplicate" if already held
   * (the first copy is kept). The data is copied: decoded messages are views into buffers that get reused.
   */
  add(piece: number, data: Uint8Array): AddResult {
    if (!Number.isSafeInteger(piece) || piece < 0 || piece >= this.pieceCount) return "bad"
    if (data.length !== this.pieceLength(piece)) return "bad"
    if (this.pieces[piece] !== undefined) return "duplicate"
    // `new Uint8Array` copies whatever `data` is; a Buffer's `slice` would be a view.
    this.pieces[piece] = new Uint8Array(data)
    this.held++
    return "ok"
  }

  get complete(): boolean {
    return this.held === this.pieceCount
  }

  /**
   * The whole metadata (a fresh buffer) if its hash equals `infoHash` (SHA-1 for 20 bytes, SHA-256 for 32:
   * a v2 info hash). If it does not, undefined, and
   * every piece is dropped: one of them is wrong and there is no telling which, so all are fetched
   * again. While incomplete, undefined and nothing is dropped.
   */
  verify(infoHash: Uint8Array): Uint8Array | undefined {
    if (!this.complete) return undefined
    const whole = new Uint8Array(this.totalSize)
    this.pieces.forEach((piece, i) => whole.set(piece!, i * metadataPieceSize))
    if (sameBytes(digestFor(infoHash, whole), infoHash)) return whole
    this.pieces.fill(undefined)
    this.held = 0
    return undefined
  }
}
