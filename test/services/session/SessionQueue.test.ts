/**
 * The session's queue with many torrents: every complete torrent seeds unless seeds are queued (off by
 * default, as in Transmission), a download keeps its slot while a thousand seeds are starting, and the
 * seed queue, when on, holds its size whatever phase its torrents are in.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { Entry } from "../../../src/services/session/SessionEntry.js"
import * as SessionQueue from "../../../src/services/session/SessionQueue.js"
import * as TorrentList from "../../../src/services/session/TorrentList.js"

const hex = (i: number) => i.toString(16).padStart(40, "0")

/** `seeds` complete torrents and `downloads` incomplete ones, none running. */
const listOf = (seeds: number, downloads: number) =>
  Effect.gen(function* () {
    const list = TorrentList.make()
    for (let i = 0; i < seeds + downloads; i++) {
      const entry = yield* list.add({ hash: hex(i), name: `t${i}`, metainfo: undefined, magnet: `magnet:?xt=urn:btih:${hex(i)}` }, { downloadDir: "/nowhere", paused: false })
      entry.complete = i < seeds
    }
    return list
  })

/** A queue whose runs stay in the phase the queue gave them ("starting": checking, say) until the end. */
const queueOn = (list: TorrentList.TorrentList, limits: SessionQueue.QueueLimits, stalled?: (e: Entry) => boolean) => {
  const started: Array<Entry> = []
  return Effect.map(
    SessionQueue.make({
      entries: list.all,
      limits: () => limits,
      run: (entry) => Effect.zipRight(Effect.sync(() => void started.push(entry)), Effect.never),
      ...(stalled === undefined ? {} : { stalled })
    }),
    (queue) => ({ queue, started })
  )
}

describe("SessionQueue", () => {
  it.scoped("seeds do not queue by default: 1,000 complete torrents all start, and the download beside them too", () =>
    Effect.gen(function* () {
      const list = yield* listOf(1000, 1)
      const { queue, started } = yield* queueOn(list, { downloadQueueSize: 1, seedQueueSize: 10, seedQueueEnabled: false })
      yield* queue.schedule
      yield* Effect.yieldNow()
      expect(list.all().filter((e) => e.phase === "stopped")).toEqual([])
      expect(started.filter((e) => !e.complete).length).toBe(1)
    }))

  it.scoped("a seed queue of 10 holds 10 seeds while they are still starting, and downloads have their own slots", () =>
    Effect.gen(function* () {
      const list = yield* listOf(50, 3)
      const { queue } = yield* queueOn(list, { downloadQueueSize: 2, seedQueueSize: 10, seedQueueEnabled: true })
      yield* queue.schedule
      yield* queue.schedule
      const running = list.all().filter((e) => e.phase !== "stopped")
      expect(running.filter((e) => e.complete).length).toBe(10)
      expect(running.filter((e) => !e.complete).length).toBe(2)
    }))

  it.scoped("a stalled download holds no slot: the next one starts beside it (queue-stalled-enabled)", () =>
    Effect.gen(function* () {
      const list = yield* listOf(0, 3)
      const stalled = new Set<number>()
      const { queue } = yield* queueOn(list, { downloadQueueSize: 1, seedQueueSize: 10, seedQueueEnabled: false }, (e) => stalled.has(e.id))
      yield* queue.schedule
      expect(list.all().map((e) => e.phase)).toEqual(["starting", "stopped", "stopped"])
      stalled.add(1)
      yield* queue.schedule
      expect(list.all().map((e) => e.phase)).toEqual(["starting", "starting", "stopped"])
    }))
})
