/**
 * What the selection's buttons, the detail's buttons and the remove dialog ask of the daemon: one method
 * on some torrents, its outcome in the status line, then a poll at once to show the change.
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"

/** Calls `method` on the torrents `ids` (with `extra` arguments); says `done` when it succeeded. */
export type Act = (method: string, ids: ReadonlyArray<number>, extra: object, done: string) => Promise<void>

export const makeAct = (say: Say, refresh: () => void): Act => async (method, ids, extra, done) => {
  try {
    await rpc(method, { ids, ...extra })
    say(done, false)
  } catch (e) {
    say(`${method} failed: ${errorText(e)}`, true)
  }
  refresh()
}

/** "ubuntu.iso", or "3 torrents": what a message calls the torrents acted on. */
export const describe = (names: ReadonlyArray<string>): string =>
  names.length === 1 ? names[0] ?? "" : `${names.length} torrents`
