/**
 * The order chosen, kept in localStorage for the next visit; a stored one that no longer makes sense (an
 * old page's) gives way to the default.
 */
import { defaultSort, isSortKey, type Sort } from "./sorting.js"

const storageKey = "bt-effect.sort"

/** The order kept from the last visit (storage may be refused, as in some private windows: then the default). */
export const loadSort = (): Sort => {
  try {
    const stored: unknown = JSON.parse(window.localStorage.getItem(storageKey) ?? "null")
    if (typeof stored === "object" && stored !== null && "key" in stored && "dir" in stored) {
      const { dir, key } = stored
      if (isSortKey(key) && (dir === "asc" || dir === "desc")) return { key, dir }
    }
  } catch {
    // unreadable or not JSON: the default
  }
  return defaultSort
}

export const saveSort = (sort: Sort): void => {
  try {
    window.localStorage.setItem(storageKey, JSON.stringify(sort))
  } catch {
    // storage refused: the order lasts this visit
  }
}
