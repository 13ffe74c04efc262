/**
 * The alternative speed limits' schedule, as Transmission's (its "turtle" clock, libtransmission/session.c):
 * from `begin` to `end` (minutes after local midnight; an end at or before the begin runs into the next day)
 * on the days of `days` (bit 0 Sunday ... bit 6 Saturday, 127 every day). The clock switches the limits on
 * when a window opens and off when it closes, and does nothing in between: a user who switches them by hand
 * inside a window keeps that until the next edge.
 */

export const minutesPerDay = 24 * 60
const minutesPerWeek = 7 * minutesPerDay

export interface Schedule {
  readonly begin: number
  readonly end: number
  readonly days: number
}

/** The minute of the week in local time: Sunday 00:00 is 0. */
export const minuteOfWeek = (ms: number): number => {
  const d = new Date(ms)
  return Math.min(minutesPerWeek - 1, d.getDay() * minutesPerDay + d.getHours() * 60 + d.getMinutes())
}

/** Whether `minute` of the week falls in a window of the schedule. */
export const inWindow = (s: Schedule, minute: number): boolean => {
  const begin = s.begin
  const end = s.end <= begin ? s.end + minutesPerDay : s.end
  for (let day = 0; day < 7; day++) {
    if ((s.days & (1 << day)) === 0) continue
    const since = (((minute - day * minutesPerDay - begin) % minutesPerWeek) + minutesPerWeek) % minutesPerWeek
    if (since < end - begin) return true
  }
  return false
}

/**
 * The clock's state: what it last decided (undefined: nothing yet). `tick` gives the alt-speed state to set
 * when the schedule's answer changed since, and undefined when there is nothing to do.
 */
export class AltSpeedClock {
  private last: boolean | undefined = undefined

  /** The schedule was changed or switched on: its answer now, applied at once. */
  reset(s: Schedule, ms: number): boolean {
    this.last = inWindow(s, minuteOfWeek(ms))
    return this.last
  }

  tick(s: Schedule, ms: number): boolean | undefined {
    const now = inWindow(s, minuteOfWeek(ms))
    if (now === this.last) return undefined
    this.last = now
    return now
  }
}
