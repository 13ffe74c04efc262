/**
 * The detail's tags: a field of the open torrent's tags, comma-separated, saved with Enter or the Save
 * button through torrent-set `labels` (labels.ts: the category first, so that it stays). The field follows
 * the daemon at every poll until the user types in it; what is typed is not overwritten, and Escape puts
 * the torrent's tags back (a second Escape closes the detail, as everywhere in it).
 */
import type { Act } from "./actions.js"
import { labelsFor, parseTagText, tagText } from "./labels.js"
import type { ListTorrent } from "./torrents.js"

export interface TagEditorElements {
  readonly form: HTMLFormElement
  readonly input: HTMLInputElement
  readonly save: HTMLButtonElement
}

type Tagged = Pick<ListTorrent, "id" | "name" | "category" | "tags">

export interface TagEditor {
  /** The open torrent as the daemon last gave it. */
  readonly show: (t: Tagged) => void
  /** The detail was opened again: what was typed before and not saved is dropped. */
  readonly forget: () => void
}

export const makeTagEditor = (e: TagEditorElements, act: Act): TagEditor => {
  let shown: Tagged | null = null
  // What the field held as last written here: another value is the user's, not yet saved.
  let written = ""

  const write = (text: string) => {
    e.input.value = text
    written = text
  }

  const show = (t: Tagged) => {
    const text = tagText(t.tags)
    if (shown?.id !== t.id || e.input.value === written) write(text)
    shown = t
  }

  e.form.addEventListener("submit", (event) => {
    event.preventDefault()
    const t = shown
    if (t === null) return
    const tags = parseTagText(e.input.value)
    write(tagText(tags))
    e.save.disabled = true
    const done = tags.length === 0 ? `Removed the tags of ${t.name}.` : `Tagged ${t.name}: ${tagText(tags)}.`
    void act("torrent-set", [t.id], { labels: labelsFor(t.category, tags) }, done).finally(() => {
      e.save.disabled = false
    })
  })

  e.input.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || e.input.value === written) return
    event.stopPropagation()
    e.input.value = written
  })

  return { show, forget: () => void (shown = null) }
}
