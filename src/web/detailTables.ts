/**
 * The detail view's tables (files, peers, trackers): peers and trackers refilled whole at every poll from
 * the open torrent, its cell texts put in as text; the files are fileList.ts's (rows kept, with their
 * controls). A table carries its row count as data-rows.
 */
import { el } from "./dom.js"
import { fillFiles } from "./fileList.js"
import { formatPercent, formatRate } from "./format.js"
import type { DetailTorrent, TrackerStat } from "./torrents.js"

type Cells = ReadonlyArray<string | number | HTMLElement>

const fillTable = <R>(table: HTMLTableElement, records: ReadonlyArray<R>, cells: (record: R) => Cells) => {
  const fresh = el("tbody")
  for (const record of records) {
    const tr = el("tr")
    for (const cell of cells(record)) {
      const td = el("td")
      if (typeof cell === "object") td.append(cell)
      else td.textContent = String(cell)
      tr.append(td)
    }
    fresh.append(tr)
  }
  const body = table.tBodies[0]
  if (body === undefined) table.append(fresh)
  else body.replaceWith(fresh)
  table.dataset.rows = String(records.length)
}

const peerCells = (p: DetailTorrent["peers"][number]): Cells => {
  const host = p.address.includes(":") ? `[${p.address}]` : p.address
  return [`${host}:${p.port}`, p.clientName || "\u2013", formatRate(p.rateToClient), formatRate(p.rateToPeer), formatPercent(p.progress)]
}

/** Back from Transmission's trackerStats to the words a person reads. */
const trackerCells = (s: TrackerStat): Cells => {
  const state = s.lastAnnounceSucceeded ? "working"
    : s.hasAnnounced ? "failed"
    : s.announceState === 1 || s.announceState === 2 ? "waiting" : "idle"
  const error = s.hasAnnounced && !s.lastAnnounceSucceeded ? s.lastAnnounceResult : ""
  const peers = typeof s.lastAnnouncePeerCount === "number" && s.lastAnnouncePeerCount >= 0 ? s.lastAnnouncePeerCount : ""
  return [s.announce, state, peers, error || "\u2013"]
}

export interface DetailTables {
  readonly files: HTMLTableElement
  readonly peers: HTMLTableElement
  readonly trackers: HTMLTableElement
}

export const fillTables = (tables: DetailTables, t: DetailTorrent): void => {
  fillFiles(tables.files, t)
  fillTable(tables.peers, t.peers, peerCells)
  fillTable(tables.trackers, t.trackerStats, trackerCells)
}
