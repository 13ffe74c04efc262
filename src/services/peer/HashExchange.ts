/**
 * One connection's side of BEP 52's hash messages (hash request, hashes, hash reject), synchronous as
 * PeerState is, which hands it those frames and nothing else:
 *
 * - Serving: a v2 peer's request is answered from the torrent's FileHashes (what is at or above the piece
 *   layers), or rejected; one for piece hashes the peer has all had from us gets no reply (HashesFirst).
 *   Bounded per peer: at most `maxQueuedAnswers` answers wait for the session's next write and
 *   `answersPerTick` are made a second; a request beyond those waits (up to `maxWaiting` of them) and is
 *   answered after the write or at the next tick, not rejected: libtorrent asks again at once after a
 *   reject, so a reject for want of budget would only start a loop. For the same reason, past
 *   `rejectsPerTick` rejects in a second further requests we cannot answer get no reply (libtorrent keeps
 *   at most two in flight, so it then stops asking us); a peer that goes on regardless, past
 *   `maxIgnoredPerTick` requests without a reply in a second, is ended, as PeerState's other floods are.
 * - Receiving: a hashes message goes to FileHashes.accept, which proves it against the file's root; one
 *   that does not prove (or names a file we do not know) ends the peer, as libtorrent ends it. A reject of
 *   our request gives its chunk back (another peer may be asked at once) and pauses our asking this peer.
 * - Requesting: while the torrent lacks piece layers and the peer is v2, one request of ours is in flight
 *   to it (libtorrent keeps one or two).
 *
 * Hash messages are for v2 connections only (PeerFeatures.v2): a peer that sends one otherwise is ended
 * (Protocol), as libtorrent disconnects it.
 */
import type { PeerErrorReason } from "../../domain/Errors.js"
import type { FileHashes, RootedRange } from "../../domain/FileHashes.js"
import { HASH_SIZE } from "../../domain/Merkle.js"
import * as HashMessages from "../../protocol/HashMessages.js"
import { HashesFirst } from "./HashesFirst.js"
import { limits } from "./PeerLimits.js"

export const hashLimits = {
  /** Answers waiting for the session's next write: more requests meanwhile wait. */
  maxQueuedAnswers: 4,
  /** Answers made per tick (a second); libtorrent asks one or two chunks of a peer at a time. */
  answersPerTick: 64,
  /** Requests waiting for room to be answered; more get no reply. */
  maxWaiting: 8,
  /** Rejects sent per tick; more requests we cannot answer get no reply. */
  rejectsPerTick: 64,
  /** Requests without a reply within a tick before the peer is ended. */
  maxIgnoredPerTick: 256,
  /** After the peer rejects a request of ours, we ask it nothing for this long. */
  rejectPauseMs: 10_000,
  /** A request of ours unanswered for this long is given back (its chunk asked of others). */
  requestTimeoutMs: 30_000
}

/** What the exchange needs of its session. */
export interface HashOutlet {
  /** Queues bytes for the peer and wakes the session's loop. */
  readonly send: (bytes: Uint8Array) => void
  /** Ends the session. */
  readonly end: (reason: PeerErrorReason, detail: string) => void
}

const sameRange = (a: HashMessages.HashRange, b: HashMessages.HashRange): boolean =>
  a.baseLayer === b.baseLayer && a.index === b.index && a.length === b.length && a.proofLayers === b.proofLayers &&
  Buffer.compare(a.piecesRoot, b.piecesRoot) === 0

const describe = (r: HashMessages.HashRange): string =>
  `layer ${r.baseLayer}, ${r.length} hashes from ${r.index}, ${r.proofLayers} proof layers`

export class HashExchange {
  private queuedAnswers = 0
  private answered = 0
  private rejected = 0
  private ignored = 0
  /** Requests waiting for room to be answered (copies: frames are views into the chunk). */
  private readonly waiting: Array<HashMessages.HashRequest> = []
  /** The piece hashes that went to the peer, and its block requests that wait for theirs (PeerState's
   *  uploads go through it). */
  readonly first: HashesFirst
  private inFlight: { readonly range: RootedRange; readonly at: number } | undefined
  private pausedUntil = 0
  /** For the session's summary. */
  private readonly tally = { served: 0, rejectedByUs: 0, accepted: 0, rejectedByPeer: 0 }

  constructor(
    /** The torrent's v2 hashes; absent for a v1 torrent. */
    private readonly hashes: FileHashes | undefined,
    /** The peer speaks BEP 52 on this connection. */
    private readonly v2: boolean,
    private readonly outlet: HashOutlet
  ) {
    this.first = new HashesFirst(hashes, limits.maxUploadQueue)
  }

