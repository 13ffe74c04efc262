/**
 * `bt-effect verify`: hash everything a folder holds for a torrent, whatever resume data says, and report
 * each file's completeness and the total. Succeeds only when the data is complete. What it finds becomes
 * the torrent's resume data (unless that names another folder), so that a download or seed started next
 * needs no hashing.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { DownloadError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { layoutOf, relativePath, torrentHash } from "../../domain/Metainfo.js"
import { formatBytes, formatRate } from "../../domain/Units.js"
import { dataHint } from "./DataFolder.js"
import * as Progress from "./Progress.js"
import { record, recover } from "../storage/Resume.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import { ensureDownloadable, loadTorrent } from "../torrent/TorrentSource.js"

export interface VerifyOptions {
  readonly torrent: string
  readonly data: string
  readonly progress: Progress.ProgressOptions
}

const percent = (part: number, whole: number) => (whole === 0 ? 100 : (100 * part) / whole).toFixed(1).padStart(5)

export const verify = (options: VerifyOptions) =>
  Effect.gen(function*() {
    const { progress } = options
    const metainfo = yield* loadTorrent(options.torrent).pipe(Effect.flatMap(ensureDownloadable))
    const layout = layoutOf(metainfo)
    yield* progress.write(`verifying ${metainfo.name} (${formatBytes(metainfo.totalLength)}) in ${options.data}\n`)
    const recovered = yield* recover(metainfo, options.data, {
      onProgress: Progress.checkReporter(progress),
      ignoreCheckpoint: true
    }).pipe(Effect.ensuring(Progress.finish(progress)))
    const { have, stamps } = recovered

    for (const [i, file] of metainfo.files.entries()) {
      if (file.pad || file.attr.includes("l")) continue
      const bytes = Layout.fileBytesIn(layout, i, (piece) => have.has(piece))
      const state = stamps[i] === undefined ? "missing" : bytes === file.length ? "complete" : "incomplete"
      yield* progress.write(
        `${percent(stamps[i] === undefined ? 0 : bytes, file.length)}%  ${state.padEnd(10)}  ${relativePath(metainfo, file).join("/")} (${formatBytes(file.length)})\n`
      )
    }
    let verifiedBytes = 0
    have.forEachSet((piece) => (verifiedBytes += Layout.dataBytes(layout, piece)))
    const hashed = recovered.check === undefined
      ? "nothing to hash"
      : `hashed ${formatBytes(recovered.check.checkedBytes)} in ${recovered.check.seconds.toFixed(1)} s (${formatRate(recovered.check.rate)})`
    yield* progress.write(
      `total: ${have.count} of ${metainfo.pieceCount} pieces verified (${percent(have.count, metainfo.pieceCount).trim()}%), ` +
        `${formatBytes(verifiedBytes)} of ${formatBytes(metainfo.totalLength)}; ${hashed}\n`
    )
    // The torrent's resume data, unless it belongs to another folder (the one it downloads to, say).
    const existing = yield* (yield* ResumeStore).load(torrentHash(metainfo))
    if (Option.isNone(existing) || existing.value.root === path.resolve(options.data)) {
      yield* record(metainfo, options.data, recovered).pipe(
        Effect.catchAll((e) => Effect.logWarning(`resume data not updated: ${e.message}`))
      )
    }
    if (!have.isComplete) {
      const hint = have.isEmpty ? dataHint(metainfo, options.data) : undefined
      return yield* new DownloadError({
        reason: "Incomplete",
        detail: `incomplete: ${metainfo.pieceCount - have.count} of ${metainfo.pieceCount} pieces missing or damaged${hint !== undefined ? ` (${hint})` : ""}`
      })
    }
  })
