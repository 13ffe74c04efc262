/**
 * Piece deadlines (libtorrent's `set_piece_deadline`): pieces someone is waiting to read (a player
 * streaming a file), each with a deadline, a number where lower is sooner. The picker (PickerState.ts) asks
 * for them before any other piece, the soonest first, and duplicates the requests of the most urgent ones
 * (`critical`) to several peers as in endgame, so that the fastest peer's answer wins and one slow peer
 * cannot hold a player.
 *
 * A few dozen at a time (a read window per reader, ReadWindows.ts): kept in a map, sorted when read after
 * a change.
 */

/** Deadlines below this are critical: their blocks may be asked of several peers at once. */
export const criticalDeadline = 2

export class Deadlines {
  private readonly byPiece = new Map<number, number>()
  private sorted: Array<number> = []
  private dirty = false
  /** Counts changes: a peer session that saw another count has new urgent work to look at. */
  version = 0

  get size(): number {
    return this.byPiece.size
  }

  has(piece: number): boolean {
    return this.byPiece.has(piece)
  }

  /** The piece's deadline is near: its blocks go to several peers, and ahead of other requests. */
  isCritical(piece: number): boolean {
    const deadline = this.byPiece.get(piece)
    return deadline !== undefined && deadline < criticalDeadline
  }

  set(piece: number, deadline: number): void {
    if (this.byPiece.get(piece) === deadline) return
    this.byPiece.set(piece, deadline)
    this.dirty = true
    this.version++
  }

  delete(piece: number): void {
    if (!this.byPiece.delete(piece)) return
    this.dirty = true
    this.version++
  }

  /** The pieces, soonest first (lower piece first among equal deadlines). */
  inOrder(): ReadonlyArray<number> {
    if (this.dirty) {
      this.sorted = [...this.byPiece.keys()].sort((a, b) => this.byPiece.get(a)! - this.byPiece.get(b)! || a - b)
      this.dirty = false
    }
    return this.sorted
  }
}
