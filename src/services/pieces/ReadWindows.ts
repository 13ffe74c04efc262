/**
 * The read windows of a torrent's readers (a player on `stream`'s URL, a library read stream): each reader
 * wants the pieces from its read position on, the nearest first. This book turns the windows into the
 * picker's deadlines (Deadlines.ts): a piece's deadline is its place in the nearest window that holds it
 * (0 under a read position, 1 for the next piece, ...), so that each reader's next pieces are critical,
 * whoever else reads. A window moves as its reader reads or seeks, and its deadlines go with it when the
 * reader closes; the pieces past the window come in the picker's own order (rarest first).
 */
import type { Picker } from "./PiecePicker.js"

/** How far ahead of a read the pieces get deadlines: this many bytes, at least `minWindowPieces` pieces
 *  and at most `maxWindowPieces` (a few seconds of a film's bitrate; more would be the whole swarm's work). */
export const windowBytes = 8 * 1024 * 1024
export const minWindowPieces = 2
export const maxWindowPieces = 64

export interface Reader {
  /** The reader is at `position` and will read up to `end` (torrent byte offsets, `end` included). */
  readonly moveTo: (position: number, end: number) => void
  readonly close: () => void
}

export class ReadWindows {
  /** Each open reader's window: its pieces, nearest first. */
  private readonly windows = new Set<Array<number>>()

  constructor(private readonly picker: Picker, private readonly pieceLength: number, private readonly pieceCount: number) {}

  open(): Reader {
    let window: Array<number> = []
    this.windows.add(window)
    return {
      moveTo: (position, end) => {
        const before = window
        this.windows.delete(before)
        window = this.windowAt(position, end)
        this.windows.add(window)
        this.update([...before, ...window])
      },
      close: () => {
        this.windows.delete(window)
        this.update(window)
      }
    }
  }

  private windowAt(position: number, end: number): Array<number> {
    const first = Math.max(0, Math.floor(position / this.pieceLength))
    const count = Math.min(maxWindowPieces, Math.max(minWindowPieces, Math.ceil(windowBytes / this.pieceLength)))
    const last = Math.min(this.pieceCount - 1, Math.floor(Math.max(position, end) / this.pieceLength), first + count - 1)
    const out: Array<number> = []
    for (let piece = first; piece <= last; piece++) out.push(piece)
    return out
  }

  /** The deadlines of `pieces` as the open windows now say. */
  private update(pieces: ReadonlyArray<number>): void {
    for (const piece of pieces) {
      let deadline = Infinity
      for (const window of this.windows) {
        const at = window.indexOf(piece)
        if (at >= 0 && at < deadline) deadline = at
      }
      if (deadline === Infinity) this.picker.clearDeadline(piece)
      else this.picker.setDeadline(piece, deadline)
    }
  }
}
