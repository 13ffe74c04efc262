/**
 * Transfer rates over a sliding window of one-second buckets. The caller passes the time (from Effect's
 * Clock), so rates are exact under TestClock. Mutable: one meter per peer or torrent, owned by it.
 */
export class RateMeter {
  private readonly buckets: Float64Array
  private head = 0
  private headSecond = -1
  private total_ = 0
  private startMs = -1

  constructor(private readonly windowSeconds = 5) {
    this.buckets = new Float64Array(windowSeconds + 1)
  }

  /** All bytes ever counted. */
  get total(): number {
    return this.total_
  }

  add(bytes: number, nowMs: number): void {
    this.advance(nowMs)
    this.buckets[this.head]! += bytes
    this.total_ += bytes
  }

  /** Bytes per second over the last `windowSeconds` and the current partial second (or since the start). */
  rate(nowMs: number): number {
    this.advance(nowMs)
    if (this.startMs < 0) return 0
    let sum = 0
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]!
    const span = Math.min(this.windowSeconds + (nowMs % 1000) / 1000, (nowMs - this.startMs) / 1000)
    return span > 0 ? sum / span : 0
  }

  private advance(nowMs: number): void {
    const second = Math.floor(nowMs / 1000)
    if (this.headSecond < 0) {
      this.headSecond = second
      this.startMs = nowMs
      return
    }
    const steps = Math.min(second - this.headSecond, this.buckets.length)
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length
      this.buckets[this.head] = 0
    }
    if (second > this.headSecond) this.headSecond = second
  }
}
