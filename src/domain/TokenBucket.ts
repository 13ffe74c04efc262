/**
 * Rate limits as token buckets: bytes accrue at `rate` per second up to one second's worth (at least a
 * block, so that a slow limit still moves whole blocks), and are spent as data is requested or sent. A
 * rate of 0 is no limit. `Throttle` spends from several buckets at once (a torrent's and the session's),
 * and allows what the emptiest one holds.
 */

const minimumBurst = 16 * 1024

export class TokenBucket {
  private tokens = 0
  private last: number

  constructor(private rate: number, now: number) {
    this.last = now
    this.tokens = this.capacity
  }

  private get capacity(): number {
    return Math.max(this.rate, minimumBurst)
  }

  get limited(): boolean {
    return this.rate > 0
  }

  /** Bytes that may be spent now (Infinity without a limit). */
  available(now: number): number {
    if (this.rate <= 0) return Infinity
    const elapsed = Math.max(0, now - this.last)
    this.last = now
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.rate) / 1000)
    return Math.floor(this.tokens)
  }

  spend(bytes: number): void {
    if (this.rate > 0) this.tokens -= bytes
  }

  /** A new rate from now; a bucket that had no limit starts full. */
  setRate(rate: number, now: number): void {
    const wasUnlimited = this.rate <= 0
    this.available(now)
    this.last = now
    this.rate = Math.max(0, rate)
    this.tokens = wasUnlimited ? this.capacity : Math.min(this.tokens, this.capacity)
  }
}

export type Direction = "down" | "up"

export class Throttle {
  constructor(private readonly buckets: { readonly down: ReadonlyArray<TokenBucket>; readonly up: ReadonlyArray<TokenBucket> }) {}

  available(direction: Direction, now: number): number {
    let least = Infinity
    for (const bucket of this.buckets[direction]) least = Math.min(least, bucket.available(now))
    return least
  }

  spend(direction: Direction, bytes: number): void {
    for (const bucket of this.buckets[direction]) bucket.spend(bytes)
  }
}
