/**
 * A torrent of the memory session (MemoryControl.ts): a plain, changeable TorrentView. What its source
 * tells (name, sizes, files, pieces, trackers) comes from decoding the .torrent or parsing the magnet as
 * the real session would; its progress and rates change only when a test says so, and then its pieces,
 * files, totals and ETA agree with each other. Its files can be wanted or not and given priorities, as
 * the real session's; its figures then follow the files wanted, counted by files rather than by pieces.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ControlError } from "../../domain/Errors.js"
import { applyFileChange, type FileChange } from "../../domain/FileChoices.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Magnet from "../../domain/Magnet.js"
import { pieceRange } from "../../domain/Layout.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import { Status, type TorrentView } from "../../domain/SessionView.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"
import type { AddSource } from "./SessionControl.js"
import { pieceHashesOf } from "./SessionEntry.js"

export type MemoryTorrent = { -readonly [K in keyof TorrentView]: TorrentView[K] }

/** What a torrent's source tells: everything in its view that does not change while it runs. */
export type Identity = Pick<
  TorrentView,
  | "hashString" | "name" | "hasMetadata" | "totalSize" | "magnetLink" | "isPrivate" | "pieceCount" | "pieceSize" | "pieces" | "files"
  | "trackers" | "comment" | "creator" | "dateCreated" | "source" | "webseeds" | "metadataPercentComplete" | "sizeWhenDone"
  | "leftUntilDone" | "wantedPieces" | "pieceHashes"
>

/** The first `have` of `pieceCount` pieces, as the base64 bitfield a view shows. */
const bitfield = (pieceCount: number, have: number): string => {
  const bytes = new Uint8Array(Math.ceil(pieceCount / 8))
  for (let i = 0; i < have; i++) bytes[i >> 3]! |= 0x80 >> (i & 7)
  return Buffer.from(bytes).toString("base64")
}

const hashOf = (m: { readonly infoHash?: Uint8Array | undefined; readonly infoHashV2?: Uint8Array | undefined }): string =>
  m.infoHash !== undefined ? toHex(m.infoHash) : m.infoHashV2 !== undefined ? toHex(m.infoHashV2.subarray(0, 20)) : ""

const trackersOf = (tiers: ReadonlyArray<ReadonlyArray<string>>) =>
  tiers.flatMap((tier, i) => tier.map((announce) => ({ announce, tier: i, state: "waiting", lastError: "", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 })))

const fromMetainfo = (m: Metainfo): Identity => {
  const hash = hashOf(m)
  const layout = layoutOf(m)
  const tiers = m.announceList.length > 0 ? m.announceList : m.announce === undefined ? [] : [[m.announce]]
  const trackers = tiers.flatMap((t) => t.map((tr) => `&tr=${encodeURIComponent(tr)}`)).join("")
  return {
    hashString: hash,
    name: m.name,
    hasMetadata: true,
    totalSize: m.totalLength,
    magnetLink: `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(m.name)}${trackers}`,
    isPrivate: m.private,
    pieceCount: m.pieceCount,
    pieceSize: m.pieceLength,
    pieces: bitfield(m.pieceCount, 0),
    pieceHashes: pieceHashesOf(m),
    files: m.files.flatMap((f, index) => f.pad ? [] : [{
      name: m.multiFile ? [m.name, ...f.path].join("/") : m.name,
      length: f.length,
      pieceRange: pieceRange(layout, index),
      bytesCompleted: 0,
      wanted: true,
      priority: 0 as const
    }]),
    sizeWhenDone: m.totalLength,
    leftUntilDone: m.totalLength,
    wantedPieces: bitfield(m.pieceCount, m.pieceCount),
    trackers: trackersOf(tiers),
    comment: m.comment ?? "",
    creator: m.createdBy ?? "",
    dateCreated: m.creationDate ?? 0,
    source: m.source ?? "",
    webseeds: m.urlList,
    metadataPercentComplete: 1
  }
}

const fromMagnet = (m: Magnet.Magnet, uri: string): Identity => {
  const hash = hashOf({ infoHash: m.infoHash, infoHashV2: m.infoHashV2 })
  return {
    hashString: hash,
    name: m.displayName ?? hash,
    hasMetadata: false,
    pieceHashes: [],
    totalSize: 0,
    magnetLink: uri,
    isPrivate: false,
    pieceCount: 0,
    pieceSize: 0,
    pieces: "",
    wantedPieces: "",
    sizeWhenDone: 0,
    leftUntilDone: 0,
    files: [],
    trackers: trackersOf(m.trackers.map((t) => [t])),
    comment: "",
    creator: "",
    dateCreated: 0,
    source: "",
    webseeds: [],
    metadataPercentComplete: 0
  }
}

/** What the source tells, or the session's refusal; a URL is "fetched" from `urls`. */
export const identify = (source: AddSource, urls: ReadonlyMap<string, Uint8Array> | undefined): Effect.Effect<Identity, ControlError> =>
  Effect.suspend((): Effect.Effect<Identity, ControlError> => {
    switch (source._tag) {
      case "Metainfo":
        return Either.match(decodeTorrent(source.bytes), {
          onLeft: (e) => Effect.fail(new ControlError({ reason: "Invalid", detail: `invalid or corrupt torrent file: ${e.detail}` })),
          onRight: (m) => Effect.succeed(fromMetainfo(m))
        })
      case "Magnet":
        return Either.match(Magnet.parse(source.uri), {
          onLeft: (e) => Effect.fail(new ControlError({ reason: "Invalid", detail: `invalid magnet link: ${e.message}` })),
          onRight: (m) => Effect.succeed(fromMagnet(m, source.uri))
        })
      case "Url": {
        const bytes = urls?.get(source.url)
        return bytes === undefined
          ? Effect.fail(new ControlError({ reason: "Io", detail: `cannot fetch ${source.url}: not found` }))
          : identify({ _tag: "Metainfo", bytes }, urls)
      }
    }
  })

