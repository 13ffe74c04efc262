/**
 * A Client's `downloadLimit` and `uploadLimit`: one token bucket each way for all its torrents together
 * (domain/TokenBucket.ts), as `download --download-limit` gives its one torrent. commands/RateLimits.ts is
 * on a floor above, hence this small twin.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Throttle, TokenBucket } from "../../domain/TokenBucket.js"

/** The client's throttle, or none when neither way is limited (no bucket is then asked per block). */
export const throttleOf = (limits: { readonly downloadLimit?: number; readonly uploadLimit?: number }): Effect.Effect<Throttle | undefined> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const down = limits.downloadLimit ?? 0
    const up = limits.uploadLimit ?? 0
    if (down <= 0 && up <= 0) return undefined
    return new Throttle({ down: [new TokenBucket(down, now)], up: [new TokenBucket(up, now)] })
  })
