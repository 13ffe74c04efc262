/**
 * The state filters above the table, one button each with the number of torrents it would show (of
 * the whole list, whatever the search), the one in use pressed.
 */
import { el, setText } from "./dom.js"
import { type FilterId, filterIds, filterLabels, isFilterId } from "./states.js"

export interface FilterBar {
  readonly counts: (counts: Readonly<Record<FilterId, number>>) => void
}

export const makeFilterBar = (container: HTMLElement, choose: (filter: FilterId) => void): FilterBar => {
  const countNodes = new Map<FilterId, HTMLElement>()
  const buttons = filterIds.map((id) => {
    const button = el("button", "filter")
    button.type = "button"
    button.dataset.filter = id
    button.setAttribute("aria-pressed", String(id === "all"))
    const count = el("span", "count", "0")
    button.append(el("span", "label", filterLabels[id]), " ", count)
    countNodes.set(id, count)
    container.append(button)
    return button
  })

  container.addEventListener("click", (event) => {
    const id = event.target instanceof Element ? event.target.closest<HTMLElement>("button.filter")?.dataset.filter : undefined
    if (!isFilterId(id)) return
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.filter === id))
    choose(id)
  })

  return {
    counts: (counts) => {
      for (const id of filterIds) {
        const node = countNodes.get(id)
        if (node !== undefined) setText(node, String(counts[id]))
      }
    }
  }
}
