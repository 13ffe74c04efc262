/**
 * The HTTP tracker protocol: the announce URL (BEP 3) and the bencoded announce response, with compact
 * IPv4 peers (BEP 23), the dictionary peer list, and compact IPv6 peers in `peers6` (BEP 7).
 *
 * The query is built by hand: `info_hash` and `peer_id` are binary, and any URL API that parses or
 * re-encodes them (URLSearchParams, HttpClientRequest params) would turn their bytes into UTF-8.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type AnnounceRequest, AnnounceResponse } from "../domain/Announce.js"
import {
  type Bencode,
  type BencodeDict,
  BencodeValue,
  bytes,
  dict,
  isBytes,
  isDict,
  isList,
  text
} from "../domain/Bencode.js"
import { TrackerCodecError } from "../domain/Errors.js"
import { PeerAddress } from "../domain/PeerAddress.js"
import { decode, encode } from "./Bencode.js"
import { canonicalHost, decodeCompact, encodeCompact } from "./CompactPeers.js"
import { fromCodec } from "./CodecSchema.js"

// ---------------------------------------------------------------------------------------------------------
// URLs

const isUnreserved = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e ||
  c === 0x5f || c === 0x7e

const escapes: ReadonlyArray<string> = Array.from({ length: 256 }, (_, c) =>
  isUnreserved(c) ? String.fromCharCode(c) : `%${c.toString(16).toUpperCase().padStart(2, "0")}`
)

/** RFC 3986 percent-encoding of raw bytes: unreserved characters as they are, every other byte as `%XX`. */
export const percentEncode = (b: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < b.length; i++) s += escapes[b[i]!]
  return s
}

const latin1Bytes = (s: string): Uint8Array => Buffer.from(s, "latin1")

const withoutFragment = (url: string): string => {
  const hash = url.indexOf("#")
  return hash < 0 ? url : url.slice(0, hash)
}

/**
 * The announce URL for `req`. A query already in `base` (a private tracker's `?passkey=...`) is kept and
 * extended; a fragment is dropped. `numwant` is left out when negative and `event` when "none".
 */
export const announceUrl = (base: string, req: AnnounceRequest): string => {
  const url = withoutFragment(base)
  const separator = !url.includes("?") ? "?" : url.endsWith("?") || url.endsWith("&") ? "" : "&"
  let query = `info_hash=${percentEncode(req.infoHash)}&peer_id=${percentEncode(req.peerId)}` +
    `&port=${req.port}&uploaded=${req.uploaded}&downloaded=${req.downloaded}&left=${req.left}` +
    `&compact=${req.compact ? 1 : 0}`
  if (req.numwant >= 0) query += `&numwant=${req.numwant}`
  query += `&key=${(req.key >>> 0).toString(16).toUpperCase().padStart(8, "0")}`
  if (req.event !== "none") query += `&event=${req.event}`
  if (req.trackerId !== undefined) query += `&trackerid=${percentEncode(latin1Bytes(req.trackerId))}`
  if (req.ip !== undefined) query += `&ip=${percentEncode(bytes(req.ip))}`
  if (req.ipv6 !== undefined) query += `&ipv6=${percentEncode(bytes(req.ipv6))}`
  return url + separator + query
}

/**
 * The scrape URL of an announce URL by the BEP 48 convention: the last path segment must start with
 * `announce`, which becomes `scrape` (`/announce.php?passkey=x` -> `/scrape.php?passkey=x`). Undefined when
 * the tracker has no such path, which means it does not support scrape.
 */
export const scrapeUrl = (announce: string): string | undefined => {
  const url = withoutFragment(announce)
  const q = url.indexOf("?")
  const path = q < 0 ? url : url.slice(0, q)
  const query = q < 0 ? "" : url.slice(q)
  const scheme = path.indexOf("://")
  if (path.indexOf("/", scheme < 0 ? 0 : scheme + 3) < 0) return undefined
  const slash = path.lastIndexOf("/")
  if (!path.startsWith("announce", slash + 1)) return undefined
  return `${path.slice(0, slash + 1)}scrape${path.slice(slash + 1 + "announce".length)}${query}`
}

// ---------------------------------------------------------------------------------------------------------
// Responses

