/**
 * The iterative lookup of Kademlia (BEP 5): query the closest nodes known to a target, learn closer ones
 * from their answers, until the k closest known have all answered or failed. Used for find_node
 * (bootstrap, bucket refresh) and get_peers (then announce_peer to the k closest that gave a token).
 *
 * Asynchronous rather than in lockstep rounds: `alpha` queries are in flight at any time, and each answer
 * is merged at once, so one slow node does not hold the others back, and the lookup ends as soon as the k
 * closest have answered, without waiting for farther ones. A node's hop is the hop of the answer
 * that named it plus one (the seeds are hop 1); `rounds` is the largest hop queried, which is what a
 * lockstep lookup would count. Bounded by `maxQueries` and `maxRounds`, whatever the answers say.
 *
 * Seeds may come without an id (bootstrap nodes given as host:port): they are queried first, and ranked
 * by the id they answer with. The query itself (transactions, timeouts, the routing table) is the
 * caller's: this module only decides whom to ask next.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { compareDistance, equals } from "../../domain/NodeId.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { Endpoint } from "../wire/Datagram.js"

export interface LookupContact extends Endpoint {
  readonly id?: Uint8Array
}

/** What one query gave. */
export type QueryOutcome =
  | {
    readonly _tag: "Answered"
    /** The id the node answered with. */
    readonly id: Uint8Array
    readonly nodes: ReadonlyArray<{ readonly id: Uint8Array; readonly host: string; readonly port: number }>
    readonly values?: ReadonlyArray<PeerAddress>
    readonly token?: Uint8Array
  }
  | { readonly _tag: "Failed" }

export interface LookupOptions {
  readonly target: Uint8Array
  readonly seeds: ReadonlyArray<LookupContact>
  readonly query: (contact: LookupContact) => Effect.Effect<QueryOutcome>
  /** Peers from `values`, each new one once per lookup. */
  readonly onValues?: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
  /** Nodes never to ask (ourselves). */
  readonly exclude?: (contact: LookupContact) => boolean
  readonly alpha?: number
  readonly k?: number
  readonly maxQueries?: number
  readonly maxRounds?: number
}

export interface Answered {
  readonly contact: LookupContact & { readonly id: Uint8Array }
  readonly token: Uint8Array | undefined
}

export interface LookupOutcome {
  /** The k closest nodes that answered, closest first. */
  readonly closest: ReadonlyArray<Answered>
  /** The k closest nodes that answered with a token (get_peers), closest first: where to announce. */
  readonly withTokens: ReadonlyArray<Answered & { readonly token: Uint8Array }>
  readonly queried: number
  readonly rounds: number
  readonly peers: number
}

export const defaultAlpha = 3
export const defaultK = 8
export const defaultMaxQueries = 128
export const defaultMaxRounds = 16

type Status = "New" | "Pending" | "Answered" | "Failed"

interface Candidate {
  contact: LookupContact
  id: Uint8Array | undefined
  hop: number
  status: Status
  token: Uint8Array | undefined
}

const keyOf = (e: Endpoint) => `${e.host}|${e.port}`

/** The nodes one lookup knows of, each once (by endpoint), and what became of them: whom to ask next,
 *  whether the lookup is finished, and its result. */
class Candidates {
  private readonly byEndpoint = new Map<string, Candidate>()
  /** Candidates with a known id, closest first. */
  private ranked: Array<Candidate> = []
  /** Seeds without an id, asked first. */
  private readonly anonymous: Array<Candidate> = []

  constructor(
    private readonly target: Uint8Array,
    private readonly k: number,
    private readonly maxRounds: number,
    private readonly exclude: ((contact: LookupContact) => boolean) | undefined
  ) {}

  /** A node named at `hop` (seeds are hop 1): new unless excluded or known (then its hop may drop). */
  consider(contact: LookupContact, hop: number): void {
    if (this.exclude?.(contact) === true) return
    const existing = this.byEndpoint.get(keyOf(contact))
    if (existing !== undefined) {
      if (existing.status === "New" && hop < existing.hop) existing.hop = hop
      return
    }
    const candidate: Candidate = { contact, id: contact.id, hop, status: "New", token: undefined }
    this.byEndpoint.set(keyOf(contact), candidate)
    if (candidate.id === undefined) this.anonymous.push(candidate)
    else this.ranked.push(candidate)
  }

  rank(): void {
    this.ranked.sort((a, b) => compareDistance(this.target, a.id!, b.id!))
    // Far candidates will never be asked: only the closest few hundred are worth keeping.
    const keep = 4 * this.k + 64
    if (this.ranked.length > keep) this.ranked = this.ranked.filter((c, i) => i < keep || c.status === "Pending")
  }

