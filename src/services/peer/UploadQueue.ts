/**
 * A peer's requests to us, waiting to be served, in the order they came: a ring of (piece, offset, length)
 * in an Int32Array, 12 bytes a request and no object each, grown by doubling up to its capacity (clients
 * like Transmission keep thousands in flight: PeerLimits.ts `maxUploadQueue`). A cancelled request is
 * marked and skipped rather than moved out (cancels are rare: endgame), so taking from the front stays
 * O(taken) however long the queue.
 */
import type { BlockRequest } from "../../domain/Block.js"

const FIELDS = 3
/** A cancelled request's length. */
const CANCELLED = -1

export class UploadQueue {
  #slots = new Int32Array(FIELDS * 64)
  #head = 0
  /** Entries from the head, cancelled ones included. */
  #used = 0
  /** Entries not cancelled. */
  #live = 0

  constructor(readonly capacity: number) {}

  /** Requests waiting (cancelled ones not counted). */
  get size(): number {
    return this.#live
  }

  get isFull(): boolean {
    return this.#live >= this.capacity
  }

  /** Queues a request; false when the queue is full. */
  push(piece: number, offset: number, length: number): boolean {
    if (this.isFull) return false
    if (this.#used === this.#slots.length / FIELDS) this.#remake()
    const at = FIELDS * ((this.#head + this.#used) % (this.#slots.length / FIELDS))
    this.#slots[at] = piece
    this.#slots[at + 1] = offset
    this.#slots[at + 2] = length
    this.#used++
    this.#live++
    return true
  }

  /** Up to `max` requests from the front, in order. */
  take(max: number): Array<BlockRequest> {
    const out: Array<BlockRequest> = []
    const entries = this.#slots.length / FIELDS
    while (out.length < max && this.#used > 0) {
      const at = FIELDS * this.#head
      const length = this.#slots[at + 2]!
      if (length !== CANCELLED) {
        out.push({ piece: this.#slots[at]!, offset: this.#slots[at + 1]!, length })
        this.#live--
      }
      this.#head = (this.#head + 1) % entries
      this.#used--
    }
    if (this.#used === 0) this.#head = 0
    return out
  }

  /** Drops the first queued request equal to this one, if there is one (a CANCEL). */
  cancel(piece: number, offset: number, length: number): boolean {
    const entries = this.#slots.length / FIELDS
    for (let i = 0; i < this.#used; i++) {
      const at = FIELDS * ((this.#head + i) % entries)
      if (this.#slots[at] === piece && this.#slots[at + 1] === offset && this.#slots[at + 2] === length) {
        this.#slots[at + 2] = CANCELLED
        this.#live--
        return true
      }
    }
    return false
  }

  /** Keeps the requests `keep` says yes to, in order; gives each one dropped to `dropped`. */
  retain(keep: (piece: number) => boolean, dropped: (piece: number, offset: number, length: number) => void): void {
    for (const request of this.take(this.#live)) {
      if (keep(request.piece)) this.push(request.piece, request.offset, request.length)
      else dropped(request.piece, request.offset, request.length)
    }
  }

  /** A full ring: made anew without its cancelled entries, twice as large when it had none (up to the
   *  capacity, which a full ring without cancelled entries is below, or push would have refused). */
  #remake(): void {
    const entries = this.#slots.length / FIELDS
    const size = this.#live < this.#used ? entries : Math.min(2 * entries, this.capacity)
    const next = new Int32Array(FIELDS * size)
    let kept = 0
    for (let i = 0; i < this.#used; i++) {
      const from = FIELDS * ((this.#head + i) % entries)
      if (this.#slots[from + 2] === CANCELLED) continue
      next.set(this.#slots.subarray(from, from + FIELDS), FIELDS * kept++)
    }
    this.#slots = next
    this.#head = 0
    this.#used = kept
  }
}
