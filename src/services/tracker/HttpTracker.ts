/**
 * Announcing to an HTTP(S) tracker (BEP 3): one GET of the hand-built announce URL, a bounded body, the
 * bencoded response decoded by the protocol codec. Redirects are followed here, whatever the HttpClient
 * (at most 5, to HTTP(S) URLs only); the tracker's text in an error is made one printable line.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as zlib from "node:zlib"
import type { AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import { isGlobalIPv6 } from "../../domain/BindAddress.js"
import { TrackerError } from "../../domain/Errors.js"
import { announceUrl, decodeAnnounce, displayText } from "../../protocol/TrackerHttp.js"
import * as UntrustedHttp from "../http/UntrustedHttp.js"

export interface HttpTrackerOptions {
  /** The whole exchange: connect, request, headers and body. */
  readonly timeout: Duration.DurationInput
  /** Largest body read; a longer one is refused without reading the rest. */
  readonly maxBytes: number
  /** `--bind`'s IPv6 address: given to the tracker as `ipv6=` (BEP 7) when others can reach it (global);
   *  the request itself leaves from the HttpClient's bound agent (commands/NetworkLayers.ts). */
  readonly ipv6?: string
}

export type Announce = (url: string, request: AnnounceRequest) => Effect.Effect<AnnounceResponse, TrackerError>

/** Some trackers refuse requests without one. */
const userAgent = "bt-effect/0.1.0"

/** Trackers that moved (often http -> https); more hops than this is a loop. */
const maxRedirects = 5

/** A problem of the exchange as the tracker's error. */
const trackerError = (url: string, problem: UntrustedHttp.Problem): TrackerError => {
  switch (problem._tag) {
    case "Transport":
      return new TrackerError({ reason: "Unreachable", url, detail: problem.detail })
    case "TooLarge":
      return tooLarge(url, problem.maxBytes)
    case "TooManyRedirects":
    case "BadRedirect":
      return new TrackerError({ reason: "Http", url, detail: UntrustedHttp.describe(problem) })
  }
}

const tooLarge = (url: string, maxBytes: number) =>
  new TrackerError({ reason: "Malformed", url, detail: `response larger than ${maxBytes} bytes` })

/**
 * A body some tracker sent gzipped (unasked: we send no Accept-Encoding), inflated within the same bound:
 * node:http hands it over as it came (fetch inflates it itself, and then this finds no gzip header).
 */
const inflated = (body: Uint8Array, url: string, maxBytes: number): Effect.Effect<Uint8Array, TrackerError> =>
  body[0] !== 0x1f || body[1] !== 0x8b
    ? Effect.succeed(body)
    : Effect.async<Uint8Array, TrackerError>((resume) =>
      zlib.gunzip(body, { maxOutputLength: maxBytes }, (error, out) => {
        if (error === null) return resume(Effect.succeed(out))
        if (Reflect.get(error, "code") === "ERR_BUFFER_TOO_LARGE") return resume(Effect.fail(tooLarge(url, maxBytes)))
        resume(Effect.fail(new TrackerError({ reason: "Malformed", url, detail: `bad gzip body: ${error.message}` })))
      })
    )

/** The announce function of the HTTP transport, on the HttpClient of the context. */
export const make = (options: HttpTrackerOptions): Effect.Effect<Announce, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (unscoped) => {
    // Every response of an announce (redirects and error statuses included) is released with its scope.
    const client = HttpClient.withScope(unscoped)
    // A loopback, link-local or unique-local address means nothing to a tracker's other peers.
    const ipv6 = options.ipv6 !== undefined && isGlobalIPv6(options.ipv6) ? options.ipv6 : undefined
    return (url, request) =>
      Effect.gen(function*() {
        const problem = (p: UntrustedHttp.Problem) => trackerError(url, p)
        const sent = ipv6 !== undefined && request.ipv6 === undefined ? { ...request, ipv6 } : request
        const response = yield* UntrustedHttp.get(client, announceUrl(url, sent), { maxRedirects, headers: { "user-agent": userAgent } }).pipe(
          Effect.mapError(problem)
        )
        if (response.status < 200 || response.status > 299) {
          return yield* new TrackerError({ reason: "Http", url, detail: `HTTP status ${response.status}` })
        }
        const raw = yield* UntrustedHttp.readBounded(response, options.maxBytes).pipe(Effect.mapError(problem))
        const body = yield* inflated(raw, url, options.maxBytes)
        return yield* Either.match(decodeAnnounce(body, { maxBytes: options.maxBytes }), {
          onLeft: (e) => {
            // The tracker's own text, or a byte of its body quoted by the decoder: not trusted to be printable.
            const detail = displayText(e.detail)
            if (e.reason !== "Failure") return Effect.fail(new TrackerError({ reason: "Malformed", url, detail }))
            const text = detail === "" ? "a failure reason without text" : detail
            return Effect.fail(new TrackerError({ reason: "Failure", url, detail: text }))
          },
          onRight: (res): Effect.Effect<AnnounceResponse, TrackerError> => Effect.succeed(res)
        })
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: options.timeout,
          onTimeout: () =>
            new TrackerError({
              reason: "Timeout",
              url,
              detail: `no answer within ${Duration.format(Duration.decode(options.timeout))}`
            })
        })
      )
  })
