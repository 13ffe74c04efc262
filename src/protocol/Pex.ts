/**
 * The ut_pex messages of BEP 11: a bencoded dictionary telling a peer whom we connected to and whom we
 * dropped since the last message. Addresses are compact (6 bytes per IPv4 peer in `added` / `dropped`,
 * 18 per IPv6 peer in `added6` / `dropped6`), and `added.f` / `added6.f` hold one flag byte per added
 * peer (encryption, seed, uTP, holepunch, reachable).
 *
 * Decoding is strict about the shape (a bencoded dictionary within `decodeLimits` whose address lists
 * are whole entries, else reason "BadPayload") and lenient elsewhere: a key of the wrong type is ignored,
 * missing flags are 0, peers with port 0 are skipped, bytes after the dictionary are ignored. At most
 * `maxEntriesRead` entries of each list are read, so one message cannot flood our candidates.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, type BencodeDict, isBytes, isDict } from "../domain/Bencode.js"
import { WireError } from "../domain/Errors.js"
import { PeerAddress } from "../domain/PeerAddress.js"
import * as BencodeCodec from "./Bencode.js"
import { entryLength, type Family, formatIPv4, formatIPv6, parseIp } from "./CompactPeers.js"
import { fromCodec } from "./CodecSchema.js"

/**
 * The most peers BEP 11 lets one message add (and drop). `encode` does not enforce it: the caller picks
 * which peers go out, and must keep each list to this many.
 */
export const maxAddedPerMessage = 50

/** Most entries we read from one message (per list); more are ignored: a peer cannot flood our candidates. */
export const maxEntriesRead = 200

/**
 * Bencode limits for the dictionary. Real ones hold 7 values; a megabyte of tiny values would cost half
 * a second of CPU to build and throw away, which a peer could repeat with every message.
 */
export const decodeLimits = { maxTokens: 1000, maxDepth: 32 } as const

export const Flags = { PrefersEncryption: 0x01, Seed: 0x02, Utp: 0x04, Holepunch: 0x08, Reachable: 0x10 } as const

export const PexPeer = Schema.Struct({
  address: PeerAddress,
  /** The `Flags` of the peer, one byte. */
  flags: Schema.Int.pipe(Schema.between(0, 255))
}).annotations({ identifier: "PexPeer" })
export interface PexPeer extends Schema.Schema.Type<typeof PexPeer> {}

export const PexMessage = Schema.Struct({
  added: Schema.Array(PexPeer),
  dropped: Schema.Array(PeerAddress)
}).annotations({ identifier: "PexMessage" })
export interface PexMessage extends Schema.Schema.Type<typeof PexMessage> {}

/** The keys of one address family. */
const keysOf = (family: Family) =>
  family === 4
    ? { added: "added", flags: "added.f", dropped: "dropped" }
    : { added: "added6", flags: "added6.f", dropped: "dropped6" }

// ---------------------------------------------------------------------------------------------------------
// Decoding

const badPayload = (detail: string) => new WireError({ reason: "BadPayload", detail })

/**
 * The entries of one compact list, with their flag bytes (0 beyond `flags`). The index into `flags` is
 * the entry's place in the list, port-0 entries included, as the sender counted them.
 */
const readList = <A>(
  list: Bencode | undefined,
  key: string,
  family: Family,
  flags: Uint8Array | undefined,
  make: (address: PeerAddress, flags: number) => A
): Either.Either<Array<A>, WireError> => {
  if (!isBytes(list)) return Either.right([])
  const size = entryLength(family)
  if (list.length % size !== 0) {
    return Either.left(badPayload(`ut_pex '${key}' of ${list.length} bytes is not a multiple of ${size}`))
  }
  const out: Array<A> = []
  const portAt = size - 2
  for (let i = 0, o = 0; o < list.length && i < maxEntriesRead; i++, o += size) {
    const port = (list[o + portAt]! << 8) | list[o + portAt + 1]!
    if (port === 0) continue
    const host = family === 4 ? formatIPv4(list, o) : formatIPv6(list, o)
    // Validation is skipped: the port is 1..65535 by construction.
    out.push(make(new PeerAddress({ host, port }, true), flags?.[i] ?? 0))
  }
  return Either.right(out)
}