export interface AnnounceDecodeOptions {
  /** Most peers kept from one response; the rest are ignored. */
  readonly maxPeers?: number
  /** Largest body accepted, in bytes. */
  readonly maxBytes?: number
}

export const defaultMaxPeers = 10_000
export const defaultMaxBytes = 8 * 1024 * 1024
/**
 * Most bencode values in a response: room for 10,000 dictionary peers (about 6 values each). Within 8 MiB a
 * tracker could send 330,000 of them, whose decoding holds the event loop for a second.
 */
export const maxResponseValues = 100_000

class Malformed {
  constructor(readonly detail: string) {}
}

const malformed = (detail: string): never => {
  throw new Malformed(detail)
}

const lenientUtf8 = new TextDecoder("utf-8")

/** Tracker messages are shown to people: bad UTF-8 becomes U+FFFD rather than an error. */
const message = (b: Uint8Array): string => lenientUtf8.decode(b)

/** Longest text from a tracker kept for display: a failure reason may be megabytes. */
const maxDisplayLength = 200

/**
 * Text from a tracker (a failure reason, a warning, an error packet), made fit to show: one line, its
 * control characters (newlines, terminal escapes) as spaces, and cut at 200 characters.
 */
export const displayText = (s: string): string => {
  const line = s.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim()
  if (line.length <= maxDisplayLength) return line
  return `${line.slice(0, maxDisplayLength - 1).replace(/[\ud800-\udbff]$/, "")}…`
}

const count = (d: BencodeDict, key: string): number | undefined => {
  const v = d.get(key)
  if (v === undefined) return undefined
  if (typeof v !== "number" || v < 0) return malformed(`'${key}' is not a non-negative integer`)
  return v
}

const byteString = (d: BencodeDict, key: string): Uint8Array | undefined => {
  const v = d.get(key)
  if (v === undefined) return undefined
  return isBytes(v) ? v : malformed(`'${key}' is not a byte string`)
}

const compactPeers = (bytes: Uint8Array, family: 4 | 6, limit: number): Array<PeerAddress> =>
  Either.getOrElse(decodeCompact(bytes, family, limit), (e) => malformed(e.detail))

const dictPeers = (list: ReadonlyArray<Bencode>, limit: number): Array<PeerAddress> => {
  const peers: Array<PeerAddress> = []
  for (let i = 0; i < list.length && peers.length < limit; i++) {
    const entry = list[i]!
    if (!isDict(entry)) return malformed(`peer ${i} is not a dictionary`)
    const ip = byteString(entry, "ip") ?? malformed(`peer ${i} has no 'ip'`)
    const port = entry.get("port")
    if (typeof port !== "number" || port < 0 || port > 65535) return malformed(`peer ${i} has no valid 'port'`)
    const host = text(ip)
    // Peers nobody can connect to are dropped, like port 0 in compact lists.
    if (port === 0 || host === undefined || host === "") continue
    peers.push(new PeerAddress({ host: canonicalHost(host), port }, true))
  }
  return peers
}

