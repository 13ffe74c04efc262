/**
 * Loading a .torrent from disk into a `Metainfo`, with one clear error whatever goes wrong.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { MetainfoError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { V2Pieces } from "../../domain/V2Pieces.js"
import { decodeTorrent, maxTorrentBytes } from "../../protocol/TorrentFile.js"

const unreadable = (path: string, why: string) =>
  new MetainfoError({ reason: "Unreadable", detail: `cannot read ${path}: ${why}` })

export const loadTorrent = Effect.fn("TorrentSource.loadTorrent")(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  const info = yield* fs.stat(path).pipe(
    Effect.mapError((e) => unreadable(path, e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : e.message))
  )
  if (info.type !== "File") return yield* unreadable(path, "not a file")
  if (Number(info.size) > maxTorrentBytes) return yield* unreadable(path, `larger than ${maxTorrentBytes} bytes`)
  const bytes = yield* fs.readFile(path).pipe(Effect.mapError((e) => unreadable(path, e.message)))
  return yield* Either.match(decodeTorrent(bytes), {
    onLeft: (e) => Effect.fail(new MetainfoError({ reason: e.reason, detail: `${path}: ${e.detail}` })),
    onRight: (m): Effect.Effect<Metainfo, MetainfoError> => Effect.succeed(m)
  })
})

/**
 * Refuses what bt-effect cannot download: a v2-only torrent whose .torrent lacks the piece layer of a file
 * longer than a piece (its pieces could be checked against nothing; a magnet's layers come from peers).
 */
export const ensureDownloadable = (m: Metainfo): Effect.Effect<Metainfo, MetainfoError> => {
  const missing = m.version === "v2" ? V2Pieces.of(m)?.missingLayers ?? 0 : 0
  return missing > 0
    ? Effect.fail(
        new MetainfoError({
          reason: "Unsupported",
          detail: `${m.name}: ${missing} file(s) lack their piece layers (BEP 52), so their pieces cannot be checked`
        })
      )
    : Effect.succeed(m)
}
