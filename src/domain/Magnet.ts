/**
 * Magnet URIs (BEP 9, BEP 53, v2 links per BEP 52): `parse` turns one into a `Magnet`, `format` writes one
 * back so that `parse(format(m))` equals `m`.
 *
 * Parsing follows what real clients accept: parameter names in any case (`XT`, `dN`), indexed names
 * (`xt.1`, `tr.2`), an `xt` value that is itself percent-encoded, hex or base32 btih. Percent-escapes decode
 * as UTF-8 with U+FFFD for bad sequences, as WHATWG URL query parsing does; a malformed escape is an error.
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { MagnetError, type MagnetErrorReason } from "./Errors.js"
import { fromHex, InfoHash, InfoHashV2, toHex } from "./InfoHash.js"
import { format as formatAddress, PeerAddress } from "./PeerAddress.js"

const btihPrefix = "urn:btih:"
const btmhPrefix = "urn:btmh:"

const isAsciiPrefix = (s: string, prefix: string): boolean =>
  s.length >= prefix.length && asciiLower(s.slice(0, prefix.length)) === prefix

// ASCII only: `toLowerCase` would fold "\u212A" (Kelvin sign) into "k" and let lookalike names through.
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))

/** An `xt` that is neither btih nor btmh (ed2k, tree:tiger, ...), kept as decoded. */
const OtherTopic = Schema.String.pipe(
  Schema.filter((s) => !isAsciiPrefix(s, btihPrefix) && !isAsciiPrefix(s, btmhPrefix), {
    message: () => "other exact topics exclude urn:btih and urn:btmh"
  })
)

/** A `kt` keyword: `kt` is split on spaces, so a keyword is non-empty and has none. */
const Keyword = Schema.NonEmptyString.pipe(
  Schema.filter((s) => !s.includes(" "), { message: () => "a keyword has no spaces" })
)

/**
 * `so` file indices, normalised to a non-empty, strictly increasing list (select-only names a set of files;
 * an empty `so=` selects nothing in particular and is read as no `so`).
 */
const FileIndices = Schema.NonEmptyArray(Schema.NonNegativeInt).pipe(
  Schema.filter((xs) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? -1)), {
    message: () => "select-only indices are non-empty and strictly increasing"
  })
)

const emptyList = <S extends Schema.Schema.Any>(item: S) =>
  Schema.optionalWith(Schema.Array(item), { default: () => [] })

const MagnetFields = Schema.Struct({
  /** `xt=urn:btih:` */
  infoHash: Schema.optional(InfoHash),
  /** `xt=urn:btmh:` (sha2-256 multihash) */
  infoHashV2: Schema.optional(InfoHashV2),
  /** `dn` */
  displayName: Schema.optional(Schema.String),
  /** `xl`, in bytes */
  exactLength: Schema.optional(Schema.NonNegativeInt),
  /** `tr`, in order, duplicates kept */
  trackers: emptyList(Schema.NonEmptyString),
  /** `ws` (BEP 19) */
  webSeeds: emptyList(Schema.NonEmptyString),
  /** `as` */
  acceptableSources: emptyList(Schema.NonEmptyString),
  /** `xs` */
  exactSources: emptyList(Schema.NonEmptyString),
  /** `kt`; absent when the link has no `kt` */
  keywords: Schema.optional(Schema.Array(Keyword)),
  /** `x.pe` */
  peers: emptyList(PeerAddress),
  /** `dht` */
  dhtNodes: emptyList(PeerAddress),
  /** `so` (BEP 53) */
  selectOnly: Schema.optional(FileIndices),
  /** other `xt` urns */
  otherXt: emptyList(OtherTopic)
}).pipe(
  Schema.filter((m) => m.infoHash !== undefined || m.infoHashV2 !== undefined, {
    message: () => "a magnet names its torrent by a btih or a btmh info hash"
  })
)

