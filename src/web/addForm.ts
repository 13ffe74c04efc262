/**
 * The add form: .torrent files (sent as base64 metainfo) and a magnet link or URL, added stopped when
 * asked. Each torrent is added on its own, so that one refused does not keep the others out; the status
 * line then says what became of each.
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"
import type { Added } from "./torrents.js"

export interface AddElements {
  readonly file: HTMLInputElement
  readonly magnet: HTMLInputElement
  readonly paused: HTMLInputElement
  readonly button: HTMLButtonElement
}

interface Outcome {
  readonly ok: boolean
  readonly text: string
}

const toBase64 = (buffer: ArrayBuffer): string => {
  const bytes = new Uint8Array(buffer)
  const chunks: Array<string> = []
  for (let i = 0; i < bytes.length; i += 0x8000) chunks.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)))
  return btoa(chunks.join(""))
}

const addOne = async (args: object, label: string): Promise<Outcome> => {
  try {
    const added = await rpc<Added>("torrent-add", args)
    const duplicate = added["torrent-duplicate"]
    if (duplicate !== undefined) return { ok: true, text: `Already there: ${duplicate.name}` }
    return { ok: true, text: `Added ${added["torrent-added"]?.name ?? label}` }
  } catch (e) {
    return { ok: false, text: `Cannot add ${label}: ${errorText(e)}` }
  }
}

/** The form's submit handler. */
export const makeAddForm = (e: AddElements, say: Say, refresh: () => void) => async (event: Event): Promise<void> => {
  event.preventDefault()
  const magnet = e.magnet.value.trim()
  const paused = e.paused.checked
  const files = Array.from(e.file.files ?? [])
  if (files.length === 0 && magnet === "") {
    say("Choose a .torrent file or paste a magnet link.", true)
    return
  }
  e.button.disabled = true
  const outcomes: Array<Outcome> = []
  for (const file of files) outcomes.push(await addOne({ metainfo: toBase64(await file.arrayBuffer()), paused }, file.name))
  e.file.value = ""
  if (magnet !== "") {
    const linkOutcome = await addOne({ filename: magnet, paused }, "the link")
    outcomes.push(linkOutcome)
    // A refused link stays in its field, to be corrected rather than typed again.
    if (linkOutcome.ok) e.magnet.value = ""
  }
  e.button.disabled = false
  const failed = outcomes.some((o) => !o.ok)
  say(outcomes.map((o) => (/[.!?]$/.test(o.text) ? o.text : `${o.text}.`)).join(" "), failed)
  refresh()
}
