/**
 * The detail view of one torrent: its facts, piece map and tables. Opening it marks the torrent's row and
 * asks for a poll at once (the detail's fields come with the next one); on a wide screen it sits beside
 * the list, on a phone it replaces it (the style sheet's detail-open). Closing it gives the focus back to
 * the torrent's name in the list.
 */
import { type DetailTables, fillTables } from "./detailTables.js"
import { formatBytes, formatPercent } from "./format.js"
import type { TorrentList } from "./list.js"
import type { PieceMap } from "./pieceMap.js"
import { type DetailTorrent, statusWord } from "./torrents.js"

export interface DetailElements {
  readonly section: HTMLElement
  readonly close: HTMLButtonElement
  readonly name: HTMLElement
  readonly status: HTMLElement
  readonly hash: HTMLElement
  readonly size: HTMLElement
  readonly pieces: HTMLElement
  readonly dir: HTMLElement
  readonly error: HTMLElement
  readonly tables: DetailTables
}

export interface Detail {
  /** The id of the torrent shown, null when the view is closed. */
  readonly openId: () => number | null
  readonly open: (id: number) => void
  readonly close: () => void
  /** Shows the open torrent's detail as the daemon gave it. */
  readonly show: (t: DetailTorrent) => void
  /** Draws the piece map again for the panel's width (after a resize). */
  readonly redraw: () => void
}

export const makeDetail = (e: DetailElements, list: TorrentList, pieceMap: PieceMap, refresh: () => void): Detail => {
  let openId: number | null = null
  let shown: DetailTorrent | null = null

  const show = (t: DetailTorrent) => {
    shown = t
    e.name.textContent = t.name
    e.status.textContent = `${statusWord(t)}, ${formatPercent(t.percentDone)}`
    e.hash.textContent = t.hashString
    e.size.textContent = t.totalSize > 0 ? formatBytes(t.totalSize) : "unknown"
    e.pieces.textContent = t.pieceCount > 0 ? `${t.pieceCount} \u00d7 ${formatBytes(t.pieceSize)}` : "no metadata yet"
    e.dir.textContent = t.downloadDir
    e.error.textContent = t.error ? t.errorString || "error" : "none"
    pieceMap.draw(t.pieces, t.pieceCount)
    fillTables(e.tables, t)
  }

  const open = (id: number) => {
    openId = id
    pieceMap.forget()
    shown = null
    e.name.textContent = list.nameOf(id) ?? ""
    e.section.hidden = false
    document.body.classList.add("detail-open")
    list.markOpen(id)
    e.close.focus()
    refresh()
  }

  const close = () => {
    const id = openId
    openId = null
    e.section.hidden = true
    document.body.classList.remove("detail-open")
    list.markOpen(null)
    if (id !== null) list.focusName(id)
  }

  const redraw = () => {
    if (openId !== null && shown !== null) pieceMap.draw(shown.pieces, shown.pieceCount)
  }

  return { openId: () => openId, open, close, show, redraw }
}
