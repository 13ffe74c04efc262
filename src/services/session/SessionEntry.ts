/**
 * A torrent of the daemon's session (`Entry`) and what front ends see of it (`TorrentView`, in
 * Transmission's terms): its status, progress, rates, files, peers, trackers and the map of its pieces.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Bitfield } from "../../domain/Bitfield.js"
import { type FileChange, type FileChoices, wantedPiecesOf } from "../../domain/FileChoices.js"
import { fileBytesCompleted, leftUntilDone, sizeWhenDone } from "../../domain/FileProgress.js"
import * as Layout from "../../domain/Layout.js"
import type { TokenBucket } from "../../domain/TokenBucket.js"
import { format as formatMagnet, parse as parseMagnet } from "../../domain/Magnet.js"
import { Magnet } from "../../domain/Magnet.js"
import { fromHex, infoHash } from "../../domain/InfoHash.js"
import { layoutOf, type Metainfo, relativePath, trackerTiers } from "../../domain/Metainfo.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerStatus, TorrentHandle } from "../torrent/TorrentHandle.js"
import type { TorrentGoals } from "../../domain/SeedGoals.js"
import { type FileView, type PeerView, Status, type TorrentView, type TrackerView } from "../../domain/SessionView.js"
import * as path from "node:path"

export interface Entry {
  readonly id: number
  /** The info hash, lower-case hex. */
  readonly hash: string
  name: string
  metainfo: Metainfo | undefined
  /** The link it was added with, while its metadata is not known (and after, for display). */
  readonly magnet: string | undefined
  /** Where its data is (torrent-set-location changes it). */
  downloadDir: string
  /** Where its data goes once complete: the download folder, unless it downloads in the incomplete folder
   *  (then it is moved here when done, MoveOnComplete.ts). */
  savePath: string
  /** Its category ("" none) and tags, sorted (domain/Categories.ts). */
  category: string
  tags: ReadonlyArray<string>
  /** Its folder follows its category's (qBittorrent's automatic torrent management). */
  autoManaged: boolean
  /** Its pieces asked for in order (the sequential picker); a change restarts its run. */
  sequential: boolean
  /** Started whatever the queue's limits (and holding no slot). */
  forced: boolean
  /** Stopped by the user (or by an error): not run until started. */
  paused: boolean
  /** Seconds since the epoch. */
  readonly addedDate: number
  doneDate: number
  error: string
  /** "stopped": not running (paused, or waiting in the queue); the others: its fiber runs. */
  phase: "stopped" | "starting" | "metadata" | "checking" | "running"
  queuePosition: number
  handle: TorrentHandle | undefined
  /** Peers met while fetching the metadata, for the torrent to dial first. */
  peers: ReadonlyArray<PeerAddress>
  /** Hash everything at the next start (torrent-verify). */
  recheck: boolean
  /** Take the data as whole at the next start, unread (qBittorrent's skip_checking at add); once. */
  skipCheck: boolean
  /** Its data is being moved (TorrentLocation.ts): the queue does not start it meanwhile. */
  moving: boolean
  /** 0..1 of the data checked, while checking. */
  checked: number
  /** The pieces known good when last checked (shown while the torrent does not run). */
  have: Bitfield | undefined
  /** Every wanted piece is verified now (set by the check, and when the download completes). */
  complete: boolean
  /** The files wanted and their priorities (TorrentFiles.ts), numbered as the RPC numbers them. */
  files: FileChoices
  /** Changes to the files asked before a magnet's metadata was in: applied when it is. */
  pendingFiles: ReadonlyArray<FileChange>
  /** Bytes downloaded and uploaded in earlier runs (from the resume data). */
  previous: { readonly downloaded: number; readonly uploaded: number }
  /** Of those, the runs since this session started. */
  earlierInSession: { readonly downloaded: number; readonly uploaded: number }
  downloadLimit: number
  uploadLimit: number
  /** The limits' values kept while they are off (kB/s). */
  rememberedDownloadLimit: number
  rememberedUploadLimit: number
  /** Its own limits (bytes per second, 0 none), spent with the session's. */
  readonly buckets: { readonly down: TokenBucket; readonly up: TokenBucket }
  /** Its seeding goals (domain/SeedGoals.ts). */
  goals: TorrentGoals
  /** Stopped by its idle goal; cleared when started. */
  idleLimitReached: boolean
  /** Seconds run downloading and seeding over its life (counted each second by SessionClock.ts). */
  secondsDownloading: number
  secondsSeeding: number
  /** Seconds since the epoch: when its run last started (0: not in this daemon's run), when it last moved data. */
  startDate: number
  activityDate: number
  /** Bytes of pieces that failed their check in earlier runs. */
  corruptBefore: number
  /** The run's payload totals when last looked at (SessionClock.ts: a change is activity). */
  lastTransferred: { readonly downloaded: number; readonly uploaded: number }
}

