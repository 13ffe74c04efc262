/**
 * `--download-limit` and `--upload-limit` of `download` and `seed`: one token bucket each way for the
 * torrent, as the daemon gives each of its torrents (domain/TokenBucket.ts).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Throttle, TokenBucket } from "../../domain/TokenBucket.js"

export interface RateLimits {
  /** Bytes per second at most, each way; 0 or absent: no limit. */
  readonly downloadLimit?: number
  readonly uploadLimit?: number
}

/** The torrent's throttle, or none when neither way is limited (no bucket is then asked per block). */
export const throttleOf = (limits: RateLimits): Effect.Effect<Throttle | undefined> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const down = limits.downloadLimit ?? 0
    const up = limits.uploadLimit ?? 0
    if (down <= 0 && up <= 0) return undefined
    return new Throttle({ down: [new TokenBucket(down, now)], up: [new TokenBucket(up, now)] })
  })
