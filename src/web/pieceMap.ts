/**
 * The detail view's map of pieces: one cell per piece, in rows as wide as the panel, green where the piece
 * is verified; cells shrink as pieces multiply. Drawn again only when the pieces, their count or the
 * panel's width change. The canvas carries what it shows as data attributes and an aria-label, for the
 * tests and for screen readers.
 */

const haveColour = "#2e8b57"
const missingColour = "#c8ccd2"

export interface PieceMap {
  /** Draws `pieces` (Transmission's base64 bitfield, BEP 3 bit order) of `count` pieces. */
  readonly draw: (pieces: string, count: number) => void
  /** Draw at the next call whatever it is given (another torrent was opened). */
  readonly forget: () => void
}

const decodeBase64 = (text: string): Uint8Array => {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

export const makePieceMap = (canvas: HTMLCanvasElement, summary: HTMLElement): PieceMap => {
  let drawn = ""

  const draw = (pieces: string, count: number) => {
    const width = Math.max(120, canvas.parentElement?.clientWidth ?? 0)
    const key = `${pieces}|${count}|${width}`
    if (key === drawn) return
    drawn = key
    const bits = decodeBase64(pieces)
    const cell = Math.max(2, Math.min(14, Math.floor(Math.sqrt((width * 160) / Math.max(count, 1)))))
    const columns = Math.max(1, Math.floor(width / cell))
    const lines = Math.ceil(count / columns)
    const gap = cell >= 6 ? 1 : 0
    const ratio = window.devicePixelRatio || 1
    canvas.width = Math.max(1, columns * cell * ratio)
    canvas.height = Math.max(1, lines * cell * ratio)
    canvas.style.width = `${columns * cell}px`
    canvas.style.height = `${lines * cell}px`
    const context = canvas.getContext("2d")
    if (context === null) throw new Error("the piece map cannot draw: no 2d canvas")
    context.setTransform(ratio, 0, 0, ratio, 0, 0)
    context.clearRect(0, 0, columns * cell, lines * cell)
    let have = 0
    for (let i = 0; i < count; i++) {
      const set = ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0
      if (set) have++
      context.fillStyle = set ? haveColour : missingColour
      context.fillRect((i % columns) * cell, Math.floor(i / columns) * cell, cell - gap, cell - gap)
    }
    canvas.dataset.pieceCount = String(count)
    canvas.dataset.have = String(have)
    canvas.dataset.columns = String(columns)
    canvas.dataset.rows = String(lines)
    canvas.dataset.cellSize = String(cell)
    canvas.setAttribute("aria-label", `Piece map: ${have} of ${count} pieces verified`)
    // No pieces yet (a magnet without its metadata): nothing to count.
    summary.textContent = count > 0 ? `${have} of ${count} pieces` : "none known yet"
  }

  return { draw, forget: () => void (drawn = "") }
}
