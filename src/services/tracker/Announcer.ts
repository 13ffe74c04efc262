/**
 * Announcing one torrent to its trackers (BEP 12 multitracker), for as long as a scope lives.
 *
 * Every tier runs in its own fiber, so that a dead first tier does not hold back peers from the second
 * (libtorrent's announce-to-all-tiers). Within a tier the trackers are shuffled once and tried in order
 * until one answers; that one moves to the front and is asked first from then on. Failures never end the
 * announcer: the tier is retried with backoff and the error shows in `status`.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import type { InfoHash } from "../../domain/InfoHash.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import { displayText } from "../../protocol/TrackerHttp.js"
import { Tracker, type TrackerService } from "./Tracker.js"

export interface TrackerStatus {
  readonly url: string
  readonly state: "pending" | "working" | "failed"
  /** The last failure, one line. */
  readonly error?: string
  readonly warning?: string
  /** Peers in the last response. */
  readonly peers: number
  readonly seeders?: number
  readonly leechers?: number
  /** Epoch ms (from Clock) of the next announce of this tracker's tier. */
  readonly nextAnnounceAt?: number
}

export interface Announcer {
  /** Sends `completed` to the trackers now (once; later calls do nothing). Does not wait for the answers. */
  readonly completed: Effect.Effect<void>
  /** The state of every tracker, for progress display. */
  readonly status: Effect.Effect<ReadonlyArray<TrackerStatus>>
  /** Announces every tier now (Transmission's torrent-reannounce, qBittorrent's reannounce). */
  readonly now: Effect.Effect<void>
}

export interface AnnouncerOptions {
  readonly tiers: ReadonlyArray<ReadonlyArray<string>>
  /**
   * Other info hashes the torrent is known by (a hybrid's truncated v2 hash, BEP 52): each tracker that
   * answers is told of them too, in the same announce's terms, as libtorrent does, so that v2 peers find
   * us; their answers add peers, their failures change nothing.
   */
  readonly alsoAs?: ReadonlyArray<InfoHash>
  /** The request for an event, with the current uploaded/downloaded/left (called at each announce). */
  readonly request: (event: AnnounceEvent) => Effect.Effect<AnnounceRequest>
  /** Peers from a response. */
  readonly onPeers: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
  /** Waits for a turn before each round of a tier (the session's AnnouncePacer); `stopped` does not wait. */
  readonly pace?: Effect.Effect<void>
  /** A tracker's trouble as it changes: a failure (once per reason, not per retry), or working again
   *  after one (the daemon's log). */
  readonly onChange?: (url: string, failure: string | undefined) => Effect.Effect<void>
}

/** Bounds on the regular announce interval, in seconds. */
const minimumIntervalSeconds = 30
const maximumIntervalSeconds = 3600
/** Retry delay of a failing tier: doubles from the base up to the cap. */
const backoffBaseMs = 30_000
const backoffCapMs = 30 * 60_000
/** Each `stopped` on the way out. */
const stoppedTimeout = Duration.seconds(5)

interface Entry {
  readonly url: string
  state: TrackerStatus["state"]
  error: string | undefined
  warning: string | undefined
  peers: number
  seeders: number | undefined
  leechers: number | undefined
  nextAnnounceAt: number | undefined
  /** It answered once: it has had `started` and gets `stopped` at the end. */
  answered: boolean
  /** The `tracker id` it gave, sent back with every later announce. */
  trackerId: string | undefined
}

interface Tier {
  /** Current order: shuffled once, then the tracker that answers moves to the front. */
  readonly entries: Array<Entry>
  /** The fiber announcing the tier. `completed` interrupts it and starts another at once: a wait that a
   *  wake could cut short (a timeout raced against a queue) would hold two more fibers per torrent the
   *  whole time, and a daemon holds 1,000 torrents. */
  fiber: Fiber.RuntimeFiber<never> | undefined
  /** `completed` was asked for and no tracker of this tier has taken it yet. */
  completedPending: boolean
}

const entry = (url: string): Entry => ({
  url,
  state: "pending",
  error: undefined,
  warning: undefined,
  peers: 0,
  seeders: undefined,
  leechers: undefined,
  nextAnnounceAt: undefined,
  answered: false,
  trackerId: undefined
})

const snapshot = (e: Entry): TrackerStatus => ({
  url: e.url,
  state: e.state,
  ...(e.error !== undefined ? { error: e.error } : {}),
  ...(e.warning !== undefined ? { warning: e.warning } : {}),
  peers: e.peers,
  ...(e.seeders !== undefined ? { seeders: e.seeders } : {}),
  ...(e.leechers !== undefined ? { leechers: e.leechers } : {}),
  ...(e.nextAnnounceAt !== undefined ? { nextAnnounceAt: e.nextAnnounceAt } : {})
})

/** Seconds until the next regular announce: the tracker's interval within our bounds and its minimum. */
export const regularInterval = (res: AnnounceResponse): number =>
  Math.min(Math.max(res.interval, minimumIntervalSeconds, res.minInterval ?? 0), maximumIntervalSeconds)

/** Milliseconds before retrying a tier that failed `failures` times in a row (1 or more). */
export const backoff = (failures: number): number =>
  Math.min(backoffBaseMs * 2 ** Math.min(failures - 1, 16), backoffCapMs)

const withTrackerId = (request: AnnounceRequest, e: Entry): AnnounceRequest =>
  e.trackerId === undefined ? request : { ...request, trackerId: e.trackerId }

/** One line, for a status display: what a tracker sent is not trusted to be printable. */
const oneLine = displayText

