/**
 * Announcing to an HTTP(S) tracker (BEP 3): one GET of the hand-built announce URL, a bounded body, the
 * bencoded response decoded by the protocol codec. Redirects are followed here, whatever the HttpClient
 * (at most 5, to HTTP(S) URLs only); the tracker's text in an error is made one printable line.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as zlib from "node:zlib"
import * as Stream from "effect/Stream"
import type { AnnounceRequest, AnnounceResponse } from "../../domain/Announce.js"
import { TrackerError } from "../../domain/Errors.js"
import { announceUrl, decodeAnnounce, displayText } from "../../protocol/TrackerHttp.js"

export interface HttpTrackerOptions {
  /** The whole exchange: connect, request, headers and body. */
  readonly timeout: Duration.DurationInput
  /** Largest body read; a longer one is refused without reading the rest. */
  readonly maxBytes: number
}

export type Announce = (url: string, request: AnnounceRequest) => Effect.Effect<AnnounceResponse, TrackerError>

/** Some trackers refuse requests without one. */
const userAgent = "bt-effect/0.1.0"

/** Trackers that moved (often http -> https); more hops than this is a loop. */
const maxRedirects = 5

/** The underlying cause of a transport error ("connect ECONNREFUSED ..."), never the URL with our ids. */
const causeText = (e: HttpClientError.HttpClientError): string => {
  const cause: unknown = e.cause
  if (cause instanceof Error) {
    const code: unknown = Reflect.get(cause, "code")
    const inner: unknown = Reflect.get(cause, "cause")
    if (inner instanceof Error && inner.message !== "") return inner.message
    return typeof code === "string" && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message
  }
  return e.description ?? e.reason
}

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308

/** Where a redirect leads, if that is an HTTP(S) URL (a tracker's `Location` is not trusted to parse). */
const redirectTarget = (location: string, base: string): string | undefined => {
  try {
    const next = new URL(location, base)
    // `href` keeps the percent-escapes of the binary ids as they are.
    return next.protocol === "http:" || next.protocol === "https:" ? next.href : undefined
  } catch {
    return undefined
  }
}

const tooLarge = (url: string, maxBytes: number) =>
  new TrackerError({ reason: "Malformed", url, detail: `response larger than ${maxBytes} bytes` })

const readLimited = (
  response: HttpClientResponse.HttpClientResponse,
  url: string,
  maxBytes: number
): Effect.Effect<Uint8Array, TrackerError> => {
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge(url, maxBytes))
  const chunks: Array<Uint8Array> = []
  let size = 0
  return response.stream.pipe(
    Stream.mapError((e) => new TrackerError({ reason: "Unreachable", url, detail: causeText(e) })),
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > maxBytes) return Effect.fail(tooLarge(url, maxBytes))
      chunks.push(chunk)
      return Effect.void
    }),
    Effect.map(() => Buffer.concat(chunks, size))
  )
}

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
    const get = (
      url: string,
      target: string,
      hops: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, TrackerError, Scope.Scope> =>
      client.get(target, { headers: { "user-agent": userAgent } }).pipe(
        // Node's fetch would follow up to 20 redirects by itself: they are followed here, within our bound.
        // Other clients do not read this.
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
        Effect.mapError((e) => new TrackerError({ reason: "Unreachable", url, detail: causeText(e) })),
        Effect.flatMap((response) => {
          const location = response.headers["location"]
          if (!isRedirect(response.status) || location === undefined) return Effect.succeed(response)
          if (hops >= maxRedirects) {
            return Effect.fail(new TrackerError({ reason: "Http", url, detail: `more than ${maxRedirects} redirects` }))
          }
          const next = redirectTarget(location, target)
          if (next === undefined) {
            const detail = "redirect to something that is not an HTTP(S) URL"
            return Effect.fail(new TrackerError({ reason: "Http", url, detail }))
          }
          return Effect.suspend(() => get(url, next, hops + 1))
        })
      )

    return (url, request) =>
      Effect.gen(function*() {
        const response = yield* get(url, announceUrl(url, request), 0)
        if (response.status < 200 || response.status > 299) {
          return yield* new TrackerError({ reason: "Http", url, detail: `HTTP status ${response.status}` })
        }
        const body = yield* Effect.flatMap(readLimited(response, url, options.maxBytes), (raw) => inflated(raw, url, options.maxBytes))
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
