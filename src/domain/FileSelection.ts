/**
 * Which files of a torrent to download: parsed from `--files 1,4-7` (1-based, in torrent order, as
 * aria2c's `--select-file` counts), from `--only GLOB` (paths matched against a small glob), or from a
 * magnet's BEP 53 `so=` (0-based). The result is a set of 0-based file indices; from it and a layout come
 * the pieces to fetch (`wantedPieces`) and the bytes selected.
 */
import * as Either from "effect/Either"
import { Bitfield } from "./Bitfield.js"
import * as Layout from "./Layout.js"

/** `1,4-7` as 1-based ranges (`[from, to]`), syntax only; a one-line reason when bad. */
export const parseRanges = (text: string): Either.Either<ReadonlyArray<readonly [number, number]>, string> => {
  const out: Array<readonly [number, number]> = []
  for (const raw of text.split(",")) {
    const part = raw.trim()
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part)
    if (m === null) return Either.left(`--files: "${part}" is not a file number or a range like 4-7`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (from < 1 || to < from) return Either.left(`--files: "${part}" is not a range of file numbers from 1`)
    out.push([from, to])
  }
  return Either.right(out)
}

/** `1,4-7` (1-based, as typed) into sorted 0-based indices, each below `fileCount`. */
export const parseFileList = (text: string, fileCount: number): Either.Either<ReadonlyArray<number>, string> =>
  Either.flatMap(parseRanges(text), (ranges) => {
    const past = ranges.find(([, to]) => to > fileCount)
    if (past !== undefined) return Either.left(`--files: ${past[1]} is past the last file (${fileCount})`)
    const out = new Set<number>()
    for (const [from, to] of ranges) for (let n = from; n <= to; n++) out.add(n - 1)
    return Either.right([...out].sort((a, b) => a - b))
  })

const escapeRegExp = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")

/**
 * A glob over `/`-separated paths as a RegExp: `*` any run within a path component, `?` one character but
 * `/`, `**` any run of components (`**\/` also none), `[abc]` / `[a-z]` / `[!a]` a class. A pattern without
 * a `/` matches the file name in any folder (`*.mkv`), as .gitignore does. Fails on an unclosed class.
 */
export const globToRegExp = (glob: string): Either.Either<RegExp, string> => {
  let re = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++
        if (glob[i + 1] === "/") {
          i++
          re += "(?:.*/)?"
        } else re += ".*"
      } else re += "[^/]*"
    } else if (c === "?") re += "[^/]"
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2)
      if (end < 0) return Either.left(`--only: "${glob}" has an unclosed [`)
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith("!")
      if (negate) body = body.slice(1)
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`
      i = end
    } else re += escapeRegExp(c)
  }
  const anywhere = !glob.includes("/")
  return Either.right(new RegExp(`^${anywhere ? "(?:.*/)?" : ""}${re}$`, "s"))
}

/** The 0-based indices of the paths (`/`-separated, below the torrent's folder) any glob matches. */
export const matchGlobs = (
  globs: ReadonlyArray<string>,
  paths: ReadonlyArray<string>
): Either.Either<ReadonlyArray<number>, string> => {
  const patterns: Array<RegExp> = []
  for (const glob of globs) {
    const r = globToRegExp(glob)
    if (Either.isLeft(r)) return Either.left(r.left)
    patterns.push(r.right)
  }
  const out: Array<number> = []
  paths.forEach((p, index) => {
    if (patterns.some((re) => re.test(p))) out.push(index)
  })
  return Either.right(out)
}

/** The pieces that hold a byte of a selected file (pad files and empty files have none of their own). */
export const wantedPieces = (layout: Layout.Layout, selected: ReadonlyArray<number>): Bitfield => {
  const wanted = Bitfield.empty(layout.pieceCount)
  for (const file of selected) {
    const f = layout.files[file]
    if (f === undefined || f.pad) continue
    const range = Layout.piecesOfFile(layout, file)
    if (range === undefined) continue
    for (let piece = range.first; piece <= range.last; piece++) wanted.set(piece)
  }
  return wanted
}

/** Bytes of the selected files (pad files excluded). */
export const selectedBytes = (layout: Layout.Layout, selected: ReadonlyArray<number>): number => {
  let bytes = 0
  for (const file of selected) {
    const f = layout.files[file]
    if (f !== undefined && !f.pad) bytes += f.length
  }
  return bytes
}

/** Bytes of the selected files held in verified pieces. */
export const selectedDone = (layout: Layout.Layout, selected: ReadonlyArray<number>, have: Bitfield): number => {
  let bytes = 0
  for (const file of selected) {
    const f = layout.files[file]
    if (f !== undefined && !f.pad) bytes += Layout.fileBytesIn(layout, file, (piece) => have.has(piece))
  }
  return bytes
}

/** A file's priority, as the Transmission RPC numbers them: its pieces are picked after every piece of a
 *  higher priority that a peer can give (libtorrent's file priorities, in three steps). */
export type FilePriority = -1 | 0 | 1

export const lowPriority: FilePriority = -1
export const normalPriority: FilePriority = 0
export const highPriority: FilePriority = 1

/** Each piece's priority: the highest of the files it holds bytes of (a piece shared by a high and a low
 *  file is needed for the high one). Files absent from `priorities` are normal. */
export const piecePriorities = (layout: Layout.Layout, priorities: ReadonlyArray<FilePriority>): Int8Array => {
  const out = new Int8Array(layout.pieceCount).fill(-2)
  layout.files.forEach((file, index) => {
    const range = file.pad ? undefined : Layout.piecesOfFile(layout, index)
    if (range === undefined) return
    const priority = priorities[index] ?? normalPriority
    for (let piece = range.first; piece <= range.last; piece++) if (priority > out[piece]!) out[piece] = priority
  })
  for (let piece = 0; piece < out.length; piece++) if (out[piece] === -2) out[piece] = normalPriority
  return out
}
