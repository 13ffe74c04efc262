/**
 * The rows picked for an action, by torrent id, as in a file manager: a box toggles one row, a
 * shift-click sets the rows from the last one clicked to this one as this one now is, and the header's
 * box picks or drops every row shown. Only rows shown stay picked (keepOnly after each change of the
 * list), so that an action never reaches a torrent the filter or search hides. No DOM: the table draws it.
 */

export interface Selection {
  readonly has: (id: number) => boolean
  readonly count: () => number
  /** The ids picked, in the order of `shown`. */
  readonly picked: (shown: ReadonlyArray<number>) => ReadonlyArray<number>
  /** A row's box clicked, now `checked`; `range` for a shift-click. */
  readonly click: (id: number, checked: boolean, range: boolean, shown: ReadonlyArray<number>) => void
  /** The header's box: every row shown picked (true) or dropped. */
  readonly setAll: (shown: ReadonlyArray<number>, checked: boolean) => void
  readonly keepOnly: (shown: ReadonlyArray<number>) => void
}

export const makeSelection = (): Selection => {
  const ids = new Set<number>()
  let anchor: number | null = null

  const click = (id: number, checked: boolean, range: boolean, shown: ReadonlyArray<number>) => {
    const from = anchor === null ? -1 : shown.indexOf(anchor)
    const to = shown.indexOf(id)
    const span = range && from >= 0 && to >= 0 ? shown.slice(Math.min(from, to), Math.max(from, to) + 1) : [id]
    for (const each of span) {
      if (checked) ids.add(each)
      else ids.delete(each)
    }
    anchor = id
  }

  const setAll = (shown: ReadonlyArray<number>, checked: boolean) => {
    for (const id of shown) {
      if (checked) ids.add(id)
      else ids.delete(id)
    }
    anchor = null
  }

  const keepOnly = (shown: ReadonlyArray<number>) => {
    if (ids.size === 0) return
    const visible = new Set(shown)
    for (const id of ids) if (!visible.has(id)) ids.delete(id)
    if (anchor !== null && !visible.has(anchor)) anchor = null
  }

  return {
    has: (id) => ids.has(id),
    count: () => ids.size,
    picked: (shown) => shown.filter((id) => ids.has(id)),
    click,
    setAll,
    keepOnly
  }
}
