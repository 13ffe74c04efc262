/**
 * Copying text (magnet links) for the user: through the Clipboard API where the browser offers it, which
 * it does only on a secure origin (https, or this machine's own address); elsewhere, as with a daemon on
 * the network over plain http, or when the browser refuses, the text is shown in a dialog, in a field
 * already selected, for the user to copy with a key press or a long press.
 */

export interface CopyElements {
  readonly dialog: HTMLDialogElement
  readonly field: HTMLTextAreaElement
}

/** Resolves with "copied" once the clipboard holds the text, or "shown" when the dialog shows it instead. */
export type CopyText = (text: string) => Promise<"copied" | "shown">

export const makeCopyText = (e: CopyElements): CopyText => async (text) => {
  // Absent on an insecure origin, whatever the types say.
  const clipboard: Clipboard | undefined = window.isSecureContext ? navigator.clipboard : undefined
  if (clipboard !== undefined) {
    try {
      await clipboard.writeText(text)
      return "copied"
    } catch {
      // refused (no permission, the page not focused): the dialog
    }
  }
  e.field.value = text
  e.field.rows = Math.min(6, Math.max(2, text.split("\n").length + 1))
  if (!e.dialog.open) e.dialog.showModal()
  e.field.focus()
  e.field.select()
  return "shown"
}