  /** A hash message from the peer (its byte fields are views into the chunk: what is kept is copied). */
  onMessage(m: HashMessages.HashMessage, now: number): void {
    if (!this.v2) return this.outlet.end("Protocol", `a ${m._tag} message (BEP 52) on a connection that is not v2`)
    switch (m._tag) {
      case "HashRequest":
        return this.onRequest(m)
      case "Hashes":
        return this.onHashes(m, now)
      case "HashReject":
        return this.onReject(m, now)
    }
  }

  private get busy(): boolean {
    return this.queuedAnswers >= hashLimits.maxQueuedAnswers || this.answered >= hashLimits.answersPerTick
  }

  private onRequest(m: HashMessages.HashRequest): void {
    if (this.first.repeats(m.piecesRoot, m)) return this.ignore()
    if (!this.busy || this.hashes?.canAnswer(m.piecesRoot, m) !== true) return this.serve(m)
    if (this.waiting.length < hashLimits.maxWaiting) {
      this.waiting.push({ ...m, piecesRoot: Uint8Array.prototype.slice.call(m.piecesRoot) })
      return
    }
    this.ignore()
  }

  /** A request we give no reply. */
  private ignore(): void {
    if (++this.ignored > hashLimits.maxIgnoredPerTick) {
      this.outlet.end("Protocol", `hash request flood: more than ${hashLimits.maxIgnoredPerTick} requests within a second beyond what we answer`)
    }
  }

  /** Answers a request now (the budget allows it), or rejects it. */
  private serve(m: HashMessages.HashRequest): void {
    const answer = this.hashes?.answer(m.piecesRoot, m)
    if (answer === undefined) {
      if (++this.rejected > hashLimits.rejectsPerTick) return this.ignore()
      this.tally.rejectedByUs++
      return this.outlet.send(HashMessages.encodeHashMessage(HashMessages.hashReject(m)))
    }
    this.queuedAnswers++
    this.answered++
    this.tally.served++
    const body = new Uint8Array(answer.hashes.length + answer.uncles.length)
    body.set(answer.hashes)
    body.set(answer.uncles, answer.hashes.length)
    this.outlet.send(HashMessages.encodeHashMessage(HashMessages.hashes(m, body)))
    this.first.answered(m.piecesRoot, m)
  }

  private onHashes(m: HashMessages.Hashes, now: number): void {
    const split = m.length * HASH_SIZE
    if (this.hashes?.accept(m.piecesRoot, m, m.hashes.subarray(0, split), m.hashes.subarray(split)) !== true) {
      return this.outlet.end("Corrupt", `hashes that do not prove against the file's root (${describe(m)})`)
    }
    this.tally.accepted++
    if (this.inFlight !== undefined && sameRange(this.inFlight.range, m)) this.inFlight = undefined
    this.request(now)
  }

  private onReject(m: HashMessages.HashReject, now: number): void {
    if (this.inFlight === undefined || !sameRange(this.inFlight.range, m)) return
    this.tally.rejectedByPeer++
    this.inFlight = undefined
    this.hashes?.rejected(m.piecesRoot, m)
    this.pausedUntil = now + hashLimits.rejectPauseMs
  }

  /** Asks the peer for the next missing piece hashes when nothing of ours is in flight to it. */
  request(now: number): void {
    if (!this.v2 || this.hashes === undefined || this.inFlight !== undefined || now < this.pausedUntil) return
    const range = this.hashes.nextRequest(now)
    if (range === undefined) return
    this.inFlight = { range, at: now }
    this.outlet.send(HashMessages.encodeHashMessage(HashMessages.hashRequest(range)))
  }

  /** Requests that waited, answered as far as the budget now allows. */
  private serveWaiting(): void {
    while (this.waiting.length > 0 && !this.busy) this.serve(this.waiting.shift()!)
  }

  /** Each second: the budgets are renewed, waiting requests answered, a request of ours unanswered too long
   *  given back, the next made. */
  tick(now: number): void {
    this.answered = 0
    this.rejected = 0
    this.ignored = 0
    this.serveWaiting()
    if (this.inFlight !== undefined && now - this.inFlight.at > hashLimits.requestTimeoutMs) {
      this.hashes?.rejected(this.inFlight.range.piecesRoot, this.inFlight.range)
      this.inFlight = undefined
    }
    this.request(now)
  }

  /** The session takes what is queued for its next write: requests that waited for room are answered
   *  into it. */
  flushed(): void {
    this.queuedAnswers = 0
    this.serveWaiting()
  }

  /** A phrase for the end of the session's summary ("; hashes: ..."), empty when no hash message went. */
  summary(): string {
    const t = this.tally
    if (t.served + t.rejectedByUs + t.accepted + t.rejectedByPeer + (this.inFlight === undefined ? 0 : 1) === 0) return ""
    const { held, repeatsUnanswered } = this.first.tally
    return `; hashes: served ${t.served}, refused ${t.rejectedByUs}, received ${t.accepted}, refused us ${t.rejectedByPeer}` +
      `, repeats unanswered ${repeatsUnanswered}, blocks held for them ${held}`
  }
}
