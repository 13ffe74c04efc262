/**
 * A torrent's files as a front end chooses them (Transmission's `files-wanted`, `files-unwanted`,
 * `priority-high`, `priority-normal`, `priority-low`): which files are wanted and each one's priority.
 * Numbered as the RPC numbers files, the torrent's files without its BEP 47 pad files (`visibleFiles`
 * maps them to the layout's); an empty list in a change means every file, as Transmission reads it.
 * Pure; the session keeps the choices, the torrent gets them as a selection and file priorities.
 */
import type { Bitfield } from "./Bitfield.js"
import { type FilePriority, wantedPieces } from "./FileSelection.js"
import type * as Layout from "./Layout.js"

/** The files named by a change: these (0-based) or all of them (an empty list on the wire). */
export type FileIndices = ReadonlyArray<number> | "all"

/** One request's change to the files; what it does not name stays. */
export interface FileChange {
  readonly wanted?: FileIndices
  readonly unwanted?: FileIndices
  readonly high?: FileIndices
  readonly normal?: FileIndices
  readonly low?: FileIndices
}

/** The choices of a torrent: the files not wanted (sorted), and each file's priority (empty or short: normal). */
export interface FileChoices {
  readonly unwanted: ReadonlyArray<number>
  readonly priorities: ReadonlyArray<FilePriority>
}

/** Every file wanted, at normal priority. */
export const allWanted: FileChoices = { unwanted: [], priorities: [] }

export const isEmptyChange = (change: FileChange): boolean =>
  change.wanted === undefined && change.unwanted === undefined && change.high === undefined && change.normal === undefined &&
  change.low === undefined

/** The files named, below `fileCount` (Transmission ignores an index past the last file). */
const named = (which: FileIndices, fileCount: number): ReadonlyArray<number> =>
  which === "all" ? Array.from({ length: fileCount }, (_, i) => i) : which.filter((i) => Number.isInteger(i) && i >= 0 && i < fileCount)

/** Whether a change names a file that a torrent of `fileCount` files does not have. */
export const outOfRange = (change: FileChange, fileCount: number): boolean =>
  [change.wanted, change.unwanted, change.high, change.normal, change.low].some((which) =>
    which !== undefined && which !== "all" && which.some((i) => i < 0 || i >= fileCount))

/** The choices after a change, for a torrent of `fileCount` files. Wanted before unwanted, then the
 *  priorities high, normal, low, as Transmission's torrent-set applies them. */
export const applyFileChange = (choices: FileChoices, change: FileChange, fileCount: number): FileChoices => {
  const unwanted = new Set(choices.unwanted.filter((i) => i < fileCount))
  if (change.wanted !== undefined) for (const i of named(change.wanted, fileCount)) unwanted.delete(i)
  if (change.unwanted !== undefined) for (const i of named(change.unwanted, fileCount)) unwanted.add(i)
  const priorities: Array<FilePriority> = Array.from({ length: fileCount }, (_, i) => choices.priorities[i] ?? 0)
  const setAll = (which: FileIndices | undefined, priority: FilePriority) => {
    if (which !== undefined) for (const i of named(which, fileCount)) priorities[i] = priority
  }
  setAll(change.high, 1)
  setAll(change.normal, 0)
  setAll(change.low, -1)
  return { unwanted: [...unwanted].sort((a, b) => a - b), priorities: priorities.every((p) => p === 0) ? [] : priorities }
}

/** The layout's index of each file the RPC numbers (pad files are not shown). */
export const visibleFiles = (layout: Layout.Layout): ReadonlyArray<number> =>
  layout.files.flatMap((f, index) => (f.pad ? [] : [index]))

/** The torrent's selection (layout indices, pad files left out), or undefined when every file is wanted. */
export const selectionOf = (layout: Layout.Layout, choices: FileChoices): ReadonlyArray<number> | undefined => {
  if (choices.unwanted.length === 0) return undefined
  const unwanted = new Set(choices.unwanted)
  return visibleFiles(layout).filter((_, shown) => !unwanted.has(shown))
}

/** The pieces wanted (a byte of a wanted file in each), or undefined when every file is wanted. */
export const wantedPiecesOf = (layout: Layout.Layout, choices: FileChoices): Bitfield | undefined => {
  const selection = selectionOf(layout, choices)
  return selection === undefined ? undefined : wantedPieces(layout, selection)
}

/** Each layout file's priority (pad files normal), or undefined when all are normal. */
export const layoutPriorities = (layout: Layout.Layout, choices: FileChoices): ReadonlyArray<FilePriority> | undefined => {
  if (choices.priorities.length === 0) return undefined
  const out: Array<FilePriority> = layout.files.map(() => 0)
  visibleFiles(layout).forEach((index, shown) => {
    out[index] = choices.priorities[shown] ?? 0
  })
  return out
}