/** A parsed magnet link. It names a torrent by a v1 info hash, a v2 info hash, or both (hybrid). */
export class Magnet extends Schema.Class<Magnet>("Magnet")(MagnetFields) {
  /** The v2 info hash cut to 20 bytes: what hybrid and v2 swarms use in handshakes and on trackers. */
  get infoHashV2Truncated(): InfoHash | undefined {
    return this.infoHashV2 === undefined ? undefined : InfoHash.make(this.infoHashV2.subarray(0, 20))
  }
}

/** The largest `so` selection we expand; a range like `0-4294967295` must not allocate gigabytes. */
export const maxSelectedFiles = 1 << 20

// --- percent-encoding ------------------------------------------------------------------------------------

// ignoreBOM keeps a leading U+FEFF, so that a display name starting with one survives the round trip.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true })
const utf8Encoder = new TextEncoder()
const twoHex = /^[0-9a-fA-F]{2}$/

/** Percent-decodes `raw` as UTF-8; with `plusIsSpace` (dn, kt) '+' is a space, elsewhere it is itself. */
const percentDecode = (raw: string, plusIsSpace: boolean): string | undefined => {
  const s = plusIsSpace ? raw.replaceAll("+", " ") : raw
  let out = ""
  let i = 0
  while (i < s.length) {
    const next = s.indexOf("%", i)
    if (next === -1) return out + s.slice(i)
    out += s.slice(i, next)
    i = next
    const run: Array<number> = []
    while (i < s.length && s.charCodeAt(i) === 37) {
      const hex = s.slice(i + 1, i + 3)
      if (!twoHex.test(hex)) return undefined
      run.push(parseInt(hex, 16))
      i += 3
    }
    out += utf8Decoder.decode(Uint8Array.from(run))
  }
  return out
}

// Unreserved characters plus the query characters that make links readable (`tr=udp://host:80/announce`,
// `so=1,3-5`). Everything else, '&', '=', '+', '#', '%', ';' and brackets included, is escaped.
const isKept = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~:/@,".includes(String.fromCharCode(b))

const percentEncode = (s: string, spaceAsPlus: boolean): string => {
  let out = ""
  for (const b of utf8Encoder.encode(s)) {
    if (b === 0x20 && spaceAsPlus) out += "+"
    else if (b < 0x80 && isKept(b)) out += String.fromCharCode(b)
    else out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase()
  }
  return out
}

// --- parsing ---------------------------------------------------------------------------------------------

const fail = (reason: MagnetErrorReason, detail: string) => Either.left(new MagnetError({ reason, detail }))

/** A value as it appears in an error detail: quoted, and cut short so that one line stays one line. */
const quote = (s: string): string =>
  `'${(s.length > 100 ? s.slice(0, 100) + "..." : s).replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, escapeControl)}'`

const escapeControl = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const base32Pattern = /^[A-Za-z2-7]{32}$/
const hex40Pattern = /^[0-9a-fA-F]{40}$/
const multihashPattern = /^1220[0-9a-fA-F]{64}$/

/** RFC 4648 base32 without padding: 32 characters are exactly 160 bits. */
const fromBase32 = (s: string): Uint8Array => {
  const out = new Uint8Array(20)
  let buffer = 0
  let bits = 0
  let j = 0
  for (const ch of s.toUpperCase()) {
    buffer = ((buffer << 5) | base32Alphabet.indexOf(ch)) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[j++] = (buffer >> bits) & 0xff
    }
  }
  return out
}

const parseBtih = (hash: string): Either.Either<InfoHash, MagnetError> => {
  const bytes = hex40Pattern.test(hash) ? fromHex(hash) : base32Pattern.test(hash) ? fromBase32(hash) : undefined
  return bytes === undefined
    ? fail("InfoHash", `btih is neither 40 hex nor 32 base32 characters: ${quote(hash)}`)
    : Either.right(InfoHash.make(bytes))
}

