/**
 * An in-process tracker for swarm tests: one swarm per info hash, shared by every announce URL, with
 * controls to make a URL fail and a log of what was received.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import { TrackerError, type TrackerErrorReason } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import { PeerAddress } from "../../domain/PeerAddress.js"
import { Tracker } from "./Tracker.js"

/** One announce as the memory tracker received it. */
export interface MemoryAnnounce {
  readonly url: string
  readonly event: AnnounceEvent
  readonly request: AnnounceRequest
  /** When it arrived, epoch ms from Effect's Clock (the TestClock in tests). */
  readonly at: number
  /** Set when the announce was made to fail with `fail`. */
  readonly failed?: TrackerErrorReason
}

export interface MemoryTrackerOptions {
  /** Seconds, sent as `interval` (default 1800). */
  readonly interval?: number
  /** Seconds, sent as `min interval` when given. */
  readonly minInterval?: number
}

interface Member {
  readonly host: string
  readonly port: number
  readonly left: number
}

/** Peers handed out when the request leaves the number to the tracker. */
const defaultNumwant = 50

export class MemoryTracker {
  private readonly swarms = new Map<string, Map<string, Member>>()
  private readonly failures = new Map<string, { readonly reason: TrackerErrorReason; readonly detail: string }>()
  private readonly log: Array<MemoryAnnounce> = []

  constructor(readonly options: MemoryTrackerOptions = {}) {}

  /** Every announce received, failed ones included, in order. */
  get announces(): ReadonlyArray<MemoryAnnounce> {
    return this.log
  }

  /** Announces to `url` fail from now on with this reason (and detail, default the reason). */
  fail(url: string, reason: TrackerErrorReason, detail: string = reason): void {
    this.failures.set(url, { reason, detail })
  }

  /** Announces to `url` succeed again. */
  recover(url: string): void {
    this.failures.delete(url)
  }

  /** The members of the swarm of `infoHash` that accept connections, in the order they joined. */
  peers(infoHash: Uint8Array): ReadonlyArray<PeerAddress> {
    const swarm = this.swarms.get(toHex(infoHash))
    return swarm === undefined ? [] : listed(swarm.values())
  }

  readonly announce = (url: string, request: AnnounceRequest): Effect.Effect<AnnounceResponse, TrackerError> =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const failure = this.failures.get(url)
      if (failure !== undefined) {
        this.log.push({ url, event: request.event, request, at, failed: failure.reason })
        return Effect.fail(new TrackerError({ reason: failure.reason, url, detail: failure.detail }))
      }
      this.log.push({ url, event: request.event, request, at })
      return Effect.succeed(this.respond(request))
    })

  private respond(request: AnnounceRequest): AnnounceResponse {
    const hash = toHex(request.infoHash)
    let swarm = this.swarms.get(hash)
    if (swarm === undefined) {
      swarm = new Map()
      this.swarms.set(hash, swarm)
    }
    const self = toHex(request.peerId)
    if (request.event === "stopped") swarm.delete(self)
    else swarm.set(self, { host: request.ip ?? "127.0.0.1", port: request.port, left: request.left })

    const numwant = request.numwant < 0 ? defaultNumwant : request.numwant
    const others = [...swarm].filter(([id]) => id !== self).map(([, member]) => member)
    let complete = 0
    for (const member of swarm.values()) if (member.left === 0) complete++
    return {
      interval: this.options.interval ?? 1800,
      ...(this.options.minInterval !== undefined ? { minInterval: this.options.minInterval } : {}),
      complete,
      incomplete: swarm.size - complete,
      peers: listed(others).slice(0, numwant)
    }
  }
}

/** Members that gave a port (0 means they accept no connections). */
const listed = (members: Iterable<Member>): Array<PeerAddress> => {
  const out: Array<PeerAddress> = []
  for (const m of members) if (m.port > 0) out.push(new PeerAddress({ host: m.host, port: m.port }))
  return out
}

/** The Tracker port answered by this in-process tracker, for swarm tests. */
export const layer = (tracker: MemoryTracker): Layer.Layer<Tracker> =>
  Layer.succeed(Tracker, Tracker.of({ announce: tracker.announce }))
