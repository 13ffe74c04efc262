/**
 * The category and tag filters above the table: a select each (All, Uncategorized or Untagged, then each
 * category or tag seen among the torrents, with how many torrents each would keep, of the whole list
 * whatever the other filters), combined with the state filter and the search. The choice is saved for the
 * next visit. The pair is hidden while no torrent has a category or a tag and neither filter is in use:
 * nothing to choose from.
 */
import { el } from "./dom.js"
import {
  type ChoiceCounts, categoryCounts, choiceOf, choiceValue, type LabelChoice, type LabelFilter, sameChoice, tagCounts
} from "./labels.js"
import { saveLabelFilter } from "./labelStore.js"
import type { ListTorrent } from "./torrents.js"

export interface LabelFilterElements {
  /** What holds both selects and their labels. */
  readonly box: HTMLElement
  readonly category: HTMLSelectElement
  readonly tag: HTMLSelectElement
}

export interface LabelFilters {
  /** The torrents the daemon listed: the choices and their counts from them. */
  readonly counts: (torrents: ReadonlyArray<Pick<ListTorrent, "category" | "tags">>) => void
}

interface Words {
  readonly all: string
  readonly none: string
}

const words: { readonly category: Words; readonly tag: Words } = {
  category: { all: "All", none: "Uncategorized" },
  tag: { all: "All", none: "Untagged" }
}

/** The options of one select: value and text. A name chosen but no longer seen stays, with no torrent. */
const optionsOf = (counts: ChoiceCounts, chosen: LabelChoice, w: Words): ReadonlyArray<readonly [string, string]> => {
  const named = [...counts.names]
  if (chosen.kind === "one" && !named.some(([name]) => name === chosen.name)) named.push([chosen.name, 0])
  return [
    ["all", `${w.all} (${counts.all})`],
    ["none", `${w.none} (${counts.none})`],
    ...named.map(([name, n]) => [`=${name}`, `${name} (${n})`] as const)
  ]
}

/** Fills a select with its options, only when they changed (a list redrawn every second keeps a select opened still). */
const fill = (select: HTMLSelectElement, options: ReadonlyArray<readonly [string, string]>, chosen: LabelChoice) => {
  const same = select.options.length === options.length &&
    options.every(([value, text], i) => select.options[i]?.value === value && select.options[i]?.text === text)
  if (!same) {
    select.replaceChildren(...options.map(([value, text]) => {
      const option = el("option", "", text)
      option.value = value
      return option
    }))
  }
  select.value = choiceValue(chosen)
}

export const makeLabelFilters = (e: LabelFilterElements, initial: LabelFilter, apply: (filter: LabelFilter) => void): LabelFilters => {
  let filter = initial
  let seen = false

  const choose = (next: LabelFilter) => {
    if (sameChoice(next.category, filter.category) && sameChoice(next.tag, filter.tag)) return
    filter = next
    saveLabelFilter(filter)
    apply(filter)
  }
  e.category.addEventListener("change", () => choose({ ...filter, category: choiceOf(e.category.value) ?? filter.category }))
  e.tag.addEventListener("change", () => choose({ ...filter, tag: choiceOf(e.tag.value) ?? filter.tag }))

  return {
    counts: (torrents) => {
      const categories = categoryCounts(torrents)
      const tags = tagCounts(torrents)
      seen = seen || categories.names.length > 0 || tags.names.length > 0
      e.box.hidden = !seen && filter.category.kind === "all" && filter.tag.kind === "all"
      fill(e.category, optionsOf(categories, filter.category, words.category), filter.category)
      fill(e.tag, optionsOf(tags, filter.tag, words.tag), filter.tag)
    }
  }
}