const parseBtmh = (multihash: string): Either.Either<InfoHashV2, MagnetError> => {
  const bytes = multihashPattern.test(multihash) ? fromHex(multihash.slice(4)) : undefined
  return bytes === undefined
    ? fail("InfoHash", `btmh is not a sha2-256 multihash (1220 + 64 hex): ${quote(multihash)}`)
    : Either.right(InfoHashV2.make(bytes))
}

const portPattern = /^[0-9]{1,5}$/

/** `host:port` or `[ipv6]:port`, as in `x.pe` and `dht`. */
const parseAddress = (name: string, value: string): Either.Either<PeerAddress, MagnetError> => {
  const bracketed = value.startsWith("[")
  const colon = bracketed ? value.indexOf("]:") + 1 : value.lastIndexOf(":")
  const host = bracketed ? value.slice(1, colon - 1) : value.slice(0, colon)
  const port = value.slice(colon + 1)
  const portNumber = Number(port)
  return colon <= 0 || host === "" || (!bracketed && host.includes(":")) || !portPattern.test(port) ||
      portNumber < 1 || portNumber > 65535
    ? fail("Parameter", `${name} is not host:port or [ipv6]:port: ${quote(value)}`)
    : Either.right(new PeerAddress({ host, port: portNumber }))
}

const rangePattern = /^([0-9]{1,10})(?:-([0-9]{1,10}))?$/

type Range = readonly [from: number, to: number]

/** `so=0,2,4,6-8` -> its ranges [0, 0], [2, 2], [4, 4], [6, 8]. */
const parseSelectOnly = (value: string): Either.Either<Array<Range>, MagnetError> => {
  const ranges: Array<Range> = []
  for (const item of value.split(",")) {
    const match = rangePattern.exec(item.trim())
    const from = Number(match?.[1])
    const to = match?.[2] === undefined ? from : Number(match[2])
    if (match === null || to < from) {
      return fail("Parameter", `so is not a list of file indices and ranges: ${quote(value)}`)
    }
    ranges.push([from, to])
  }
  return Either.right(ranges)
}

/**
 * The indices of every `so` of a link, sorted and without duplicates, from the furthest end of the ranges
 * starting at each index. They are merged and expanded once, at the end, and a range repeated in many
 * `so` is kept once: expanding the selection at each `so` made a link of many `so=0-1048575` take minutes.
 */
const selectedIndices = (ends: ReadonlyMap<number, number>): Either.Either<Arr.NonEmptyReadonlyArray<number>, MagnetError> => {
  const merged: Array<[from: number, to: number]> = []
  let total = 0
  for (const from of Float64Array.from(ends.keys()).sort()) {
    const to = ends.get(from)!
    const last = merged[merged.length - 1]
    if (last !== undefined && from <= last[1] + 1) {
      total += Math.max(0, to - last[1])
      last[1] = Math.max(last[1], to)
    } else {
      total += to - from + 1
      merged.push([from, to])
    }
    if (total > maxSelectedFiles) return fail("Parameter", `so selects more than ${maxSelectedFiles} files`)
  }
  // Allocated whole: pushing a million indices one by one takes three times as long.
  const indices = new Array<number>(total)
  let at = 0
  for (const [from, to] of merged) for (let i = from; i <= to; i++) indices[at++] = i
  // Every range holds at least one index, and there is at least one range.
  return Arr.isNonEmptyReadonlyArray(indices) ? Either.right(indices) : fail("Parameter", "so selects no files")
}

/** What the parameters say so far; `Magnet`'s fields before the info-hash check. */
interface Draft {
  infoHash?: InfoHash
  infoHashV2?: InfoHashV2
  displayName?: string
  exactLength?: number
  keywords?: Array<string>
  /** The furthest end of the `so` ranges starting at each index; `selectOnly` once all are read. */
  selectEnds: Map<number, number>
  trackers: Array<string>
  webSeeds: Array<string>
  acceptableSources: Array<string>
  exactSources: Array<string>
  peers: Array<PeerAddress>
  dhtNodes: Array<PeerAddress>
  otherXt: Array<string>
}

