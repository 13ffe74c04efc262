/**
 * Removing asks first, in a modal dialog naming the torrent, with a box to delete its data too (off each
 * time). The dialog's form closes it with the button's value: only "remove" removes.
 */
import type { Act } from "./actions.js"

export interface RemoveElements {
  readonly dialog: HTMLDialogElement
  readonly name: HTMLElement
  readonly deleteData: HTMLInputElement
}

export interface RemoveDialog {
  readonly ask: (id: number, name: string) => void
  /** The dialog's close event. */
  readonly onClosed: () => void
}

export const makeRemoveDialog = (e: RemoveElements, act: Act): RemoveDialog => {
  let removeId: number | null = null

  const ask = (id: number, name: string) => {
    removeId = id
    e.name.textContent = name
    e.deleteData.checked = false
    e.dialog.returnValue = ""
    e.dialog.showModal()
  }

  const onClosed = () => {
    const id = removeId
    removeId = null
    if (e.dialog.returnValue !== "remove" || id === null) return
    const deleteData = e.deleteData.checked
    const name = e.name.textContent ?? ""
    void act("torrent-remove", id, { "delete-local-data": deleteData }, `Removed ${name}${deleteData ? " and its data." : "."}`)
  }

  return { ask, onClosed }
}
