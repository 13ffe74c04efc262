/**
 * Turns to start: at most `size` torrents are checked and set up at once, the others wait in the order
 * they asked. A daemon restarting 1,000 torrents then holds what a start takes for a moment (buffers,
 * decoded metadata, half-built services) a few times, not 1,000 times.
 *
 * Not Effect's Semaphore: its release wakes every waiter to compete for the permit, so 1,000 waiting
 * torrents cost a million wake-ups and grew the heap to a gigabyte. Here a release hands its turn to the
 * first waiter, and a waiter interrupted after being handed one passes it on.
 */
import * as Effect from "effect/Effect"

export interface StartTurns {
  /** Waits for a turn; the caller gives it back with `release` (once). */
  readonly take: Effect.Effect<void>
  readonly release: Effect.Effect<void>
}

interface Waiter {
  granted: boolean
  readonly wake: () => void
}

export const make = (size: number): StartTurns => {
  let free = size
  const waiting: Array<Waiter> = []
  const handOn = () => {
    const next = waiting.shift()
    if (next === undefined) free++
    else next.wake()
  }
  const take = Effect.async<void>((resume) => {
    if (free > 0) {
      free--
      resume(Effect.void)
      return
    }
    const waiter: Waiter = {
      granted: false,
      wake: () => {
        waiter.granted = true
        resume(Effect.void)
      }
    }
    waiting.push(waiter)
    return Effect.sync(() => {
      if (waiter.granted) handOn()
      else waiting.splice(waiting.indexOf(waiter), 1)
    })
  })
  return { take, release: Effect.sync(handOn) }
}
