/**
 * The HTTP tracker protocol as a tracker reads it: the query of an announce (BEP 3) or scrape (BEP 48)
 * request, the inverse of `announceUrl` in TrackerHttp.
 *
 * The query is decoded by hand: `info_hash` and `peer_id` are percent-encoded bytes, `+` in them is a plus
 * (not a space, as form decoding would have it), and no URL API may turn them into UTF-8 text.
 */
import * as Either from "effect/Either"
import type { AnnounceEvent, AnnounceRequest } from "../domain/Announce.js"
import { keyFromBytes } from "../domain/Bencode.js"
import { TrackerCodecError } from "../domain/Errors.js"
import { InfoHash } from "../domain/InfoHash.js"
import { PeerId } from "../domain/PeerId.js"

/** More parameters than this in one query is not a tracker request. */
export const maxParameters = 200

/** Most info hashes in one scrape request. */
export const maxScrapeHashes = 100

export type Params = ReadonlyMap<string, ReadonlyArray<Uint8Array>>

const malformed = (detail: string) => Either.left(new TrackerCodecError({ reason: "Malformed", detail }))

const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1

/** `%XX` escapes to bytes, every other character as its own byte; `+` is a plus, not a space. */
export const percentDecode = (s: string): Either.Either<Uint8Array, TrackerCodecError> => {
  const out = new Uint8Array(s.length)
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      const hi = hexValue(s.charCodeAt(i + 1))
      const lo = hexValue(s.charCodeAt(i + 2))
      if (hi < 0 || lo < 0) return malformed(`bad percent-escape ${JSON.stringify(s.slice(i, i + 3))}`)
      out[n++] = (hi << 4) | lo
      i += 2
    } else if (c > 0xff) {
      return malformed(`character ${i} is not a byte`)
    } else {
      out[n++] = c
    }
  }
  return Either.right(out.subarray(0, n))
}

/** The parameters of a query string (after `?`): every value of each key, as bytes, in order. */
export const parseQuery = (query: string): Either.Either<Params, TrackerCodecError> => {
  const params = new Map<string, Array<Uint8Array>>()
  const parts = query === "" ? [] : query.split("&")
  if (parts.length > maxParameters) return malformed(`more than ${maxParameters} parameters`)
  for (const part of parts) {
    if (part === "") continue
    const eq = part.indexOf("=")
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq))
    if (Either.isLeft(name)) return Either.left(name.left)
    const value = percentDecode(eq < 0 ? "" : part.slice(eq + 1))
    if (Either.isLeft(value)) return Either.left(value.left)
    const key = keyFromBytes(name.right)
    const values = params.get(key)
    if (values === undefined) params.set(key, [value.right])
    else values.push(value.right)
  }
  return Either.right(params)
}

const field = (params: Params, name: string): string | undefined => {
  const v = params.get(name)?.[0]
  return v === undefined ? undefined : keyFromBytes(v)
}

const twentyBytes = (params: Params, name: string): Either.Either<Uint8Array, TrackerCodecError> => {
  const v = params.get(name)?.[0]
  if (v === undefined) return malformed(`missing ${name}`)
  return v.length === 20 ? Either.right(new Uint8Array(v)) : malformed(`${name} is ${v.length} bytes, not 20`)
}

const integer = (params: Params, name: string, signed = false): Either.Either<number | undefined, TrackerCodecError> => {
  const s = field(params, name)
  if (s === undefined) return Either.right(undefined)
  return (signed ? /^-?[0-9]{1,10}$/ : /^[0-9]{1,20}$/).test(s) ? Either.right(Number(s)) : malformed(`${name} is not an integer`)
}

const required = (params: Params, name: string) =>
  Either.flatMap(integer(params, name), (n) => (n === undefined ? malformed(`missing ${name}`) : Either.right(n)))

const events: ReadonlyMap<string, AnnounceEvent> = new Map([
  ["", "none"], ["empty", "none"], ["started", "started"], ["completed", "completed"], ["stopped", "stopped"]
])

/**
 * The announce in a query. `info_hash`, `peer_id`, `port` (1-65535), `uploaded`, `downloaded` and `left`
 * are required (BEP 3); `numwant` is -1 when absent; `compact` is true unless it is `0`; `key` is read as
 * hex (clients send it so) and 0 when it is not. `ip` and `ipv6` (BEP 7) are passed on as text: what the
 * tracker makes of them is its policy. Never throws.
 */
export const decodeAnnounceQuery = (query: string): Either.Either<AnnounceRequest, TrackerCodecError> =>
  Either.gen(function*() {
    const params = yield* parseQuery(query)
    const infoHash = InfoHash.make(yield* twentyBytes(params, "info_hash"))
    const peerId = PeerId.make(yield* twentyBytes(params, "peer_id"))
    const port = yield* required(params, "port")
    if (port < 1 || port > 65535) return yield* malformed(`port ${port} is not 1-65535`)
    const uploaded = yield* required(params, "uploaded")
    const downloaded = yield* required(params, "downloaded")
    const left = yield* required(params, "left")
    const numwant = (yield* integer(params, "numwant", true)) ?? -1
    const event = events.get(field(params, "event") ?? "")
    if (event === undefined) return yield* malformed("unknown event")
    const key = field(params, "key") ?? ""
    const trackerId = field(params, "trackerid")
    const ip = field(params, "ip")
    const ipv6 = field(params, "ipv6")
    return {
      infoHash, peerId, port, uploaded, downloaded, left, event, numwant,
      key: /^[0-9a-fA-F]{1,8}$/.test(key) ? parseInt(key, 16) : 0,
      compact: field(params, "compact") !== "0",
      ...(trackerId === undefined ? {} : { trackerId }),
      ...(ip === undefined ? {} : { ip }),
      ...(ipv6 === undefined ? {} : { ipv6 })
    }
  })

/** The info hashes of a scrape query: at least one, each 20 bytes. Never throws. */
export const decodeScrapeQuery = (query: string): Either.Either<ReadonlyArray<InfoHash>, TrackerCodecError> =>
  Either.flatMap(parseQuery(query), (params) => {
    const hashes = params.get("info_hash") ?? []
    if (hashes.length === 0) return malformed("scrape needs an info_hash")
    if (hashes.length > maxScrapeHashes) return malformed(`more than ${maxScrapeHashes} info hashes`)
    const bad = hashes.find((h) => h.length !== 20)
    return bad === undefined ? Either.right(hashes.map((h) => InfoHash.make(new Uint8Array(h)))) :
      malformed(`info_hash is ${bad.length} bytes, not 20`)
  })
