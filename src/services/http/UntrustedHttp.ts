/**
 * HTTP with servers we do not trust (trackers, the URL of a .torrent, a daemon's RPC address; web seeds
 * next), whatever the HttpClient of the context: redirects followed here, within a bound and to HTTP(S)
 * URLs only (Node's fetch would follow 20 of them by itself, anywhere); a body read up to a bound and
 * refused past it without reading the rest (a declared length over it before any byte); and a failure
 * below HTTP told in the system's own words, never with the request's URL (it may carry our ids). What
 * goes wrong is a `Problem`, which each caller words as its own error.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export type Problem =
  /** Below HTTP (connect, reset, TLS): the system's words. */
  | { readonly _tag: "Transport"; readonly detail: string }
  | { readonly _tag: "TooLarge"; readonly maxBytes: number }
  | { readonly _tag: "TooManyRedirects"; readonly maxRedirects: number }
  /** A `Location` that is not an HTTP(S) URL. */
  | { readonly _tag: "BadRedirect" }

/** A problem as the end of a sentence ("cannot fetch URL: ..."); callers with their own words match the tag. */
export const describe = (problem: Problem): string => {
  switch (problem._tag) {
    case "Transport":
      return problem.detail
    case "TooLarge":
      return `larger than ${problem.maxBytes} bytes`
    case "TooManyRedirects":
      return `more than ${problem.maxRedirects} redirects`
    case "BadRedirect":
      return "redirect to something that is not an HTTP(S) URL"
  }
}

/** Why an exchange failed below HTTP: the system's own words, never the request's URL. */
export const transportText = (e: HttpClientError.HttpClientError): string => {
  const cause: unknown = e.cause
  // Node's connect to a name with several addresses fails with one error per address.
  const first: unknown = cause instanceof AggregateError ? cause.errors[0] : cause
  if (first instanceof Error) {
    const code: unknown = Reflect.get(first, "code")
    const inner: unknown = Reflect.get(first, "cause")
    if (inner instanceof Error && inner.message !== "") return inner.message
    if (first.message === "") return typeof code === "string" ? code : e.reason
    return typeof code === "string" && !first.message.includes(code) ? `${first.message} (${code})` : first.message
  }
  return e.description ?? e.reason
}

const isRedirect = (status: number) => status === 301 || status === 302 || status === 303 || status === 307 || status === 308

/** Where a redirect leads, if that is an HTTP(S) URL (a server's `Location` is not trusted to parse). */
const redirectTarget = (location: string, base: string): string | undefined => {
  try {
    const next = new URL(location, base)
    // `href` keeps percent-escapes as they are (a tracker's binary ids).
    return next.protocol === "http:" || next.protocol === "https:" ? next.href : undefined
  } catch {
    return undefined
  }
}

/** GETs `url`, following redirects here; the response is released with the scope. */
export const get = (
  client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, Scope.Scope>,
  url: string,
  options: { readonly maxRedirects: number; readonly headers: Record<string, string> },
  hops = 0
): Effect.Effect<HttpClientResponse.HttpClientResponse, Problem, Scope.Scope> =>
  client.get(url, { headers: options.headers }).pipe(
    // Node's fetch follows redirects by itself unless told not to. Other clients do not read this.
    Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
    Effect.mapError((e): Problem => ({ _tag: "Transport", detail: transportText(e) })),
    Effect.flatMap((response) => {
      const location = response.headers["location"]
      if (!isRedirect(response.status) || location === undefined) return Effect.succeed(response)
      if (hops >= options.maxRedirects) return Effect.fail<Problem>({ _tag: "TooManyRedirects", maxRedirects: options.maxRedirects })
      const next = redirectTarget(location, url)
      if (next === undefined) return Effect.fail<Problem>({ _tag: "BadRedirect" })
      return Effect.suspend(() => get(client, next, options, hops + 1))
    })
  )

/** The whole body, at most `maxBytes`. */
export const readBounded = (response: HttpClientResponse.HttpClientResponse, maxBytes: number): Effect.Effect<Uint8Array, Problem> => {
  const tooLarge: Problem = { _tag: "TooLarge", maxBytes }
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge)
  const chunks: Array<Uint8Array> = []
  let size = 0
  return response.stream.pipe(
    Stream.mapError((e): Problem => ({ _tag: "Transport", detail: transportText(e) })),
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > maxBytes) return Effect.fail(tooLarge)
      chunks.push(chunk)
      return Effect.void
    }),
    Effect.map(() => Buffer.concat(chunks, size))
  )
}
