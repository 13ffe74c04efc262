/**
 * The status bar at the foot of the page, always in view: the total rates of the torrents with the
 * session's limit in force beside each (the alternative one while alternative speeds are on, as in
 * Transmission), and a switch for the alternative speeds that says whether they are on. A limit shows in
 * the unit it is set in (kB/s, as the settings take it), not converted, so that it reads as typed.
 */
import { setText } from "./dom.js"
import { formatMinutes, formatRate } from "./format.js"
import { limitInForce } from "./limits.js"
import { isOn, numberOf, type Settings } from "./sessionSettings.js"

export interface StatusElements {
  readonly totals: HTMLElement
  readonly altSpeed: HTMLButtonElement
}

export interface StatusBar {
  readonly rates: (down: number, up: number) => void
  readonly settings: (s: Settings) => void
  /** Whether the alternative speeds are on, as last told (undefined: not known or not reported). */
  readonly altSpeedOn: () => boolean | undefined
}

const schedule = (s: Settings): string => {
  const begin = numberOf(s, "alt-speed-time-begin")
  const end = numberOf(s, "alt-speed-time-end")
  return isOn(s, "alt-speed-time-enabled") && begin !== undefined && end !== undefined
    ? `, scheduled ${formatMinutes(begin)}\u2013${formatMinutes(end)}`
    : ""
}

export const makeStatusBar = (e: StatusElements): StatusBar => {
  let down = 0
  let up = 0
  let settings: Settings | null = null

  const draw = () => {
    const withLimit = (rate: number, limit: string) => (limit === "" ? formatRate(rate) : `${formatRate(rate)} (${limit})`)
    const s = settings ?? {}
    setText(e.totals, `\u2193 ${withLimit(down, limitInForce(s, "down"))}  \u2191 ${withLimit(up, limitInForce(s, "up"))}`)
    const alt = s["alt-speed-enabled"]
    e.altSpeed.hidden = typeof alt !== "boolean"
    e.altSpeed.setAttribute("aria-pressed", String(alt === true))
    setText(e.altSpeed, `Alt speeds ${alt === true ? "on" : "off"}${schedule(s)}`)
  }

  return {
    rates: (d, u) => {
      down = d
      up = u
      draw()
    },
    settings: (s) => {
      settings = s
      draw()
    },
    altSpeedOn: () => {
      const alt = settings?.["alt-speed-enabled"]
      return typeof alt === "boolean" ? alt : undefined
    }
  }
}
