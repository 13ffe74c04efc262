import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import type { AnnounceEvent, AnnounceRequest } from "../../../src/domain/Announce.js"
import { TrackerError } from "../../../src/domain/Errors.js"
import { InfoHash } from "../../../src/domain/InfoHash.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { PeerId } from "../../../src/domain/PeerId.js"
import * as Announcer from "../../../src/services/tracker/Announcer.js"
import { Tracker, type TrackerService } from "../../../src/services/tracker/Tracker.js"
import { MemoryTracker, layer as trackerMemory } from "../../../src/services/tracker/MemoryTracker.js"

const A = "http://a.test/announce"
const B = "udp://b.test:6969"
const C = "http://c.test/announce"
const D = "http://d.test/announce"

const infoHash = InfoHash.make(new Uint8Array(20).fill(7))
const ourId = PeerId.make(new Uint8Array(Buffer.from("-EF0100-ourselves0000", "latin1").subarray(0, 20)))
const otherId = PeerId.make(new Uint8Array(Buffer.from("-EF0100-someoneelse0", "latin1").subarray(0, 20)))
const peer = (host: string, port: number) => new PeerAddress({ host, port })

const request = (event: AnnounceEvent, left: number, peerId = ourId, ip = "10.0.0.1", port = 6881): AnnounceRequest => ({
  infoHash,
  peerId,
  port,
  uploaded: 0,
  downloaded: 1000 - left,
  left,
  event,
  numwant: 50,
  key: 1,
  compact: true,
  ip
})

/** Keeps the tiers in the order given (every swap picks the element already in place). */
const inOrder = Random.fixed([Number.MAX_SAFE_INTEGER])

interface Harness {
  readonly announcer: Announcer.Announcer
  /** Every peer list given to `onPeers`. */
  readonly peers: Array<ReadonlyArray<PeerAddress>>
  /** Bytes left, read at each announce. */
  readonly state: { left: number }
}

const start = (
  tiers: ReadonlyArray<ReadonlyArray<string>>,
  tracker: TrackerService,
  random: Random.Random = inOrder
): Effect.Effect<Harness, never, Scope.Scope> =>
  Effect.gen(function*() {
    const peers: Array<ReadonlyArray<PeerAddress>> = []
    const state = { left: 1000 }
    const announcer = yield* Announcer.make({
      tiers,
      request: (event) => Effect.sync(() => request(event, state.left)),
      onPeers: (list) => Effect.sync(() => void peers.push(list))
    }).pipe(Effect.provide(Layer.succeed(Tracker, tracker)), Effect.withRandom(random))
    return { announcer, peers, state }
  })

const memoryService = (memory: MemoryTracker): Effect.Effect<TrackerService> =>
  Effect.provide(Tracker, trackerMemory(memory))

/** Lets the announcer's fibers run what is due now. */
const settle = TestClock.adjust(0)

/** The log as [url, event, seconds, failed?]. */
const log = (memory: MemoryTracker) =>
  memory.announces
    .filter((a) => a.request.peerId === ourId)
    .map((a) => [a.url, a.event, a.at / 1000, ...(a.failed !== undefined ? [a.failed] : [])])

/** Tiers run concurrently: entries of different tiers at one instant come in no fixed order. */
const sorted = <A>(entries: ReadonlyArray<A>): Array<A> => entries.map((e) => [JSON.stringify(e), e] as const).sort().map(([, e]) => e)

