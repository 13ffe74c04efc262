/**
 * The daemon's session (Session.ts) inside a whole in-memory swarm (swarm.ts): the session runs on host
 * 10.0.0.2 with its state folder in a real temp folder (session.json is written with node:fs) and its
 * data in the swarm's memory store under /session; other torrents are seeded by plain Torrent.start
 * members on other hosts. Helpers wait, under TestClock, until the session's views say something.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bitfield } from "../../src/domain/Bitfield.js"
import type { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as MemoryDatagram from "../../src/services/wire/MemoryDatagram.js"
import * as MemoryNetwork from "../../src/services/wire/MemoryNetwork.js"
import { layer as storageMemory } from "../../src/services/storage/MemoryStorage.js"
import type { MemoryAnnounce } from "../../src/services/tracker/MemoryTracker.js"
import * as Session from "../../src/services/session/Session.js"
import type { SessionControlService } from "../../src/services/session/SessionControl.js"
import * as Torrent from "../../src/services/torrent/Torrent.js"
import { withClock } from "./clock.js"
import { port, type Swarm } from "./swarm.js"
import type { TestTorrent } from "./torrents.js"
import { type TorrentView } from "../../src/domain/SessionView.js"
import * as RarestFirst from "../../src/services/pieces/RarestFirst.js"
import * as MemoryTracker from "../../src/services/tracker/MemoryTracker.js"
import { MemoryResume, layer as resumeMemory } from "../../src/services/storage/MemoryResume.js"

export const sessionHost = "10.0.0.2"
export const sessionPeerPort = 51413
export const downloadDir = "/session"

/** A temp folder for the session's state, removed with the scope. */
export const tempStateDir = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "bt-session-"))),
  (dir) => Effect.promise(() => fs.promises.rm(dir, { recursive: true, force: true }))
)

/** A session on 10.0.0.2 of the swarm's network, tracker and store, with `resume` as its state folder's resume data. */
export const startSession = (
  swarm: Swarm,
  options: {
    readonly stateDir: string
    readonly resume: MemoryResume
    readonly downloadQueueSize?: number
    /** Started without a download folder on its command line: the saved setting's, else ./downloads. */
    readonly savedFolder?: boolean
  }
): Effect.Effect<SessionControlService, unknown, Scope.Scope> =>
  Session.make({
    stateDir: options.stateDir,
    ...(options.savedFolder === true ? {} : { downloadDir }),
    peerPort: sessionPeerPort,
    pex: true,
    version: "test",
    ...(options.downloadQueueSize !== undefined ? { downloadQueueSize: options.downloadQueueSize } : {})
  }).pipe(Effect.provide(Layer.mergeAll(
    MemoryNetwork.layerHost(swarm.network, { host: sessionHost }),
    storageMemory(swarm.store),
    MemoryTracker.layer(swarm.tracker),
    RarestFirst.layer,
    resumeMemory(options.resume),
    MemoryDatagram.layer(),
    // A .torrent added by its URL is fetched for real, from a test's server on 127.0.0.1.
    NodeHttpClient.layer
  )))

export const newResume = () => new MemoryResume()

/** A plain seeding torrent of `torrent` on `host` of the swarm (its data pre-filled in the store). */
export const seedOn = (
  swarm: Swarm,
  host: string,
  torrent: TestTorrent,
  options: { readonly peers?: ReadonlyArray<PeerAddress>; readonly link?: MemoryNetwork.LinkOptions } = {}
) =>
  Effect.gen(function* () {
    const m = torrent.metainfo
    swarm.store.seed(swarm.root(host), m, torrent.payload)
    return yield* Torrent.start({
      metainfo: m,
      root: swarm.root(host),
      peerId: PeerId.make(Buffer.from(host.padEnd(12, "#"))),
      port,
      listenHost: host,
      announceIp: host,
      trusted: Bitfield.full(m.pieceCount),
      ...(options.peers !== undefined ? { peers: options.peers } : {})
    }).pipe(Effect.provide(Layer.mergeAll(
      MemoryNetwork.layerHost(swarm.network, { host, ...options.link }),
      storageMemory(swarm.store),
      MemoryTracker.layer(swarm.tracker),
      RarestFirst.layer,
      resumeMemory(swarm.resume(host))
    )))
  })

/** The view of torrent `id`, which must exist. */
export const viewOf = (control: SessionControlService, id: number) =>
  Effect.flatMap(control.torrents([id]), (views) =>
    views[0] === undefined ? Effect.dieMessage(`no torrent ${id} in the session`) : Effect.succeed(views[0]))

/**
 * Waits (virtual time, at most `maxVirtual`) until torrent `id`'s view satisfies `done`, recording every
 * status seen on the way; gives the last view and the statuses.
 */
export const waitView = (
  control: SessionControlService,
  id: number,
  done: (view: TorrentView) => boolean,
  maxVirtual: `${number} seconds` = "120 seconds"
) => {
  const seen = new Set<number>()
  const poll = Effect.gen(function* () {
    while (true) {
      const view = yield* viewOf(control, id)
      seen.add(view.status)
      if (done(view)) return view
      yield* Effect.sleep("250 millis")
    }
  })
  return Effect.map(withClock(poll, { step: "250 millis", maxVirtual }), (view) => ({ view, seen }))
}

/** The session's announces for `hash` (hex): the session gives no `ip`, the seeders do. */
export const sessionAnnounces = (announces: ReadonlyArray<MemoryAnnounce>, hash: string): ReadonlyArray<MemoryAnnounce> =>
  announces.filter((a) => a.request.ip === undefined && Buffer.from(a.request.infoHash).toString("hex") === hash)

/** session.json as written. */
export const readSessionFile = (stateDir: string) =>
  Effect.promise(() => fs.promises.readFile(path.join(stateDir, "session.json"), "utf8")).pipe(
    Effect.map((text) => JSON.parse(text) as { version: number; torrents: Array<{ hash: string; name: string; downloadDir: string; paused: boolean; doneDate: number }> })
  )
