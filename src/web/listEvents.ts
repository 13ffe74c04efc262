/**
 * The table's events: a row's box picks it (with Shift, the rows from the last one clicked), the
 * header's box picks every row shown, a click elsewhere on a row opens its detail, and the search box
 * narrows the rows as one types.
 */
import type { Selection } from "./selection.js"
import type { TorrentTable } from "./table.js"

export interface ListEventElements {
  readonly body: HTMLTableSectionElement
  readonly pickAll: HTMLInputElement
  readonly search: HTMLInputElement
}

export interface ListEventTargets {
  readonly table: TorrentTable
  readonly selection: Selection
  readonly open: (id: number) => void
}

export const wireList = (e: ListEventElements, { open, selection, table }: ListEventTargets): void => {
  e.body.addEventListener("click", (event) => {
    if (!(event.target instanceof Element)) return
    const row = event.target.closest<HTMLElement>("tr.torrent")
    if (row === null) return
    const id = Number(row.dataset.id)
    if (event.target instanceof HTMLInputElement && event.target.dataset.action === "pick") {
      selection.click(id, event.target.checked, event.shiftKey, table.shownIds())
      table.redraw()
      return
    }
    // A click that ends a text selection (a name being copied) is not a click on the row.
    if (event.target.closest(".col-pick") !== null || (window.getSelection()?.toString() ?? "") !== "") return
    open(id)
  })
  e.pickAll.addEventListener("change", () => {
    selection.setAll(table.shownIds(), e.pickAll.checked)
    table.redraw()
  })
  e.search.addEventListener("input", () => table.setSearch(e.search.value))
}
