/**
 * One torrent of a Client: started in a scope of its own (so that removing it stops only it), from its
 * resume data, with the files chosen; what the Client gives a program of it (`ClientTorrent`), its files
 * read through a second, read-only view of its storage (as the `stream` command reads them).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { StorageError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import { type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import type { Throttle } from "../../domain/TokenBucket.js"
import type { DhtService } from "../dht/Dht.js"
import * as Resume from "../storage/Resume.js"
import { Storage } from "../storage/Storage.js"
import * as Torrent from "../torrent/Torrent.js"
import type { SharedListener } from "../wire/PeerRouter.js"
import type { ClientTorrent } from "./Client.js"
import { filesOf } from "./ClientFiles.js"

export interface RunOptions {
  readonly metainfo: Metainfo
  readonly root: string
  readonly peers: ReadonlyArray<PeerAddress>
  /** The files to download (0-based); absent: all. */
  readonly selection: ReadonlyArray<number> | undefined
  readonly peerId: PeerId
  readonly listener: SharedListener
  readonly dht: DhtService | undefined
  readonly pex?: boolean
  readonly maxPeers?: number
  /** The client's limits, shared by its torrents. */
  readonly throttle?: Throttle
  readonly uploadSlots?: number
  readonly announceIp?: string
  /** Called when the torrent is removed (the client forgets it). */
  readonly forget: () => void
}

/** Starts a torrent in a scope forked from `parent`; the scope closes on `remove`, with `parent`, or at
 *  once when the start fails. */
export const run = (parent: Scope.Scope, options: RunOptions) =>
  Effect.gen(function* () {
    const { metainfo, root } = options
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const started = Effect.gen(function* () {
      const recovered = yield* Resume.recover(metainfo, root)
      const handle = yield* Torrent.start({
        metainfo,
        root,
        peerId: options.peerId,
        port: options.listener.port,
        listener: options.listener,
        peers: options.peers,
        trusted: recovered.have,
        ...(recovered.saved !== undefined ? { previous: recovered.saved } : {}),
        checkpointCurrent: recovered.current,
        ...(options.selection !== undefined ? { selection: options.selection } : {}),
        ...(options.dht !== undefined ? { dht: options.dht } : {}),
        ...(options.pex !== undefined ? { pex: options.pex } : {}),
        ...(options.maxPeers !== undefined ? { maxPeers: options.maxPeers } : {}),
        ...(options.throttle !== undefined ? { throttle: options.throttle } : {}),
        ...(options.uploadSlots !== undefined ? { uploadSlots: options.uploadSlots } : {}),
        ...(options.announceIp !== undefined ? { announceIp: options.announceIp } : {})
      })
      // A second, read-only view of the files: reads touch only verified pieces, which are on disk.
      const view = yield* (yield* Storage).open(metainfo, root, { readOnly: true })
      // Closed first when the scope closes (finalizers run last in, first out): reads still going end
      // with this error before the view and the torrent close under them.
      const ended = yield* Deferred.make<never, StorageError>()
      yield* Effect.addFinalizer(() =>
        Deferred.fail(ended, new StorageError({ reason: "Read", path: root, detail: "the torrent was removed or its client closed" }))
      )
      return { handle, view, ended: Deferred.await(ended) }
    }).pipe(Scope.extend(scope), Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
    const { handle, view, ended } = yield* started
    const torrent: ClientTorrent = {
      infoHash: toHex(torrentHash(metainfo)),
      name: metainfo.name,
      metainfo,
      files: filesOf({ metainfo, pieces: handle.pieces, events: handle.events, read: view.read, window: handle.window }, options.selection, ended),
      root,
      stats: handle.stats,
      statsEvery: (interval = 1000) => Stream.repeatEffectWithSchedule(handle.stats, Schedule.spaced(interval)),
      events: Stream.fromPubSub(handle.events),
      peers: handle.peers,
      done: handle.completed,
      remove: Effect.suspend(() => {
        options.forget()
        return Scope.close(scope, Exit.void)
      })
    }
    return torrent
  })
