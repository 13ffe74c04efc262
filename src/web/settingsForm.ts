/**
 * The settings form's fields, each tied to one setting by its id ("set-" and the setting's name): put in
 * from what the daemon said, read back as the value the RPC takes, and compared, so that session-set is
 * sent only what the user changed. A setting the daemon did not report is disabled (it has no such
 * setting). A box that turns a limit on or off enables the field of its limit (data-enables), as in
 * Transmission's dialog.
 */
import { formatMinutes, parseMinutes } from "./format.js"
import { type SettingKey, settingKeys, type Settings, type SettingValue } from "./sessionSettings.js"

type Kind = "number" | "boolean" | "text" | "time" | "days"

const kindOf = (key: SettingKey, input: HTMLInputElement | null): Kind =>
  key === "alt-speed-time-day" ? "days"
    : input?.type === "checkbox" ? "boolean"
    : input?.type === "number" ? "number"
    : input?.type === "time" ? "time"
    : "text"

export interface SettingsForm {
  readonly fill: (s: Settings) => void
  /** The settings whose fields differ from `loaded` (only settings the daemon reported). */
  readonly changes: (loaded: Settings) => Settings
}

export const makeSettingsForm = (form: HTMLFormElement): SettingsForm => {
  const inputOf = (key: SettingKey) => form.querySelector<HTMLInputElement>(`#set-${key}`)
  const dayBoxes = () => [...form.querySelectorAll<HTMLInputElement>("#set-alt-speed-time-day input[type=checkbox]")]
  const controls = (key: SettingKey): ReadonlyArray<HTMLInputElement> =>
    key === "alt-speed-time-day" ? dayBoxes() : [inputOf(key)].flatMap((i) => (i === null ? [] : [i]))

  const read = (key: SettingKey): SettingValue | undefined => {
    const input = inputOf(key)
    switch (kindOf(key, input)) {
      case "days":
        return dayBoxes().reduce((bits, box) => (box.checked ? bits | Number(box.value) : bits), 0)
      case "boolean":
        return input?.checked
      case "number":
        return input === null || input.value.trim() === "" ? undefined : Number(input.value)
      case "time":
        return input === null ? undefined : parseMinutes(input.value)
      case "text":
        return input?.value.trim()
    }
  }

  const write = (key: SettingKey, value: SettingValue) => {
    const input = inputOf(key)
    switch (kindOf(key, input)) {
      case "days":
        for (const box of dayBoxes()) box.checked = (Number(value) & Number(box.value)) !== 0
        return
      case "boolean":
        if (input !== null) input.checked = value === true
        return
      case "time":
        if (input !== null) input.value = formatMinutes(Number(value))
        return
      default:
        if (input !== null) input.value = String(value)
    }
  }

  /** Each limit's field is editable while its box is on. */
  const follow = () => {
    for (const box of form.querySelectorAll<HTMLInputElement>("input[data-enables]")) {
      for (const id of (box.dataset.enables ?? "").split(" ")) {
        const target = form.querySelector<HTMLInputElement>(`#${id}`)
        if (target !== null && target.dataset.reported === "true") target.disabled = !box.checked
      }
    }
  }
  form.addEventListener("change", follow)

  const fill = (s: Settings) => {
    for (const key of settingKeys) {
      const value = s[key]
      for (const control of controls(key)) {
        control.disabled = value === undefined
        control.dataset.reported = String(value !== undefined)
        control.title = value === undefined ? "The daemon does not have this setting." : ""
      }
      if (value !== undefined) write(key, value)
    }
    follow()
  }

  const changes = (loaded: Settings): Settings => {
    const out: Settings = {}
    for (const key of settingKeys) {
      const before = loaded[key]
      const now = read(key)
      if (before !== undefined && now !== undefined && !Number.isNaN(now) && now !== before) out[key] = now
    }
    return out
  }

  return { fill, changes }
}
