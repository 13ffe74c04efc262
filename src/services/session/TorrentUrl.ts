/**
 * A .torrent fetched by its URL for the session (torrent-add's `filename` when it is an HTTP(S) URL), over
 * the HttpClient of the context. The URL comes from whoever may add torrents and the server behind it is
 * anyone's, so: the whole exchange within 30 s, at most `maxTorrentBytes` read (a larger .torrent is refused
 * as a larger file is), and redirects followed here, whatever the client, to HTTP(S) URLs only.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { ControlError } from "../../domain/Errors.js"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import { readBounded, transportText } from "./BoundedHttp.js"

/** The .torrent's bytes, or why not (reason Io; the detail starts `cannot fetch URL: `). */
export type FetchTorrent = (url: string) => Effect.Effect<Uint8Array, ControlError>

export interface TorrentUrlOptions {
  /** Some servers refuse requests without one. */
  readonly userAgent: string
}

/** Connect, request, redirects, headers and body: the whole exchange. */
export const timeout: Duration.DurationInput = "30 seconds"

/** As many as Node's fetch followed (the Fetch standard's limit), which fetched these before. */
const maxRedirects = 20

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308

/** Where a redirect leads, if that is an HTTP(S) URL (a server's `Location` is not trusted to parse). */
const redirectTarget = (location: string, base: string): string | undefined => {
  try {
    const next = new URL(location, base)
    return next.protocol === "http:" || next.protocol === "https:" ? next.href : undefined
  } catch {
    return undefined
  }
}

export const make = (options: TorrentUrlOptions): Effect.Effect<FetchTorrent, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (unscoped) => {
    // Every response (redirects and error statuses included) is released with the fetch's scope; nothing
    // of our traces goes to the server.
    const client = HttpClient.withScope(HttpClient.withTracerPropagation(unscoped, false))

    const get = (
      target: string,
      hops: number,
      fail: (detail: string) => ControlError
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ControlError, Scope.Scope> =>
      client.get(target, { headers: { "user-agent": options.userAgent } }).pipe(
        // Node's fetch would follow redirects by itself, to any URL: they are followed here. Other clients
        // do not read this.
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
        Effect.mapError((e) => fail(transportText(e))),
        Effect.flatMap((response) => {
          const location = response.headers["location"]
          if (!isRedirect(response.status) || location === undefined) return Effect.succeed(response)
          if (hops >= maxRedirects) return Effect.fail(fail(`more than ${maxRedirects} redirects`))
          const next = redirectTarget(location, target)
          if (next === undefined) return Effect.fail(fail("redirect to something that is not an HTTP(S) URL"))
          return Effect.suspend(() => get(next, hops + 1, fail))
        })
      )

    return (url) => {
      const fail = (detail: string) => new ControlError({ reason: "Io", detail: `cannot fetch ${url}: ${detail}` })
      return Effect.gen(function*() {
        const response = yield* get(url, 0, fail)
        if (response.status < 200 || response.status > 299) return yield* fail(`HTTP ${response.status}`)
        return yield* readBounded(response, maxTorrentBytes, fail)
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({ duration: timeout, onTimeout: () => fail(`no answer within ${Duration.format(Duration.decode(timeout))}`) })
      )
    }
  })
