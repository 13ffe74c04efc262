/**
 * The peers a torrent is connected to, after their handshakes: each session's link by its key ("host:port"),
 * the peer ids in use, the hosts banned and the strikes against them. Synchronous, so that a session is
 * admitted or refused in its handshake without a fiber in between; the torrent ends the sessions of a
 * banned host (Torrent.ts).
 *
 * One connection per peer (by peer id). When a second one comes from the same host, which stays is
 * decided so that both sides keep the same one, whatever order they saw them in. Each side dialled the
 * other at once: the one opened by the lower peer id (libtorrent: by the lower listening port); refusing
 * every second connection left none when each side kept its own. The peer dialled us again: the new one,
 * since it gave up the first (broken on its side, not yet on ours; libtorrent drops the new one, and the
 * peer waits out a retry delay). We dialled a second address of the same peer, or a second connection
 * comes from another host: the first.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { PeerErrorReason } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import { format as formatAddress } from "../../domain/PeerAddress.js"
import type { PeerInfo, PeerLink } from "../peer/PeerContext.js"

/** Pieces that fail their hash check, sent by one peer alone, before its host is banned. */
export const strikesToBan = 2

/** The host of a key "host:port" or "[v6]:port". */
export const hostOf = (key: string) => (key.startsWith("[") ? key.slice(1, key.indexOf("]")) : key.slice(0, key.lastIndexOf(":")))

export interface Refusal {
  readonly reason: PeerErrorReason
  readonly detail: string
}

export class Swarm {
  readonly #links = new Map<string, PeerLink>()
  readonly #peerIds = new Map<string, string>()
  readonly #banned = new Set<string>()
  readonly #strikes = new Map<string, number>()
  /** Fibers waiting for a first peer (`whenPeers`), or for a peer or a web seed (`whenActive`). */
  readonly #waiting = new Set<() => void>()
  readonly #waitingActive = new Set<() => void>()
  /** Web seeds fetching now (WebSeeds.ts): sources of pieces that are not peers. */
  #webSeeds = 0

  constructor(private readonly ourPeerId: string) {}

  /** Succeeds as soon as a peer is connected (at once if one is): the timers that matter only with
   *  peers (the choker, checkpoints) wait on it, so that a torrent without peers costs no timer work. */
  readonly whenPeers: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.#links.size > 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.#waiting.add(wake)
    return Effect.sync(() => this.#waiting.delete(wake))
  })

  /** Succeeds as soon as a peer is connected or a web seed is fetching: the checkpoints wait on it, so
   *  that a download from web seeds alone keeps its resume data as one from peers does. */
  readonly whenActive: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.#links.size > 0 || this.#webSeeds > 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.#waitingActive.add(wake)
    return Effect.sync(() => this.#waitingActive.delete(wake))
  })

  /** A web seed fetches from now until the scope closes. */
  readonly webSeedFetching: Effect.Effect<void, never, Scope.Scope> = Effect.acquireRelease(
    Effect.sync(() => {
      this.#webSeeds++
      this.#wakeAll(this.#waitingActive)
    }),
    () => Effect.sync(() => void this.#webSeeds--)
  )

  #wakeAll(waiting: Set<() => void>): void {
    if (waiting.size === 0) return
    const woken = [...waiting]
    waiting.clear()
    for (const wake of woken) wake()
  }

  /** Admits a peer after its handshake, or says why not (ourselves, a banned host, a peer already here);
   *  a connection to the same peer that this one replaces is ended. */
  attach(link: PeerLink, peerId: Uint8Array): Refusal | undefined {
    const id = InfoHash.toHex(peerId)
    if (id === this.ourPeerId) return { reason: "Self", detail: "connected to ourselves" }
    if (this.#banned.has(link.host)) return { reason: "Banned", detail: "banned" }
    for (const [key, other] of this.#peerIds) {
      if (other !== id) continue
      const existing = this.#links.get(key)!
      if (!this.#replaces(link, existing, id)) return { reason: "Duplicate", detail: "already connected to this peer" }
      this.detach(key)
      const why = link.inbound && existing.inbound ? "the peer connected again" : "both sides dialled; the other connection is kept"
      existing.end("Duplicate", why)
      break
    }
    this.#links.set(link.key, link)
    this.#peerIds.set(link.key, id)
    this.#wakeAll(this.#waiting)
    this.#wakeAll(this.#waitingActive)
    return undefined
  }

  /** Whether `link`, a second connection to the peer `theirs` (hex), takes the place of `existing`. Never
   *  from another host: a peer id proves nothing, and anyone could knock a peer's connection off with it. */
  #replaces(link: PeerLink, existing: PeerLink, theirs: string): boolean {
    if (link.host !== existing.host) return false
    if (link.inbound !== existing.inbound) {
      const opener = link.inbound ? theirs : this.ourPeerId
      return opener === (theirs < this.ourPeerId ? theirs : this.ourPeerId)
    }
    return link.inbound
  }

  detach(key: string): void {
    this.#links.delete(key)
    this.#peerIds.delete(key)
  }

  get size(): number {
    return this.#links.size
  }

  has(key: string): boolean {
    return this.#links.has(key)
  }

  get(key: string): PeerLink | undefined {
    return this.#links.get(key)
  }

  links(): IterableIterator<PeerLink> {
    return this.#links.values()
  }

  /** Where the connected peers listen, as "host:port" (those that dialled us and said, and those we dialled). */
  listenKeys(): Set<string> {
    const keys = new Set<string>()
    for (const link of this.#links.values()) {
      const address = link.listenAddress()
      if (address !== undefined) keys.add(formatAddress(address))
    }
    return keys
  }

  infos(now: number): Array<PeerInfo> {
    return [...this.#links.values()].map((l) => l.info(now))
  }

  /** Every session looks for work (blocks went back to the pool). */
  wakeAll(): void {
    for (const link of this.#links.values()) link.wake()
  }

  get unchoked(): number {
    let n = 0
    for (const link of this.#links.values()) if (link.unchoked()) n++
    return n
  }

  /** Our requests outstanding across all peers. */
  get inFlight(): number {
    let n = 0
    for (const link of this.#links.values()) n += link.outstanding()
    return n
  }

  isBanned(host: string): boolean {
    return this.#banned.has(host)
  }

  get banned(): ReadonlyArray<string> {
    return [...this.#banned]
  }

  /** Bans a host; returns the keys of its sessions (for the torrent to end), or none when it was banned. */
  ban(host: string): ReadonlyArray<string> | undefined {
    if (this.#banned.has(host)) return undefined
    this.#banned.add(host)
    return [...this.#links.keys()].filter((k) => hostOf(k) === host)
  }

  /** One more piece that failed, sent by this host alone: its strikes so far. */
  strike(host: string): number {
    const n = (this.#strikes.get(host) ?? 0) + 1
    this.#strikes.set(host, n)
    return n
  }
}
