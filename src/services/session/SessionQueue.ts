/**
 * The session's queue: which torrents run. A torrent that is not paused either runs or waits; at most
 * `downloadQueueSize` downloads and `seedQueueSize` seeds run at once, and waiting torrents start in queue
 * order as slots free up. The queue looks every second, and at once whenever a front end changes something.
 * Each running torrent is one fiber (TorrentRun.ts), kept by id.
 */
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Entry } from "./SessionEntry.js"

export interface QueueLimits {
  readonly downloadQueueSize: number
  readonly seedQueueSize: number
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
}

/** A seed slot is held by a complete torrent that runs; any other torrent that runs holds a download slot. */
const isSeeding = (e: Entry) => e.phase === "running" && e.handle !== undefined && e.complete

/** Whether `entry` may start beside the torrents running now: a complete one wants a seed slot, any other a download slot. */
const hasRoom = (entry: Entry, entries: ReadonlyArray<Entry>, limits: QueueLimits): boolean => {
  const running = entries.filter((e) => e.phase !== "stopped")
  const seeds = running.filter(isSeeding).length
  const downloads = running.length - seeds
  return entry.complete ? seeds < limits.seedQueueSize : downloads < limits.downloadQueueSize
}

/** The queue, looking every second until the scope closes (which stops every run). */
export const make = (options: QueueOptions): Effect.Effect<SessionQueue, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runs = yield* FiberMap.make<number>()
    const schedule = Effect.gen(function*() {
      const waiting = options.entries().filter((e) => !e.paused && e.phase === "stopped").sort((a, b) => a.queuePosition - b.queuePosition)
      for (const entry of waiting) {
        if (!hasRoom(entry, options.entries(), options.limits())) continue
        entry.phase = "starting"
        yield* FiberMap.run(runs, entry.id, options.run(entry))
      }
    })
    yield* Effect.forkScoped(Effect.repeat(schedule, Schedule.spaced("1 second")))
    return { schedule, stop: (entry) => FiberMap.remove(runs, entry.id) }
  })
