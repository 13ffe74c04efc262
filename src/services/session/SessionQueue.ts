/**
 * The session's queue: which torrents run. A torrent that is not paused either runs or waits; at most
 * `downloadQueueSize` downloads and (when `seedQueueEnabled`, off by default as in Transmission)
 * `seedQueueSize` seeds run at once, and waiting torrents start in queue order as slots free up. The queue
 * looks every second, and at once whenever a front end changes something. A torrent that has moved no data
 * for queue-stalled-minutes holds no slot (Transmission's queue-stalled-enabled), so that one more may run.
 * A forced torrent (qBittorrent's force start) runs whatever the limits and holds no slot. Each running
 * torrent is one fiber (TorrentRun.ts), kept by id.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Entry } from "./SessionEntry.js"

export interface QueueLimits {
  readonly downloadQueueSize: number
  readonly seedQueueSize: number
  readonly seedQueueEnabled: boolean
}

export interface SessionQueue {
  /** Starts waiting torrents while the queue has room, in queue order. */
  readonly schedule: Effect.Effect<void>
  /** Stops a torrent's run, if it runs (its scope closes); it is then paused or waiting, as its entry says. */
  readonly stop: (entry: Entry) => Effect.Effect<void>
}

export interface QueueOptions {
  readonly entries: () => ReadonlyArray<Entry>
  readonly limits: () => QueueLimits
  /** The torrent's run, from start to stop. */
  readonly run: (entry: Entry) => Effect.Effect<void>
  /** Whether a running torrent is stalled now (seconds since the epoch): it then holds no slot, as in Transmission. */
  readonly stalled?: (entry: Entry, now: number) => boolean
}

/** A seed slot is held by a complete torrent that is not stopped (starting and checking included: its
 *  data was complete when it stopped); any other torrent not stopped holds a download slot. */
const holdsSeedSlot = (e: Entry) => e.complete

/** The slots in use now, counted once per pass (a pass over 1,000 waiting torrents must not count 1,000 times). */
const slotsInUse = (entries: ReadonlyArray<Entry>, stalled: (e: Entry) => boolean) => {
  let seeds = 0
  let downloads = 0
  for (const e of entries) {
    if (e.phase === "stopped" || e.forced || stalled(e)) continue
    if (holdsSeedSlot(e)) seeds++
    else downloads++
  }
  return { seeds, downloads }
}

/** The queue, looking every second until the scope closes (which stops every run). */
export const make = (options: QueueOptions): Effect.Effect<SessionQueue, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runs = yield* FiberMap.make<number>()
    // One pass at a time: the one-second look and a front end's change would otherwise count the same
    // free slots twice.
    const lock = yield* Effect.makeSemaphore(1)
    const schedule = lock.withPermits(1)(Effect.gen(function*() {
      const waiting = options.entries().filter((e) => !e.paused && !e.moving && e.phase === "stopped").sort((a, b) => a.queuePosition - b.queuePosition)
      if (waiting.length === 0) return
      const limits = options.limits()
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const used = slotsInUse(options.entries(), (e) => options.stalled?.(e, now) ?? false)
      for (const entry of waiting) {
        // Stopped, paused or started since the list was taken: starting it again would interrupt that run.
        if (entry.paused || entry.moving || entry.phase !== "stopped") continue
        // A complete torrent wants a seed slot (always free while seeds do not queue), any other a download slot.
        const seed = holdsSeedSlot(entry)
        if (entry.forced) {
          entry.phase = "starting"
          yield* FiberMap.run(runs, entry.id, options.run(entry))
          continue
        }
        if (seed ? limits.seedQueueEnabled && used.seeds >= limits.seedQueueSize : used.downloads >= limits.downloadQueueSize) continue
        if (seed) used.seeds++
        else used.downloads++
        entry.phase = "starting"
        yield* FiberMap.run(runs, entry.id, options.run(entry))
      }
    }))
    yield* Effect.forkScoped(Effect.repeat(schedule, Schedule.spaced("1 second")))
    return { schedule, stop: (entry) => FiberMap.remove(runs, entry.id) }
  })
