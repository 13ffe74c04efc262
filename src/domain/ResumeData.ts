/**
 * Resume data: what a torrent had verified at its last checkpoint, and how its files looked on disk then
 * (size and modification time). On the next start, a piece it names is trusted without hashing only when
 * every file the piece touches still looks the same; anything else is checked by hashing, never assumed.
 *
 * A checkpoint is taken so that it never claims too much: the pieces are listed before the files are
 * flushed and stamped, so every piece listed was written, and flushed, before the stamps were taken.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Bitfield } from "./Bitfield.js"
import { InfoHash, InfoHashV2 } from "./InfoHash.js"
import * as Layout from "./Layout.js"

/** A file as it was on disk at the checkpoint (Storage's FileStamp as a Schema). */
export const FileStamp = Schema.Struct({
  size: Schema.NonNegativeInt,
  mtimeNs: Schema.BigIntFromSelf
})
export type FileStamp = typeof FileStamp.Type

export class ResumeData extends Schema.Class<ResumeData>("ResumeData")({
  /** The hash the torrent is known by (Metainfo.torrentHash: v1, or a v2-only torrent's truncated v2). */
  infoHash: InfoHash,
  /** A v2 or hybrid torrent's whole v2 hash: the data is of this torrent, not of one that shares the
   *  20 bytes it is known by. Absent for a v1 torrent (and in data written before v2). */
  infoHashV2: Schema.optional(InfoHashV2),
  /** The download folder, resolved: data found under another folder is checked. */
  root: Schema.String,
  pieceCount: Schema.NonNegativeInt,
  /** The verified pieces, as a wire bitfield (piece 0 is the high bit of byte 0). */
  pieces: Schema.Uint8ArrayFromSelf,
  /** By torrent file index; null for a file not stored (pad files) or missing at the checkpoint. */
  files: Schema.Array(Schema.NullOr(FileStamp)),
  /** Totals over the torrent's whole life, carried across restarts. */
  downloaded: Schema.NonNegativeInt,
  uploaded: Schema.NonNegativeInt,
  /** When it was written, ms since the epoch. */
  savedAt: Schema.Int,
  /** Files not selected at the checkpoint (file selection): their bytes in verified pieces are in the
   *  state folder's part file, not under `root`. Absent: none (resume data from before selection). */
  parked: Schema.optional(Schema.Array(Schema.NonNegativeInt))
}) {}

/** What to do with the data found on disk at start. */
export interface ResumeDecision {
  /** Pieces recorded as verified whose files are unchanged: trusted without hashing. */
  readonly trusted: Bitfield
  /** Pieces to hash: those touching a file that changed since the checkpoint (or with no checkpoint at
   *  all), as long as every file they touch exists. In increasing order. */
  readonly toCheck: ReadonlyArray<number>
  /** Why the checkpoint was not used for some files, for the user (empty when it matched). */
  readonly why: string | undefined
}

const sameStamp = (a: FileStamp | null | undefined, b: FileStamp | undefined): boolean =>
  a !== null && a !== undefined && b !== undefined && a.size === b.size && a.mtimeNs === b.mtimeNs

/**
 * Compares a checkpoint (if any) with the files as they are now (`stamps`, by file index, undefined for a
 * file missing or not stored; `stored` says which files hold bytes at all).
 */
export const decide = (
  layout: Layout.Layout,
  saved: ResumeData | undefined,
  stamps: ReadonlyArray<{ readonly size: number; readonly mtimeNs: bigint } | undefined>,
  stored: ReadonlyArray<boolean>
): ResumeDecision => {
  const pieceCount = layout.pieceCount
  const trusted = Bitfield.empty(pieceCount)
  const parsed = saved !== undefined && saved.pieceCount === pieceCount && saved.files.length === layout.files.length
    ? Bitfield.fromBytes(saved.pieces, pieceCount)
    : undefined
  const recorded = parsed !== undefined && Either.isRight(parsed) ? parsed.right : undefined
  const usable = recorded !== undefined && saved !== undefined
  // Per file: unchanged since the checkpoint, and present now. A parked file (not selected: its bytes in
  // shared pieces are in the part file) that is still not on disk is unchanged too.
  const parked = new Set(usable ? saved.parked ?? [] : [])
  const stillParked = (i: number) => parked.has(i) && saved?.files[i] === null && stamps[i] === undefined
  const unchanged = layout.files.map((_, i) => !stored[i]! || (usable && (sameStamp(saved.files[i], stamps[i]) || stillParked(i))))
  const present = layout.files.map((f, i) => !stored[i]! || f.length === 0 || stamps[i] !== undefined)
  const toCheck: Array<number> = []
  const changed = new Set<number>()
  for (let piece = 0; piece < pieceCount; piece++) {
    let allUnchanged = true
    let allPresent = true
    for (const span of Layout.spans(layout, piece, 0, Layout.pieceSize(layout, piece))) {
      if (!unchanged[span.file]!) {
        allUnchanged = false
        changed.add(span.file)
      }
      if (!present[span.file]!) allPresent = false
    }
    if (allUnchanged && recorded !== undefined) {
      if (recorded.has(piece)) trusted.set(piece)
    } else if (allPresent) {
      toCheck.push(piece)
    }
  }
  const presentChanged = [...changed].filter((f) => stamps[f] !== undefined).length
  const why = saved === undefined
    ? stamps.some((s) => s !== undefined) ? "no resume data" : undefined
    : !usable
    ? "resume data for another layout"
    : presentChanged > 0
    ? `${presentChanged} file(s) changed since the last checkpoint`
    : undefined
  return { trusted, toCheck, why }
}
