/**
 * Where a torrent finds peers besides its trackers: the DHT (BEP 5), looked up and announced to on a
 * schedule, and its own peers through PEX (BEP 11). Private torrents (BEP 27) use neither; the torrent
 * decides that before calling here.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { InfoHash } from "../../domain/InfoHash.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import * as Pex from "../../protocol/Pex.js"
import type { DhtService } from "../dht/Dht.js"
import type { PeerLink } from "../peer/PeerContext.js"

/** Between DHT lookups (each also announces our port): as libtorrent, every 15 min once peers are plenty. */
export const dhtIntervalMs = 15 * 60_000
/** Between DHT lookups while a download has few peers. */
export const dhtHungryIntervalMs = 2 * 60_000
/** Fewer connected peers than this, while downloading, is "few". */
export const fewPeers = 10

/** The connected peers, by the addresses they accept connections on, with BEP 11 flags. */
export const pexPeers = (links: Iterable<PeerLink>, now: number): ReadonlyArray<Pex.PexPeer> => {
  const out: Array<Pex.PexPeer> = []
  for (const link of links) {
    const address = link.listenAddress()
    const flags = (link.info(now).isSeed ? Pex.Flags.Seed : 0) | (link.encrypted === true ? Pex.Flags.PrefersEncryption : 0) |
      (link.utp === true ? Pex.Flags.Utp : 0)
    if (address !== undefined) out.push({ address, flags })
  }
  return out
}

export interface DhtLoopOptions {
  readonly dht: DhtService
  readonly infoHash: InfoHash
  readonly port: () => number
  readonly onPeers: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
  /** True while more peers would help (downloading with few). */
  readonly hungry: () => boolean
}

/** Looks the torrent up in the DHT and announces our port, again and again, until interrupted. */
export const dhtLoop = (options: DhtLoopOptions): Effect.Effect<never> =>
  Effect.forever(
    Effect.gen(function* () {
      const found = yield* options.dht.lookup(options.infoHash, { announcePort: options.port(), onPeers: options.onPeers })
      yield* Effect.logDebug(
        `DHT: ${found.peers} peer(s) from ${found.queried} node(s) in ${found.rounds} round(s); announced to ${found.announcedTo}`
      )
      yield* Effect.sleep(options.hungry() ? dhtHungryIntervalMs : dhtIntervalMs)
    })
  )

/**
 * Nodes that peers name in PORT messages, handed to the DHT one at a time. Bounded, dropping the oldest:
 * a peer sending PORT after PORT only replaces its own earlier ones.
 */
export const makeNodeFeed = (dht: DhtService) =>
  Effect.gen(function* () {
    const queue = yield* Queue.sliding<{ readonly host: string; readonly port: number }>(64)
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), (node) => dht.addNode(node))))
    return (host: string, port: number) => void queue.unsafeOffer({ host, port })
  })