  /** The next node to ask, marked pending: a seed without an id, else a new one among the k closest still
   *  in play. */
  ask(): Candidate | undefined {
    const candidate = this.next()
    if (candidate !== undefined) candidate.status = "Pending"
    return candidate
  }

  private next(): Candidate | undefined {
    const seed = this.anonymous.find((c) => c.status === "New")
    if (seed !== undefined) return seed
    let inPlay = 0
    for (const c of this.ranked) {
      if (c.status === "Failed") continue
      if (c.status === "New" && c.hop <= this.maxRounds) return c
      if (++inPlay >= this.k) return undefined
    }
    return undefined
  }

  /** The k closest still in play have all answered (or are past the round bound), and no seed without an
   *  id is still out: queries still out to farther nodes cannot change the result. */
  finished(): boolean {
    if (this.anonymous.some((c) => c.status === "Pending")) return false
    let inPlay = 0
    for (const c of this.ranked) {
      if (c.status === "Failed") continue
      if (c.status === "Pending" || (c.status === "New" && c.hop <= this.maxRounds)) return false
      if (++inPlay >= this.k) return true
    }
    return true
  }

  /** What the query of `candidate` gave; the nodes an answer names are considered, one hop farther.
   *  False when it failed, or answered with an id that is excluded (then it counts as failed). */
  settle(candidate: Candidate, outcome: QueryOutcome): boolean {
    if (outcome._tag === "Failed") {
      candidate.status = "Failed"
      return false
    }
    if (candidate.id !== undefined && !equals(candidate.id, outcome.id)) {
      // It answered under another id than it was named with: rank it by the id it claims now.
      this.ranked = this.ranked.filter((c) => c !== candidate)
      candidate.id = undefined
    }
    if (candidate.id === undefined) {
      candidate.id = outcome.id
      if (this.exclude?.({ ...candidate.contact, id: outcome.id }) === true) {
        candidate.status = "Failed"
        return false
      }
      candidate.contact = { host: candidate.contact.host, port: candidate.contact.port, id: outcome.id }
      this.ranked.push(candidate)
    }
    candidate.status = "Answered"
    candidate.token = outcome.token
    for (const node of outcome.nodes) this.consider(node, candidate.hop + 1)
    this.rank()
    return true
  }

  /** The k closest that answered, and the k closest that answered with a token. */
  result(): Pick<LookupOutcome, "closest" | "withTokens"> {
    const closest: Array<Answered> = []
    const withTokens: Array<Answered & { readonly token: Uint8Array }> = []
    for (const c of this.ranked) {
      if (closest.length >= this.k && withTokens.length >= this.k) break
      if (c.status !== "Answered" || c.id === undefined) continue
      const contact = { host: c.contact.host, port: c.contact.port, id: c.id }
      if (closest.length < this.k) closest.push({ contact, token: c.token })
      if (c.token !== undefined && withTokens.length < this.k) withTokens.push({ contact, token: c.token })
    }
    return { closest, withTokens }
  }
}

export const lookup = (options: LookupOptions): Effect.Effect<LookupOutcome> =>
  // Scoped: the queries still out to farther nodes when the lookup ends are interrupted with it.
  Effect.scoped(Effect.gen(function*() {
    const alpha = options.alpha ?? defaultAlpha
    const maxQueries = options.maxQueries ?? defaultMaxQueries
    const candidates = new Candidates(
      options.target,
      options.k ?? defaultK,
      options.maxRounds ?? defaultMaxRounds,
      options.exclude
    )
    const seenPeers = new Set<string>()
    let peers = 0
    let queried = 0
    let rounds = 0
    let inFlight = 0

    const done = yield* Queue.unbounded<{ readonly candidate: Candidate; readonly outcome: QueryOutcome }>()
    for (const seed of options.seeds) candidates.consider(seed, 1)
    candidates.rank()

    for (;;) {
      while (inFlight < alpha && queried < maxQueries) {
        const candidate = candidates.ask()
        if (candidate === undefined) break
        queried++
        inFlight++
        rounds = Math.max(rounds, candidate.hop)
        yield* Effect.forkScoped(Effect.flatMap(options.query(candidate.contact), (outcome) => done.offer({ candidate, outcome })))
      }
      if (inFlight === 0 || candidates.finished()) break
      const { candidate, outcome } = yield* done.take
      inFlight--
      if (!candidates.settle(candidate, outcome) || outcome._tag !== "Answered") continue
      if (outcome.values !== undefined && outcome.values.length > 0) {
        const fresh = outcome.values.filter((p) => {
          const key = keyOf(p)
          if (seenPeers.has(key)) return false
          seenPeers.add(key)
          return true
        })
        peers += fresh.length
        if (fresh.length > 0 && options.onValues !== undefined) yield* options.onValues(fresh)
      }
    }
    return { ...candidates.result(), queried, rounds, peers }
  }))
