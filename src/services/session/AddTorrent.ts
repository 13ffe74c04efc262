/**
 * Adding a torrent to the session, from each source: the bytes of a .torrent, a magnet link (its metadata
 * comes from peers when it first runs), or the URL of a .torrent (fetched over HTTP, TorrentUrl.ts). The
 * .torrent's bytes, uploaded or fetched, are kept in the state folder for a restart. A torrent already in the session is not added again: the answer names
 * the one there. A v2-only torrent is known by its v2 hash truncated to 20 bytes.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ControlError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Magnet from "../../domain/Magnet.js"
import { type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import type { TorrentGoals } from "../../domain/SeedGoals.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import { ensureDownloadable } from "../torrent/TorrentSource.js"
import type { Folders } from "./AddFolders.js"
import type { Added, AddOptions, AddSource } from "./SessionControl.js"
import type { Entry, TorrentIdentity } from "./SessionEntry.js"
import * as TorrentFiles from "./TorrentFiles.js"
import type { TorrentList } from "./TorrentList.js"
import * as TorrentUrl from "./TorrentUrl.js"

/** What a source tells of its torrent, and the .torrent's bytes to keep in the state folder (if any). */
interface Identified {
  readonly identity: TorrentIdentity
  readonly keep: Uint8Array | undefined
}

export interface AddContext {
  readonly list: TorrentList
  /** Where a torrent's data goes (AddFolders.ts): a category that does not exist fails the add. */
  readonly folders: (options: AddOptions) => Effect.Effect<Folders, ControlError>
  /** Its category, tags and settings given, before the queue may start it. */
  readonly configure: (entry: Entry, options: AddOptions) => Effect.Effect<void, ControlError>
  /** A new torrent's seeding goals: the session's now. */
  readonly goals: () => TorrentGoals
  /** Sent with the fetch of a .torrent's URL. */
  readonly userAgent: string
  /** Saves the session's list. */
  readonly save: Effect.Effect<void>
  /** Lets the queue start what it may. */
  readonly schedule: Effect.Effect<void>
}

const invalid = (detail: string) => new ControlError({ reason: "Invalid", detail })

const decodeMetainfo = (bytes: Uint8Array): Effect.Effect<Metainfo, ControlError> =>
  Either.match(decodeTorrent(bytes), {
    onLeft: (e) => Effect.fail(invalid(`invalid or corrupt torrent: ${e.detail}`)),
    onRight: (m) => Effect.mapError(ensureDownloadable(m), (e) => invalid(e.detail))
  })

const fromMetainfo = (metainfo: Metainfo): TorrentIdentity => ({
  hash: toHex(torrentHash(metainfo)),
  name: metainfo.name,
  metainfo,
  magnet: undefined
})

const identify = (source: AddSource, fetchTorrent: TorrentUrl.FetchTorrent): Effect.Effect<Identified, ControlError> => {
  switch (source._tag) {
    case "Metainfo":
      return Effect.map(decodeMetainfo(source.bytes), (m) => ({ identity: fromMetainfo(m), keep: source.bytes }))
    case "Magnet":
      return Effect.gen(function*() {
        const magnet = yield* Effect.mapError(Magnet.parse(source.uri), (e) => invalid(e.message))
        // Known by the hash its torrent will be known by (Metainfo.torrentHash): a v2-only link's is its
        // v2 hash truncated, as Transmission 4 and qBittorrent name it.
        const hash = toHex(magnet.infoHash ?? magnet.infoHashV2Truncated!)
        return { identity: { hash, name: magnet.displayName ?? hash, metainfo: undefined, magnet: source.uri }, keep: undefined }
      })
    case "Url":
      // The fetched bytes are kept as uploaded ones are: a restart finds the torrent without the URL,
      // which may be gone by then.
      return Effect.flatMap(fetchTorrent(source.url), (bytes) =>
        Effect.map(decodeMetainfo(bytes), (m) => ({ identity: fromMetainfo(m), keep: bytes })))
  }
}

const sourceWords = { Metainfo: "a .torrent file", Magnet: "a magnet link", Url: "a .torrent by its URL" } as const

/** SessionControl's `add`, over the HttpClient and the ResumeStore of the context. */
export const make = (
  context: AddContext
): Effect.Effect<(source: AddSource, options: AddOptions) => Effect.Effect<Added, ControlError>, never, HttpClient.HttpClient | ResumeStore> =>
  Effect.gen(function*() {
    const store = yield* ResumeStore
    const fetchTorrent = yield* TorrentUrl.make({ userAgent: context.userAgent })
    return Effect.fn("Session.add")(function*(source: AddSource, options: AddOptions) {
      const { autoManaged, downloadDir, savePath } = yield* context.folders(options)
      const { identity, keep } = yield* identify(source, fetchTorrent)
      const existing = context.list.byHash(identity.hash)
      if (existing !== undefined) return { id: existing.id, hashString: existing.hash, name: existing.name, duplicate: true } satisfies Added
      if (keep !== undefined && identity.metainfo !== undefined) {
        yield* store.saveTorrent(torrentHash(identity.metainfo), keep).pipe(Effect.mapError((e) => new ControlError({ reason: "Io", detail: e.message })))
      }
      const entry = yield* context.list.add(identity, {
        downloadDir,
        paused: options.paused === true,
        goals: context.goals(),
        saved: { savePath, autoManaged }
      })
      // Before the queue may start it: its first run has the files chosen.
      if (options.files !== undefined) yield* TorrentFiles.change(entry, options.files)
      yield* context.configure(entry, options)
      yield* context.save
      yield* Effect.logInfo(
        `added: ${entry.id} ${entry.name} (${sourceWords[source._tag]}) into ${downloadDir}${options.paused === true ? ", stopped" : ""}`
      )
      yield* context.schedule
      return { id: entry.id, hashString: entry.hash, name: entry.name, duplicate: false } satisfies Added
    })
  })
