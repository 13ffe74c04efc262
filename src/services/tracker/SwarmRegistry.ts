/**
 * The peer table of the embedded tracker: who announced which torrent, from where, and how much they
 * still need. Synchronous and transport-free (HTTP and UDP announces both land here); the time is passed
 * in by the caller, who reads it from Effect's Clock, so that expiry can be tested under TestClock.
 *
 * A peer is one peer id within one torrent. A new peer id at the address of an existing entry replaces it
 * (a client restarted with a fresh id), so that no address is handed out twice. Entries older than the TTL
 * are dropped lazily whenever a torrent is read and by `sweep`, which the server runs on a schedule.
 */
import * as Either from "effect/Either"
import type { AnnounceEvent, ScrapeStats } from "../../domain/Announce.js"
import { keyFromBytes } from "../../domain/Bencode.js"
import { key as addressKey } from "../../domain/PeerAddress.js"

export interface SwarmRegistryOptions {
  /** A peer not heard from for longer than this is gone. */
  readonly ttlMs: number
  readonly maxTorrents: number
  readonly maxPeersPerTorrent: number
  /** In [0, 1); picks which peers an announce gets when there are more than it wants. */
  readonly random?: () => number
}

export interface SwarmAnnounce {
  /** The info hash in any one-to-one text form (the server uses hex). */
  readonly infoHash: string
  readonly peerId: Uint8Array
  readonly host: string
  readonly port: number
  readonly left: number
  readonly event: AnnounceEvent
  /** Most peers to hand out (the caller applies its default and cap). */
  readonly numwant: number
}

export interface SwarmPeer {
  readonly host: string
  readonly port: number
  readonly left: number
}

export interface SwarmAnnounceResult {
  /** Other peers of the torrent, never the announcer; empty after `stopped`. */
  readonly peers: ReadonlyArray<SwarmPeer>
  /** Seeders, the announcer included. */
  readonly complete: number
  /** Leechers, the announcer included. */
  readonly incomplete: number
}

interface Entry extends SwarmPeer {
  readonly id: string
  readonly address: string
  readonly seenAt: number
}

interface Swarm {
  /** By peer id (latin1 key of its bytes). */
  readonly entries: Map<string, Entry>
  /** Peer id by "host:port". */
  readonly byAddress: Map<string, string>
  /** `completed` events seen (the scrape's `downloaded`). */
  downloaded: number
}

export class SwarmRegistry {
  private readonly swarms = new Map<string, Swarm>()
  private readonly random: () => number

  constructor(readonly options: SwarmRegistryOptions) {
    this.random = options.random ?? Math.random
  }

  get torrentCount(): number {
    return this.swarms.size
  }

  /** Records one announce and answers it; Left is the failure reason to send back. */
  announce(a: SwarmAnnounce, now: number): Either.Either<SwarmAnnounceResult, string> {
    const id = keyFromBytes(a.peerId)
    const address = addressKey(a)
    let swarm = this.swarms.get(a.infoHash)

    if (a.event === "stopped") {
      if (swarm === undefined) return Either.right({ peers: [], complete: 0, incomplete: 0 })
      remove(swarm, id)
      const other = swarm.byAddress.get(address)
      if (other !== undefined) remove(swarm, other)
      const counts = this.purge(swarm, now)
      if (swarm.entries.size === 0) this.swarms.delete(a.infoHash)
      return Either.right({ peers: [], ...counts })
    }

    if (swarm === undefined) {
      if (this.swarms.size >= this.options.maxTorrents) this.sweep(now)
      if (this.swarms.size >= this.options.maxTorrents) {
        return Either.left(`tracker is full: it tracks ${this.options.maxTorrents} torrents`)
      }
      swarm = { entries: new Map(), byAddress: new Map(), downloaded: 0 }
      this.swarms.set(a.infoHash, swarm)
    }

    const previous = swarm.entries.get(id)
    const atAddress = swarm.byAddress.get(address)
    if (atAddress !== undefined && atAddress !== id) remove(swarm, atAddress)
    if (previous === undefined) {
      if (swarm.entries.size >= this.options.maxPeersPerTorrent) this.purge(swarm, now)
      if (swarm.entries.size >= this.options.maxPeersPerTorrent) {
        if (swarm.entries.size === 0) this.swarms.delete(a.infoHash)
        return Either.left(`torrent is full: it has ${this.options.maxPeersPerTorrent} peers`)
      }
    } else if (previous.address !== address) {
      swarm.byAddress.delete(previous.address)
    }
    // A completion counts once per peer, however often a client repeats the event.
    if (a.event === "completed" && a.left === 0 && (previous === undefined || previous.left > 0)) swarm.downloaded++
    swarm.entries.set(id, { id, address, host: a.host, port: a.port, left: a.left, seenAt: now })
    swarm.byAddress.set(address, id)

    const others: Array<SwarmPeer> = []
    const counts = this.purge(swarm, now, (e) => {
      if (e.id !== id) others.push({ host: e.host, port: e.port, left: e.left })
    })
    return Either.right({ peers: this.sample(others, a.numwant), ...counts })
  }

  /** The live peers of a torrent. */
  peers(infoHash: string, now: number): ReadonlyArray<SwarmPeer> {
    const swarm = this.swarms.get(infoHash)
    if (swarm === undefined) return []
    const out: Array<SwarmPeer> = []
    this.purge(swarm, now, (e) => out.push({ host: e.host, port: e.port, left: e.left }))
    if (swarm.entries.size === 0) this.swarms.delete(infoHash)
    return out
  }

  /** Swarm counts; zeros for a torrent nobody announced. */
  scrape(infoHash: string, now: number): ScrapeStats {
    const swarm = this.swarms.get(infoHash)
    if (swarm === undefined) return { complete: 0, downloaded: 0, incomplete: 0 }
    const counts = this.purge(swarm, now)
    return { ...counts, downloaded: swarm.downloaded }
  }

  /** Drops every expired peer, and torrents left without peers. */
  sweep(now: number): void {
    for (const [infoHash, swarm] of this.swarms) {
      this.purge(swarm, now)
      if (swarm.entries.size === 0) this.swarms.delete(infoHash)
    }
  }

  /** Drops the expired entries of one swarm and counts the rest, visiting each live entry. */
  private purge(swarm: Swarm, now: number, visit?: (e: Entry) => void): { complete: number; incomplete: number } {
    let complete = 0
    let incomplete = 0
    for (const e of swarm.entries.values()) {
      if (now - e.seenAt > this.options.ttlMs) {
        remove(swarm, e.id)
        continue
      }
      if (e.left === 0) complete++
      else incomplete++
      visit?.(e)
    }
    return { complete, incomplete }
  }

  /** At most `n` of `peers`, chosen at random (a partial Fisher-Yates shuffle in place). */
  private sample(peers: Array<SwarmPeer>, n: number): ReadonlyArray<SwarmPeer> {
    const count = Math.max(0, Math.min(n, peers.length))
    if (count === peers.length) return peers
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.random() * (peers.length - i))
      const t = peers[i]!
      peers[i] = peers[j]!
      peers[j] = t
    }
    peers.length = count
    return peers
  }
}

const remove = (swarm: Swarm, id: string): void => {
  const e = swarm.entries.get(id)
  if (e === undefined) return
  swarm.entries.delete(id)
  if (swarm.byAddress.get(e.address) === id) swarm.byAddress.delete(e.address)
}
