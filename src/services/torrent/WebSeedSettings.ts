/** What a torrent is told about its web seeds (WebSeeds.ts): on or off, more of them, and their timings. */
export interface WebSeedSettings {
  /** Off: --no-web-seeds. Default on. */
  readonly enabled?: boolean
  /** Seeds besides the torrent's `url-list` (a magnet's `ws=`). */
  readonly urls?: ReadonlyArray<string>
  /** Requests in flight per seed. */
  readonly connections?: number
  /** A request (connect, redirects, body) that takes longer has stalled. */
  readonly requestTimeoutMs?: number
  /** The first delay after a failure, doubled with each failure in a row up to `maxRetryMs`. */
  readonly firstRetryMs?: number
  readonly maxRetryMs?: number
}
