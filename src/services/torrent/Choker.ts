/**
 * Who we unchoke: BitTorrent's tit-for-tat choker as a pure, synchronous state machine. The torrent calls
 * `round` every `roundMs` (and may call it between rounds when peers come and go) with what its sessions
 * report; the answer is the set of peers to have unchoked. Deterministic given `random`.
 *
 * - Regular slots (`slots` of them) go to interested peers ranked by the rate that matters: while
 *   downloading, the download rate they give us (reciprocation); while seeding, the rate we upload to
 *   them. A snubbed peer (one we want data from that sent no block for 60 s) never takes a regular slot.
 * - One optimistic unchoke among the other interested peers, so that peers with no rate yet can prove
 *   themselves. It is kept for `optimisticRounds` rounds (by time, so extra calls between rounds do not
 *   shorten it) and drawn again sooner when its peer leaves, loses interest, or wins a regular slot. Peers
 *   connected less than `newPeerMs` are drawn with weight 3 (they have no rate to be ranked by); a rotation
 *   avoids redrawing the outgoing peer when anyone else is available. A snubbed peer may be optimistic.
 * - While seeding, seeds are never unchoked (they need nothing). Uninterested peers are never unchoked:
 *   choking them costs nothing, and they are reconsidered as soon as they become interested.
 *
 * Seeding algorithm: fastest upload (mainline BitTorrent's seeding choker), not libtorrent's round-robin.
 * The peers that take our data fastest are the ones that spread it into the swarm fastest, the ranking
 * needs nothing beyond the rates sessions already measure (round-robin needs per-peer byte quotas since
 * each unchoke), and the rotating optimistic slot still gives every interested peer its turn. The known
 * cost is fairness: a fast peer can keep a slot for as long as it stays fast; round-robin would fix that.
 *
 * Ties (common: every rate is 0 at start) keep last round's regular peers in their slots, so slots do not
 * churn, then favour older connections, then the key, so the answer never depends on the order of the input.
 */

import type { PeerLink } from "../peer/PeerContext.js"

/** What the choker needs to know of one connected peer. */
export interface ChokerPeer {
  /** "host:port" */
  readonly key: string
  /** The peer is interested in us. */
  readonly interested: boolean
  /** Bytes/s we receive from it. */
  readonly downloadRate: number
  /** Bytes/s we send to it. */
  readonly uploadRate: number
  /** When it connected, in ms (Clock). */
  readonly connectedAt: number
  /** We want its data but it has sent no block for 60 s. */
  readonly snubbed: boolean
  /** It has every piece. */
  readonly isSeed: boolean
}

export interface ChokerOptions {
  /** Regular unchoke slots. */
  readonly slots: number
  /** How often the torrent calls `round`, in ms. */
  readonly roundMs: number
  /** Rounds the optimistic unchoke is kept. */
  readonly optimisticRounds: number
  /** Peers connected less than this long (ms) are three times as likely to be drawn optimistic. */
  readonly newPeerMs: number
}

export const defaultOptions: ChokerOptions = {
  slots: 4,
  roundMs: 10_000,
  optimisticRounds: 3,
  newPeerMs: 60_000
}

/** How much likelier a new peer is to be drawn optimistic than an established one. */
export const newPeerWeight = 3

const finite = (rate: number): number => (Number.isFinite(rate) ? rate : 0)

export class Choker {
  private optimisticKey: string | undefined = undefined
  private optimisticSince = 0
  private regulars: ReadonlySet<string> = new Set()

  /** `random` returns numbers in [0, 1). */
  constructor(private readonly options: ChokerOptions, private readonly random: () => number) {}

  /** The peer holding the optimistic unchoke after the last round. */
  get optimistic(): string | undefined {
    return this.optimisticKey
  }

  /** One round at `now`: the keys to have unchoked (regular slots + the optimistic one). */
  /** A round over a torrent's peers: each is choked or unchoked as `round` decides. */
  applyTo(links: ReadonlyArray<PeerLink>, now: number, seeding: boolean): void {
    const peers = links.map((link) => ({ link, info: link.info(now) }))
    const unchoke = this.round(
      peers.map(({ info }) => ({
        key: info.key,
        interested: info.peerInterested,
        downloadRate: info.downloadRate,
        uploadRate: info.uploadRate,
        connectedAt: info.connectedAt,
        snubbed: info.snubbed,
        isSeed: info.isSeed
      })),
      now,
      seeding
    )
    for (const { link } of peers) link.choke(!unchoke.has(link.key))
  }

  round(peers: ReadonlyArray<ChokerPeer>, now: number, seeding: boolean): ReadonlySet<string> {
    const eligible = peers.filter((peer) => peer.interested && !(seeding && peer.isSeed))
    const rate = seeding
      ? (peer: ChokerPeer) => finite(peer.uploadRate)
      : (peer: ChokerPeer) => finite(peer.downloadRate)
    const previous = this.regulars
    const ranked = eligible
      .filter((peer) => !peer.snubbed)
      .sort((a, b) =>
        rate(b) - rate(a) ||
        Number(previous.has(b.key)) - Number(previous.has(a.key)) ||
        a.connectedAt - b.connectedAt ||
        compareKeys(a.key, b.key)
      )
    const regulars = new Set(ranked.slice(0, Math.max(0, Math.floor(this.options.slots))).map((peer) => peer.key))
    this.regulars = regulars
    const optimistic = this.chooseOptimistic(eligible.filter((peer) => !regulars.has(peer.key)), now)
    const chosen = new Set(regulars)
    if (optimistic !== undefined) chosen.add(optimistic)
    return chosen
  }

  private chooseOptimistic(candidates: ReadonlyArray<ChokerPeer>, now: number): string | undefined {
    const current = this.optimisticKey
    const held = current !== undefined && candidates.some((peer) => peer.key === current)
    const period = this.options.optimisticRounds * this.options.roundMs
    if (held && now - this.optimisticSince < period) return current
    const others = candidates.filter((peer) => peer.key !== current)
    const pool = others.length > 0 ? others : candidates
    this.optimisticKey = this.draw(pool, now)
    this.optimisticSince = now
    return this.optimisticKey
  }

  /** A weighted draw, new peers weighing `newPeerWeight`; in key order, so the input order does not matter. */
  private draw(pool: ReadonlyArray<ChokerPeer>, now: number): string | undefined {
    if (pool.length === 0) return undefined
    const sorted = [...pool].sort((a, b) => compareKeys(a.key, b.key))
    const weight = (peer: ChokerPeer) => (now - peer.connectedAt < this.options.newPeerMs ? newPeerWeight : 1)
    let total = 0
    for (const peer of sorted) total += weight(peer)
    let point = this.random() * total
    for (const peer of sorted) {
      point -= weight(peer)
      if (point < 0) return peer.key
    }
    // Only reached if `random` broke its contract and returned 1 or more.
    return sorted[sorted.length - 1]?.key
  }
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
