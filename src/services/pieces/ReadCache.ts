/**
 * The memory that pieces read for peers may hold (PieceReader), one budget for every torrent that shares
 * it: the daemon's torrents share one, a lone `seed` or `download` has its own. Pieces leave least
 * recently used first, whichever torrent they belong to; a pinned piece (being written to a socket) stays
 * until unpinned.
 *
 * Why shared: with a budget per torrent, a daemon whose 200 torrents had each served one leecher held
 * every piece it had read (the scale bench: 801 MB resident after 200 leechers downloaded 655 MB, against
 * 165 MB before), since a torrent's cache is only trimmed by its own reads.
 *
 * The buffers of pieces that leave are kept for reuse up to `spareBytes`, also shared: fresh memory costs
 * page faults, which on a seeder reading every piece were a large part of its work.
 */

/** Pieces kept however large (the most recently used). */
const keptAlways = 2

/** A piece held: its bytes, its pins, and how its torrent forgets it. */
export interface CachedPiece {
  readonly data: Uint8Array
  pins: number
  /** Called when the piece leaves the cache: its torrent no longer finds it. */
  readonly forget: () => void
}

export class ReadCache {
  /** Least recently used first. */
  private readonly held = new Set<CachedPiece>()
  private heldBytes = 0
  private readonly spares = new Map<number, Array<Uint8Array>>()
  private spareTotal = 0

  constructor(
    /** Bytes of unpinned pieces kept, across every torrent sharing the cache. */
    readonly budgetBytes: number,
    /** Bytes of buffers kept for reuse once their pieces left. */
    readonly spareBytes: number = Math.min(budgetBytes, 4 * 1024 * 1024)
  ) {}

  /** Bytes of pieces held now (pinned ones included). */
  get bytes(): number {
    return this.heldBytes
  }

  /** A buffer of `size` bytes: a spare one, or fresh memory. */
  buffer(size: number): Uint8Array {
    const spare = this.spares.get(size)?.pop()
    if (spare === undefined) return new Uint8Array(size)
    this.spareTotal -= size
    return spare
  }

  /** Holds a piece just read, as the most recently used. */
  add(piece: CachedPiece): void {
    this.held.add(piece)
    this.heldBytes += piece.data.length
    this.trim()
  }

  /** Marks a piece as just used. */
  touch(piece: CachedPiece): void {
    if (!this.held.delete(piece)) return
    this.held.add(piece)
  }

  /**
   * Lets unpinned pieces go, least recently used first, until the budget holds. The two most recent stay
   * whatever their size: with pieces larger than the budget, every batch of blocks would read its piece
   * again.
   */
  trim(): void {
    for (const piece of this.held) {
      if (this.heldBytes <= this.budgetBytes || this.held.size <= keptAlways) return
      if (piece.pins > 0) continue
      this.held.delete(piece)
      this.heldBytes -= piece.data.length
      piece.forget()
      this.keepSpare(piece.data)
    }
  }

  /** Lets every unpinned piece of a torrent go (it stopped); `owns` tells its pieces. */
  release(owns: (piece: CachedPiece) => boolean): void {
    for (const piece of this.held) {
      if (piece.pins > 0 || !owns(piece)) continue
      this.held.delete(piece)
      this.heldBytes -= piece.data.length
      piece.forget()
    }
  }

  private keepSpare(data: Uint8Array): void {
    if (this.spareTotal + data.length > this.spareBytes) return
    const list = this.spares.get(data.length) ?? []
    list.push(data)
    this.spares.set(data.length, list)
    this.spareTotal += data.length
  }
}
