/**
 * A client torrent's files: which to download (`AddOptions.files`, by the numbers `bt-effect info` shows,
 * or a magnet's `so=`), and each file as a `TorrentFile` that reads its bytes as they arrive
 * (torrent/TorrentReader: a piece given once verified, deadlines for the pieces under the read).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { StorageError, UsageError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import * as TorrentReader from "../torrent/TorrentReader.js"
import type { ReadRange, TorrentFile } from "./Client.js"

const usage = (detail: string) => new UsageError({ reason: "Option", detail })

/**
 * The 0-based indices to pass to Torrent.start's `selection`: `files` (1-based, as `info` numbers them,
 * pad files counted and refused), else a magnet's `so=` (0-based), else undefined (every file). Sorted,
 * each once.
 */
export const chooseFiles = (
  metainfo: Metainfo,
  files: ReadonlyArray<number> | undefined,
  selectOnly: ReadonlyArray<number> | undefined
): Effect.Effect<ReadonlyArray<number> | undefined, UsageError> =>
  Effect.gen(function* () {
    const count = metainfo.files.length
    if (files === undefined) {
      if (selectOnly === undefined) return undefined
      const past = selectOnly.find((i) => i >= count)
      if (past !== undefined) return yield* usage(`the magnet's so= names file ${past} (0-based); the torrent has ${count} files`)
      return [...new Set(selectOnly)].sort((a, b) => a - b)
    }
    if (files.length === 0) return yield* usage("files: the list is empty (leave it out to download every file)")
    const chosen = new Set<number>()
    for (const n of files) {
      if (!Number.isSafeInteger(n) || n < 1 || n > count) {
        return yield* usage(`files: ${n} is not a file number of the torrent (1 to ${count}, as bt-effect info shows them)`)
      }
      if (metainfo.files[n - 1]!.pad) return yield* usage(`files: ${n} is a pad file, not a file of the torrent`)
      chosen.add(n - 1)
    }
    return [...chosen].sort((a, b) => a - b)
  })

/** `range` of a file of `length` bytes as offsets in the file (`end` included; `start > end`: nothing),
 *  as fs.createReadStream reads them; a sentence when it is no range. */
export const fileRange = (range: ReadRange, length: number): { readonly start: number; readonly end: number } | string => {
  const start = range.start ?? 0
  const end = range.end ?? Infinity
  if (!Number.isSafeInteger(start) || start < 0) return `start must be a whole number from 0, not ${start}`
  if (end !== Infinity && (!Number.isSafeInteger(end) || end < 0)) return `end must be a whole number from 0, not ${end}`
  if (start > end) return `start (${start}) is after end (${end})`
  return { start, end: Math.min(end, length - 1) }
}

/** The path of file `index` as TorrentFileInfo gives it: relative to the download folder, `/` between parts. */
export const filePath = (m: Metainfo, index: number): string =>
  (m.multiFile ? [m.safeName, ...m.files[index]!.path] : [m.safeName]).join("/")

/** One file of a running torrent. A class, so that `stream` sits on its prototype and the file's own
 *  fields are data (what `toEqual` and `JSON.stringify` see). */
class ClientFile implements TorrentFile {
  readonly number: number
  readonly path: string
  readonly length: number
  readonly selected: boolean
  readonly #source: TorrentReader.ReadableTorrent
  readonly #ended: Effect.Effect<never, StorageError>

  constructor(source: TorrentReader.ReadableTorrent, index: number, selected: boolean, ended: Effect.Effect<never, StorageError>) {
    this.number = index + 1
    this.path = filePath(source.metainfo, index)
    this.length = source.metainfo.files[index]!.length
    this.selected = selected
    this.#source = source
    this.#ended = ended
  }

  stream(range: ReadRange = {}): Stream.Stream<Uint8Array, StorageError> {
    const bounds = fileRange(range, this.length)
    if (typeof bounds === "string") return Stream.die(new RangeError(`${this.path}: ${bounds}`))
    if (!this.selected) {
      return Stream.fail(new StorageError({ reason: "Missing", path: this.path, detail: "not among the files chosen to download" }))
    }
    if (bounds.start > bounds.end) return Stream.empty
    const offset = TorrentReader.fileStart(this.#source.metainfo, this.number - 1)
    // Ended by the torrent's end (removed, client closed) with its error, rather than waiting for ever.
    return TorrentReader.bytes(this.#source, offset + bounds.start, offset + bounds.end).pipe(Stream.interruptWhen(this.#ended))
  }
}

/** The files of a running torrent (pad files left out), read through `source`; `selection` as given to
 *  Torrent.start; `ended` fails once the torrent stops, ending the reads still going. */
export const filesOf = (
  source: TorrentReader.ReadableTorrent,
  selection: ReadonlyArray<number> | undefined,
  ended: Effect.Effect<never, StorageError>
): ReadonlyArray<TorrentFile> => {
  const chosen = selection === undefined ? undefined : new Set(selection)
  const out: Array<TorrentFile> = []
  source.metainfo.files.forEach((f, i) => {
    if (!f.pad) out.push(new ClientFile(source, i, chosen === undefined || chosen.has(i), ended))
  })
  return out
}