/** A torrent just added: nothing done, no activity, at the end of the queue. */
export const newTorrent = (
  identity: Identity,
  placement: {
    readonly id: number
    readonly now: number
    readonly downloadDir: string
    readonly paused: boolean
    readonly queuePosition: number
    /** The session's goals now: a new torrent follows them, with their values as its own. */
    readonly seedRatioLimit: number
    readonly seedIdleLimit: number
  }
): MemoryTorrent => ({
  id: placement.id,
  status: placement.paused ? Status.Stopped : Status.Download,
  haveValid: 0,
  percentDone: 0,
  rateDownload: 0,
  rateUpload: 0,
  downloadedEver: 0,
  uploadedEver: 0,
  downloadedSession: 0,
  uploadedSession: 0,
  piecesInProgress: [],
  peersConnected: 0,
  seeds: 0,
  eta: -1,
  error: 0,
  errorString: "",
  downloadDir: placement.downloadDir,
  addedDate: placement.now,
  doneDate: 0,
  peers: [],
  downloadLimit: 0,
  uploadLimit: 0,
  rememberedDownloadLimit: 100,
  rememberedUploadLimit: 100,
  queuePosition: placement.queuePosition,
  recheckProgress: 0,
  startDate: placement.paused ? 0 : placement.now,
  activityDate: 0,
  secondsDownloading: 0,
  secondsSeeding: 0,
  corruptEver: 0,
  torrentFile: identity.hasMetadata ? `/state/torrents/${identity.hashString}.torrent` : "",
  seedRatioMode: 0,
  seedRatioLimit: placement.seedRatioLimit,
  seedIdleMode: 0,
  seedIdleLimit: placement.seedIdleLimit,
  seedTimeMode: 0,
  seedTimeLimit: 1440,
  idleLimitReached: false,
  category: "",
  tags: [],
  savePath: placement.downloadDir,
  autoManaged: false,
  sequential: false,
  forced: false,
  moving: false,
  maxPeers: 50,
  availability: new Array<number>(identity.pieceCount).fill(0),
  ...identity
})

/** Marks `fraction` (0..1) of the torrent verified: pieces, files and haveValid agree; complete at 1. */
export const setProgress = (t: MemoryTorrent, fraction: number, now: number): void => {
  const have = Math.round(t.totalSize * fraction)
  const gained = Math.max(0, have - t.haveValid)
  let left = have
  t.files = t.files.map((f) => {
    const done = Math.min(f.length, left)
    left -= done
    return { ...f, bytesCompleted: done }
  })
  const pieces = fraction >= 1 ? t.pieceCount : t.pieceSize > 0 ? Math.floor(have / t.pieceSize) : 0
  Object.assign(t, {
    haveValid: have,
    downloadedEver: t.downloadedEver + gained,
    downloadedSession: t.downloadedSession + gained,
    pieces: bitfield(t.pieceCount, pieces),
    // The piece the verified bytes end in, when they end inside one, is the one being downloaded.
    piecesInProgress: pieces < t.pieceCount && have > pieces * t.pieceSize ? [pieces] : [],
    eta: fraction >= 1 ? -2 : t.eta
  })
  settle(t, now)
}

/** The figures that follow the files wanted: size when done, what is left, the share done, the pieces
 *  wanted; a download with nothing left to get is a seed from now. */
const settle = (t: MemoryTorrent, now: number): void => {
  let sizeWhenDone = 0
  let left = 0
  let offset = 0
  const wanted = new Uint8Array(Math.ceil(t.pieceCount / 8))
  for (const f of t.files) {
    sizeWhenDone += f.wanted ? f.length : f.bytesCompleted
    if (f.wanted) left += f.length - f.bytesCompleted
    if (f.wanted && f.length > 0 && t.pieceSize > 0) {
      for (let p = Math.floor(offset / t.pieceSize); p <= Math.floor((offset + f.length - 1) / t.pieceSize); p++) wanted[p >> 3]! |= 0x80 >> (p & 7)
    }
    offset += f.length
  }
  Object.assign(t, {
    sizeWhenDone,
    leftUntilDone: left,
    percentDone: sizeWhenDone === 0 ? (t.hasMetadata ? 1 : 0) : (sizeWhenDone - left) / sizeWhenDone,
    wantedPieces: Buffer.from(wanted).toString("base64")
  })
  if (left === 0 && t.hasMetadata) {
    if (t.doneDate === 0) t.doneDate = now
    if (t.status === Status.Download) t.status = Status.Seed
  } else if (t.status === Status.Seed) t.status = Status.Download
}

/** The files wanted and their priorities after `change` (numbered as the RPC numbers files). */
export const setFiles = (t: MemoryTorrent, change: FileChange, now: number): void => {
  const choices = applyFileChange(
    { unwanted: t.files.flatMap((f, i) => (f.wanted ? [] : [i])), priorities: t.files.map((f) => f.priority) },
    change,
    t.files.length
  )
  const unwanted = new Set(choices.unwanted)
  t.files = t.files.map((f, i) => ({ ...f, wanted: !unwanted.has(i), priority: choices.priorities[i] ?? 0 }))
  settle(t, now)
}

/** The torrent's rates, and the ETA they give. */
export const setRates = (t: MemoryTorrent, rateDownload: number, rateUpload: number): void => {
  const left = t.totalSize - t.haveValid
  Object.assign(t, { rateDownload, rateUpload, eta: left <= 0 ? -2 : rateDownload > 0 ? Math.ceil(left / rateDownload) : -1 })
}
