/**
 * The daemon's web interface, in the browser: bundled by scripts/build.mjs into dist/web/app.js, served
 * beside index.html and app.css. No framework: it runs on any current browser, phones included.
 *
 * It speaks the classic Transmission RPC to the daemon that served it (rpc.ts), polls the list every
 * second and the open torrent's detail (poll.ts), and puts everything from the daemon into the page as
 * text (dom.ts). Here the parts are made from the page's elements and wired to its events.
 */
import { makeAct } from "./actions.js"
import { makeAddForm } from "./addForm.js"
import { makeDetail } from "./detail.js"
import { byId, statusLine } from "./dom.js"
import { makeTorrentList } from "./list.js"
import { makePieceMap } from "./pieceMap.js"
import { makePoller } from "./poll.js"
import { makeRemoveDialog } from "./removeDialog.js"

const start = () => {
  const say = statusLine(byId("status-line", HTMLElement))
  const listNode = byId("torrents", HTMLUListElement)
  const list = makeTorrentList({
    list: listNode,
    empty: byId("empty", HTMLElement),
    totals: byId("totals", HTMLElement)
  })
  const refresh = () => void poll()
  const detailClose = byId("detail-close", HTMLButtonElement)
  const detail = makeDetail({
    section: byId("detail", HTMLElement),
    close: detailClose,
    name: byId("detail-name", HTMLElement),
    status: byId("detail-status", HTMLElement),
    hash: byId("detail-hash", HTMLElement),
    size: byId("detail-size", HTMLElement),
    pieces: byId("detail-pieces", HTMLElement),
    dir: byId("detail-dir", HTMLElement),
    error: byId("detail-error", HTMLElement),
    tables: { files: byId("files", HTMLTableElement), peers: byId("peers", HTMLTableElement), trackers: byId("trackers", HTMLTableElement) }
  }, list, makePieceMap(byId("piece-map", HTMLCanvasElement), byId("piece-summary", HTMLElement)), refresh)
  const poll = makePoller({
    showList: (torrents) => {
      const openId = detail.openId()
      const shown = list.show(torrents, openId)
      // The open torrent was removed (here or elsewhere): back to the list.
      if (openId !== null && !shown.has(openId)) detail.close()
    },
    openId: detail.openId,
    showDetail: detail.show,
    say
  })
  const act = makeAct(say, refresh)
  const removeDialog = byId("remove-dialog", HTMLDialogElement)
  const remove = makeRemoveDialog({ dialog: removeDialog, name: byId("remove-name", HTMLElement), deleteData: byId("remove-data", HTMLInputElement) }, act)
  const onAdd = makeAddForm({
    file: byId("add-file", HTMLInputElement),
    magnet: byId("add-magnet", HTMLInputElement),
    paused: byId("add-paused", HTMLInputElement),
    button: byId("add-button", HTMLButtonElement)
  }, say, refresh)

  const onListClick = (event: MouseEvent) => {
    if (!(event.target instanceof Element)) return
    const rowNode = event.target.closest<HTMLElement>("li.torrent")
    if (rowNode === null) return
    const id = Number(rowNode.dataset.id)
    const name = list.nameOf(id) ?? `#${id}`
    const action = event.target.closest<HTMLElement>("[data-action]")?.dataset.action ?? "open"
    if (action === "start") void act("torrent-start", id, {}, `Started ${name}.`)
    else if (action === "stop") void act("torrent-stop", id, {}, `Stopped ${name}.`)
    else if (action === "verify") void act("torrent-verify", id, {}, `Verifying ${name}.`)
    else if (action === "remove") remove.ask(id, name)
    else detail.open(id)
  }

  listNode.addEventListener("click", onListClick)
  byId("add-form", HTMLFormElement).addEventListener("submit", (event) => void onAdd(event))
  detailClose.addEventListener("click", detail.close)
  removeDialog.addEventListener("close", remove.onClosed)
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && detail.openId() !== null && !removeDialog.open) detail.close()
  })
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh()
  })
  let resizeFrame = 0
  window.addEventListener("resize", () => {
    window.cancelAnimationFrame(resizeFrame)
    resizeFrame = window.requestAnimationFrame(detail.redraw)
  })
  refresh()
}

document.addEventListener("DOMContentLoaded", start)
