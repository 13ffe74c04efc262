/**
 * Announces of many torrents, spread out in time. A daemon that starts 1,000 torrents would otherwise
 * send 1,000 `started` announces in the same second, and again, all together, every interval after (and
 * every retry while a tracker is down). The pacer lets a burst through at once (so that a handful of
 * torrents, or one download, announce without delay) and then one announce per `1 / perSecond` seconds,
 * in the order asked: Transmission announces at most 20 torrents a second in the same way.
 *
 * Each `take` reserves the next free moment and sleeps until it (a reservation, not a queue: nothing to
 * wake, and an interrupted waiter gives nothing back, which only spreads the rest a little more).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

export interface AnnouncePacer {
  /** Waits for this announce's turn. */
  readonly take: Effect.Effect<void>
}

export interface PacerOptions {
  readonly perSecond: number
  readonly burst: number
}

/** 20 a second after a burst of 20: 1,000 torrents announce within about 50 s of a start. */
export const defaultPacing: PacerOptions = { perSecond: 20, burst: 20 }

export const make = (options: PacerOptions = defaultPacing): Effect.Effect<AnnouncePacer> =>
  Effect.map(Clock.currentTimeMillis, (start) => {
    const spacingMs = 1000 / options.perSecond
    // The moment from which the bucket is empty: `burst` turns before it are free at any time.
    let nextFree = start - options.burst * spacingMs
    const take = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      nextFree = Math.max(nextFree, now - options.burst * spacingMs) + spacingMs
      const waitMs = nextFree - now
      return waitMs > 0 ? Effect.sleep(waitMs) : Effect.void
    })
    return { take }
  })
