/**
 * Announces for tracker tests: a request with the usual fields (a peer named by a short string padded to
 * 20 bytes), the project's own tracker client over real HTTP and UDP with short timeouts, and peers'
 * addresses as sorted "host:port" strings.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AnnounceRequest } from "../../src/domain/Announce.js"
import type { InfoHash } from "../../src/domain/InfoHash.js"
import { format } from "../../src/domain/PeerAddress.js"
import { PeerId } from "../../src/domain/PeerId.js"
import * as NetworkTracker from "../../src/services/tracker/NetworkTracker.js"
import * as Tracker from "../../src/services/tracker/Tracker.js"

/** A peer id from a name: its bytes, padded with "-" to 20. */
export const peerIdOf = (name: string) => PeerId.make(new Uint8Array(Buffer.from(name.padEnd(20, "-"), "latin1")))

/** A "started" announce of `name` on `port` for `infoHash`, 1000 bytes left, compact, numwant 50. */
export const announceRequest = (infoHash: InfoHash, name: string, port: number, overrides: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId: peerIdOf(name),
  port,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  event: "started",
  numwant: 50,
  key: 1,
  compact: true,
  ...overrides
})

/** The project's tracker client (HTTP through undici, UDP with one retry after a second). */
export const trackerClient = NetworkTracker.layerWith({ httpTimeout: "5 seconds", udpInitialTimeout: "1 second", udpMaxRetries: 1 }).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)

export const announce = (url: string, request: AnnounceRequest) => Effect.flatMap(Tracker.Tracker, (t) => t.announce(url, request))

/** Addresses as "host:port" (IPv6 in brackets), sorted. */
export const addresses = (peers: ReadonlyArray<{ readonly host: string; readonly port: number }>) => peers.map(format).sort()
