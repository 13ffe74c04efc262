/**
 * A parsed .torrent: the torrent's identity (info hashes over the raw `info` bytes), its content (files
 * with sanitised paths beside their original names, pieces) and where to find peers (trackers, web
 * seeds). `decodeMetainfo` in `MetainfoDecode.ts` builds it from a bencode value; this module holds the
 * value, its Schema and what is derived from it.
 */
import * as Schema from "effect/Schema"
import { InfoHash, InfoHashV2 } from "./InfoHash.js"
import * as Layout from "./Layout.js"

export const TorrentFile = Schema.Struct({
  /** Safe path components relative to the torrent's root (for multi-file torrents, inside `safeName`). */
  path: Schema.Array(Schema.String),
  /** The path components exactly as the torrent names them. */
  rawPath: Schema.Array(Schema.Uint8ArrayFromSelf),
  /** The original path as text, for display (non-UTF-8 bytes shown as U+FFFD). */
  displayPath: Schema.String,
  length: Schema.Number,
  /** A BEP 47 pad file: occupies piece space, is never written to disk. */
  pad: Schema.Boolean,
  /** BEP 47 attributes as given (`p` pad, `x` executable, `h` hidden, `l` symlink). */
  attr: Schema.String,
  /** A symlink's target (BEP 47); bt-effect never creates symlinks. */
  symlinkPath: Schema.optional(Schema.Array(Schema.String)),
  /** The BEP 52 merkle root of the file's 16 KiB blocks. */
  piecesRoot: Schema.optional(Schema.Uint8ArrayFromSelf),
  /** BEP 52: the file's piece layer (a hash per piece, checked against `piecesRoot`), from the .torrent's
   *  `piece layers` or from peers; absent for a file no longer than a piece (its root is its one piece's
   *  hash) and while unknown. */
  pieceLayer: Schema.optional(Schema.Uint8ArrayFromSelf)
})
export type TorrentFile = typeof TorrentFile.Type

export const MetaVersion = Schema.Literal("v1", "v2", "hybrid")
export type MetaVersion = typeof MetaVersion.Type

export const Metainfo = Schema.Struct({
  /** The v1 info hash (SHA-1 of the raw info bytes); absent for v2-only torrents. */
  infoHash: Schema.optional(InfoHash),
  /** The v2 info hash (SHA-256 of the raw info bytes), for v2 and hybrid torrents. */
  infoHashV2: Schema.optional(InfoHashV2),
  /** The raw bencoded info dictionary, exactly as it appeared in the file. */
  infoBytes: Schema.Uint8ArrayFromSelf,
  version: MetaVersion,
  name: Schema.String,
  rawName: Schema.Uint8ArrayFromSelf,
  /** The name as one safe file or folder name. */
  safeName: Schema.String,
  multiFile: Schema.Boolean,
  pieceLength: Schema.Number,
  /** v2 and hybrid: the hashes in `piece layers` (checked against the pieces roots), all files together. */
  pieceLayerHashes: Schema.optional(Schema.Number),
  /** The concatenated 20-byte SHA-1 piece hashes (empty for v2-only torrents). */
  pieces: Schema.Uint8ArrayFromSelf,
  pieceCount: Schema.Number,
  /** The bytes of the torrent's files, pad files left out (the piece space, pads in, is `layoutOf`'s). */
  totalLength: Schema.Number,
  /** The files in piece-space order, BEP 47 pad files among them. A v2-only torrent's hold the pads that
   *  bt-effect lays after each file, as libtorrent does, so that its files start on piece boundaries. */
  files: Schema.Array(TorrentFile),
  private: Schema.Boolean,
  announce: Schema.optional(Schema.String),
  announceList: Schema.Array(Schema.Array(Schema.String)),
  urlList: Schema.Array(Schema.String),
  comment: Schema.optional(Schema.String),
  createdBy: Schema.optional(Schema.String),
  creationDate: Schema.optional(Schema.Number),
  /** The info dictionary's `source` (private trackers' tag). */
  source: Schema.optional(Schema.String),
  /** What was odd but tolerated: unsorted keys, trailing bytes, unsafe paths, dropped entries. */
  warnings: Schema.Array(Schema.String)
})
export type Metainfo = typeof Metainfo.Type

/**
 * The 20-byte hash the torrent is known by: its v1 info hash, or a v2-only torrent's v2 hash truncated to
 * 20 bytes. It names the resume data, the daemon's entry and RPC `hashString`, and it is the handshake's
 * hash towards v1 peers, as libtorrent's and qBittorrent's torrent id.
 */
export const torrentHash = (m: Pick<Metainfo, "infoHash" | "infoHashV2">): InfoHash =>
  m.infoHash ?? InfoHash.make(m.infoHashV2!.subarray(0, 20))

/** A v2 or hybrid torrent's v2 hash truncated to 20 bytes, as v2 peers handshake and trackers announce it. */
export const truncatedV2 = (m: Pick<Metainfo, "infoHashV2">): InfoHash | undefined =>
  m.infoHashV2 === undefined ? undefined : InfoHash.make(m.infoHashV2.subarray(0, 20))

/** Every 20-byte hash the swarm knows the torrent by, the one it is known by first: a hybrid has two. */
export const swarmHashes = (m: Pick<Metainfo, "infoHash" | "infoHashV2">): ReadonlyArray<InfoHash> => {
  const v2 = truncatedV2(m)
  return m.infoHash !== undefined && v2 !== undefined ? [m.infoHash, v2] : [torrentHash(m)]
}

const layouts = new WeakMap<Metainfo, Layout.Layout>()

/** The piece layout of the v1 piece space (pad files included); made once per metainfo (it is immutable),
 *  since every view of a torrent in a list of 1,000 asks for it. */
export const layoutOf = (m: Metainfo): Layout.Layout => {
  let layout = layouts.get(m)
  if (layout === undefined) {
    layout = Layout.make(m.pieceLength, m.files.map((f) => ({ length: f.length, pad: f.pad })))
    layouts.set(m, layout)
  }
  return layout
}

/** The expected SHA-1 of a piece, as a view into `pieces`. */
export const pieceHash = (m: Metainfo, piece: number): Uint8Array => m.pieces.subarray(piece * 20, piece * 20 + 20)

/**
 * Tracker tiers per BEP 12: `announce-list` when present, else the single `announce`. Duplicate URLs are
 * dropped; empty tiers removed.
 */
export const trackerTiers = (m: Metainfo): ReadonlyArray<ReadonlyArray<string>> => {
  const source = m.announceList.length > 0 ? m.announceList : m.announce !== undefined ? [[m.announce]] : []
  const seen = new Set<string>()
  const tiers: Array<Array<string>> = []
  for (const tier of source) {
    const urls = tier.filter((u) => u !== "" && !seen.has(u) && seen.add(u) !== undefined)
    if (urls.length > 0) tiers.push(urls)
  }
  return tiers
}

/** Where a file lives relative to the download folder. */
export const relativePath = (m: Metainfo, file: TorrentFile): ReadonlyArray<string> =>
  m.multiFile ? [m.safeName, ...file.path] : [m.safeName]
