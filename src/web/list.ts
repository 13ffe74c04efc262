/**
 * The list of torrents: one row each, made once and updated in place at every poll (so that focus, a
 * pressed button and the bar's transition survive), in id order, with the session's total rates above.
 * A row's buttons name their torrent for screen readers ("Stop ubuntu.iso"); the name button opens the
 * detail view. Rows carry data-action on what can be clicked; the page handles the clicks (main.ts).
 */
import { el } from "./dom.js"
import { formatBytes, formatEta, formatPercent, formatRate } from "./format.js"
import { type ListTorrent, statusWord } from "./torrents.js"

const rowActions = ["start", "stop", "verify", "remove"] as const
type RowAction = (typeof rowActions)[number]
const labels: Readonly<Record<RowAction, string>> = { start: "Start", stop: "Stop", verify: "Verify", remove: "Remove" }

interface Row {
  readonly root: HTMLLIElement
  readonly name: HTMLButtonElement
  readonly size: HTMLSpanElement
  readonly bar: HTMLDivElement
  readonly fill: HTMLDivElement
  readonly percent: HTMLSpanElement
  readonly status: HTMLSpanElement
  readonly down: HTMLSpanElement
  readonly up: HTMLSpanElement
  readonly peers: HTMLSpanElement
  readonly eta: HTMLSpanElement
  readonly error: HTMLDivElement
  readonly buttons: Readonly<Record<RowAction, HTMLButtonElement>>
  torrent: ListTorrent | null
}

export interface ListElements {
  readonly list: HTMLUListElement
  readonly empty: HTMLElement
  readonly totals: HTMLElement
}

export interface TorrentList {
  /** Shows these torrents, the open one marked; returns the ids shown. */
  readonly show: (torrents: ReadonlyArray<ListTorrent>, openId: number | null) => ReadonlySet<number>
  /** Marks the row of the torrent whose detail is open (none for null). */
  readonly markOpen: (id: number | null) => void
  readonly nameOf: (id: number) => string | undefined
  readonly focusName: (id: number) => void
}

const makeRow = (id: number): Row => {
  const root = el("li", "torrent")
  root.dataset.id = String(id)
  const head = el("div", "head")
  const name = el("button", "name")
  name.type = "button"
  name.dataset.action = "open"
  const size = el("span", "size")
  head.append(name, size)
  const bar = el("div", "bar")
  bar.setAttribute("role", "progressbar")
  bar.setAttribute("aria-valuemin", "0")
  bar.setAttribute("aria-valuemax", "100")
  const fill = el("div", "fill")
  bar.append(fill)
  const facts = el("div", "facts")
  const percent = el("span", "percent")
  const status = el("span", "status")
  const down = el("span", "down")
  const up = el("span", "up")
  const peers = el("span", "peers")
  const eta = el("span", "eta")
  facts.append(percent, status, down, up, peers, eta)
  const error = el("div", "torrent-error")
  error.hidden = true
  const actions = el("div", "actions")
  const button = (action: RowAction) => {
    const b = el("button", `action ${action}`, labels[action])
    b.type = "button"
    b.dataset.action = action
    actions.append(b)
    return b
  }
  const buttons = { start: button("start"), stop: button("stop"), verify: button("verify"), remove: button("remove") }
  root.append(head, bar, facts, error, actions)
  return { root, name, size, bar, fill, percent, status, down, up, peers, eta, error, buttons, torrent: null }
}

const updateRow = (row: Row, t: ListTorrent, openId: number | null) => {
  row.torrent = t
  if (row.name.textContent !== t.name) {
    row.name.textContent = t.name
    row.name.setAttribute("aria-label", `Details of ${t.name}`)
    row.bar.setAttribute("aria-label", `Progress of ${t.name}`)
    for (const action of rowActions) row.buttons[action].setAttribute("aria-label", `${labels[action]} ${t.name}`)
  }
  const percentText = formatPercent(t.percentDone)
  row.root.dataset.status = String(t.status)
  row.bar.setAttribute("aria-valuenow", (Math.floor(t.percentDone * 1000) / 10).toString())
  row.bar.setAttribute("aria-valuetext", percentText)
  row.fill.style.width = `${Math.max(0, Math.min(100, t.percentDone * 100))}%`
  row.percent.textContent = percentText
  row.status.textContent = statusWord(t)
  row.down.textContent = `\u2193 ${formatRate(t.rateDownload)}`
  row.up.textContent = `\u2191 ${formatRate(t.rateUpload)}`
  row.peers.textContent = `${t.peersConnected}${t.peersConnected === 1 ? " peer" : " peers"}`
  row.eta.textContent = formatEta(t.eta, t.percentDone)
  row.size.textContent = t.totalSize > 0 ? formatBytes(t.totalSize) : "size unknown"
  row.error.hidden = !t.error
  row.error.textContent = t.error ? t.errorString || "error" : ""
  row.buttons.start.disabled = t.status !== 0
  row.buttons.stop.disabled = t.status === 0
  row.root.classList.toggle("open", t.id === openId)
}

export const makeTorrentList = ({ empty, list, totals }: ListElements): TorrentList => {
  const rows = new Map<number, Row>()

  const show = (torrents: ReadonlyArray<ListTorrent>, openId: number | null): ReadonlySet<number> => {
    const seen = new Set<number>()
    let totalDown = 0
    let totalUp = 0
    ;[...torrents].sort((a, b) => a.id - b.id).forEach((t, index) => {
      seen.add(t.id)
      totalDown += t.rateDownload
      totalUp += t.rateUpload
      let row = rows.get(t.id)
      if (row === undefined) {
        row = makeRow(t.id)
        rows.set(t.id, row)
      }
      updateRow(row, t, openId)
      if (list.children[index] !== row.root) list.insertBefore(row.root, list.children[index] ?? null)
    })
    rows.forEach((row, id) => {
      if (!seen.has(id)) {
        row.root.remove()
        rows.delete(id)
      }
    })
    empty.hidden = torrents.length > 0
    totals.textContent = `\u2193 ${formatRate(totalDown)}  \u2191 ${formatRate(totalUp)}`
    return seen
  }

  return {
    show,
    markOpen: (id) => rows.forEach((row, rowId) => row.root.classList.toggle("open", rowId === id)),
    nameOf: (id) => rows.get(id)?.torrent?.name,
    focusName: (id) => rows.get(id)?.name.focus()
  }
}
