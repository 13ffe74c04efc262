/**
 * What the Transmission RPC remembers for its clients between requests, per server: what the session
 * itself does not keep.
 *
 * Speed limits: Transmission keeps a limit's value apart from whether it is on; the session keeps one
 * number (0: unlimited). The values set while a limit is off are remembered here, so that a front end that
 * sends `speed-limit-down-enabled` and `speed-limit-down` in separate requests (the web client does) ends
 * with the limit it meant.
 *
 * Removed torrents: a view has no activity date, so torrent-get's "recently-active" answers every torrent
 * (a superset, which polling clients merge) with the ids removed in the last minute. Every torrent seen is
 * remembered, so that one gone by another way (another client, the web interface) is reported removed too.
 */
import * as Effect from "effect/Effect"
import type { TorrentContext } from "../../protocol/TransmissionFields.js"
import type { TorrentView } from "../../domain/SessionView.js"

/** Transmission's default limit (kB/s), shown while a limit was never set. */
const defaultLimit = 100
/** How long a removed torrent is reported in `removed` to clients polling "recently-active". */
const removedMemorySeconds = 60

/** A limit's value in kB/s for each direction, kept while the limit is off. */
export interface Limits {
  down: number
  up: number
}

export interface ClientMemory {
  /** The session's limits as last set. */
  readonly sessionLimits: Limits
  readonly limitsOf: (id: number) => Limits
  readonly rememberLimits: (id: number, limits: Limits) => void
  /** What torrent-get needs besides the view: the time now and the limits remembered. */
  readonly contextOf: (view: TorrentView) => TorrentContext
  readonly noteAdded: (id: number) => void
  readonly noteRemoved: (ids: ReadonlyArray<number>) => void
  /** Every torrent there is now: those seen before and not among them were removed. */
  readonly noteAll: (views: ReadonlyArray<TorrentView>) => void
  /** The ids removed within the last minute. */
  readonly removed: () => ReadonlyArray<number>
}

export const make: Effect.Effect<ClientMemory> = Effect.map(Effect.clock, (clock) => {
  const now = () => Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
  const sessionLimits = { down: defaultLimit, up: defaultLimit }
  const torrentLimits = new Map<number, Limits>()
  const known = new Set<number>()
  const removed = new Map<number, number>()

  const limitsOf = (id: number) => torrentLimits.get(id) ?? { down: defaultLimit, up: defaultLimit }

  const noteRemoved = (ids: ReadonlyArray<number>) => {
    for (const id of ids) {
      known.delete(id)
      torrentLimits.delete(id)
      removed.set(id, now())
    }
  }

  return {
    sessionLimits,
    limitsOf,
    rememberLimits: (id, limits) => void torrentLimits.set(id, limits),
    contextOf: (v) => ({ now: now(), rememberedDownloadLimit: limitsOf(v.id).down, rememberedUploadLimit: limitsOf(v.id).up }),
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
