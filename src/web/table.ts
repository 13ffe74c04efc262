/**
 * The table of torrents: the rows the state filter, the category and tag filters and the name search keep, in the order chosen, with
 * the picked rows marked and the header's box telling whether all, some or none of them are picked. It
 * keeps the last list the daemon sent, so that a filter, a search, a sort or a pick redraws at once
 * without asking the daemon. Rows are made once per torrent and moved, never rebuilt; the ones hidden
 * are taken out of the page and not updated until shown again.
 */
import { setText } from "./dom.js"
import { inLabels, type LabelFilter } from "./labels.js"
import { makeRow, type Row, updateRow } from "./row.js"
import type { Selection } from "./selection.js"
import { comparator, type Sort } from "./sorting.js"
import { type FilterId, inFilter, nameMatcher } from "./states.js"
import type { ListTorrent } from "./torrents.js"

export interface TableElements {
  readonly body: HTMLTableSectionElement
  readonly pickAll: HTMLInputElement
  readonly empty: HTMLElement
}

/** What the controls around the table need after each drawing. */
export interface Drawn {
  readonly all: ReadonlyArray<ListTorrent>
  readonly shown: ReadonlyArray<ListTorrent>
  readonly picked: ReadonlyArray<ListTorrent>
}

export interface TorrentTable {
  /** The daemon's list, with the open torrent's id. */
  readonly show: (torrents: ReadonlyArray<ListTorrent>, openId: number | null) => void
  readonly setFilter: (filter: FilterId) => void
  readonly setLabels: (filter: LabelFilter) => void
  readonly setSearch: (query: string) => void
  readonly setSort: (sort: Sort) => void
  /** Draws again from the list kept (after a pick). */
  readonly redraw: () => void
  /** The ids shown, in their order. */
  readonly shownIds: () => ReadonlyArray<number>
  readonly torrent: (id: number) => ListTorrent | undefined
  readonly markOpen: (id: number | null) => void
  readonly focusName: (id: number) => void
}

export const makeTorrentTable = (
  e: TableElements,
  selection: Selection,
  sort: Sort,
  labels: LabelFilter,
  onDrawn: (d: Drawn) => void
): TorrentTable => {
  const rows = new Map<number, Row>()
  let torrents: ReadonlyArray<ListTorrent> = []
  let byId = new Map<number, ListTorrent>()
  let filter: FilterId = "all"
  let labelFilter = labels
  let matches = nameMatcher("")
  let order = sort
  let openId: number | null = null
  let shownIds: ReadonlyArray<number> = []

  const rowOf = (id: number): Row => {
    const known = rows.get(id)
    if (known !== undefined) return known
    const made = makeRow(id)
    rows.set(id, made)
    return made
  }

  const place = (shown: ReadonlyArray<ListTorrent>) => {
    shown.forEach((t, index) => {
      const row = rowOf(t.id)
      updateRow(row, t, t.id === openId, selection.has(t.id))
      if (e.body.children[index] !== row.root) e.body.insertBefore(row.root, e.body.children[index] ?? null)
    })
    while (e.body.children.length > shown.length) e.body.lastElementChild?.remove()
  }

  const redraw = () => {
    const shown = torrents.filter((t) => inFilter(filter, t) && inLabels(labelFilter, t) && matches(t.name)).sort(comparator(order))
    shownIds = shown.map((t) => t.id)
    selection.keepOnly(shownIds)
    place(shown)
    const pickedCount = selection.count()
    e.pickAll.checked = shown.length > 0 && pickedCount === shown.length
    e.pickAll.indeterminate = pickedCount > 0 && pickedCount < shown.length
    e.pickAll.disabled = shown.length === 0
    e.empty.hidden = shown.length > 0
    setText(e.empty, torrents.length === 0 ? "No torrents yet." : "No torrent matches.")
    onDrawn({ all: torrents, shown, picked: shown.filter((t) => selection.has(t.id)) })
  }

  const show = (list: ReadonlyArray<ListTorrent>, open: number | null) => {
    torrents = list
    byId = new Map(list.map((t) => [t.id, t]))
    openId = open
    for (const id of rows.keys()) {
      if (!byId.has(id)) {
        rows.get(id)?.root.remove()
        rows.delete(id)
      }
    }
    redraw()
  }

  return {
    show,
    setFilter: (f) => {
      filter = f
      redraw()
    },
    setLabels: (f) => {
      labelFilter = f
      redraw()
    },
    setSearch: (query) => {
      matches = nameMatcher(query)
      redraw()
    },
    setSort: (s) => {
      order = s
      redraw()
    },
    redraw,
    shownIds: () => shownIds,
    torrent: (id) => byId.get(id),
    markOpen: (id) => {
      openId = id
      rows.forEach((row, rowId) => row.root.classList.toggle("open", rowId === id))
    },
    focusName: (id) => rows.get(id)?.name.focus()
  }
}
