/**
 * The daemon's web interface, in the browser: bundled by scripts/build.mjs into dist/web/app.js, served
 * beside index.html and app.css. No framework: it runs on any current browser, phones included.
 *
 * It speaks the classic Transmission RPC to the daemon that served it (rpc.ts), polls the list every
 * second, the open torrent's detail and now and then the settings (poll.ts), and puts everything from the
 * daemon into the page as text (dom.ts). Here the parts are made from the page's elements and wired to
 * their events; listEvents.ts wires the table's.
 */
import { makeAct } from "./actions.js"
import { makeAddForm } from "./addForm.js"
import { wireAltSpeed } from "./altSpeed.js"
import { makeRunCommand } from "./commands.js"
import { makeCopyText } from "./copyText.js"
import { type DetailElements, makeDetail } from "./detail.js"
import { byId, statusLine } from "./dom.js"
import { wireFiles } from "./fileList.js"
import { makeFilterBar } from "./filterBar.js"
import { makeLabelFilters } from "./labelFilters.js"
import { loadLabelFilter } from "./labelStore.js"
import { wireList } from "./listEvents.js"
import { makePieceMap } from "./pieceMap.js"
import { makePoller } from "./poll.js"
import { makeRemoveDialog } from "./removeDialog.js"
import { makeSelection } from "./selection.js"
import { makeSelectionBar } from "./selectionBar.js"
import { makeSettingsForm } from "./settingsForm.js"
import { makeSettingsPanel } from "./settingsPanel.js"
import { makeSortControls } from "./sortControls.js"
import { loadSort } from "./sortStore.js"
import { filterCounts } from "./states.js"
import { makeStatusBar } from "./statusBar.js"
import { makeTorrentTable } from "./table.js"
import { makeTagEditor, type TagEditor } from "./tagEditor.js"

const detailElements = (close: HTMLButtonElement, tags: TagEditor): DetailElements => ({
  section: byId("detail", HTMLElement),
  close,
  actions: byId("detail-actions", HTMLElement),
  name: byId("detail-name", HTMLElement),
  status: byId("detail-status", HTMLElement),
  hash: byId("detail-hash", HTMLElement),
  size: byId("detail-size", HTMLElement),
  ratio: byId("detail-ratio", HTMLElement),
  added: byId("detail-added", HTMLElement),
  pieces: byId("detail-pieces", HTMLElement),
  dir: byId("detail-dir", HTMLElement),
  error: byId("detail-error", HTMLElement),
  category: byId("detail-category", HTMLElement),
  tags,
  tables: { files: byId("files", HTMLTableElement), peers: byId("peers", HTMLTableElement), trackers: byId("trackers", HTMLTableElement) }
})

const start = () => {
  const say = statusLine(byId("status-line", HTMLElement))
  const refresh = () => void poller.refresh()
  const act = makeAct(say, refresh)
  const removeDialog = byId("remove-dialog", HTMLDialogElement)
  const remove = makeRemoveDialog({
    dialog: removeDialog,
    title: byId("remove-title", HTMLElement),
    name: byId("remove-name", HTMLElement),
    deleteData: byId("remove-data", HTMLInputElement)
  }, act)
  const copyText = makeCopyText({ dialog: byId("copy-dialog", HTMLDialogElement), field: byId("copy-field", HTMLTextAreaElement) })
  const run = makeRunCommand({ act, remove, copyText, say })

  const selection = makeSelection()
  const selectionBar = makeSelectionBar(byId("selection-bar", HTMLElement), byId("pick-count", HTMLElement), run)
  const filterBar = makeFilterBar(byId("filters", HTMLElement), (f) => table.setFilter(f))
  const statusBar = makeStatusBar({ totals: byId("totals", HTMLElement), altSpeed: byId("alt-speed", HTMLButtonElement) })
  const sort = loadSort()
  const labels = loadLabelFilter()
  const labelFilters = makeLabelFilters(
    { box: byId("label-filters", HTMLElement), category: byId("category-filter", HTMLSelectElement), tag: byId("tag-filter", HTMLSelectElement) },
    labels,
    (f) => table.setLabels(f)
  )
  const table = makeTorrentTable(
    { body: byId("torrents-body", HTMLTableSectionElement), pickAll: byId("pick-all", HTMLInputElement), empty: byId("empty", HTMLElement) },
    selection,
    sort,
    labels,
    ({ all, picked }) => {
      filterBar.counts(filterCounts(all))
      labelFilters.counts(all)
      selectionBar.update(picked)
      statusBar.rates(all.reduce((sum, t) => sum + t.rateDownload, 0), all.reduce((sum, t) => sum + t.rateUpload, 0))
    }
  )
  makeSortControls({ head: byId("torrents-head", HTMLTableSectionElement), key: byId("sort-key", HTMLSelectElement), dir: byId("sort-dir", HTMLButtonElement) }, sort, table.setSort)

  const detailClose = byId("detail-close", HTMLButtonElement)
  const tagEditor = makeTagEditor(
    { form: byId("tags-form", HTMLFormElement), input: byId("detail-tags", HTMLInputElement), save: byId("tags-save", HTMLButtonElement) },
    act
  )
  const detail = makeDetail(detailElements(detailClose, tagEditor), table, makePieceMap(byId("piece-map", HTMLCanvasElement), byId("piece-summary", HTMLElement)), run, refresh)

  const poller = makePoller({
    showList: (torrents) => {
      const openId = detail.openId()
      table.show(torrents, openId)
      // The open torrent was removed (here or elsewhere): back to the list.
      if (openId !== null && table.torrent(openId) === undefined) detail.close()
    },
    openId: detail.openId,
    showDetail: detail.show,
    showSettings: statusBar.settings,
    say
  })

  const settingsDialog = byId("settings-dialog", HTMLDialogElement)
  const settingsForm = byId("settings-form", HTMLFormElement)
  const settings = makeSettingsPanel({
    dialog: settingsDialog,
    form: settingsForm,
    message: byId("settings-message", HTMLElement),
    save: byId("settings-save", HTMLButtonElement),
    cancel: byId("settings-cancel", HTMLButtonElement)
  }, makeSettingsForm(settingsForm), say, () => {
    poller.settingsChanged()
    refresh()
  })
  byId("settings-open", HTMLButtonElement).addEventListener("click", () => void settings.open())
  wireAltSpeed(byId("alt-speed", HTMLButtonElement), statusBar, say, () => {
    poller.settingsChanged()
    refresh()
  })

  const onAdd = makeAddForm({
    file: byId("add-file", HTMLInputElement),
    magnet: byId("add-magnet", HTMLInputElement),
    paused: byId("add-paused", HTMLInputElement),
    button: byId("add-button", HTMLButtonElement)
  }, say, refresh)
  byId("add-form", HTMLFormElement).addEventListener("submit", (event) => void onAdd(event))

  wireList({
    body: byId("torrents-body", HTMLTableSectionElement),
    pickAll: byId("pick-all", HTMLInputElement),
    search: byId("search", HTMLInputElement)
  }, { table, selection, open: detail.open })

  wireFiles(byId("files", HTMLTableElement), act)
  detailClose.addEventListener("click", detail.close)
  removeDialog.addEventListener("close", remove.onClosed)
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && detail.openId() !== null && !document.querySelector("dialog[open]")) detail.close()
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
