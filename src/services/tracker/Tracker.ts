/**
 * The tracker port: one announce to one tracker URL, whatever its transport. The real layer dispatches on
 * the URL scheme (http and https: BEP 3 over the HttpClient of the context; udp: BEP 15 over node:dgram);
 * the memory layer is an in-process tracker for swarm tests.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Duration from "effect/Duration"
import type { AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import { TrackerError } from "../../domain/Errors.js"
import * as HttpTracker from "./HttpTracker.js"
import type { MemoryTracker } from "./MemoryTracker.js"
import * as UdpTracker from "./UdpTracker.js"

export { MemoryTracker } from "./MemoryTracker.js"
export type { MemoryAnnounce, MemoryTrackerOptions } from "./MemoryTracker.js"

export interface TrackerService {
  /** One announce to one tracker URL (http, https or udp). */
  readonly announce: (url: string, request: AnnounceRequest) => Effect.Effect<AnnounceResponse, TrackerError>
}

export class Tracker extends Context.Tag("bt-effect/Tracker")<Tracker, TrackerService>() {}

export interface TrackerOptions {
  /** Whole HTTP exchange (default 30 seconds). */
  readonly httpTimeout?: Duration.DurationInput
  /** Largest HTTP response body read (default 8 MiB). */
  readonly httpMaxBytes?: number
  /** First UDP retransmission timeout, doubled after each (default 15 seconds, as BEP 15). */
  readonly udpInitialTimeout?: Duration.DurationInput
  /** UDP retransmissions before "Timeout" (default 3: 15 + 30 + 60 + 120 seconds in all). */
  readonly udpMaxRetries?: number
}

export const defaultOptions = {
  httpTimeout: "30 seconds",
  httpMaxBytes: 8 * 1024 * 1024,
  udpInitialTimeout: "15 seconds",
  udpMaxRetries: 3
} as const satisfies Required<TrackerOptions>

const schemeOf = (url: string): string | undefined => {
  const colon = url.indexOf(":")
  return colon > 0 ? url.slice(0, colon).toLowerCase() : undefined
}

/** The real tracker client; its UDP sockets live as long as the scope. */
export const make = (options: TrackerOptions = {}): Effect.Effect<TrackerService, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const http = yield* HttpTracker.make({
      timeout: options.httpTimeout ?? defaultOptions.httpTimeout,
      maxBytes: options.httpMaxBytes ?? defaultOptions.httpMaxBytes
    })
    const udp = yield* UdpTracker.make({
      initialTimeout: options.udpInitialTimeout ?? defaultOptions.udpInitialTimeout,
      maxRetries: options.udpMaxRetries ?? defaultOptions.udpMaxRetries
    })
    const announce = Effect.fn("Tracker.announce")(function*(url: string, request: AnnounceRequest) {
      yield* Effect.annotateCurrentSpan("tracker", url)
      switch (schemeOf(url)) {
        case "http":
        case "https":
          return yield* http(url, request)
        case "udp":
          return yield* udp(url, request)
        default:
          return yield* new TrackerError({ reason: "Unsupported", url, detail: "unsupported tracker URL scheme" })
      }
    })
    return Tracker.of({ announce })
  })

export const layerWith = (options: TrackerOptions): Layer.Layer<Tracker, never, HttpClient.HttpClient> =>
  Layer.scoped(Tracker, make(options))

export const layer: Layer.Layer<Tracker, never, HttpClient.HttpClient> = layerWith({})

/** An in-process tracker (see MemoryTracker), for swarm tests. */
export const layerMemory = (tracker: MemoryTracker): Layer.Layer<Tracker> =>
  Layer.succeed(Tracker, Tracker.of({ announce: tracker.announce }))