type Handler = (value: string, draft: Draft) => Either.Either<void, MagnetError>

const ok = Either.right(undefined)

const sameHash = (name: string, draft: Uint8Array | undefined, next: Uint8Array): Either.Either<void, MagnetError> =>
  draft === undefined || toHex(draft) === toHex(next)
    ? ok
    : fail("InfoHash", `two different ${name} exact topics: ${toHex(draft)} and ${toHex(next)}`)

const handleXt: Handler = (value, draft) => {
  if (isAsciiPrefix(value, btihPrefix)) {
    return Either.flatMap(parseBtih(value.slice(btihPrefix.length)), (hash) =>
      Either.map(sameHash("btih", draft.infoHash, hash), () => {
        draft.infoHash = hash
      }))
  }
  if (isAsciiPrefix(value, btmhPrefix)) {
    return Either.flatMap(parseBtmh(value.slice(btmhPrefix.length)), (hash) =>
      Either.map(sameHash("btmh", draft.infoHashV2, hash), () => {
        draft.infoHashV2 = hash
      }))
  }
  draft.otherXt.push(value)
  return ok
}

const pushNonEmpty = (list: (draft: Draft) => Array<string>): Handler => (value, draft) => {
  if (value !== "") list(draft).push(value)
  return ok
}

const pushAddress = (name: string, list: (draft: Draft) => Array<PeerAddress>): Handler => (value, draft) =>
  Either.map(parseAddress(name, value), (address) => {
    list(draft).push(address)
  })

/** Each parameter we read, with whether '+' means a space in it. Unknown parameters are ignored. */
const handlers: Readonly<Record<string, readonly [plusIsSpace: boolean, handle: Handler]>> = {
  xt: [false, handleXt],
  dn: [true, (value, draft) => {
    draft.displayName ??= value
    return ok
  }],
  xl: [false, (value, draft) => {
    const length = Number(value)
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(length)) {
      return fail("Parameter", `xl is not a length in bytes: ${quote(value)}`)
    }
    draft.exactLength ??= length
    return ok
  }],
  kt: [true, (value, draft) => {
    // Appended in place: copying the list at each `kt` made a link of many of them quadratic.
    const keywords = (draft.keywords ??= [])
    for (const k of value.split(" ")) if (k !== "") keywords.push(k)
    return ok
  }],
  so: [false, (value, draft) =>
    value === "" ? ok : Either.map(parseSelectOnly(value), (ranges) => {
      for (const [from, to] of ranges) {
        const end = draft.selectEnds.get(from)
        if (end === undefined || to > end) draft.selectEnds.set(from, to)
      }
    })],
  tr: [false, pushNonEmpty((d) => d.trackers)],
  ws: [false, pushNonEmpty((d) => d.webSeeds)],
  as: [false, pushNonEmpty((d) => d.acceptableSources)],
  xs: [false, pushNonEmpty((d) => d.exactSources)],
  "x.pe": [false, pushAddress("x.pe", (d) => d.peers)],
  dht: [false, pushAddress("dht", (d) => d.dhtNodes)]
}

const magnetScheme = /^magnet:\?/i

