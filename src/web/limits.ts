/**
 * The session's speed limit in force on each direction, as the status bar says it: the alternative one
 * while alternative speeds are on (as in Transmission, whatever the usual limit's switch), else the usual
 * one when it is on. In kB/s, the unit it is set in.
 */
import { isOn, numberOf, type Settings } from "./sessionSettings.js"

/** The limit in force on one direction, in words ("" when none). */
export const limitInForce = (s: Settings, direction: "down" | "up"): string => {
  if (isOn(s, "alt-speed-enabled")) {
    const alt = numberOf(s, direction === "down" ? "alt-speed-down" : "alt-speed-up")
    if (alt !== undefined) return `alt limit ${alt} kB/s`
  }
  const limited = isOn(s, direction === "down" ? "speed-limit-down-enabled" : "speed-limit-up-enabled")
  const limit = numberOf(s, direction === "down" ? "speed-limit-down" : "speed-limit-up")
  return limited && limit !== undefined ? `limit ${limit} kB/s` : ""
}
