/**
 * Removing asks first, in a modal dialog naming the torrents, with a box to delete their data too (off
 * each time). The dialog's form closes it with the button's value: only "remove" removes.
 */
import { type Act, describe } from "./actions.js"

export interface RemoveElements {
  readonly dialog: HTMLDialogElement
  readonly title: HTMLElement
  readonly name: HTMLElement
  readonly deleteData: HTMLInputElement
}

export interface RemoveDialog {
  readonly ask: (ids: ReadonlyArray<number>, names: ReadonlyArray<string>) => void
  /** The dialog's close event. */
  readonly onClosed: () => void
}

/** Names enough to recognise a selection, not a page of them. */
const listed = (names: ReadonlyArray<string>): string =>
  names.length <= 5 ? names.join(", ") : `${names.slice(0, 4).join(", ")} and ${names.length - 4} more`

export const makeRemoveDialog = (e: RemoveElements, act: Act): RemoveDialog => {
  let asked: { readonly ids: ReadonlyArray<number>; readonly names: ReadonlyArray<string> } | null = null

  const ask = (ids: ReadonlyArray<number>, names: ReadonlyArray<string>) => {
    if (ids.length === 0) return
    asked = { ids, names }
    e.title.textContent = ids.length === 1 ? "Remove this torrent?" : `Remove these ${ids.length} torrents?`
    e.name.textContent = listed(names)
    e.deleteData.checked = false
    e.dialog.returnValue = ""
    e.dialog.showModal()
  }

  const onClosed = () => {
    const what = asked
    asked = null
    if (e.dialog.returnValue !== "remove" || what === null) return
    const deleteData = e.deleteData.checked
    void act("torrent-remove", what.ids, { "delete-local-data": deleteData }, `Removed ${describe(what.names)}${deleteData ? (what.ids.length === 1 ? " and its data." : " and their data.") : "."}`)
  }

  return { ask, onClosed }
}
