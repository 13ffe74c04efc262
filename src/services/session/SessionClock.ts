/**
 * What the session does once a second, as Transmission's session timer does: each running torrent's
 * seconds downloading or seeding counted, its activity date moved when it moved data, its seeding goals
 * checked (a seed that reaches its ratio or idle goal is stopped, as Transmission pauses it), and the
 * alternative speed limits' schedule followed. The counts are saved with the list now and then, and when
 * the session stops.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { AltSpeedClock, type Schedule as AltSchedule } from "../../domain/AltSpeedSchedule.js"
import { idleDone, ratioDone, seedTimeDone } from "../../domain/SeedGoals.js"
import type { SessionSettings } from "../../domain/SessionView.js"
import type { Entry } from "./SessionEntry.js"

/** Seconds between saves of the counts (Transmission saves its resume files every few minutes too). */
const saveEverySeconds = 300

export interface ClockContext {
  readonly entries: () => ReadonlyArray<Entry>
  readonly settings: () => SessionSettings
  /** The schedule switches the alternative limits on or off (saved, applied). */
  readonly setAltSpeed: (on: boolean) => Effect.Effect<void>
  /** A seed reached a goal: the session's share action (stopped as a user's stop, or removed). */
  readonly reached: (entry: Entry) => Effect.Effect<void>
  /** Saves the list. */
  readonly save: Effect.Effect<void>
}

export const scheduleOf = (s: SessionSettings): AltSchedule => ({ begin: s.altSpeedTimeBegin, end: s.altSpeedTimeEnd, days: s.altSpeedTimeDay })

/** Whether a torrent's run counts as running (Transmission's isRunning): fetching its metadata or transferring. */
const running = (e: Entry) => e.phase === "running" || e.phase === "metadata"

type Goal = "ratio" | "idle" | "time"

const goalWords: Record<Goal, string> = { ratio: "seed ratio", idle: "seeding idle limit", time: "seeding time limit" }

/**
 * The goal a running seed has reached now, if any. None yet while its data waits to leave the incomplete
 * folder: a stop then (a ratio goal of 0 is reached at once) would interrupt its run before the move on
 * complete, and the data would stay there; the move starts the run again in its folder, where the goals
 * count. A forced torrent (qBittorrent's force start) has none: qBittorrent leaves forced seeds out of its
 * share limits (SessionImpl::processShareLimits, 4.6 and 5.x), so a forced seed seeds until the force is off.
 */
export const goalReached = (e: Entry, settings: SessionSettings, nowSeconds: number): Goal | undefined => {
  if (e.phase !== "running" || e.handle === undefined || !e.complete || e.metainfo === undefined || e.forced) return undefined
  if (e.downloadDir !== e.savePath) return undefined
  const t = e.handle.transferred()
  const transfer = {
    downloadedEver: e.previous.downloaded + t.downloaded,
    uploadedEver: e.previous.uploaded + t.uploaded,
    sizeWhenDone: e.metainfo.totalLength
  }
  if (ratioDone(e.goals, settings, transfer, true)) return "ratio"
  if (seedTimeDone(e.goals, settings, e.secondsSeeding, true)) return "time"
  const activity = { active: true, startDate: e.startDate, activityDate: e.activityDate }
  return idleDone(e.goals, settings, activity, true, nowSeconds) ? "idle" : undefined
}

/** One second of the session's clock. */
export const tick = (context: ClockContext, alt: AltSpeedClock) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const seconds = Math.floor(now / 1000)
    const settings = context.settings()
    const reached: Array<[Entry, Goal]> = []
    for (const e of context.entries()) {
      if (!running(e)) continue
      if (e.complete) e.secondsSeeding++
      else e.secondsDownloading++
      if (e.handle === undefined) continue
      const t = e.handle.transferred()
      if (t.downloaded !== e.lastTransferred.downloaded || t.uploaded !== e.lastTransferred.uploaded) {
        e.activityDate = seconds
        e.lastTransferred = t
      }
      const goal = goalReached(e, settings, seconds)
      if (goal !== undefined) reached.push([e, goal])
    }
    for (const [e, goal] of reached) {
      yield* Effect.logInfo(`${goalWords[goal]} reached: ${e.id} ${e.name}`)
      if (goal === "idle") e.idleLimitReached = true
      yield* context.reached(e)
    }
    if (settings.altSpeedTimeEnabled) {
      const on = alt.tick(scheduleOf(settings), now)
      if (on !== undefined && on !== settings.altSpeedEnabled) {
        yield* Effect.logInfo(`alternative speed limits ${on ? "on" : "off"} (schedule)`)
        yield* context.setAltSpeed(on)
      }
    }
  })

/** The clock, once a second until the scope closes, with the counts saved every few minutes and at the end. */
export const run = (context: ClockContext, alt: AltSpeedClock): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    let ticks = 0
    const once = Effect.zipRight(tick(context, alt), Effect.suspend(() => (++ticks % saveEverySeconds === 0 ? context.save : Effect.void)))
    yield* Effect.forkScoped(Effect.repeat(once, Schedule.spaced("1 second")))
  })

export { AltSpeedClock }