describe("Announcer", () => {
  it.scoped("announces started first, then none every interval, and hands over the peers", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      yield* memory.announce(A, request("started", 0, otherId, "10.0.0.2", 7000))
      const { announcer, peers } = yield* start([[A]], yield* memoryService(memory))
      yield* settle
      expect(log(memory)).toEqual([[A, "started", 0]])
      expect(peers).toEqual([[peer("10.0.0.2", 7000)]])
      expect(yield* announcer.status).toEqual([
        { url: A, state: "working", peers: 1, seeders: 1, leechers: 1, nextAnnounceAt: 600_000 }
      ])
      yield* TestClock.adjust("599 seconds")
      expect(log(memory)).toEqual([[A, "started", 0]])
      yield* TestClock.adjust("1 second")
      expect(log(memory)).toEqual([[A, "started", 0], [A, "none", 600]])
      yield* TestClock.adjust("600 seconds")
      expect(log(memory)).toEqual([[A, "started", 0], [A, "none", 600], [A, "none", 1200]])
      expect(peers.length).toBe(3)
    }))

  it("clamps the interval to 30 s .. 1 hour and to the tracker's minimum", () => {
    expect(Announcer.regularInterval({ interval: 5, peers: [] })).toBe(30)
    expect(Announcer.regularInterval({ interval: 60, minInterval: 120, peers: [] })).toBe(120)
    expect(Announcer.regularInterval({ interval: 900, minInterval: 60, peers: [] })).toBe(900)
    expect(Announcer.regularInterval({ interval: 100_000, peers: [] })).toBe(3600)
  })

  it.scoped("re-announces no sooner than 30 seconds", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 1 })
      yield* start([[A]], yield* memoryService(memory))
      yield* settle
      yield* TestClock.adjust("29 seconds")
      expect(log(memory).length).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(log(memory)).toEqual([[A, "started", 0], [A, "none", 30]])
    }))

  it.scoped("falls back to the next tracker of a tier, which then moves to the front", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(A, "Unreachable", "connection refused")
      const { announcer } = yield* start([[A, B]], yield* memoryService(memory))
      yield* settle
      expect(log(memory)).toEqual([[A, "started", 0, "Unreachable"], [B, "started", 0]])
      expect(yield* announcer.status).toEqual([
        { url: B, state: "working", peers: 0, seeders: 0, leechers: 1, nextAnnounceAt: 600_000 },
        { url: A, state: "failed", error: "connection refused", peers: 0, nextAnnounceAt: 600_000 }
      ])
      // B is asked first from now on; A is not tried while B answers.
      yield* TestClock.adjust("600 seconds")
      expect(log(memory).slice(2)).toEqual([[B, "none", 600]])
      // When B fails, A (which never answered) gets started.
      memory.fail(B, "Timeout")
      memory.recover(A)
      yield* TestClock.adjust("600 seconds")
      expect(log(memory).slice(3)).toEqual([[B, "none", 1200, "Timeout"], [A, "started", 1200]])
      expect((yield* announcer.status).map((s) => [s.url, s.state])).toEqual([[A, "working"], [B, "failed"]])
    }))

  it.scoped("tells a tracker's trouble as it changes: once per reason, not per retry, and when it answers again", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(A, "Unreachable", "connection refused")
      const changes: Array<readonly [string, string | undefined]> = []
      yield* Announcer.make({
        tiers: [[A]],
        request: (event) => Effect.sync(() => request(event, 1000)),
        onPeers: () => Effect.void,
        onChange: (url, failure) => Effect.sync(() => void changes.push([url, failure]))
      }).pipe(Effect.provide(Layer.succeed(Tracker, yield* memoryService(memory))), Effect.withRandom(inOrder))
      yield* settle
      // Retried at 30 s and 90 s with the same answer: nothing more to tell.
      yield* TestClock.adjust("90 seconds")
      expect(log(memory).length).toBe(3)
      expect(changes).toEqual([[A, "connection refused"]])
      memory.fail(A, "Unreachable", "no route to host")
      yield* TestClock.adjust("120 seconds")
      expect(changes).toEqual([[A, "connection refused"], [A, "no route to host"]])
      memory.recover(A)
      yield* TestClock.adjust("240 seconds")
      expect(changes).toEqual([[A, "connection refused"], [A, "no route to host"], [A, undefined]])
    }))

  it.scoped("retries a failing tier with backoff 30 s, 60 s, 120 s ... capped at 30 minutes", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(A, "Unreachable")
      memory.fail(B, "Failure", "unregistered torrent")
      const { announcer } = yield* start([[A, B]], yield* memoryService(memory))
      yield* settle
      expect(yield* announcer.status).toEqual([
        { url: A, state: "failed", error: "Unreachable", peers: 0, nextAnnounceAt: 30_000 },
        { url: B, state: "failed", error: "unregistered torrent", peers: 0, nextAnnounceAt: 30_000 }
      ])
      for (let minute = 0; minute < 95; minute++) yield* TestClock.adjust("1 minute")
      const times = (url: string) => log(memory).filter((e) => e[0] === url).map((e) => e[2])
      expect(times(A)).toEqual([0, 30, 90, 210, 450, 930, 1890, 3690, 5490])
      expect(times(B)).toEqual(times(A))
      // An answer ends the backoff: the regular interval again.
      memory.recover(B)
      yield* TestClock.adjust("30 minutes")
      expect(log(memory).slice(-2)).toEqual([[A, "started", 7290, "Unreachable"], [B, "started", 7290]])
      yield* TestClock.adjust("600 seconds")
      expect(log(memory).slice(-1)).toEqual([[B, "none", 7890]])
    }))

  it.scoped("sends completed once, at once, to each tier's working tracker", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(A, "Unreachable")
      const { announcer, state } = yield* start([[A, B], [C]], yield* memoryService(memory))
      yield* settle
      yield* TestClock.adjust("100 seconds")
      state.left = 0
      yield* announcer.completed
      yield* settle
      yield* announcer.completed
      yield* settle
      const completed = memory.announces.filter((a) => a.event === "completed")
      expect(sorted(completed.map((a) => [a.url, a.at / 1000, a.request.left]))).toEqual([[C, 100, 0], [B, 100, 0]])
      // Then back to the regular interval from the completed announce.
      yield* TestClock.adjust("600 seconds")
      expect(sorted(log(memory).slice(-2))).toEqual([[C, "none", 700], [B, "none", 700]])
      expect(memory.announces.filter((a) => a.event === "completed").length).toBe(2)
    }))

  it.scoped("a tier that never answered carries completion in its started", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(C, "Unreachable")
      const { announcer, state } = yield* start([[A], [C]], yield* memoryService(memory))
      yield* settle
      memory.recover(C)
      state.left = 0
      yield* announcer.completed
      yield* settle
      expect(sorted(log(memory).slice(0, 2))).toEqual([[A, "started", 0], [C, "started", 0, "Unreachable"]])
      expect(sorted(log(memory).slice(2))).toEqual([[A, "completed", 0], [C, "started", 0]])
      // No later completed to C: it learnt left = 0 from its first announce.
      yield* TestClock.adjust("600 seconds")
      expect(sorted(log(memory).slice(4))).toEqual([[A, "none", 600], [C, "none", 600]])
    }))

  it.scoped("sends stopped to every tracker that answered when the scope closes", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      memory.fail(A, "Unreachable")
      memory.fail(D, "Unreachable")
      const service = yield* memoryService(memory)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* start([[A, B], [C], [D]], service)
        yield* settle
        yield* TestClock.adjust("10 seconds")
      }))
      const stopped = memory.announces.filter((a) => a.event === "stopped")
      expect(sorted(stopped.map((a) => [a.url, a.at / 1000]))).toEqual([[C, 10], [B, 10]])
      expect(memory.peers(infoHash)).toEqual([])
      // Nothing more after the scope closed.
      const count = memory.announces.length
      yield* TestClock.adjust("1 hour")
      expect(memory.announces.length).toBe(count)
    }))

  it.scoped("a stopped that hangs is abandoned after 5 seconds", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      const base = yield* memoryService(memory)
      const hanging: TrackerService = {
        announce: (url, req) => (req.event === "stopped" && url === A ? Effect.never : base.announce(url, req))
      }
      const closed = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        yield* start([[A], [B]], hanging)
        yield* settle
      })))
      yield* settle
      yield* TestClock.adjust("4 seconds")
      expect(closed.unsafePoll()).toBe(null)
      yield* TestClock.adjust("1 second")
      expect(closed.unsafePoll()?._tag).toBe("Success")
      expect(memory.announces.filter((a) => a.event === "stopped").map((a) => a.url)).toEqual([B])
    }))

  it.scoped("announces all tiers concurrently: a hanging first tier does not hold back the second", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      yield* memory.announce(B, request("started", 0, otherId, "10.0.0.9", 9000))
      const base = yield* memoryService(memory)
      const slow: TrackerService = {
        announce: (url, req) =>
          url === A
            ? Effect.zipRight(
              Effect.sleep("100 seconds"),
              Effect.fail(new TrackerError({ reason: "Timeout", url, detail: "no answer" }))
            )
            : base.announce(url, req)
      }
      const { announcer, peers } = yield* start([[A], [B]], slow)
      yield* settle
      expect(peers).toEqual([[peer("10.0.0.9", 9000)]])
      expect((yield* announcer.status).map((s) => [s.url, s.state])).toEqual([[A, "pending"], [B, "working"]])
      yield* TestClock.adjust("100 seconds")
      expect((yield* announcer.status).map((s) => [s.url, s.state, s.nextAnnounceAt])).toEqual([
        [A, "failed", 130_000],
        [B, "working", 600_000]
      ])
    }))

  it.scoped("shuffles each tier once, deterministically for a seed", () =>
    Effect.gen(function*() {
      const firstContacted = (seed: number) =>
        Effect.scoped(Effect.gen(function*() {
          const memory = new MemoryTracker({ interval: 600 })
          const { announcer } = yield* start([[A, B, C, D]], yield* memoryService(memory), Random.make(seed))
          yield* settle
          const order = (yield* announcer.status).map((s) => s.url)
          expect(log(memory)[0]?.[0]).toBe(order[0])
          return order
        }))
      const orders: Array<ReadonlyArray<string>> = []
      for (let seed = 0; seed < 12; seed++) orders.push(yield* firstContacted(seed))
      expect(yield* firstContacted(3)).toEqual(orders[3])
      for (const order of orders) expect([...order].sort()).toEqual([A, B, C, D].sort())
      expect(new Set(orders.map((o) => o[0])).size).toBeGreaterThan(1)
    }))

  it.scoped("lists each URL once, in its first tier", () =>
    Effect.gen(function*() {
      const memory = new MemoryTracker({ interval: 600 })
      const { announcer } = yield* start([[A, B], [B, C], [], [A]], yield* memoryService(memory))
      yield* settle
      expect((yield* announcer.status).map((s) => s.url)).toEqual([A, B, C])
      expect(sorted(log(memory))).toEqual([[A, "started", 0], [C, "started", 0]])
    }))
})
