/**
 * The detail's list of files: for each its checkbox (downloaded or not), name, size, progress, priority
 * (high, normal, low) and play link. A change is sent at once as torrent-set for that one file
 * (files-wanted or files-unwanted, priority-high, -normal or -low) and the list polled again. The rows are
 * kept from poll to poll and only their values set, so that a priority list held open or a box being
 * clicked is not replaced under the pointer; a row whose change is on its way keeps the value chosen.
 * The play link: the daemon serves the file at /stream/<info hash>/<file number> as it downloads (the
 * page's own origin, so the browser's login goes with it).
 */
import type { Act } from "./actions.js"
import { el, setText } from "./dom.js"
import { formatBytes, formatPercent } from "./format.js"
import type { DetailTorrent } from "./torrents.js"

/** Transmission's priorities: the value sent and shown, the word, and torrent-set's key. */
const priorities = [
  { value: "1", word: "High", key: "priority-high" },
  { value: "0", word: "Normal", key: "priority-normal" },
  { value: "-1", word: "Low", key: "priority-low" }
] as const

const playLink = (hash: string, index: number): HTMLElement => {
  const a = el("a", "", "play")
  a.href = `/stream/${encodeURIComponent(hash)}/${index + 1}`
  a.target = "_blank"
  a.rel = "noopener"
  return a
}

/** One file's row, its values set by `update`. */
const newRow = (hash: string, index: number): HTMLTableRowElement => {
  const tr = el("tr")
  tr.dataset.index = String(index)
  const get = el("input", "wanted")
  get.type = "checkbox"
  const priority = el("select", "priority")
  for (const p of priorities) {
    const option = el("option", "", p.word)
    option.value = p.value
    priority.append(option)
  }
  const cells = [get, el("span", "file-name"), el("span", "file-size"), el("span", "file-done"), priority, playLink(hash, index)]
  for (const cell of cells) {
    const td = el("td")
    td.append(cell)
    tr.append(td)
  }
  return tr
}

const update = (tr: HTMLTableRowElement, t: DetailTorrent, index: number) => {
  const f = t.files[index]
  const stats = t.fileStats[index]
  if (f === undefined) return
  const name = f.name
  tr.dataset.name = name
  setText(tr.querySelector(".file-name")!, name)
  setText(tr.querySelector(".file-size")!, formatBytes(f.length))
  setText(tr.querySelector(".file-done")!, formatPercent(f.length > 0 ? f.bytesCompleted / f.length : 1))
  const get = tr.querySelector<HTMLInputElement>("input.wanted")!
  const priority = tr.querySelector<HTMLSelectElement>("select.priority")!
  get.setAttribute("aria-label", `Download ${name}`)
  priority.setAttribute("aria-label", `Priority of ${name}`)
  // A change on its way, or a list held open: left as the person set it until the daemon has it.
  if (tr.dataset.pending === "1" || stats === undefined) return
  get.checked = stats.wanted
  if (document.activeElement !== priority) priority.value = String(stats.priority)
}

/** Shows the open torrent's files: the rows made again only for another torrent or another count of files. */
export const fillFiles = (table: HTMLTableElement, t: DetailTorrent): void => {
  const key = `${t.id}:${t.hashString}:${t.files.length}`
  let body = table.tBodies[0]
  if (body === undefined || table.dataset.key !== key) {
    const fresh = el("tbody")
    for (let index = 0; index < t.files.length; index++) fresh.append(newRow(t.hashString, index))
    if (body === undefined) table.append(fresh)
    else body.replaceWith(fresh)
    body = fresh
    table.dataset.key = key
  }
  table.dataset.id = String(t.id)
  table.dataset.rows = String(t.files.length)
  for (const tr of body.rows) update(tr, t, Number(tr.dataset.index))
}

/** Sends each change of a file's box or priority to the daemon, for the torrent shown. */
export const wireFiles = (table: HTMLTableElement, act: Act): void => {
  table.addEventListener("change", (event) => {
    const target = event.target
    if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) return
    const tr = target.closest("tr")
    const id = Number(table.dataset.id)
    const index = Number(tr?.dataset.index)
    if (tr === null || !Number.isInteger(id) || !Number.isInteger(index)) return
    const name = tr.dataset.name ?? `file ${index + 1}`
    let args: object
    let done: string
    if (target instanceof HTMLInputElement) {
      args = { [target.checked ? "files-wanted" : "files-unwanted"]: [index] }
      done = target.checked ? `${name}: downloaded` : `${name}: not downloaded`
    } else {
      const p = priorities.find((p) => p.value === target.value)
      if (p === undefined) return
      args = { [p.key]: [index] }
      done = `${name}: ${p.word.toLowerCase()} priority`
    }
    tr.dataset.pending = "1"
    void act("torrent-set", [id], args, done).finally(() => delete tr.dataset.pending)
  })
}
