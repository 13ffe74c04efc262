/**
 * Reading from an HTTP server we do not trust (a .torrent's URL, a daemon's RPC address), whatever the
 * HttpClient: a body up to a bound, refused past it without reading the rest (a declared length over it
 * is refused before any byte), and a transport failure as one short line ("connect ECONNREFUSED ...").
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

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

/**
 * The whole body, at most `maxBytes`: a longer one fails with `larger than N bytes`, a broken one with its
 * transport text, each made an error by `fail`.
 */
export const readBounded = <E>(
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  fail: (detail: string) => E
): Effect.Effect<Uint8Array, E> => {
  const tooLarge = () => fail(`larger than ${maxBytes} bytes`)
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge())
  const chunks: Array<Uint8Array> = []
  let size = 0
  return response.stream.pipe(
    Stream.mapError((e) => fail(transportText(e))),
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > maxBytes) return Effect.fail(tooLarge())
      chunks.push(chunk)
      return Effect.void
    }),
    Effect.map(() => Buffer.concat(chunks, size))
  )
}
