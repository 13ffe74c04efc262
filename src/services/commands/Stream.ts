/**
 * `bt-effect stream`: downloads a torrent while serving its files over HTTP
 * (stream/StreamServer) for a player to open before the download ends; prints one URL per file, the
 * chosen one first, and runs until stopped (Ctrl-C), seeding once complete. The data goes to `--out`,
 * by default `streams` in the state folder (the torrent's own file or folder inside it), where a later
 * `seed --data` finds it.
 *
 * Each read (a player's request) puts deadlines on the pieces under it (torrent/TorrentReader.ts): they are
 * asked for first, so a seek far ahead is answered in the time its pieces take, while the rest comes
 * rarest first behind them.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { UsageError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { randomPeerId } from "../../domain/PeerId.js"
import type * as Dht from "../dht/Dht.js"
import { startDht } from "../dht/DhtSettings.js"
import { Storage } from "../storage/Storage.js"
import * as StreamServer from "../stream/StreamServer.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import * as Torrent from "../torrent/Torrent.js"
import { ensureDownloadable } from "../torrent/TorrentSource.js"
import * as PeerRouter from "../wire/PeerRouter.js"
import * as Progress from "./Progress.js"
import { torrentInput } from "./TorrentInput.js"
import { type RateLimits, throttleOf } from "./RateLimits.js"
import { recoverShowing } from "./Recover.js"

export interface StreamOptions extends RateLimits {
  /** A .torrent file, or a magnet link. */
  readonly torrent: string
  /** The file to play first (1-based, as `info` numbers them); absent: the largest. */
  readonly file?: number
  readonly httpHost: string
  readonly httpPort: number
  /** The download folder (as download's --out: the torrent's file or folder goes inside); absent:
   *  `<state>/streams`, so that the data is at `<state>/streams/<the torrent's name>`. */
  readonly out?: string
  readonly stateDir: string
  readonly port: number
  readonly maxPeers: number
  readonly uploadSlots: number
  readonly progress: Progress.ProgressOptions
  readonly dht?: Dht.DhtOptions
  readonly pex: boolean
  readonly webSeeds: boolean
}

/** The file to play (0-based): the one asked for, else the largest (the first of the largest). */
export const chosenFile = (metainfo: Metainfo, asked: number | undefined): Effect.Effect<number, UsageError> => {
  const files = metainfo.files
  if (asked !== undefined) {
    const file = files[asked - 1]
    return file === undefined || file.pad
      ? Effect.fail(new UsageError({ reason: "Option", detail: `--file takes a file number from 1 to ${files.length}, not ${asked}` }))
      : Effect.succeed(asked - 1)
  }
  let largest = 0
  files.forEach((f, i) => {
    if (!f.pad && f.length > files[largest]!.length) largest = i
  })
  return Effect.succeed(largest)
}

/** The URLs of the files, the chosen one first, then the others in torrent order (pad files left out). */
export const fileUrls = (metainfo: Metainfo, chosen: number, base: string): ReadonlyArray<string> =>
  [chosen, ...metainfo.files.map((_, i) => i).filter((i) => i !== chosen && !metainfo.files[i]!.pad)]
    .map((i) => `${base}${StreamServer.filePath(metainfo, i)}`)

const hostInUrl = (host: string) => (host.includes(":") ? `[${host}]` : host)

export const stream = (options: StreamOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const progress = options.progress
      const peerId = yield* randomPeerId
      const listener = yield* PeerRouter.make({ port: options.port })
      // Both ports bound before anything else: one in use fails at once.
      const files = yield* Deferred.make<StreamServer.StreamSource>()
      const server = yield* StreamServer.make({ host: options.httpHost, port: options.httpPort, source: Deferred.await(files) })
      const dht = yield* startDht(options.dht)
      const source = yield* torrentInput(options.torrent, { peerId, port: listener.port, dht, stallTimeoutSeconds: 0, progress })
      const metainfo = yield* ensureDownloadable(source.metainfo)
      const chosen = yield* chosenFile(metainfo, options.file)
      const out = options.out ?? path.join(options.stateDir, "streams")
      if (source.fetched !== undefined) {
        const file = yield* MagnetSource.saveBeside(out, metainfo, source.fetched)
        yield* Progress.say(progress, `saved ${file}`)
      }
      const recovered = yield* recoverShowing(metainfo, out, progress)
      const throttle = yield* throttleOf(options)
      const handle = yield* Torrent.start({
        ...(throttle !== undefined ? { throttle } : {}),
        trusted: recovered.have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current,
        ...(dht !== undefined ? { dht } : {}),
        pex: options.pex,
        webSeeds: { enabled: options.webSeeds, urls: source.webSeeds },
        peers: source.peers,
        metainfo,
        root: out,
        peerId,
        port: listener.port,
        listener,
        maxPeers: options.maxPeers,
        uploadSlots: options.uploadSlots
      })
      // A second, read-only view of the files: the server reads only verified pieces, which are on disk.
      const view = yield* (yield* Storage).open(metainfo, out, { readOnly: true })
      yield* Deferred.succeed(files, { metainfo, pieces: handle.pieces, events: handle.events, read: view.read, window: handle.window })
      const base = `http://${hostInUrl(options.httpHost)}:${server.port}`
      yield* Progress.say(progress, `downloading into ${out}; serving (Ctrl-C stops):`)
      for (const url of fileUrls(metainfo, chosen, base)) yield* Progress.say(progress, url)
      yield* Effect.forkScoped(Progress.run(handle.stats, progress))
      yield* handle.completed
      yield* Progress.finish(progress)
      yield* Progress.say(progress, "download complete; still serving and seeding (Ctrl-C stops)")
      return yield* Effect.never
    }).pipe(Effect.onInterrupt(() => Progress.finish(options.progress)))
  )
