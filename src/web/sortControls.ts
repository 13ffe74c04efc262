/**
 * Choosing the order: a click on a column's header sorts by it (again: the other way), its header marked
 * with aria-sort (the style sheet draws the arrow from it); on a narrow list, where most columns are
 * hidden, a select and a direction button do the same. The choice is saved for the next visit.
 */
import { isSortKey, type Sort, toggled } from "./sorting.js"
import { saveSort } from "./sortStore.js"

export interface SortElements {
  readonly head: HTMLTableSectionElement
  readonly key: HTMLSelectElement
  readonly dir: HTMLButtonElement
}

export const makeSortControls = (e: SortElements, initial: Sort, apply: (sort: Sort) => void): void => {
  let sort = initial

  const mark = () => {
    for (const th of e.head.querySelectorAll<HTMLElement>("th[data-sort]")) {
      if (th.dataset.sort === sort.key) th.setAttribute("aria-sort", sort.dir === "asc" ? "ascending" : "descending")
      else th.removeAttribute("aria-sort")
    }
    e.key.value = sort.key
    e.dir.textContent = sort.dir === "asc" ? "\u2191" : "\u2193"
    e.dir.setAttribute("aria-label", sort.dir === "asc" ? "Ascending, click for descending" : "Descending, click for ascending")
  }

  const choose = (next: Sort) => {
    sort = next
    saveSort(sort)
    mark()
    apply(sort)
  }

  e.head.addEventListener("click", (event) => {
    const key = event.target instanceof Element ? event.target.closest<HTMLElement>("th[data-sort]")?.dataset.sort : undefined
    if (isSortKey(key)) choose(toggled(sort, key))
  })
  e.key.addEventListener("change", () => {
    if (isSortKey(e.key.value)) choose({ key: e.key.value, dir: sort.dir })
  })
  e.dir.addEventListener("click", () => choose(toggled(sort, sort.key)))
  mark()
}