const readFamily = (d: BencodeDict, family: Family): Either.Either<PexMessage, WireError> => {
  const keys = keysOf(family)
  const flagBytes = d.get(keys.flags)
  const flags = isBytes(flagBytes) ? flagBytes : undefined
  return Either.all({
    added: readList(d.get(keys.added), keys.added, family, flags, (address, f): PexPeer => ({ address, flags: f })),
    dropped: readList(d.get(keys.dropped), keys.dropped, family, undefined, (address) => address)
  })
}

/**
 * The PEX message in `payload` (the bytes after the extended id): both families merged, IPv4 first.
 * Fails with "BadPayload" when the payload is not a bencoded dictionary within `decodeLimits` or an
 * address list is not a whole number of entries.
 */
export const decode = (payload: Uint8Array): Either.Either<PexMessage, WireError> => {
  const decoded = BencodeCodec.decode(payload, { ...decodeLimits, allowTrailing: true })
  if (Either.isLeft(decoded)) return Either.left(badPayload(`ut_pex message: ${decoded.left.message}`))
  const value = decoded.right.value
  if (!isDict(value)) return Either.left(badPayload("ut_pex message is not a dictionary"))
  return Either.map(
    Either.all([readFamily(value, 4), readFamily(value, 6)]),
    ([v4, v6]): PexMessage => ({ added: [...v4.added, ...v6.added], dropped: [...v4.dropped, ...v6.dropped] })
  )
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

interface Compact {
  readonly address: Uint8Array
  readonly port: number
}

const compactOf = (a: PeerAddress, family: Family): Compact | undefined => {
  const ip = parseIp(a.host)
  return ip !== undefined && ip.family === family ? { address: ip.bytes, port: a.port } : undefined
}

const writeList = (entries: ReadonlyArray<Compact>, family: Family): Uint8Array => {
  const size = entryLength(family)
  const out = new Uint8Array(entries.length * size)
  entries.forEach(({ address, port }, i) => {
    out.set(address, i * size)
    out[i * size + size - 2] = (port >> 8) & 0xff
    out[i * size + size - 1] = port & 0xff
  })
  return out
}

/**
 * The canonical bencode of `m`, split by family. `added`, `added.f` and `dropped` are always written
 * (even empty), as libtorrent does; the IPv6 keys only when there is an IPv6 peer to add or drop. Hosts
 * that are not IP literals have no compact form and are left out. The lists are not cut to
 * `maxAddedPerMessage`: that is the caller's to keep.
 */
export const encode = (m: PexMessage): Uint8Array => {
  const d = new Map<string, Bencode>()
  for (const family of [4, 6] as const) {
    const added: Array<Compact> = []
    const flags: Array<number> = []
    for (const peer of m.added) {
      const c = compactOf(peer.address, family)
      if (c === undefined) continue
      added.push(c)
      flags.push(peer.flags & 0xff)
    }
    const dropped: Array<Compact> = []
    for (const address of m.dropped) {
      const c = compactOf(address, family)
      if (c !== undefined) dropped.push(c)
    }
    if (family === 6 && added.length === 0 && dropped.length === 0) continue
    const keys = keysOf(family)
    d.set(keys.added, writeList(added, family))
    d.set(keys.flags, Uint8Array.from(flags))
    d.set(keys.dropped, writeList(dropped, family))
  }
  return BencodeCodec.encode(d)
}

// ---------------------------------------------------------------------------------------------------------
// Schema

/** A ut_pex payload <-> its message, built on `decode` and `encode`. */
export const PexMessageFromBytes: Schema.Schema<PexMessage, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, PexMessage, {
  decode: (payload) => Either.mapLeft(decode(payload), (e) => e.message),
  encode: (m) => encode(m)
})
