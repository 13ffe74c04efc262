/**
 * The compact forms that DHT messages carry (BEP 5, BEP 32, BEP 42): node info (a 20-byte node id, then
 * the address and port, 26 bytes for IPv4 in `nodes` and 38 for IPv6 in `nodes6`) and single compact peer
 * addresses (6 or 18 bytes, in `values` and in the `ip` of a response).
 *
 * Kept apart from Krpc.ts, which reads and writes whole messages with these. Addresses are formatted as
 * CompactPeers.ts does (canonical IPv6 text), so that a node or peer has one key however it was learnt.
 * Decoded ids are copies: a routing table keeps them long after the datagram is gone.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { KrpcError } from "../domain/Errors.js"
import { PeerAddress } from "../domain/PeerAddress.js"
import { type Family, formatIPv4, formatIPv6, parseIp } from "./CompactPeers.js"

/** Bytes in a node id, a find_node target and an info hash. */
export const nodeIdBytes = 20

/** A DHT node as compact node info names it. */
export interface CompactNode {
  readonly id: Uint8Array
  readonly host: string
  readonly port: number
}

/** 20 bytes: a node id, a target or an info hash. */
export const Bytes20 = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((b) => b.length === nodeIdBytes, { message: () => "a node id, target or info hash is 20 bytes" })
)

export const CompactNode: Schema.Schema<CompactNode> = Schema.Struct({
  id: Bytes20,
  host: Schema.String,
  port: Schema.Int.pipe(Schema.between(1, 65535))
})

const addressBytes = (family: Family): number => (family === 4 ? 4 : 16)

/** Bytes per entry of compact node info: 26 (IPv4) or 38 (IPv6). */
export const nodeEntryBytes = (family: Family): number => nodeIdBytes + addressBytes(family) + 2

const formatAddress = (b: Uint8Array, offset: number, family: Family): string =>
  family === 4 ? formatIPv4(b, offset) : formatIPv6(b, offset)

/**
 * The nodes of a `nodes` (family 4) or `nodes6` (family 6) string. A length that is not a whole number of
 * entries is refused rather than truncated, as compact peer lists are; entries with port 0 are skipped
 * (no one can be reached there).
 */
export const decodeNodes = (bytes: Uint8Array, family: Family): Either.Either<ReadonlyArray<CompactNode>, KrpcError> => {
  const size = nodeEntryBytes(family)
  if (bytes.length % size !== 0) {
    return Either.left(
      new KrpcError({
        reason: "Malformed",
        detail: `compact IPv${family} node info of ${bytes.length} bytes is not a multiple of ${size}`
      })
    )
  }
  const nodes: Array<CompactNode> = []
  const portAt = nodeIdBytes + addressBytes(family)
  for (let o = 0; o < bytes.length; o += size) {
    const port = (bytes[o + portAt]! << 8) | bytes[o + portAt + 1]!
    if (port === 0) continue
    nodes.push({
      // A copy (Buffer's `slice` would be a view), so that the id does not keep the datagram alive.
      id: new Uint8Array(bytes.subarray(o, o + nodeIdBytes)),
      host: formatAddress(bytes, o + nodeIdBytes, family),
      port
    })
  }
  return Either.right(nodes)
}

/**
 * The compact node info of the nodes of `family`. Nodes of the other family, host names and ids that are
 * not 20 bytes cannot be written and are left out.
 */
export const encodeNodes = (nodes: ReadonlyArray<CompactNode>, family: Family): Uint8Array => {
  const entries: Array<readonly [CompactNode, Uint8Array]> = []
  for (const node of nodes) {
    const ip = parseIp(node.host)
    if (ip !== undefined && ip.family === family && node.id.length === nodeIdBytes) entries.push([node, ip.bytes])
  }
  const size = nodeEntryBytes(family)
  const portAt = nodeIdBytes + addressBytes(family)
  const out = new Uint8Array(entries.length * size)
  entries.forEach(([node, address], i) => {
    const o = i * size
    out.set(node.id, o)
    out.set(address, o + nodeIdBytes)
    out[o + portAt] = (node.port >> 8) & 0xff
    out[o + portAt + 1] = node.port & 0xff
  })
  return out
}

/**
 * One compact peer address: 6 bytes (IPv4) or 18 (IPv6). Undefined for any other length and for port 0,
 * which `values` entries and `ip` fields skip rather than fail on.
 */
export const decodePeer = (bytes: Uint8Array): PeerAddress | undefined => {
  const family: Family | undefined = bytes.length === 6 ? 4 : bytes.length === 18 ? 6 : undefined
  if (family === undefined) return undefined
  const portAt = addressBytes(family)
  const port = (bytes[portAt]! << 8) | bytes[portAt + 1]!
  if (port === 0) return undefined
  // Validation is skipped: the port is 1..65535 by construction.
  return new PeerAddress({ host: formatAddress(bytes, 0, family), port }, true)
}

/** The compact form of a peer address; undefined for a host name, which has none. */
export const encodePeer = (peer: { readonly host: string; readonly port: number }): Uint8Array | undefined => {
  const ip = parseIp(peer.host)
  if (ip === undefined) return undefined
  const out = new Uint8Array(ip.bytes.length + 2)
  out.set(ip.bytes, 0)
  out[ip.bytes.length] = (peer.port >> 8) & 0xff
  out[ip.bytes.length + 1] = peer.port & 0xff
  return out
}