/** Peers a torrent of the daemon connects to at most (Transmission's peer-limit-per-torrent default). */
export const peersPerTorrent = 50

/** What the session adds to each view: where it keeps .torrent files. */
export interface ViewContext {
  /** The folder of the kept .torrent files (`<hash>.torrent`). */
  readonly torrentFolder: string
}

/** What a torrent's source tells of it: its info hash and name, and its metainfo or the magnet link it came as. */
export type TorrentIdentity = Pick<Entry, "hash" | "name" | "metainfo" | "magnet">

const verifiedBytes = (layout: Layout.Layout, have: Bitfield): number => {
  let bytes = 0
  have.forEachSet((piece) => void (bytes += Layout.dataBytes(layout, piece)))
  return bytes
}

export const statusOf = (entry: Entry): Status => {
  switch (entry.phase) {
    case "stopped":
      return entry.paused ? Status.Stopped : entry.complete ? Status.SeedWait : Status.DownloadWait
    case "starting":
      return Status.CheckWait
    case "checking":
      return Status.Check
    case "metadata":
      return Status.Download
    case "running":
      return entry.handle !== undefined && entry.complete ? Status.Seed : Status.Download
  }
}

/** Each piece's hash in hex: the SHA-1s of a v1 or hybrid torrent, the piece layers' hashes of a v2-only one. */
export const pieceHashesOf = (m: Metainfo): ReadonlyArray<string> => {
  if (m.pieces.length > 0) {
    const out: Array<string> = []
    for (let at = 0; at + 20 <= m.pieces.length; at += 20) out.push(Buffer.from(m.pieces.subarray(at, at + 20)).toString("hex"))
    return out
  }
  return m.files.flatMap((f) => f.pieceLayer === undefined ? (f.piecesRoot === undefined ? [] : [Buffer.from(f.piecesRoot).toString("hex")])
    : Array.from({ length: f.pieceLayer.length / 32 }, (_, i) => Buffer.from(f.pieceLayer!.subarray(i * 32, i * 32 + 32)).toString("hex")))
}

/** The torrent's link: as it was added, or made from its metainfo as libtorrent's make_magnet_uri makes it
 *  (a v2-only torrent named by `urn:btmh` with its whole v2 hash, a hybrid by both). */
const magnetLinkOf = (entry: Entry): string => {
  if (entry.magnet !== undefined) return entry.magnet
  const m = entry.metainfo
  const v1 = m === undefined ? fromHex(entry.hash) ?? new Uint8Array(20) : m.infoHash
  return formatMagnet(Magnet.make({
    ...(v1 !== undefined ? { infoHash: infoHash(v1) } : {}),
    ...(m?.infoHashV2 !== undefined ? { infoHashV2: m.infoHashV2 } : {}),
    displayName: entry.name,
    ...(m === undefined ? {} : { trackers: trackerTiers(m).flat(), webSeeds: m.urlList })
  }))
}

/** What it has and what is left of the files wanted (Transmission's haveValid, sizeWhenDone, leftUntilDone)
 *  and its files as shown, from the verified pieces `have` (undefined: not checked yet). */
