/**
 * A torrent with some of its files selected (`TorrentOptions.selection`): the pieces the picker may start,
 * the storage with the other files parked in the part file (storage/PartFile.ts), and the selected bytes
 * for the figures. A file selected now that was parked at the last checkpoint (the resume data says which)
 * gets its bytes in verified pieces moved into place before anything is written.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import * as FileSelection from "../../domain/FileSelection.js"
import * as Layout from "../../domain/Layout.js"
import { type Metainfo, torrentHash } from "../../domain/Metainfo.js"
import { pieceChecker } from "../../domain/V2Pieces.js"
import * as PartFile from "../storage/PartFile.js"
import { ResumeStore } from "../storage/ResumeStore.js"
import type { TorrentStorage } from "../storage/Storage.js"

export interface Selected {
  /** The pieces to fetch; undefined: all. */
  readonly wanted: Bitfield | undefined
  readonly storage: TorrentStorage
  /** The files parked now (not selected), for the resume data. */
  readonly parked: ReadonlyArray<number>
  /** The parked files differ from those the resume data names (bytes were moved): a checkpoint is due. */
  readonly changed: boolean
  /** Bytes of the selected files, and those of them in verified pieces. */
  readonly length: number
  readonly done: (have: Bitfield) => number
}

/** `select` for `selection` (absent: every file), with `parkedFiles` the files to keep out of the folder
 *  (see `toPark`). */
export const select = (
  metainfo: Metainfo,
  root: string,
  layout: Layout.Layout,
  storage: TorrentStorage,
  selection: ReadonlyArray<number> | undefined,
  parkedFiles: ReadonlySet<number>,
  have: Bitfield
): Effect.Effect<Selected, StorageError, ResumeStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* ResumeStore
    const files = selection ?? layout.files.map((_, i) => i)
    const chosen = new Set(files)
    const parked = [...parkedFiles].sort((a, b) => a - b)
    const before = yield* parkedBefore(metainfo, root)
    const figures = {
      length: FileSelection.selectedBytes(layout, files),
      done: (now: Bitfield) => FileSelection.selectedDone(layout, files, now)
    }
    const changed = before.length !== parked.length || before.some((f, i) => parked[i] !== f)
    if (before.length === 0 && parked.length === 0) return { wanted: undefined, storage, parked, changed, ...figures }
    const part = yield* store.parts(torrentHash(metainfo))
    const stored = parked.length === 0 ? storage : PartFile.parked(storage, layout, new Set(parked), part)
    // Bytes parked before of files selected now: into place first, and checked again (a part file lost
    // since would leave zeros in pieces counted as verified: those are fetched again).
    const unparked = before.filter((f) => chosen.has(f))
    if (unparked.length > 0) {
      const moved = yield* PartFile.unpark(storage, layout, unparked, part, have)
      const holds = pieceChecker(metainfo)
      for (const piece of moved) {
        const data = yield* stored.read(piece, 0, Layout.pieceSize(layout, piece))
        if (!holds(piece, data)) have.clear(piece)
      }
    }
    return { wanted: selection === undefined ? undefined : FileSelection.wantedPieces(layout, files), storage: stored, parked, changed, ...figures }
  })

/** The files parked at the last checkpoint of this torrent in this folder (none without one). A torrent
 *  complete at start with files parked must still move them into place (Torrent.start opens it for
 *  writing then): a file parked whole inside pieces its neighbours needed is complete in the part file. */
export const parkedBefore = (metainfo: Metainfo, root: string) =>
  Effect.map(Effect.flatMap(ResumeStore, (store) => store.load(torrentHash(metainfo))), (loaded) => {
    const saved = Option.getOrUndefined(loaded)
    return saved !== undefined && saved.root === path.resolve(root) ? saved.parked ?? [] : []
  })

/**
 * The files to park: not in `selection`, not pad files, and not on disk (`stamps`, taken before the storage
 * opens). A file already there keeps its bytes where they are: reading them from an empty part file would
 * serve zeros for pieces counted as verified.
 */
export const toPark = (
  layout: Layout.Layout,
  selection: ReadonlyArray<number> | undefined,
  stamps: ReadonlyArray<unknown>
): ReadonlySet<number> => {
  const out = new Set<number>()
  if (selection === undefined) return out
  const chosen = new Set(selection)
  layout.files.forEach((f, i) => {
    if (!chosen.has(i) && !f.pad && stamps[i] === undefined) out.add(i)
  })
  return out
}
