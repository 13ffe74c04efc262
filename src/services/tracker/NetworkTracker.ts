/**
 * The real tracker client: an announce goes by the URL's scheme to HTTP or HTTPS (BEP 3, over the
 * HttpClient of the context; HttpTracker.ts) or to UDP (BEP 15 over node:dgram; UdpTracker.ts).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { AnnounceRequest } from "../../domain/Announce.js"
import { TrackerError } from "../../domain/Errors.js"
import * as HttpTracker from "./HttpTracker.js"
import { defaultOptions, Tracker, type TrackerOptions, type TrackerService } from "./Tracker.js"
import * as UdpTracker from "./UdpTracker.js"

const schemeOf = (url: string): string | undefined => {
  const colon = url.indexOf(":")
  return colon > 0 ? url.slice(0, colon).toLowerCase() : undefined
}

/** The real tracker client; its UDP sockets live as long as the scope. */
export const make = (options: TrackerOptions = {}): Effect.Effect<TrackerService, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const http = yield* HttpTracker.make({
      timeout: options.httpTimeout ?? defaultOptions.httpTimeout,
      maxBytes: options.httpMaxBytes ?? defaultOptions.httpMaxBytes,
      ...(options.bind?.ipv6 !== undefined ? { ipv6: options.bind.ipv6 } : {})
    })
    const udp = yield* UdpTracker.make({
      initialTimeout: options.udpInitialTimeout ?? defaultOptions.udpInitialTimeout,
      maxRetries: options.udpMaxRetries ?? defaultOptions.udpMaxRetries,
      ...(options.bind !== undefined ? { bind: options.bind } : {})
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
