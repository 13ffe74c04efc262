/**
 * Polling the daemon: the list every second (only while the page is visible), then the open torrent's
 * detail, and every fifth time (or at once after a change of settings) the session's settings for the
 * status bar, whose limits another client may change. One poll at a time: a refresh asked for during one
 * (after an action) runs right after it. A failed poll says so in the status line, and the next that
 * succeeds says "Connected.".
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"
import type { Settings } from "./sessionSettings.js"
import { loadSettings } from "./settingsLoad.js"
import { type DetailTorrent, detailFields, listFields, type ListTorrent, type Torrents } from "./torrents.js"

const pollMs = 1000
const settingsEvery = 5

export interface PollTargets {
  readonly showList: (torrents: ReadonlyArray<ListTorrent>) => void
  /** The torrent whose detail is open, read again after each step (a click may close it meanwhile). */
  readonly openId: () => number | null
  readonly showDetail: (t: DetailTorrent) => void
  readonly showSettings: (s: Settings) => void
  readonly say: Say
}

export interface Poller {
  /** Polls now (and then every second); resolves when this poll is done. */
  readonly refresh: () => Promise<void>
  /** The settings changed: the next poll reads them. */
  readonly settingsChanged: () => void
}

export const makePoller = (targets: PollTargets): Poller => {
  let timer = 0
  let failed = false
  let refreshing = false
  let again = false
  let untilSettings = 0

  const poll = async () => {
    const list = await rpc<Torrents<ListTorrent>>("torrent-get", { fields: listFields })
    targets.showList(list.torrents)
    const id = targets.openId()
    if (id !== null) {
      const detail = await rpc<Torrents<DetailTorrent>>("torrent-get", { ids: [id], fields: detailFields })
      const t = detail.torrents[0]
      if (t !== undefined && t.id === targets.openId()) targets.showDetail(t)
    }
    if (untilSettings <= 0) {
      targets.showSettings(await loadSettings())
      untilSettings = settingsEvery
    }
    untilSettings--
  }

  const refresh = async () => {
    if (refreshing) {
      again = true
      return
    }
    refreshing = true
    window.clearTimeout(timer)
    try {
      await poll()
      if (failed) {
        failed = false
        targets.say("Connected.", false)
      }
      document.body.dataset.updated = String(Date.now())
    } catch (e) {
      failed = true
      targets.say(`Cannot get the torrents: ${errorText(e)}`, true)
    }
    refreshing = false
    if (again) {
      again = false
      void refresh()
      return
    }
    if (!document.hidden) timer = window.setTimeout(refresh, pollMs)
  }
  return { refresh, settingsChanged: () => void (untilSettings = 0) }
}
