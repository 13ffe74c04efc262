/**
 * What the Transmission RPC remembers for its clients between requests, per server: what the session
 * itself does not keep. (The limits' values kept while a limit is off are the session's, saved with its
 * settings and its list: they hold across restarts.)
 *
 * Removed torrents: torrent-get's "recently-active" answers every torrent (a superset of Transmission's,
 * which polling clients merge) with the ids removed in the last minute. Every torrent seen is
 * remembered, so that one gone by another way (another client, the web interface) is reported removed too.
 */
import * as Effect from "effect/Effect"
import type { TorrentView } from "../../domain/SessionView.js"

/** How long a removed torrent is reported in `removed` to clients polling "recently-active". */
const removedMemorySeconds = 60

export interface ClientMemory {
  /** Seconds since the epoch. */
  readonly now: () => number
  readonly noteAdded: (id: number) => void
  readonly noteRemoved: (ids: ReadonlyArray<number>) => void
  /** Every torrent there is now: those seen before and not among them were removed. */
  readonly noteAll: (views: ReadonlyArray<TorrentView>) => void
  /** The ids removed within the last minute. */
  readonly removed: () => ReadonlyArray<number>
}

export const make: Effect.Effect<ClientMemory> = Effect.map(Effect.clock, (clock) => {
  const now = () => Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
  const known = new Set<number>()
  const removed = new Map<number, number>()

  const noteRemoved = (ids: ReadonlyArray<number>) => {
    for (const id of ids) {
      known.delete(id)
      removed.set(id, now())
    }
  }

  return {
    now,
    noteAdded: (id) => void known.add(id),
    noteRemoved,
    noteAll: (views) => {
      const present = new Set(views.map((v) => v.id))
      noteRemoved([...known].filter((id) => !present.has(id)))
      for (const id of present) known.add(id)
      for (const [id, at] of removed) if (now() - at > removedMemorySeconds) removed.delete(id)
    },
    removed: () => [...removed.keys()]
  }
})
