/**
 * The selection's toolbar: how many rows are picked, and the actions on them. Start is offered when one
 * of them is stopped, Stop when one runs; all of them go to every torrent picked (the daemon leaves alone
 * a torrent already as asked).
 */
import { isCommandName, type RunCommand } from "./commands.js"
import { setText } from "./dom.js"
import type { ListTorrent } from "./torrents.js"

export interface SelectionBar {
  readonly update: (picked: ReadonlyArray<ListTorrent>) => void
}

export const makeSelectionBar = (bar: HTMLElement, count: HTMLElement, run: RunCommand): SelectionBar => {
  let picked: ReadonlyArray<ListTorrent> = []
  const buttons = [...bar.querySelectorAll<HTMLButtonElement>("button[data-command]")]

  bar.addEventListener("click", (event) => {
    const command = event.target instanceof Element ? event.target.closest<HTMLElement>("button[data-command]")?.dataset.command : undefined
    if (isCommandName(command)) run(command, picked)
  })

  const update = (now: ReadonlyArray<ListTorrent>) => {
    picked = now
    setText(count, now.length === 0 ? "None selected" : `${now.length} selected`)
    bar.dataset.picked = String(now.length)
    const anyStopped = now.some((t) => t.status === 0)
    const anyRunning = now.some((t) => t.status !== 0)
    for (const button of buttons) {
      const command = button.dataset.command
      button.disabled = now.length === 0 || (command === "start" && !anyStopped) || (command === "stop" && !anyRunning)
    }
  }

  update([])
  return { update }
}
