/**
 * A whole swarm in one process, for a program's own tests: every member a real bt-effect Client on its
 * own host of an in-memory network, announcing to one in-memory tracker, storing into one in-memory store.
 * Nothing waits on a real clock, so a download of megabytes runs under `TestClock` (advance it, or use
 * `it.scoped` of @effect/vitest with `TestClock.adjust` in a fork).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { infoHashHex, MemoryStore } from "../storage/MemoryStorage.js"
import { MemoryResume } from "../storage/MemoryResume.js"
import { MemoryTracker } from "../tracker/MemoryTracker.js"
import * as MemoryNetwork from "../wire/MemoryNetwork.js"
import { Client, type ClientService } from "./Client.js"
import { type ClientOptions, layerMemory } from "./ClientLive.js"
import { makeTorrent, type MemoryFile, type MemoryTorrent, randomBytes } from "./MemoryTorrents.js"

export const announceUrl = "http://tracker.test/announce"

export interface SwarmOptions {
  /** The torrent's files; absent: one file of `size` pseudo-random bytes. */
  readonly files?: ReadonlyArray<MemoryFile>
  /** Default 1 MiB. */
  readonly size?: number
  /** Default 32 KiB. */
  readonly pieceLength?: number
  /** Latency, bandwidth and loss of every link, unless a member says otherwise. */
  readonly link?: MemoryNetwork.LinkOptions
}

export type MemberOptions = Partial<Omit<ClientOptions, "downloadDir">> & { readonly link?: MemoryNetwork.LinkOptions }

export interface Swarm {
  readonly network: MemoryNetwork.MemoryNetwork
  readonly tracker: MemoryTracker
  readonly store: MemoryStore
  /** The swarm's torrent (announcing to the in-memory tracker). */
  readonly torrent: MemoryTorrent
  /** A member's download folder in the store. */
  readonly root: (host: string) => string
  /** A Client on `host`, as a Layer (its resume data kept across rebuilds on the same host). */
  readonly layer: (host: string, options?: MemberOptions) => Layer.Layer<Client>
  /** A Client on `host`, running until the scope closes. */
  readonly client: (host: string, options?: MemberOptions) => Effect.Effect<ClientService, never, Scope.Scope>
  /** A Client on `host` that holds the torrent's whole data and seeds it. */
  readonly seeder: (host: string, options?: MemberOptions) => Effect.Effect<ClientService, unknown, Scope.Scope>
  /** The bytes of the torrent a member holds now (undefined: none yet). */
  readonly contents: (host: string) => Uint8Array | undefined
}

export const make = (options: SwarmOptions = {}): Effect.Effect<Swarm> =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork.make(options.link)
    const tracker = new MemoryTracker()
    const store = MemoryStore.make()
    const files = options.files ?? [{ path: ["payload.bin"], data: randomBytes(options.size ?? 1024 * 1024) }]
    const torrent = makeTorrent({ name: "swarm", pieceLength: options.pieceLength ?? 32768, files, announce: announceUrl })
    const resumes = new Map<string, MemoryResume>()
    const resumeOf = (host: string) => {
      const known = resumes.get(host) ?? new MemoryResume()
      resumes.set(host, known)
      return known
    }
    const root = (host: string) => `/swarm/${host}`
    const layer = (host: string, member: MemberOptions = {}) =>
      layerMemory({ ...member, downloadDir: root(host), network, host, store, tracker, resume: resumeOf(host) })
    const client = (host: string, member?: MemberOptions) =>
      Effect.map(Layer.build(layer(host, member)), Context.get(Client))
    const seeder = (host: string, member?: MemberOptions) =>
      Effect.gen(function* () {
        store.seed(root(host), torrent.metainfo, torrent.payload)
        const made = yield* client(host, member)
        yield* made.add(torrent.bytes)
        return made
      })
    return {
      network,
      tracker,
      store,
      torrent,
      root,
      layer,
      client,
      seeder,
      contents: (host) => store.contents(root(host), infoHashHex(torrent.metainfo))
    } satisfies Swarm
  })
