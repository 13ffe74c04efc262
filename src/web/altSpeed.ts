/**
 * The status bar's switch for the alternative speed limits (Transmission's turtle): one session-set of
 * alt-speed-enabled, the other way from what the daemon last said. A daemon that refuses says why in
 * the status line.
 */
import type { Say } from "./dom.js"
import { errorText, rpc } from "./rpc.js"
import type { StatusBar } from "./statusBar.js"

export const wireAltSpeed = (button: HTMLButtonElement, status: StatusBar, say: Say, changed: () => void): void => {
  button.addEventListener("click", async () => {
    const on = status.altSpeedOn()
    if (on === undefined) return
    button.disabled = true
    try {
      await rpc("session-set", { "alt-speed-enabled": !on })
      say(on ? "Alternative speed limits off." : "Alternative speed limits on.", false)
    } catch (e) {
      say(`The daemon refused: ${errorText(e)}`, true)
    }
    button.disabled = false
    changed()
  })
}