/** Parses a magnet URI. Surrounding whitespace (a pasted newline) is ignored. */
export const parse = (uri: string): Either.Either<Magnet, MagnetError> => {
  const text = uri.trim()
  if (!magnetScheme.test(text)) return fail("NotMagnet", `not a magnet URI (no 'magnet:?'): ${quote(text)}`)
  const draft: Draft = {
    trackers: [],
    webSeeds: [],
    acceptableSources: [],
    exactSources: [],
    peers: [],
    dhtNodes: [],
    otherXt: [],
    selectEnds: new Map()
  }
  for (const pair of text.slice("magnet:?".length).split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    // `xt.1`, `tr.2`: the numbered form of the magnet draft spec.
    const name = asciiLower(eq === -1 ? pair : pair.slice(0, eq)).replace(/\.[0-9]+$/, "")
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined
    if (handler === undefined) continue
    const value = percentDecode(eq === -1 ? "" : pair.slice(eq + 1), handler[0])
    if (value === undefined) return fail("Escape", "invalid percent-escape")
    const handled = handler[1](value, draft)
    if (Either.isLeft(handled)) return Either.left(handled.left)
  }
  const { selectEnds, ...fields } = draft
  let selectOnly: Arr.NonEmptyReadonlyArray<number> | undefined
  if (selectEnds.size > 0) {
    const selected = selectedIndices(selectEnds)
    if (Either.isLeft(selected)) return Either.left(selected.left)
    selectOnly = selected.right
  }
  if (fields.infoHash === undefined && fields.infoHashV2 === undefined) {
    return fail("MissingInfoHash", "no urn:btih or urn:btmh exact topic")
  }
  // Not validated again: every field was made by the checks above, and checking a million selected
  // files one by one through the Schema takes over a second.
  return Either.right(new Magnet({ ...fields, ...(selectOnly !== undefined ? { selectOnly } : {}) }, true))
}

// --- formatting ------------------------------------------------------------------------------------------

/** `so` as ranges where three or more indices run on: [0, 2, 4, 6, 7, 8] -> "0,2,4,6-8". */
const formatSelectOnly = (indices: ReadonlyArray<number>): string => {
  const parts: Array<string> = []
  let i = 0
  while (i < indices.length) {
    let j = i
    while (j + 1 < indices.length && indices[j + 1] === (indices[j] ?? 0) + 1) j++
    if (j - i >= 2) parts.push(`${indices[i]}-${indices[j]}`)
    else for (let k = i; k <= j; k++) parts.push(`${indices[k]}`)
    i = j + 1
  }
  return parts.join(",")
}

/** Writes a magnet URI: btih as lowercase hex, every value percent-encoded. */
export const format = (m: Magnet): string => {
  const params: Array<string> = []
  const add = (name: string, value: string, spaceAsPlus = false) =>
    params.push(`${name}=${percentEncode(value, spaceAsPlus)}`)
  if (m.infoHash !== undefined) add("xt", btihPrefix + toHex(m.infoHash))
  if (m.infoHashV2 !== undefined) add("xt", btmhPrefix + "1220" + toHex(m.infoHashV2))
  for (const xt of m.otherXt) add("xt", xt)
  if (m.displayName !== undefined) add("dn", m.displayName, true)
  if (m.exactLength !== undefined) add("xl", String(m.exactLength))
  for (const tr of m.trackers) add("tr", tr)
  for (const ws of m.webSeeds) add("ws", ws)
  for (const as of m.acceptableSources) add("as", as)
  for (const xs of m.exactSources) add("xs", xs)
  if (m.keywords !== undefined) add("kt", m.keywords.join(" "), true)
  for (const peer of m.peers) add("x.pe", formatAddress(peer))
  for (const node of m.dhtNodes) add("dht", formatAddress(node))
  if (m.selectOnly !== undefined) add("so", formatSelectOnly(m.selectOnly))
  return `magnet:?${params.join("&")}`
}

/** A magnet URI string decoded into a `Magnet`, and encoded back with `format`. */
export const MagnetFromString = Schema.transformOrFail(Schema.String, Schema.typeSchema(Magnet), {
  strict: true,
  decode: (uri, _, ast) =>
    Either.match(parse(uri), {
      onLeft: (error) => ParseResult.fail(new ParseResult.Type(ast, uri, error.message)),
      onRight: ParseResult.succeed
    }),
  encode: (magnet) => ParseResult.succeed(format(magnet))
})
