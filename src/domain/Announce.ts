/**
 * What a client says to a tracker and what the tracker answers, independent of transport (HTTP, BEP 3;
 * UDP, BEP 15). The protocol codecs translate these to and from bytes.
 */
import * as Schema from "effect/Schema"
import { InfoHash } from "./InfoHash.js"
import { PeerAddress } from "./PeerAddress.js"
import { PeerId } from "./PeerId.js"

/** Why the client announces; "none" is a regular re-announce. */
export const AnnounceEvent = Schema.Literal("started", "completed", "stopped", "none")
export type AnnounceEvent = typeof AnnounceEvent.Type

/** An unsigned 32-bit integer (announce key, UDP transaction ids and counters). */
export const U32 = Schema.Int.pipe(Schema.between(0, 0xffffffff))

/** A TCP/UDP port; 0 is allowed in requests (a client that does not accept connections). */
export const Port = Schema.Int.pipe(Schema.between(0, 65535))

export const AnnounceRequest = Schema.Struct({
  infoHash: InfoHash,
  peerId: PeerId,
  port: Port,
  uploaded: Schema.NonNegativeInt,
  downloaded: Schema.NonNegativeInt,
  left: Schema.NonNegativeInt,
  event: AnnounceEvent,
  /** Peers wanted; negative leaves the choice to the tracker. */
  numwant: Schema.Int,
  /** A random number that lets the tracker recognise us across IP changes. */
  key: U32,
  compact: Schema.Boolean,
  /** The `tracker id` of an earlier response, as raw bytes held in a latin1 string (one char per byte). */
  trackerId: Schema.optionalWith(Schema.String, { exact: true }),
  /** An address to announce instead of the one the tracker sees. */
  ip: Schema.optionalWith(Schema.String, { exact: true }),
  /** Our global IPv6 address besides the one the request comes from (BEP 7's `ipv6=`; HTTP only). */
  ipv6: Schema.optionalWith(Schema.String, { exact: true })
})
export type AnnounceRequest = typeof AnnounceRequest.Type

export const AnnounceResponse = Schema.Struct({
  /** Seconds until the next regular announce, as sent; any floor on it is the caller's policy. */
  interval: Schema.NonNegativeInt,
  minInterval: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  /** Raw bytes held in a latin1 string (one char per byte), so that it is echoed back byte-exactly. */
  trackerId: Schema.optionalWith(Schema.String, { exact: true }),
  /** Seeders. */
  complete: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  /** Leechers. */
  incomplete: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  warning: Schema.optionalWith(Schema.String, { exact: true }),
  /** IPv4 and IPv6 peers together. */
  peers: Schema.Array(PeerAddress)
})
export type AnnounceResponse = typeof AnnounceResponse.Type

/** The swarm counts of one torrent, as a scrape returns them. */
export const ScrapeStats = Schema.Struct({
  /** Seeders. */
  complete: Schema.NonNegativeInt,
  /** Completed downloads so far. */
  downloaded: Schema.NonNegativeInt,
  /** Leechers. */
  incomplete: Schema.NonNegativeInt
})
export type ScrapeStats = typeof ScrapeStats.Type

/** Scrape results in the order of the info hashes asked for (UDP returns no hashes, only this order). */
export const ScrapeResponse = Schema.Struct({
  files: Schema.Array(ScrapeStats)
})
export type ScrapeResponse = typeof ScrapeResponse.Type
