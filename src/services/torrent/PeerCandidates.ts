/**
 * The addresses a torrent may dial (from trackers and from the command line), with what happened when it
 * tried: bounded, and hard to poison. A tracker that answers first with thousands of dead addresses must
 * not keep the live ones other sources name out of the list, nor behind them in the dialling order:
 * when the list is full, a new address takes the place of the least promising one not in use (one that
 * must never be dialled again, else the one that failed most, else the oldest never tried), and
 * addresses are dialled fewest failures first, newest first among equals.
 *
 * A peer whose session ended, no fault of its (it closed, the connection broke), while it had pieces we
 * want, waits as after a failure while a connected peer has pieces we want; once none has, it is dialled
 * again at once (`left`, `returnNow`): a download never waits out a retry delay for a peer it knows has
 * its blocks.
 */
import type { PeerAddress } from "../../domain/PeerAddress.js"
import { format as formatAddress } from "../../domain/PeerAddress.js"

export interface Candidate {
  readonly key: string
  readonly address: PeerAddress
  failures: number
  nextAttemptMs: number
  /** Never dial again (ourselves, banned, a protocol violation). */
  dead: boolean
  /** When it was added, in order: newer first among equals. */
  readonly seq: number
  /** Its session ended, no fault of its, while it had pieces we want: `returnNow` makes it due. */
  returnable: boolean
  /** Returns (`returnNow`) since a session with it last brought blocks. */
  returns: number
}

/** Waits before dialling again an address that failed `failures` times: 30 s doubling, at most 10 min. */
export const retryDelayMs = (failures: number) => Math.min(30_000 * 2 ** Math.max(0, failures - 1), 10 * 60_000)

/** Waits before the `returns`th return to a peer (`returnNow`) with no block from it since the last one
 *  that brought some: the first at once, then 1 s doubling; undefined past 16 s (it then waits as after a
 *  failure). A peer that takes our connections and drops them is not dialled in a loop, and one that
 *  refused us while it held a connection of ours that broke on our side only has time to notice. */
export const returnDelayMs = (returns: number): number | undefined =>
  returns <= 1 ? 0 : returns <= 6 ? 1000 * 2 ** (returns - 2) : undefined

export class PeerCandidates {
  readonly #byKey = new Map<string, Candidate>()
  #seq = 0

  constructor(readonly max: number) {}

  get size(): number {
    return this.#byKey.size
  }

  get(key: string): Candidate | undefined {
    return this.#byKey.get(key)
  }

  /** Adds an address unless known; false when the list is full of addresses in use. */
  add(address: PeerAddress, inUse: (key: string) => boolean): boolean {
    const key = formatAddress(address)
    if (this.#byKey.has(key)) return false
    if (this.#byKey.size >= this.max) {
      const victim = this.#leastPromising(inUse)
      if (victim === undefined) return false
      this.#byKey.delete(victim.key)
    }
    this.#byKey.set(key, {
      key, address, failures: 0, nextAttemptMs: 0, dead: false, seq: this.#seq++, returnable: false, returns: 0
    })
    return true
  }

  /**
   * A session with the peer listening at `address` ended, no fault of the peer's, while it had pieces we
   * want (or had not said yet): it waits as after a failure, and `returnNow` may make it due sooner. Added
   * if unknown (a peer that had dialled us). `delivered`: the session brought blocks.
   */
  left(address: PeerAddress, now: number, delivered: boolean, inUse: (key: string) => boolean): void {
    const key = formatAddress(address)
    if (!this.#byKey.has(key)) this.add(address, inUse)
    const candidate = this.#byKey.get(key)
    if (candidate === undefined || candidate.dead) return
    this.failed(key, now, false)
    candidate.returnable = true
    if (delivered) candidate.returns = 0
  }

  /** No connected peer has pieces we want: the peers that left while they had pieces we want are due again,
   *  after `returnDelayMs` (at once, unless they keep leaving with no block). Whether there were any. */
  returnNow(now: number): boolean {
    let any = false
    for (const candidate of this.#byKey.values()) {
      if (!candidate.returnable || candidate.dead) continue
      candidate.returnable = false
      const delay = returnDelayMs(++candidate.returns)
      if (delay !== undefined) candidate.nextAttemptMs = Math.min(candidate.nextAttemptMs, now + delay)
      any = true
    }
    return any
  }

  /** A dial or session of `key` ended badly: wait longer before the next try, or never try again. */
  failed(key: string, now: number, dead: boolean): void {
    const candidate = this.#byKey.get(key)
    if (candidate === undefined) return
    candidate.failures++
    candidate.nextAttemptMs = now + retryDelayMs(candidate.failures)
    if (dead) candidate.dead = true
  }

  /** The addresses that may be dialled now (due, not dead, not skipped), best first. */
  due(now: number, skip: (candidate: Candidate) => boolean): Array<Candidate> {
    const out: Array<Candidate> = []
    for (const c of this.#byKey.values()) if (!c.dead && c.nextAttemptMs <= now && !skip(c)) out.push(c)
    return out.sort((a, b) => a.failures - b.failures || b.seq - a.seq)
  }

  /** When the next address not dead and not skipped may be dialled (ms; 0: now), or undefined: none. */
  nextDueAt(skip: (candidate: Candidate) => boolean): number | undefined {
    let next: number | undefined
    for (const c of this.#byKey.values()) {
      if (c.dead || skip(c)) continue
      if (next === undefined || c.nextAttemptMs < next) next = c.nextAttemptMs
    }
    return next
  }

  #leastPromising(inUse: (key: string) => boolean): Candidate | undefined {
    let worst: Candidate | undefined
    const rank = (c: Candidate) => (c.dead ? Number.MAX_SAFE_INTEGER : c.failures)
    for (const c of this.#byKey.values()) {
      if (inUse(c.key)) continue
      // Dead first, then most failures, then the oldest (the first met in insertion order).
      if (worst === undefined || rank(c) > rank(worst)) worst = c
    }
    return worst
  }
}
