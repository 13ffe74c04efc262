/**
 * A magnet link's torrent: from the state folder when it was fetched before, else from peers
 * (MetadataFetch.ts); once fetched it is saved in the state folder, so that a restart needs no peer to
 * give it again, and the download command saves it as `<name>.torrent` beside the data (`saveBeside`), so
 * that the download can be seeded or verified like any other.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import { DownloadError, MetainfoError, type StorageError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import type { Magnet } from "../../domain/Magnet.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import { formatBytes, formatDuration } from "../../domain/Units.js"
import { decodeTorrent, torrentFromInfo } from "../../protocol/TorrentFile.js"
import type { DhtService } from "../dht/Dht.js"
import { replaceFile } from "../files/AtomicFile.js"
import * as MetadataFetch from "./MetadataFetch.js"
import type { Policy } from "../wire/Encryption.js"
import { ResumeStore } from "../storage/ResumeStore.js"

export interface MagnetOptions {
  readonly peerId: PeerId
  readonly port: number
  readonly dht: DhtService | undefined
  /** Give up when no peer has given the metadata for this long (0: never). */
  readonly stallTimeoutSeconds: number
  /** News of the fetch, a line at a time (no newline). */
  readonly report: (line: string) => Effect.Effect<void>
  /** The live encryption policy for the fetch's connections (MetadataFetch's `encryption`). */
  readonly encryption?: () => Policy
}

export interface Resolved {
  readonly metainfo: Metainfo
  /** The .torrent's bytes, when fetched from peers now (not when read from the state folder). */
  readonly fetched: Uint8Array | undefined
  /** The magnet's peers and those met while fetching the metadata, but those found lying or broken. */
  readonly peers: ReadonlyArray<PeerAddress>
}

const decode = (bytes: Uint8Array, where: string): Effect.Effect<Metainfo, MetainfoError> =>
  Either.match(decodeTorrent(bytes), {
    onLeft: (e) => Effect.fail(new MetainfoError({ reason: e.reason, detail: `${where}: ${e.detail}` })),
    onRight: Effect.succeed
  })

/** Writes `<out>/<safe name>.torrent` (atomically, as the state folder's copy); the name was made safe when
 *  the metadata was decoded. */
export const saveBeside = (out: string, metainfo: Metainfo, torrent: Uint8Array): Effect.Effect<string, StorageError> => {
  const file = path.join(out, `${metainfo.safeName}.torrent`)
  return Effect.as(replaceFile(file, torrent), file)
}

export const resolve = Effect.fn("MagnetSource.resolve")(function* (magnet: Magnet, options: MagnetOptions) {
  // A v2-only link (urn:btmh alone) is known by its v2 hash truncated, as the torrent will be
  // (Metainfo.torrentHash): its handshakes, announces, DHT lookups and state files use it.
  const infoHash = magnet.infoHash ?? magnet.infoHashV2Truncated!
  const store = yield* ResumeStore
  const cached = yield* store.loadTorrent(infoHash)
  if (Option.isSome(cached)) {
    const metainfo = yield* decode(cached.value, `${store.location}/${toHex(infoHash)}.torrent`)
    yield* options.report(`metadata for ${metainfo.name} from ${store.location}`)
    return { metainfo, fetched: undefined, peers: magnet.peers } satisfies Resolved
  }

  const name = magnet.displayName ?? toHex(infoHash)
  const sources = [
    magnet.peers.length > 0 ? `${magnet.peers.length} peer(s) from the link` : undefined,
    magnet.trackers.length > 0 ? `${magnet.trackers.length} tracker(s)` : undefined,
    options.dht !== undefined ? "the DHT" : undefined
  ].filter((s) => s !== undefined)
  if (sources.length === 0) {
    return yield* new DownloadError({
      reason: "NoData",
      detail: "the magnet link names no tracker and no peer, and the DHT is off (--no-dht): nowhere to find its metadata"
    })
  }
  yield* options.report(`fetching metadata for ${name} from ${sources.join(", ")}`)
  const started = yield* Clock.currentTimeMillis
  let tried = 0
  const fetched = MetadataFetch.fetch(
    {
      infoHash,
      ...(magnet.infoHashV2 !== undefined ? { infoHashV2: magnet.infoHashV2 } : {}),
      peerId: options.peerId,
      port: options.port,
      peers: magnet.peers,
      trackers: magnet.trackers,
      ...(options.dht !== undefined ? { dht: options.dht } : {}),
      ...(options.encryption !== undefined ? { encryption: options.encryption } : {})
    },
    (status) => Effect.sync(() => void (tried = status.failed + status.asking))
  )
  const result = yield* options.stallTimeoutSeconds > 0
    ? fetched.pipe(
        Effect.timeoutFail({
          duration: `${options.stallTimeoutSeconds} seconds`,
          onTimeout: () =>
            new DownloadError({
              reason: "Stalled",
              detail: `stalled: no peer gave the metadata within ${formatDuration(options.stallTimeoutSeconds)} (${tried} peer(s) tried)`
            })
        })
      )
    : fetched
  // A v2 torrent's piece layers came with the metadata (PieceLayerFetch): they go into the .torrent kept.
  const torrent = torrentFromInfo(result.info, magnet.trackers, result.metainfo?.files)
  const metainfo = yield* decode(torrent, `metadata from ${result.from}`)
  const elapsed = (yield* Clock.currentTimeMillis) - started
  yield* store.saveTorrent(infoHash, torrent)
  yield* options.report(`metadata: ${metainfo.name}, ${formatBytes(metainfo.totalLength)} in ${metainfo.files.length} file(s), from ${result.from} in ${formatDuration(elapsed / 1000)}`)
  return { metainfo, fetched: torrent, peers: result.peers } satisfies Resolved
})
