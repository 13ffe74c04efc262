/**
 * A .torrent fetched by its URL for the session (torrent-add's `filename` when it is an HTTP(S) URL), over
 * the HttpClient of the context. The URL comes from whoever may add torrents and the server behind it is
 * anyone's, so: the whole exchange within 30 s, at most `maxTorrentBytes` read (a larger .torrent is refused
 * as a larger file is), and redirects followed here, whatever the client, to HTTP(S) URLs only.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ControlError } from "../../domain/Errors.js"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import * as UntrustedHttp from "../http/UntrustedHttp.js"

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

export const make = (options: TorrentUrlOptions): Effect.Effect<FetchTorrent, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (unscoped) => {
    // Every response (redirects and error statuses included) is released with the fetch's scope; nothing
    // of our traces goes to the server.
    const client = HttpClient.withScope(HttpClient.withTracerPropagation(unscoped, false))

    return (url) => {
      const fail = (detail: string) => new ControlError({ reason: "Io", detail: `cannot fetch ${url}: ${detail}` })
      return Effect.gen(function*() {
        const problem = (p: UntrustedHttp.Problem) => fail(UntrustedHttp.describe(p))
        const response = yield* UntrustedHttp.get(client, url, { maxRedirects, headers: { "user-agent": options.userAgent } }).pipe(
          Effect.mapError(problem)
        )
        if (response.status < 200 || response.status > 299) return yield* fail(`HTTP ${response.status}`)
        return yield* UntrustedHttp.readBounded(response, maxTorrentBytes).pipe(Effect.mapError(problem))
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({ duration: timeout, onTimeout: () => fail(`no answer within ${Duration.format(Duration.decode(timeout))}`) })
      )
    }
  })
