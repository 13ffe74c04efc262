/**
 * The detail view of one torrent: its facts (its category and tags among them, the tags editable:
 * tagEditor.ts), its actions, piece map and tables. Opening it marks the torrent's row and asks for a poll
 * at once (the detail's fields come with the next one); on a wide screen it sits beside the list, on a
 * phone it replaces it (the style sheet's detail-open). Closing it gives the focus back to the torrent's
 * name in the list.
 */
import { isCommandName, type RunCommand } from "./commands.js"
import { type DetailTables, fillTables } from "./detailTables.js"
import { formatBytes, formatDate, formatPercent, formatRatio } from "./format.js"
import type { PieceMap } from "./pieceMap.js"
import type { TorrentTable } from "./table.js"
import type { TagEditor } from "./tagEditor.js"
import { type DetailTorrent, lacksMetadata, metadataWord, statusWord } from "./torrents.js"

export interface DetailElements {
  readonly section: HTMLElement
  readonly close: HTMLButtonElement
  readonly actions: HTMLElement
  readonly name: HTMLElement
  readonly status: HTMLElement
  readonly hash: HTMLElement
  readonly size: HTMLElement
  readonly ratio: HTMLElement
  readonly added: HTMLElement
  readonly pieces: HTMLElement
  readonly dir: HTMLElement
  readonly error: HTMLElement
  readonly category: HTMLElement
  readonly tags: TagEditor
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

const facts = (e: DetailElements, t: DetailTorrent) => {
  const fetching = lacksMetadata(t)
  e.name.textContent = t.name
  e.status.textContent = `${statusWord(t)}, ${fetching ? metadataWord(t) : formatPercent(t.percentDone)}`
  e.hash.textContent = t.hashString
  e.size.textContent = fetching ? "unknown until the metadata is in" : formatBytes(t.totalSize)
  e.ratio.textContent = `${formatRatio(t.uploadRatio)} (${formatBytes(t.uploadedEver)} uploaded, ${formatBytes(t.downloadedEver)} downloaded)`
  e.added.textContent = formatDate(t.addedDate)
  e.pieces.textContent = t.pieceCount > 0 ? `${t.pieceCount} \u00d7 ${formatBytes(t.pieceSize)}` : "no metadata yet"
  e.dir.textContent = t.downloadDir
  e.error.textContent = t.error ? t.errorString || "error" : "none"
  e.category.textContent = t.category || "none"
  e.tags.show(t)
}

export const makeDetail = (e: DetailElements, table: TorrentTable, pieceMap: PieceMap, run: RunCommand, refresh: () => void): Detail => {
  let openId: number | null = null
  let shown: DetailTorrent | null = null

  const show = (t: DetailTorrent) => {
    shown = t
    facts(e, t)
    for (const button of e.actions.querySelectorAll<HTMLButtonElement>("button[data-command]")) {
      const command = button.dataset.command
      // Nothing to verify before the metadata says what the data should be.
      button.disabled = (command === "start" && t.status !== 0) || (command === "stop" && t.status === 0) ||
        (command === "verify" && lacksMetadata(t))
    }
    pieceMap.draw(t.pieces, t.pieceCount)
    fillTables(e.tables, t)
  }

  const open = (id: number) => {
    openId = id
    pieceMap.forget()
    shown = null
    // What the list knows of it shows at once; the rest with the next poll.
    const listed = table.torrent(id)
    e.tags.forget()
    e.name.textContent = listed?.name ?? ""
    e.category.textContent = listed === undefined ? "" : listed.category || "none"
    if (listed !== undefined) e.tags.show(listed)
    e.section.hidden = false
    document.body.classList.add("detail-open")
    table.markOpen(id)
    e.close.focus()
    refresh()
  }

  const close = () => {
    const id = openId
    openId = null
    e.section.hidden = true
    document.body.classList.remove("detail-open")
    table.markOpen(null)
    if (id !== null) table.focusName(id)
  }

  // The buttons act on the torrent as last shown (its magnet link with it, to copy without asking again).
  e.actions.addEventListener("click", (event) => {
    const command = event.target instanceof Element ? event.target.closest<HTMLElement>("button[data-command]")?.dataset.command : undefined
    const t = shown ?? (openId === null ? undefined : table.torrent(openId))
    if (isCommandName(command) && t !== undefined) run(command, [t])
  })

  const redraw = () => {
    if (openId !== null && shown !== null) pieceMap.draw(shown.pieces, shown.pieceCount)
  }

  return { openId: () => openId, open, close, show, redraw }
}