const responseFromDict = (d: BencodeDict, maxPeers: number): AnnounceResponse => {
  const interval = count(d, "interval") ?? malformed("no 'interval'")
  const minInterval = count(d, "min interval")
  const trackerId = byteString(d, "tracker id")
  const complete = count(d, "complete")
  const incomplete = count(d, "incomplete")
  const warning = byteString(d, "warning message")

  const peersValue = d.get("peers")
  let peers: Array<PeerAddress>
  if (peersValue === undefined) peers = []
  else if (isBytes(peersValue)) peers = compactPeers(peersValue, 4, maxPeers)
  else if (isList(peersValue)) peers = dictPeers(peersValue, maxPeers)
  else return malformed("'peers' is neither a byte string nor a list")
  const peers6 = byteString(d, "peers6")
  if (peers6 !== undefined && peers.length < maxPeers) {
    for (const p of compactPeers(peers6, 6, maxPeers - peers.length)) peers.push(p)
  }

  return {
    interval,
    ...(minInterval !== undefined ? { minInterval } : {}),
    ...(trackerId !== undefined ? { trackerId: Buffer.from(trackerId).toString("latin1") } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    ...(warning !== undefined ? { warning: message(warning) } : {}),
    peers
  }
}

/**
 * The announce response in a decoded bencode value. A `failure reason` wins over everything else and is a
 * `Failure` error carrying the tracker's text.
 */
export const announceFromBencode = (
  value: Bencode,
  options?: AnnounceDecodeOptions
): Either.Either<AnnounceResponse, TrackerCodecError> => {
  if (!isDict(value)) {
    return Either.left(new TrackerCodecError({ reason: "Malformed", detail: "response is not a dictionary" }))
  }
  const failure = value.get("failure reason")
  if (failure !== undefined) {
    const detail = isBytes(failure) ? message(failure) : "(the failure reason is not text)"
    return Either.left(new TrackerCodecError({ reason: "Failure", detail }))
  }
  try {
    return Either.right(responseFromDict(value, Math.max(0, options?.maxPeers ?? defaultMaxPeers)))
  } catch (e) {
    if (e instanceof Malformed) return Either.left(new TrackerCodecError({ reason: "Malformed", detail: e.detail }))
    throw e
  }
}

/** The announce response in an HTTP body. Bytes after the bencoded dictionary are tolerated. Never throws. */
export const decodeAnnounce = (
  body: Uint8Array,
  options?: AnnounceDecodeOptions
): Either.Either<AnnounceResponse, TrackerCodecError> => {
  const maxBytes = options?.maxBytes ?? defaultMaxBytes
  if (body.length > maxBytes) {
    return Either.left(
      new TrackerCodecError({ reason: "TooLarge", detail: `response of ${body.length} bytes exceeds ${maxBytes}` })
    )
  }
  return Either.flatMap(
    Either.mapLeft(decode(body, { allowTrailing: true, maxBytes, maxTokens: maxResponseValues }), (e) =>
      new TrackerCodecError({ reason: "Bencode", detail: e.message })),
    (decoded) => announceFromBencode(decoded.value, options)
  )
}

export interface AnnounceEncodeOptions {
  /**
   * Compact peer lists: IPv4 in `peers`, IPv6 in `peers6`, host names left out. Otherwise one `peers`
   * list of `{ ip, port }` dictionaries holding every peer.
   */
  readonly compact: boolean
}

export type PeerFields = { readonly host: string; readonly port: number }
export type AnnounceResponseFields = Omit<AnnounceResponse, "peers"> & { readonly peers: ReadonlyArray<PeerFields> }

/** The bencode value of an announce response (what a tracker sends). */
export const announceToBencode = (res: AnnounceResponseFields, options: AnnounceEncodeOptions): BencodeDict => {
  const entries: Array<readonly [string, Bencode]> = [["interval", res.interval]]
  if (res.minInterval !== undefined) entries.push(["min interval", res.minInterval])
  if (res.trackerId !== undefined) entries.push(["tracker id", latin1Bytes(res.trackerId)])
  if (res.complete !== undefined) entries.push(["complete", res.complete])
  if (res.incomplete !== undefined) entries.push(["incomplete", res.incomplete])
  if (res.warning !== undefined) entries.push(["warning message", bytes(res.warning)])
  if (options.compact) {
    entries.push(["peers", encodeCompact(res.peers, 4)])
    const peers6 = encodeCompact(res.peers, 6)
    if (peers6.length > 0) entries.push(["peers6", peers6])
  } else {
    entries.push(["peers", res.peers.map((p) => dict([["ip", bytes(p.host)], ["port", p.port]]))])
  }
  return dict(entries)
}

/** The HTTP body of an announce response. */
export const encodeAnnounceResponse = (res: AnnounceResponseFields, options: AnnounceEncodeOptions): Uint8Array =>
  encode(announceToBencode(res, options))

/** The HTTP body of a tracker failure. */
export const encodeFailure = (reason: string): Uint8Array => encode(dict([["failure reason", bytes(reason)]]))

/**
 * Bencode value <-> announce response, on the same code as `decodeAnnounce` (default limits). Encoding
 * produces compact peer lists.
 */
export const AnnounceResponseFromBencode: Schema.Schema<AnnounceResponse, Bencode> = fromCodec(BencodeValue, Schema.typeSchema(AnnounceResponse), {
  decode: (value) => Either.mapLeft(announceFromBencode(value), (e) => e.message),
  encode: (res) => announceToBencode(res, { compact: true })
})
