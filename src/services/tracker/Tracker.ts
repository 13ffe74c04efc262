/**
 * The tracker port: one announce to one tracker URL, whatever its transport. The real layer
 * (NetworkTracker.ts) dispatches on the URL scheme; the memory layer (MemoryTracker.ts) is an in-process
 * tracker for swarm tests.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Duration from "effect/Duration"
import type { AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import type { Bind } from "../../domain/BindAddress.js"
import type { TrackerError } from "../../domain/Errors.js"

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
  /** `--bind` (BindAddress.ts): UDP trackers from the bound addresses, `ipv6=` from the IPv6 one. HTTP
   *  requests leave from the HttpClient's agent, which the caller binds (commands/NetworkLayers.ts). */
  readonly bind?: Bind
}

export const defaultOptions = {
  httpTimeout: "30 seconds",
  httpMaxBytes: 8 * 1024 * 1024,
  udpInitialTimeout: "15 seconds",
  udpMaxRetries: 3
} as const satisfies Required<Omit<TrackerOptions, "bind">>
