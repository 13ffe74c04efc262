/**
 * One torrent's row of the table: made once, then updated in place at every poll (so that focus, a
 * checked box and the bar's transition survive), writing only the cells whose text changed. Each cell has
 * the class of its column, which the style sheet hides on narrow lists; the name cell's second line says
 * what the hidden columns would (state, size, rates), shown only then. Under the name, the torrent's
 * category and tags as chips (the category filled, the tags outlined), none when it has neither.
 *
 * A magnet without its metadata yet shows "fetching metadata" where a torrent shows its progress, and a
 * dash for its size and ETA: it has no size, and 0% of nothing with an infinite ETA would be false.
 */
import { el, setText } from "./dom.js"
import { formatBytes, formatDate, formatEta, formatPercent, formatRate, formatRatio } from "./format.js"
import { lacksMetadata, type ListTorrent, metadataWord, statusWord } from "./torrents.js"

export interface Row {
  readonly root: HTMLTableRowElement
  readonly pick: HTMLInputElement
  readonly name: HTMLButtonElement
  readonly cells: {
    readonly sub: HTMLElement
    readonly chips: HTMLElement
    readonly error: HTMLElement
    readonly status: HTMLElement
    readonly bar: HTMLElement
    readonly fill: HTMLElement
    readonly percent: HTMLElement
    readonly size: HTMLElement
    readonly down: HTMLElement
    readonly up: HTMLElement
    readonly eta: HTMLElement
    readonly ratio: HTMLElement
    readonly uploaded: HTMLElement
    readonly added: HTMLElement
  }
  torrent: ListTorrent | null
}

const cell = (row: HTMLTableRowElement, column: string): HTMLTableCellElement => {
  const td = el("td", column)
  row.append(td)
  return td
}

export const makeRow = (id: number): Row => {
  const root = el("tr", "torrent")
  root.dataset.id = String(id)
  const pick = el("input", "pick")
  pick.type = "checkbox"
  pick.dataset.action = "pick"
  cell(root, "col-pick").append(pick)
  const name = el("button", "name")
  name.type = "button"
  name.dataset.action = "open"
  const chips = el("div", "chips")
  chips.hidden = true
  const sub = el("div", "sub")
  const error = el("div", "torrent-error")
  error.hidden = true
  cell(root, "col-name").append(name, chips, sub, error)
  const status = cell(root, "col-status status")
  const bar = el("div", "bar")
  bar.setAttribute("role", "progressbar")
  bar.setAttribute("aria-valuemin", "0")
  bar.setAttribute("aria-valuemax", "100")
  const fill = el("div", "fill")
  bar.append(fill)
  const percent = el("span", "percent")
  cell(root, "col-progress").append(bar, percent)
  const cells = {
    sub, chips, error, status, bar, fill, percent,
    size: cell(root, "col-size size"),
    down: cell(root, "col-down down"),
    up: cell(root, "col-up up"),
    eta: cell(root, "col-eta eta"),
    ratio: cell(root, "col-ratio ratio"),
    uploaded: cell(root, "col-uploaded uploaded"),
    added: cell(root, "col-added added")
  }
  return { root, pick, name, cells, torrent: null }
}

/** A rate as the table shows it: nothing when nothing moves, so that what does move stands out. */
const rateText = (bytesPerSecond: number): string => (bytesPerSecond > 0 ? formatRate(bytesPerSecond) : "")

const subText = (t: ListTorrent, fetching: boolean): string => {
  const parts = [statusWord(t)]
  if (!fetching) parts.push(formatBytes(t.totalSize))
  if (t.rateDownload > 0) parts.push(`\u2193 ${formatRate(t.rateDownload)}`)
  if (t.rateUpload > 0) parts.push(`\u2191 ${formatRate(t.rateUpload)}`)
  return parts.join(" \u00b7 ")
}

const updateProgress = (row: Row, t: ListTorrent, fetching: boolean) => {
  const { bar, fill, percent } = row.cells
  if (fetching) {
    // An indeterminate progressbar has no value (ARIA): the bar moves without claiming a part done.
    bar.removeAttribute("aria-valuenow")
    bar.setAttribute("aria-valuetext", metadataWord(t))
    fill.style.width = ""
    setText(percent, metadataWord(t))
    return
  }
  const percentText = formatPercent(t.percentDone)
  bar.setAttribute("aria-valuenow", (Math.floor(t.percentDone * 1000) / 10).toString())
  bar.setAttribute("aria-valuetext", percentText)
  fill.style.width = `${Math.max(0, Math.min(100, t.percentDone * 100))}%`
  setText(percent, percentText)
}

const updateLabels = (row: Row, name: string) => {
  row.name.textContent = name
  // The whole name on hover, where the column cuts it short.
  row.name.title = name
  row.name.setAttribute("aria-label", `Details of ${name}`)
  row.pick.setAttribute("aria-label", `Select ${name}`)
  row.cells.bar.setAttribute("aria-label", `Progress of ${name}`)
}

/** A chip: its text, whole on hover where the chip cuts it short. */
const chip = (kind: "category" | "tag", text: string): HTMLElement => {
  const node = el("span", `chip ${kind}`, text)
  node.title = text
  return node
}

/** The category's chip and the tags', each said for what it is to a screen reader (the chips only show it). */
const fillChips = (chips: HTMLElement, category: string, tags: ReadonlyArray<string>) => {
  const nodes: Array<HTMLElement> = []
  if (category !== "") nodes.push(el("span", "visually-hidden", "Category:"), chip("category", category))
  if (tags.length > 0) nodes.push(el("span", "visually-hidden", tags.length === 1 ? "Tag:" : "Tags:"), ...tags.map((tag) => chip("tag", tag)))
  chips.replaceChildren(...nodes)
  chips.hidden = nodes.length === 0
}

const sameChips = (a: ListTorrent | null, b: ListTorrent): boolean =>
  a !== null && a.category === b.category && a.tags.length === b.tags.length && a.tags.every((tag, i) => tag === b.tags[i])

export const updateRow = (row: Row, t: ListTorrent, open: boolean, picked: boolean): void => {
  if (row.torrent?.name !== t.name) updateLabels(row, t.name)
  if (!sameChips(row.torrent, t)) fillChips(row.cells.chips, t.category, t.tags)
  row.torrent = t
  const fetching = lacksMetadata(t)
  const c = row.cells
  row.root.dataset.status = String(t.status)
  row.root.classList.toggle("fetching", fetching)
  row.root.classList.toggle("open", open)
  row.root.classList.toggle("picked", picked)
  row.pick.checked = picked
  setText(c.status, statusWord(t))
  updateProgress(row, t, fetching)
  setText(c.sub, subText(t, fetching))
  setText(c.size, fetching ? "\u2013" : formatBytes(t.totalSize))
  setText(c.down, rateText(t.rateDownload))
  setText(c.up, rateText(t.rateUpload))
  // A stopped torrent is not on its way anywhere: no ETA, rather than an infinite one.
  setText(c.eta, fetching || (t.status === 0 && t.percentDone < 1) ? "\u2013" : formatEta(t.eta, t.percentDone))
  setText(c.ratio, formatRatio(t.uploadRatio))
  setText(c.uploaded, formatBytes(t.uploadedEver))
  setText(c.added, formatDate(t.addedDate))
  c.error.hidden = !t.error
  setText(c.error, t.error ? t.errorString || "error" : "")
}
