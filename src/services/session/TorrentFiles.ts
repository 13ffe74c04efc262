/**
 * A torrent's files as chosen in the session: the files wanted and their priorities (domain/FileChoices.ts),
 * kept on its entry and saved with the list. A change reaches a running torrent at once: a new priority
 * through its handle, a new set of files wanted by restarting its run, so that torrent/Selection.ts parks
 * the files no longer wanted in the part file and moves those wanted again into place (a live change of
 * the pieces wanted would leave the files on disk as they were). A torrent whose metadata is not known yet
 * (a magnet) keeps the changes for when it is.
 */
import * as Effect from "effect/Effect"
import type { Bitfield } from "../../domain/Bitfield.js"
import { applyFileChange, type FileChange, type FileChoices, layoutPriorities, selectionOf, wantedPiecesOf } from "../../domain/FileChoices.js"
import { wantedComplete } from "../../domain/FileProgress.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import type { Entry } from "./SessionEntry.js"

/** The files the RPC numbers: the torrent's, but its pad files. */
export const shownFileCount = (m: Metainfo): number => m.files.filter((f) => !f.pad).length

/** Torrent.start's `selection` and `filePriorities` for the entry's choices (absent: all, normal). */
export const runOptions = (m: Metainfo, choices: FileChoices) => {
  const layout = layoutOf(m)
  const selection = selectionOf(layout, choices)
  const priorities = layoutPriorities(layout, choices)
  return {
    ...(selection === undefined ? {} : { selection }),
    ...(priorities === undefined ? {} : { filePriorities: priorities })
  }
}

/** Whether every wanted piece of `have` is verified. */
export const isComplete = (m: Metainfo, choices: FileChoices, have: Bitfield): boolean =>
  wantedComplete(wantedPiecesOf(layoutOf(m), choices), have)

/** The changes kept for a magnet's metadata, now that it is known. */
export const applyPending = (entry: Entry): void => {
  const m = entry.metainfo
  if (m === undefined) return
  for (const change of entry.pendingFiles) entry.files = applyFileChange(entry.files, change, shownFileCount(m))
  entry.pendingFiles = []
}

const sameList = <A>(a: ReadonlyArray<A>, b: ReadonlyArray<A>) => a.length === b.length && a.every((x, i) => x === b[i])

/** Whether two choices want the same files, and give them the same priorities. */
export const sameWanted = (a: FileChoices, b: FileChoices): boolean => sameList(a.unwanted, b.unwanted)
export const samePriorities = (a: FileChoices, b: FileChoices): boolean => sameList(a.priorities, b.priorities)

/**
 * Applies `change` to the entry. Gives `restart`: the files wanted changed while its run has a torrent
 * going (the caller stops the run and lets the queue start it again). A new priority goes to the running
 * torrent here; a stopped torrent's completeness follows the new choice of files.
 */
export const change = (entry: Entry, fileChange: FileChange): Effect.Effect<{ readonly restart: boolean }> =>
  Effect.gen(function*() {
    const m = entry.metainfo
    if (m === undefined) {
      entry.pendingFiles = [...entry.pendingFiles, fileChange]
      return { restart: false }
    }
    const before = entry.files
    entry.files = applyFileChange(before, fileChange, shownFileCount(m))
    const wantedChanged = !sameWanted(before, entry.files)
    const prioritiesChanged = !samePriorities(before, entry.files)
    if (entry.phase === "running" && entry.handle !== undefined) {
      if (wantedChanged) return { restart: true }
      if (prioritiesChanged) yield* entry.handle.setFilePriorities(layoutPriorities(layoutOf(m), entry.files) ?? [])
      return { restart: false }
    }
    // Not running: it is checked again against these choices when it starts; until then its status says
    // whether the files now wanted are all there.
    if (wantedChanged && entry.phase === "stopped" && entry.have !== undefined) entry.complete = isComplete(m, entry.files, entry.have)
    return { restart: false }
  })
