/**
 * What a row's buttons and the remove dialog ask of the daemon: one method on one torrent, its outcome
 * in the status line, then a poll at once to show the change.
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"

/** Calls `method` on torrent `id` (with `extra` arguments); says `done` when it succeeded. */
export type Act = (method: string, id: number, extra: object, done: string) => Promise<void>

export const makeAct = (say: Say, refresh: () => void): Act => async (method, id, extra, done) => {
  try {
    await rpc(method, { ids: [id], ...extra })
    say(done, false)
  } catch (e) {
    say(`${method} failed: ${errorText(e)}`, true)
  }
  refresh()
}
