/**
 * The settings panel, a modal dialog: it loads the daemon's settings with session-get when opened, and
 * on Save sends session-set only the settings changed. A daemon that refuses (a setting it cannot carry
 * out, such as DHT on a daemon started without it: it answers "not supported: ... (nothing was changed)")
 * is quoted in the panel, which stays open with the user's values to correct; nothing is taken as saved.
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"
import type { Settings } from "./sessionSettings.js"
import { loadSettings } from "./settingsLoad.js"
import type { SettingsForm } from "./settingsForm.js"

export interface SettingsElements {
  readonly dialog: HTMLDialogElement
  readonly form: HTMLFormElement
  readonly message: HTMLElement
  readonly save: HTMLButtonElement
  readonly cancel: HTMLButtonElement
}

export interface SettingsPanel {
  readonly open: () => Promise<void>
}

export const makeSettingsPanel = (e: SettingsElements, fields: SettingsForm, say: Say, saved: () => void): SettingsPanel => {
  let loaded: Settings | null = null

  const tell = (text: string, isError: boolean) => {
    e.message.textContent = text
    e.message.classList.toggle("error", isError)
  }

  const open = async () => {
    loaded = null
    e.save.disabled = true
    tell("Loading the daemon's settings\u2026", false)
    if (!e.dialog.open) e.dialog.showModal()
    try {
      loaded = await loadSettings()
      fields.fill(loaded)
      e.save.disabled = false
      tell("", false)
    } catch (err) {
      tell(`Cannot read the settings: ${errorText(err)}`, true)
    }
  }

  const submit = async (event: Event) => {
    event.preventDefault()
    if (loaded === null || !e.form.reportValidity()) return
    const changed = fields.changes(loaded)
    const names = Object.keys(changed)
    if (names.length === 0) {
      e.dialog.close()
      say("No setting changed.", false)
      return
    }
    e.save.disabled = true
    tell("Saving\u2026", false)
    try {
      await rpc("session-set", changed)
      loaded = { ...loaded, ...changed }
      e.dialog.close()
      say(`Settings saved (${names.length === 1 ? "1 change" : `${names.length} changes`}).`, false)
      saved()
    } catch (err) {
      tell(`The daemon refused: ${errorText(err)}`, true)
    }
    e.save.disabled = false
  }

  e.form.addEventListener("submit", (event) => void submit(event))
  e.cancel.addEventListener("click", () => e.dialog.close())
  return { open }
}
