/**
 * What `download` and `stream` are given, a .torrent file or a magnet link, made a torrent to start: the
 * file read and checked, or the magnet's info dictionary fetched from its peers, with what the link adds
 * that the dictionary does not hold (its web seeds, its select-only files).
 */
import * as Effect from "effect/Effect"
import * as Magnet from "../../domain/Magnet.js"
import type { PeerId } from "../../domain/PeerId.js"
import type * as Dht from "../dht/Dht.js"
import * as MagnetSource from "../torrent/MagnetSource.js"
import { loadTorrent } from "../torrent/TorrentSource.js"
import * as Progress from "./Progress.js"

export interface InputContext {
  readonly peerId: PeerId
  /** Our peer port, told to the peers the metadata comes from. */
  readonly port: number
  readonly dht: Dht.DhtService | undefined
  /** Give up on a magnet's metadata after this long without it (0: never). */
  readonly stallTimeoutSeconds: number
  readonly progress: Progress.ProgressOptions
}

export const torrentInput = (torrent: string, context: InputContext) =>
  Effect.gen(function* () {
    if (!torrent.startsWith("magnet:")) {
      return { metainfo: yield* loadTorrent(torrent), fetched: undefined, peers: [], webSeeds: [], selectOnly: undefined }
    }
    const magnet = yield* Magnet.parse(torrent)
    const resolved = yield* MagnetSource.resolve(magnet, {
      peerId: context.peerId,
      port: context.port,
      dht: context.dht,
      stallTimeoutSeconds: context.stallTimeoutSeconds,
      report: (line) => Progress.say(context.progress, line)
    })
    return { ...resolved, webSeeds: magnet.webSeeds, selectOnly: magnet.selectOnly }
  })
