/**
 * The peer table of the embedded tracker: who announced which torrent, from where, and how much they
 * still need. Synchronous and transport-free (HTTP and UDP announces both land here); the time is passed
 * in by the caller, who reads it from Effect's Clock, so that expiry can be tested under TestClock.
 *
 * A peer is one peer id within one torrent. A new peer id at the address of an existing entry replaces it
 * (a client restarted with a fresh id), so that no address is handed out twice. Entries older than the TTL
 * are dropped lazily whenever a torrent is read and by `sweep`, which the server runs on a schedule.
 *
 * A peer may have one second address, on IPv6 (BEP 7's `ipv6=`: a client that reaches us over IPv4 names
 * the IPv6 address where IPv6 peers can reach it). It is handed out to others beside the first, never to
 * the peer itself, replaced or dropped by the peer's next announce, and goes with the peer. One address is
 * handed out once: a second address that is some other peer's first address is ignored, and an address
 * claimed again (as a first or second address) is taken from the peer that had it as its second.
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
  /** Most peers to hand out (the caller applies its default and cap); a peer's second address comes with it. */
  readonly numwant: number
  /** The peer's second address (IPv6, BEP 7), checked by the caller; absent, the peer has none. */
  readonly ipv6?: { readonly host: string; readonly port: number }
}

export interface SwarmPeer {
  readonly host: string
  readonly port: number
  readonly left: number
}

export interface SwarmAnnounceResult {
  /** The addresses of other peers of the torrent (first and second), never the announcer's; empty after
   *  `stopped`. */
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
  /** The second address, with its key. */
  readonly second?: { readonly host: string; readonly port: number; readonly address: string }
}

interface Swarm {
  /** By peer id (latin1 key of its bytes). */
  readonly entries: Map<string, Entry>
  /** Peer id by "host:port" of its first address. */
  readonly byAddress: Map<string, string>
  /** Peer id by "host:port" of its second address. */
  readonly bySecond: Map<string, string>
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
      swarm = { entries: new Map(), byAddress: new Map(), bySecond: new Map(), downloaded: 0 }
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
    if (previous?.second !== undefined) dropSecond(swarm, previous.second.address, id)
    // Claimed as a first address: no longer another peer's second.
    dropSecond(swarm, address)
    const second = secondOf(swarm, a, address)
    // A completion counts once per peer, however often a client repeats the event.
    if (a.event === "completed" && a.left === 0 && (previous === undefined || previous.left > 0)) swarm.downloaded++
    const entry: Entry = { id, address, host: a.host, port: a.port, left: a.left, seenAt: now }
    swarm.entries.set(id, second === undefined ? entry : { ...entry, second })
    swarm.byAddress.set(address, id)
    if (second !== undefined) swarm.bySecond.set(second.address, id)

    const others: Array<Entry> = []
    const counts = this.purge(swarm, now, (e) => {
      if (e.id !== id) others.push(e)
    })
    return Either.right({ peers: this.sample(others, a.numwant).flatMap(addressesOf), ...counts })
  }

  /** The addresses of the live peers of a torrent (second addresses after the first). */
  peers(infoHash: string, now: number): ReadonlyArray<SwarmPeer> {
    const swarm = this.swarms.get(infoHash)
    if (swarm === undefined) return []
    const out: Array<SwarmPeer> = []
    this.purge(swarm, now, (e) => out.push(...addressesOf(e)))
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
  private sample<A>(peers: Array<A>, n: number): ReadonlyArray<A> {
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
  if (e.second !== undefined && swarm.bySecond.get(e.second.address) === id) swarm.bySecond.delete(e.second.address)
}

/** Takes the second address `address` from the peer that has it (only from `id` when given). */
const dropSecond = (swarm: Swarm, address: string, id?: string): void => {
  const holder = swarm.bySecond.get(address)
  if (holder === undefined || (id !== undefined && holder !== id)) return
  swarm.bySecond.delete(address)
  const e = swarm.entries.get(holder)
  if (e?.second?.address !== address) return
  const { second: _dropped, ...rest } = e
  swarm.entries.set(holder, rest)
}

/** The second address an announce gives, unless it is the first address of a peer (this one included). */
const secondOf = (swarm: Swarm, a: SwarmAnnounce, address: string): Entry["second"] => {
  if (a.ipv6 === undefined) return undefined
  const second = addressKey(a.ipv6)
  if (second === address || swarm.byAddress.has(second)) return undefined
  // Latest claim wins, as for first addresses: the peer that had it as its second loses it.
  dropSecond(swarm, second)
  return { host: a.ipv6.host, port: a.ipv6.port, address: second }
}

/** What is handed out for a peer: its first address, then its second. */
const addressesOf = (e: Entry): Array<SwarmPeer> => {
  const first = { host: e.host, port: e.port, left: e.left }
  return e.second === undefined ? [first] : [first, { host: e.second.host, port: e.second.port, left: e.left }]
}
