/**
 * What a torrent sees of our DHT node (BEP 5, the Mainline DHT: the network of BitTorrent clients that
 * finds peers by info hash without a tracker): lookups, nodes heard of from peers, figures. The node is
 * DhtNode.make, on a DatagramNetwork (UDP, or MemoryDatagram in tests), for the life of a scope. It is
 * optional (off with --no-dht, never for private torrents), so it is handed to those that use it as a
 * value rather than provided as a service.
 */
import type * as Effect from "effect/Effect"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { Endpoint } from "../wire/Datagram.js"

export type { Endpoint } from "../wire/Datagram.js"

export interface DhtOptions {
  /** UDP port (0 picks one). */
  readonly port: number
  /** Bind host, default "0.0.0.0". */
  readonly host?: string
  /** Where to start; a host may be a DNS name on the real network (resolved at each bootstrap; failures
   *  are logged and skipped). */
  readonly bootstrap: ReadonlyArray<Endpoint>
  /** The routing table and node id are saved here (atomically) every few minutes and on close, and loaded
   *  at start (a damaged file is reported and ignored). */
  readonly stateFile?: string
  /** Tests; else from the state file, else random. */
  readonly nodeId?: Uint8Array
}

export interface DhtStats {
  readonly nodes: number
  readonly buckets: number
  readonly storedPeers: number
  readonly queriesReceived: number
  readonly queriesSent: number
  /** Queries from others refused by the rate limits (or a full queue), unanswered. */
  readonly queriesDropped: number
}

export interface LookupResult {
  /** Distinct peers found. */
  readonly peers: number
  /** Nodes queried. */
  readonly queried: number
  /** Hops from the starting nodes to the farthest node queried. */
  readonly rounds: number
  /** Nodes that accepted our announce_peer. */
  readonly announcedTo: number
}

export interface DhtService {
  readonly port: number
  readonly nodeId: Uint8Array
  /** Iterative get_peers for infoHash (alpha 3, k 8): calls onPeers as values arrive (deduplicated per
   *  lookup), then, when announcePort is given, announce_peer to the k closest nodes that returned tokens. */
  readonly lookup: (
    infoHash: Uint8Array,
    options: {
      readonly announcePort?: number
      readonly onPeers: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
    }
  ) => Effect.Effect<LookupResult>
  /** A node heard of elsewhere (the PORT message of a peer): pinged, and added if it answers. Returns at
   *  once; the ping runs in the background (a bounded number at a time, the rest skipped). */
  readonly addNode: (endpoint: Endpoint) => Effect.Effect<void>
  readonly stats: Effect.Effect<DhtStats>
}
