/**
 * The alternative limits' schedule as Transmission's turtle clock: windows by minute of the local week, one
 * ending at or before its begin running into the next day, days as a bitmask from Sunday; the clock acting
 * on edges only.
 */
import { describe, expect, it } from "vitest"
import { AltSpeedClock, inWindow, minuteOfWeek } from "../../src/domain/AltSpeedSchedule.js"

const at = (day: number, hour: number, minute: number) => day * 1440 + hour * 60 + minute

describe("AltSpeedSchedule", () => {
  it("reads the minute of the week in local time, Sunday first", () => {
    expect(minuteOfWeek(new Date(2026, 0, 4, 0, 0, 59).getTime())).toBe(0) // a Sunday
    expect(minuteOfWeek(new Date(2026, 0, 10, 23, 59).getTime())).toBe(7 * 1440 - 1) // the Saturday after
  })

  it("opens from begin to end on the days set, running past midnight when the end comes first", () => {
    const weekdays = { begin: 540, end: 1020, days: 0b0111110 }
    expect(inWindow(weekdays, at(1, 9, 0))).toBe(true)
    expect(inWindow(weekdays, at(1, 16, 59))).toBe(true)
    expect(inWindow(weekdays, at(1, 17, 0))).toBe(false)
    expect(inWindow(weekdays, at(0, 12, 0))).toBe(false)
    const nights = { begin: 22 * 60, end: 6 * 60, days: 1 << 6 } // Saturday 22:00 to Sunday 06:00
    expect(inWindow(nights, at(6, 23, 0))).toBe(true)
    expect(inWindow(nights, at(0, 5, 59))).toBe(true)
    expect(inWindow(nights, at(0, 6, 0))).toBe(false)
    expect(inWindow(nights, at(5, 23, 0))).toBe(false)
    // begin == end: the whole day.
    expect(inWindow({ begin: 0, end: 0, days: 1 }, at(0, 13, 0))).toBe(true)
  })

  it("switches on edges only", () => {
    const s = { begin: 540, end: 541, days: 127 }
    const clock = new AltSpeedClock()
    const monday = (h: number, m: number) => new Date(2026, 0, 5, h, m).getTime()
    expect(clock.reset(s, monday(8, 59))).toBe(false)
    expect(clock.tick(s, monday(8, 59))).toBeUndefined()
    expect(clock.tick(s, monday(9, 0))).toBe(true)
    expect(clock.tick(s, monday(9, 0))).toBeUndefined()
    expect(clock.tick(s, monday(9, 1))).toBe(false)
  })
})