/** Tiers without duplicate URLs (a URL keeps its first place) and without empty tiers. */
const distinctTiers = (tiers: ReadonlyArray<ReadonlyArray<string>>): Array<Array<string>> => {
  const seen = new Set<string>()
  const out: Array<Array<string>> = []
  for (const tier of tiers) {
    const urls: Array<string> = []
    for (const url of tier) {
      if (seen.has(url)) continue
      seen.add(url)
      urls.push(url)
    }
    if (urls.length > 0) out.push(urls)
  }
  return out
}

/**
 * Starts announcing in the scope; when the scope closes, sends `stopped` to every tracker that answered
 * (each bounded to 5 seconds, in parallel, errors ignored).
 */
export const make = (options: AnnouncerOptions): Effect.Effect<Announcer, never, Tracker | Scope.Scope> =>
  Effect.gen(function*() {
    const tracker = yield* Tracker
    const tiers: Array<Tier> = []
    for (const urls of distinctTiers(options.tiers)) {
      const shuffled = yield* Random.shuffle(urls)
      tiers.push({ entries: Array.from(shuffled, entry), fiber: undefined, completedPending: false })
    }
    let completedAsked = false

    // Added before the tier fibers are forked, so that it runs after they are interrupted.
    yield* Effect.addFinalizer(() => stopAll(tracker, tiers, options))

    const scope = yield* Effect.scope
    const run = (tier: Tier) => Effect.map(Effect.forkIn(runTier(tracker, tier, options), scope), (fiber) => void (tier.fiber = fiber))
    for (const tier of tiers) yield* run(tier)

    const completed = Effect.suspend(() => {
      if (completedAsked) return Effect.void
      completedAsked = true
      return Effect.forEach(tiers, (tier) => {
        tier.completedPending = true
        return Effect.zipRight(tier.fiber === undefined ? Effect.void : Fiber.interrupt(tier.fiber), run(tier))
      }, { discard: true })
    })

    const status = Effect.sync(() => tiers.flatMap((tier) => tier.entries.map(snapshot)))

    // Each tier announced again now, its timer started over (a user's "reannounce").
    const now = Effect.forEach(tiers, (tier) => Effect.zipRight(tier.fiber === undefined ? Effect.void : Fiber.interrupt(tier.fiber), run(tier)), { discard: true })

    return { completed, status, now }
  })

/** Announces a tier forever: at its regular interval after an answer, with backoff while it fails. */
const runTier = (tracker: TrackerService, tier: Tier, options: AnnouncerOptions): Effect.Effect<never> =>
  Effect.gen(function*() {
    let failures = 0
    while (true) {
      if (options.pace !== undefined) yield* options.pace
      const intervalSeconds = yield* announceTier(tracker, tier, options)
      let delayMs: number
      if (intervalSeconds !== undefined) {
        failures = 0
        delayMs = intervalSeconds * 1000
      } else {
        failures++
        delayMs = backoff(failures)
      }
      const next = (yield* Clock.currentTimeMillis) + delayMs
      for (const e of tier.entries) e.nextAnnounceAt = next
      yield* Effect.sleep(delayMs)
    }
  })

/** One announce of a tier: its trackers in order until one answers. The answer's interval, if any. */
const announceTier = (
  tracker: TrackerService,
  tier: Tier,
  options: AnnouncerOptions
): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    for (const e of tier.entries.slice()) {
      // Only a request made after `completed` was asked for can carry it (its `left` is then 0).
      const completing = tier.completedPending
      const event: AnnounceEvent = !e.answered ? "started" : completing ? "completed" : "none"
      const request = withTrackerId(yield* options.request(event), e)
      const result = yield* Effect.either(tracker.announce(e.url, request))
      if (Either.isLeft(result)) {
        const error = oneLine(result.left.detail)
        const changed = e.state !== "failed" || e.error !== error
        e.state = "failed"
        e.error = error
        if (changed && options.onChange !== undefined) yield* options.onChange(e.url, error)
        continue
      }
      const res = result.right
      if (e.state === "failed" && options.onChange !== undefined) yield* options.onChange(e.url, undefined)
      e.state = "working"
      e.error = undefined
      e.warning = res.warning !== undefined ? oneLine(res.warning) : undefined
      e.peers = res.peers.length
      e.seeders = res.complete
      e.leechers = res.incomplete
      e.answered = true
      if (res.trackerId !== undefined) e.trackerId = res.trackerId
      if (completing) tier.completedPending = false
      const at = tier.entries.indexOf(e)
      if (at > 0) {
        tier.entries.splice(at, 1)
        tier.entries.unshift(e)
      }
      if (res.peers.length > 0) yield* options.onPeers(res.peers)
      for (const infoHash of options.alsoAs ?? []) {
        const other = yield* Effect.either(tracker.announce(e.url, { ...request, infoHash }))
        if (Either.isRight(other) && other.right.peers.length > 0) yield* options.onPeers(other.right.peers)
      }
      return regularInterval(res)
    }
    return undefined
  })

const stopAll = (tracker: TrackerService, tiers: ReadonlyArray<Tier>, options: AnnouncerOptions) =>
  Effect.gen(function*() {
    const answered = tiers.flatMap((tier) => tier.entries.filter((e) => e.answered))
    if (answered.length === 0) return
    const request = yield* options.request("stopped")
    const hashes = [request.infoHash, ...(options.alsoAs ?? [])]
    yield* Effect.forEach(
      answered.flatMap((e) => hashes.map((infoHash) => [e, infoHash] as const)),
      ([e, infoHash]) =>
        tracker.announce(e.url, withTrackerId({ ...request, infoHash }, e)).pipe(
          // Finalizers run uninterruptibly; without this the timeout could not cut a hanging announce.
          Effect.interruptible,
          Effect.timeout(stoppedTimeout),
          Effect.ignore
        ),
      { concurrency: "unbounded", discard: true }
    )
  })