const progressOf = (entry: Entry, have: Bitfield | undefined, verified: number | undefined) => {
  const m = entry.metainfo
  if (m === undefined) return { haveValid: 0, sizeWhenDone: 0, left: 0, wanted: undefined, files: (): Array<FileView> => [] }
  const layout = layoutOf(m)
  const wanted = wantedPiecesOf(layout, entry.files)
  // Before its first check, a torrent done before is taken as having what it wanted.
  const known = have ?? (entry.complete ? wanted?.copy() ?? Bitfield.full(layout.pieceCount) : Bitfield.empty(layout.pieceCount))
  const haveValid = verified ?? verifiedBytes(layout, known)
  const files = (): Array<FileView> => {
    const unwanted = new Set(entry.files.unwanted)
    let shown = 0
    return m.files.flatMap((file, index) => {
      if (file.pad) return []
      const at = shown++
      return [{
        name: relativePath(m, file).join("/"),
        length: file.length,
        pieceRange: Layout.pieceRange(layout, index),
        bytesCompleted: fileBytesCompleted(layout, index, known),
        wanted: !unwanted.has(at),
        priority: entry.files.priorities[at] ?? 0
      }]
    })
  }
  // Every file wanted: the plain figures, without a pass over the pieces.
  return wanted === undefined
    ? { haveValid, sizeWhenDone: m.totalLength, left: m.totalLength - haveValid, wanted: Bitfield.full(layout.pieceCount), files }
    : { haveValid, sizeWhenDone: sizeWhenDone(layout, wanted, known), left: leftUntilDone(layout, wanted, known), wanted, files }
}

const peerView = (p: PeerStatus): PeerView => {
  const at = p.key.lastIndexOf(":")
  return {
    address: p.key.slice(0, at).replace(/^\[|\]$/g, ""),
    port: Number(p.key.slice(at + 1)),
    clientName: p.client,
    rateToClient: p.downloadRate,
    rateToPeer: p.uploadRate,
    peerId: Buffer.from(p.peerId).toString("base64"),
    bytesToClient: p.downloaded,
    bytesToPeer: p.uploaded,
    progress: p.pieces.pieceCount === 0 ? 0 : p.pieces.count / p.pieces.pieceCount,
    isDownloadingFrom: !p.peerChoking && p.amInterested,
    isUploadingTo: !p.amChoking && p.peerInterested,
    isIncoming: p.incoming,
    isEncrypted: p.encrypted,
    isUtp: p.utp
  }
}

/** The trackers of a torrent that does not announce now (stopped, queued, fetching its metadata): those
 *  of its metainfo or its magnet link, not contacted. */
const idleTrackers = (entry: Entry): Array<TrackerView> => {
  const tiers = entry.metainfo !== undefined
    ? trackerTiers(entry.metainfo)
    : Either.match(parseMagnet(entry.magnet ?? ""), { onLeft: (): ReadonlyArray<ReadonlyArray<string>> => [], onRight: (m) => m.trackers.map((url) => [url]) })
  return tiers.flatMap((urls, tier) =>
    urls.map((announce) => ({ announce, tier, state: "idle", lastError: "", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 })))
}

/** The view of one torrent now. Its costly parts (files, pieces, peers, trackers, the magnet link) are
 *  computed when read: a front end listing 1,000 torrents asks for a few fields of each. */
