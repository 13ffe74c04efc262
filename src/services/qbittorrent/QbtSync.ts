/**
 * The `sync` scope of the qBittorrent API: `maindata` (every torrent, category, tag, tracker and the
 * server's state, then only what changed) and `torrentPeers` (a torrent's peers, the same way), the calls
 * VueTorrent and Flood poll. The answers are shaped in protocol/QbtSync.ts; here is the memory of what each
 * client (its session cookie, or its address) was sent, by rid:
 * - rid is each client's own counter, 1, 2, 3 ... as qBittorrent's (one for maindata, one for torrentPeers);
 * - a client naming a rid we sent it gets what changed since; rid 0, none, or one we do not know (never
 *   sent, or forgotten) gets everything (`full_update: true`), as qBittorrent answers an unknown rid;
 * - the last few states sent are kept per client (a client that missed an answer names an older rid), for
 *   at most `maxClients` clients, the one heard from least recently forgotten first.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { TorrentView } from "../../domain/SessionView.js"
import { torrentInfo } from "../../protocol/QbtTorrents.js"
import {
  type Fields,
  figuresOf,
  type Maindata,
  maindataOf,
  maindataUpdate,
  nextRid,
  type PeersData,
  peersOf,
  peersUpdate,
  sameValue,
  serverState
} from "../../protocol/QbtSync.js"
import type { SessionControlService } from "../session/SessionControl.js"
import { type Endpoints, failure, json, type QbtCall } from "./QbtEndpoint.js"

export interface SyncOptions {
  /** States remembered per client (the newest). */
  readonly keep?: number
  /** Clients remembered (the most recently heard from). */
  readonly maxClients?: number
}

interface Sent<S> {
  readonly rid: number
  readonly state: S
}

interface ClientSent<S> {
  lastRid: number
  sent: Array<Sent<S>>
}

/** What was sent to whom, bounded: `keep` states per client, `maxClients` clients. */
export interface SentMemory<S> {
  /**
   * The answer to `client` naming `rid`: the state it holds (undefined when unknown, or rid 0), and the
   * new rid, remembered with `current`. One synchronous step, so that two requests of one client at once
   * get two rids.
   */
  readonly answer: (client: string, rid: number, current: S) => { readonly previous: S | undefined; readonly rid: number }
  readonly clients: () => number
}

export const sentMemory = <S>(keep: number, maxClients: number): SentMemory<S> => {
  // A Map iterates in insertion order: a client heard from is put last, so the first is the one to forget.
  const clients = new Map<string, ClientSent<S>>()
  return {
    answer: (client, rid, current) => {
      const memory = clients.get(client) ?? { lastRid: 0, sent: [] }
      clients.delete(client)
      clients.set(client, memory)
      while (clients.size > maxClients) {
        const oldest = clients.keys().next()
        if (oldest.done === true) break
        clients.delete(oldest.value)
      }
      const previous = rid > 0 ? memory.sent.find((s) => s.rid === rid)?.state : undefined
      const next = nextRid(memory.lastRid)
      memory.lastRid = next
      memory.sent = [...memory.sent.filter((s) => s.rid !== next), { rid: next, state: current }].slice(-keep)
      return { previous, rid: next }
    },
    clients: () => clients.size
  }
}

/** qBittorrent reads `rid` with QString::toInt: anything but an integer is 0 (a full update). */
const ridOf = (call: QbtCall): number => {
  const value = call.params.text("rid")?.trim() ?? ""
  return /^[+-]?\d+$/.test(value) ? Number(value) : 0
}

/** Free bytes in the download folder (0 when it cannot be told, as qBittorrent before its first check). */
const freeSpace = (control: SessionControlService, folder: string) =>
  control.freeSpace(folder).pipe(
    Effect.map((f) => f.sizeBytes),
    Effect.orElseSucceed(() => 0)
  )

/** The `sync` scope's endpoints, each with its own memory of what was sent. */
export const make = (options: SyncOptions = {}): Endpoints => {
  const keep = Math.max(1, options.keep ?? 4)
  const maxClients = Math.max(1, options.maxClients ?? 100)
  const maindataSent = sentMemory<Maindata>(keep, maxClients)
  const peersSent = sentMemory<{ readonly hash: string; readonly data: PeersData }>(keep, maxClients)
  // libtorrent's has_incoming_connections: once a peer has connected to us, our port is known reachable.
  let incomingSeen = false
  // The torrents' objects of the last state built: one that has not changed since is that same object, so
  // that the states kept for every client share what did not change (most torrents, most of the time).
  let lastObjects = new Map<string, Fields>()
  const shared = (hash: string, fields: Fields): Fields => {
    const last = lastObjects.get(hash)
    return last !== undefined && sameValue(last, fields) ? last : fields
  }

  const maindataNow = (control: SessionControlService): Effect.Effect<Maindata> =>
    Effect.gen(function*() {
      const views = yield* control.torrents("all")
      const settings = yield* control.settings
      const stats = yield* control.stats
      const categories = yield* control.categories
      const tags = yield* control.tags
      const freeSpaceOnDisk = yield* freeSpace(control, settings.downloadDir)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const figures = figuresOf(views)
      incomingSeen ||= figures.incoming
      const context = { settings, now }
      const state = maindataOf({
        torrents: views,
        torrentFields: (view: TorrentView): Fields => ({ ...torrentInfo(view, context) }),
        categories,
        tags,
        serverState: serverState(stats, settings, { ...figures, incoming: incomingSeen, freeSpaceOnDisk })
      })
      const torrents = Object.fromEntries(Object.entries(state.torrents).map(([hash, fields]) => [hash, shared(hash, fields)]))
      lastObjects = new Map(Object.entries(torrents))
      return { ...state, torrents }
    })

  return {
    maindata: {
      post: false,
      run: (call) =>
        Effect.map(maindataNow(call.control), (current) => {
          const { previous, rid } = maindataSent.answer(call.client, ridOf(call), current)
          return json(maindataUpdate(previous, current, rid))
        })
    },
    torrentPeers: {
      post: false,
      run: (call) =>
        Effect.gen(function*() {
          // qBittorrent reads the hash as hex, either case; an unknown or missing one is 404.
          const hash = call.params.text("hash")?.trim().toLowerCase() ?? ""
          if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(hash)) return failure(404)
          const [view] = yield* call.control.torrents([hash])
          if (view === undefined) return failure(404)
          const current = { hash: view.hashString, data: peersOf(view) }
          const { previous, rid } = peersSent.answer(call.client, ridOf(call), current)
          // A rid of another torrent's peers is no base for this one's.
          return json(peersUpdate(previous?.hash === current.hash ? previous.data : undefined, current.data, rid))
        })
    }
  }
}
