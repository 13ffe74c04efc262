/**
 * The category and tag filters chosen, kept in localStorage for the next visit as the order is
 * (sortStore.ts); a stored choice that no longer makes sense (an old page's) gives way to All. A category
 * or tag chosen stays chosen while no torrent has it (its filter then keeps none), as the user left it.
 */
import { anyLabel, choiceOf, choiceValue, type LabelFilter, noLabelFilter } from "./labels.js"

const storageKey = "bt-effect.labels"

/** The filters kept from the last visit (storage may be refused, as in some private windows: then All). */
export const loadLabelFilter = (): LabelFilter => {
  try {
    const stored: unknown = JSON.parse(window.localStorage.getItem(storageKey) ?? "null")
    if (typeof stored === "object" && stored !== null && "category" in stored && "tag" in stored) {
      return { category: choiceOf(stored.category) ?? anyLabel, tag: choiceOf(stored.tag) ?? anyLabel }
    }
  } catch {
    // unreadable or not JSON: All
  }
  return noLabelFilter
}

export const saveLabelFilter = (filter: LabelFilter): void => {
  try {
    window.localStorage.setItem(storageKey, JSON.stringify({ category: choiceValue(filter.category), tag: choiceValue(filter.tag) }))
  } catch {
    // storage refused: the choice lasts this visit
  }
}