export const viewOf = (entry: Entry, context: ViewContext): Effect.Effect<TorrentView> =>
  Effect.gen(function* () {
    const m = entry.metainfo
    const handle = entry.handle
    const stats = handle === undefined ? undefined : yield* handle.stats
    const peers = handle === undefined ? [] : yield* handle.peers
    const have = handle === undefined ? entry.have : yield* handle.pieces
    const piecesInProgress = handle === undefined ? [] : yield* handle.piecesInProgress
    const totalSize = m?.totalLength ?? 0
    const { haveValid, sizeWhenDone: whenDone, left, wanted, files } = progressOf(entry, have, stats?.verifiedBytes)
    const rateDownload = stats?.downloadRate ?? 0
    const complete = m !== undefined && left === 0
    return {
      id: entry.id,
      hashString: entry.hash,
      name: entry.name,
      status: statusOf(entry),
      hasMetadata: m !== undefined,
      totalSize,
      haveValid,
      sizeWhenDone: whenDone,
      leftUntilDone: left,
      percentDone: whenDone === 0 ? (m === undefined ? 0 : 1) : (whenDone - left) / whenDone,
      rateDownload,
      rateUpload: stats?.uploadRate ?? 0,
      downloadedEver: entry.previous.downloaded + (stats?.downloadedBytes ?? 0),
      uploadedEver: entry.previous.uploaded + (stats?.uploadedBytes ?? 0),
      downloadedSession: entry.earlierInSession.downloaded + (stats?.downloadedBytes ?? 0),
      uploadedSession: entry.earlierInSession.uploaded + (stats?.uploadedBytes ?? 0),
      peersConnected: stats?.peers ?? 0,
      seeds: stats?.seeds ?? 0,
      eta: complete ? -1 : rateDownload > 0 ? Math.round(left / rateDownload) : -2,
      error: entry.error === "" ? 0 : 3,
      errorString: entry.error,
      downloadDir: entry.downloadDir,
      addedDate: entry.addedDate,
      doneDate: entry.doneDate,
      get magnetLink() {
        return magnetLinkOf(entry)
      },
      isPrivate: m?.private ?? false,
      pieceCount: m?.pieceCount ?? 0,
      pieceSize: m?.pieceLength ?? 0,
      get pieces() {
        return have === undefined ? "" : Buffer.from(have.toBytes()).toString("base64")
      },
      piecesInProgress,
      get wantedPieces() {
        return wanted === undefined ? "" : Buffer.from(wanted.toBytes()).toString("base64")
      },
      get files() {
        return files()
      },
      get peers() {
        return peers.map(peerView)
      },
      get pieceHashes() {
        return m === undefined ? [] : pieceHashesOf(m)
      },
      get availability() {
        const counts = new Array<number>(m?.pieceCount ?? 0).fill(0)
        for (const p of peers) {
          for (let i = 0; i < counts.length; i++) if (p.pieces.has(i)) counts[i]!++
        }
        return counts
      },
      get trackers() {
        if (stats === undefined) return idleTrackers(entry)
        return stats.trackers.map((t, tier) => ({
          announce: t.url,
          tier,
          state: t.state === "pending" ? "waiting" : t.state,
          lastError: t.error ?? "",
          peers: t.peers,
          seeders: t.seeders ?? -1,
          leechers: t.leechers ?? -1,
          nextAnnounceTime: t.nextAnnounceAt === undefined ? 0 : Math.floor(t.nextAnnounceAt / 1000)
        }))
      },
      downloadLimit: entry.downloadLimit,
      uploadLimit: entry.uploadLimit,
      rememberedDownloadLimit: entry.rememberedDownloadLimit,
      rememberedUploadLimit: entry.rememberedUploadLimit,
      queuePosition: entry.queuePosition,
      recheckProgress: entry.phase === "checking" ? entry.checked : 0,
      startDate: entry.startDate,
      activityDate: entry.activityDate,
      secondsDownloading: entry.secondsDownloading,
      secondsSeeding: entry.secondsSeeding,
      corruptEver: entry.corruptBefore + (stats?.hashFailures ?? 0) * (m?.pieceLength ?? 0),
      comment: m?.comment ?? "",
      creator: m?.createdBy ?? "",
      dateCreated: m?.creationDate ?? 0,
      source: m?.source ?? "",
      webseeds: m?.urlList ?? [],
      torrentFile: m === undefined ? "" : path.join(context.torrentFolder, `${entry.hash}.torrent`),
      ...entry.goals,
      idleLimitReached: entry.idleLimitReached,
      category: entry.category,
      tags: entry.tags,
      savePath: entry.savePath,
      autoManaged: entry.autoManaged,
      sequential: entry.sequential,
      forced: entry.forced,
      moving: entry.moving,
      maxPeers: peersPerTorrent,
      metadataPercentComplete: m === undefined ? 0 : 1
    } satisfies TorrentView
  })
