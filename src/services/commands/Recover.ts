/**
 * `recover` (storage/Resume.ts) as the commands show it: the hashing's progress line, then one line on
 * what the data on disk gave.
 */
import * as Effect from "effect/Effect"
import type { Metainfo } from "../../domain/Metainfo.js"
import { formatBytes, formatRate } from "../../domain/Units.js"
import { recover, type Recovered } from "../storage/Resume.js"
import * as Progress from "./Progress.js"

/** `recover`, with the hashing's progress line and a line saying what was found. */
export const recoverShowing = (metainfo: Metainfo, root: string, progress: Progress.ProgressOptions) =>
  Effect.gen(function*() {
    const recovered = yield* recover(metainfo, root, { onProgress: Progress.checkReporter(progress) }).pipe(
      Effect.ensuring(Progress.finish(progress))
    )
    const line = describe(metainfo, root, recovered)
    if (line !== undefined) yield* Progress.say(progress, line)
    return recovered
  })

/** One line on what the data on disk gave (none when there was nothing to look at). */
export const describe = (metainfo: Metainfo, root: string, r: Recovered): string | undefined => {
  if (r.have.isEmpty && r.check === undefined) return undefined
  const percent = ((100 * r.have.count) / Math.max(1, metainfo.pieceCount)).toFixed(1)
  const found = `${r.have.count} of ${metainfo.pieceCount} pieces verified (${percent}%)`
  if (r.check === undefined) return `resumed ${root}: ${found} from resume data, nothing hashed`
  const hashed = `hashed ${formatBytes(r.check.checkedBytes)} in ${r.check.seconds.toFixed(1)} s ` +
    `(${formatRate(r.check.rate)}${r.why === undefined ? "" : `; ${r.why}`})`
  return r.trusted === 0
    ? `checked ${root}: ${found}; ${hashed}`
    : `resumed ${root}: ${found}, ${r.trusted} from resume data; ${hashed}`
}
