/**
 * Compact peer lists (BEP 23 for IPv4, BEP 7 for IPv6): each peer is its address bytes followed by its
 * port, big-endian; 6 bytes per IPv4 peer, 18 per IPv6 peer. Used by HTTP (`peers`, `peers6`) and UDP
 * announce responses alike.
 *
 * IPv6 hosts are written in the RFC 5952 canonical form (lowercase, shortest, `::ffff:a.b.c.d` for
 * IPv4-mapped addresses), so that one peer always has one key whichever way it was learnt.
 */
import * as Either from "effect/Either"
import { TrackerCodecError } from "../domain/Errors.js"
import { PeerAddress } from "../domain/PeerAddress.js"

export type Family = 4 | 6

/** Bytes per peer in a compact list. */
export const entryLength = (family: Family): number => (family === 4 ? 6 : 18)

const addressLength = (family: Family): number => (family === 4 ? 4 : 16)

// ---------------------------------------------------------------------------------------------------------
// Address text

export const formatIPv4 = (b: Uint8Array, offset = 0): string =>
  `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`

export const formatIPv6 = (b: Uint8Array, offset = 0): string => {
  const groups: Array<number> = []
  for (let i = 0; i < 8; i++) groups.push((b[offset + 2 * i]! << 8) | b[offset + 2 * i + 1]!)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, offset + 12)}`
  }
  // The longest run of two or more zero groups becomes "::"; the first one wins a tie (RFC 5952, 4.2).
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":")
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

const ipv4Pattern = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/

/** The 4 bytes of a dotted-quad IPv4 address; leading zeros are refused (they read as octal elsewhere). */
export const parseIPv4 = (s: string): Uint8Array | undefined => {
  const m = ipv4Pattern.exec(s)
  if (m === null) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1])
    if (n > 255) return undefined
    out[i] = n
  }
  return out
}

const hexGroup = /^[0-9a-fA-F]{1,4}$/

const parseGroups = (part: string, allowIPv4Tail: boolean): Array<number> | undefined => {
  if (part === "") return []
  const items = part.split(":")
  const out: Array<number> = []
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (allowIPv4Tail && i === items.length - 1 && item.includes(".")) {
      const v4 = parseIPv4(item)
      if (v4 === undefined) return undefined
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else if (hexGroup.test(item)) {
      out.push(parseInt(item, 16))
    } else {
      return undefined
    }
  }
  return out
}

/** The 16 bytes of an IPv6 address (RFC 4291 text, no brackets, no zone). */
export const parseIPv6 = (s: string): Uint8Array | undefined => {
  const halves = s.split("::")
  let groups: Array<number>
  if (halves.length === 1) {
    const all = parseGroups(s, true)
    if (all === undefined || all.length !== 8) return undefined
    groups = all
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false)
    const tail = parseGroups(halves[1]!, true)
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    return undefined
  }
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8
    out[2 * i + 1] = g & 0xff
  })
  return out
}

const unbracket = (host: string): string =>
  host.length > 2 && host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

/** The family and bytes of an IP literal (IPv6 possibly in brackets), or undefined for a host name. */
export const parseIp = (host: string): { readonly family: Family; readonly bytes: Uint8Array } | undefined => {
  const v4 = parseIPv4(host)
  if (v4 !== undefined) return { family: 4, bytes: v4 }
  const v6 = parseIPv6(unbracket(host))
  return v6 === undefined ? undefined : { family: 6, bytes: v6 }
}

/** IPv6 literals in canonical form without brackets; IPv4 literals and host names unchanged. */
export const canonicalHost = (host: string): string => {
  const ip = parseIp(host)
  return ip?.family === 6 ? formatIPv6(ip.bytes) : host
}

// ---------------------------------------------------------------------------------------------------------
// Compact lists

/**
 * The peers of a compact list. A length that is not a whole number of entries is an error, not something
 * to truncate; peers with port 0 are dropped; at most `limit` peers are returned.
 */
export const decodeCompact = (
  bytes: Uint8Array,
  family: Family,
  limit = Number.POSITIVE_INFINITY
): Either.Either<Array<PeerAddress>, TrackerCodecError> => {
  const size = entryLength(family)
  if (bytes.length % size !== 0) {
    return Either.left(
      new TrackerCodecError({
        reason: "Malformed",
        detail: `compact IPv${family} peer list of ${bytes.length} bytes is not a multiple of ${size}`
      })
    )
  }
  const peers: Array<PeerAddress> = []
  const portAt = addressLength(family)
  for (let o = 0; o < bytes.length && peers.length < limit; o += size) {
    const port = (bytes[o + portAt]! << 8) | bytes[o + portAt + 1]!
    if (port === 0) continue
    const host = family === 4 ? formatIPv4(bytes, o) : formatIPv6(bytes, o)
    // Validation is skipped: the port is 1..65535 by construction.
    peers.push(new PeerAddress({ host, port }, true))
  }
  return Either.right(peers)
}

/** The compact list of the peers of one family; peers of the other family and host names are left out. */
export const encodeCompact = (
  peers: Iterable<{ readonly host: string; readonly port: number }>,
  family: Family
): Uint8Array => {
  const entries: Array<readonly [Uint8Array, number]> = []
  for (const peer of peers) {
    const ip = parseIp(peer.host)
    if (ip !== undefined && ip.family === family) entries.push([ip.bytes, peer.port])
  }
  const size = entryLength(family)
  const portAt = addressLength(family)
  const out = new Uint8Array(entries.length * size)
  entries.forEach(([address, port], i) => {
    out.set(address, i * size)
    out[i * size + portAt] = (port >> 8) & 0xff
    out[i * size + portAt + 1] = port & 0xff
  })
  return out
}

/** Whether `host` is an IP literal of `family`. */
export const isFamily = (host: string, family: Family): boolean => parseIp(host)?.family === family
