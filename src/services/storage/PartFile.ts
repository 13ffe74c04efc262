/**
 * File selection's part file (libtorrent's partfile idea): a piece at the edge of a selected file also
 * holds bytes of its unselected neighbour. Those bytes must be stored (the piece is hashed whole, and is
 * served whole) but the neighbour must not appear in the download folder: so the spans of "parked" files
 * go to one part file per torrent in the state folder (`<state>/parts/<info hash>.part`), at the torrent
 * byte offset (a sparse file: only the edges take room). When a parked file is selected later, `unpark`
 * moves its bytes of verified pieces into the real file.
 *
 * `parked` wraps any TorrentStorage (FileStorage, MemoryStorage): spans of files not parked go to it as
 * before, runs of whole pieces that touch no parked file still in one writev per file.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { failure } from "../files/FileErrors.js"
import { node, unit } from "../files/NodeCallback.js"
import { createFlags, existingFlags } from "../files/OpenFlags.js"
import { closeQuietly, readAll, writeAll } from "../files/PositionalIo.js"
import type { TorrentStorage } from "./Storage.js"

/** The bytes of a part file, by torrent byte offset; bytes never written read as zeros. */
export interface PartBytes {
  readonly write: (position: number, data: Uint8Array) => Effect.Effect<void, StorageError>
  readonly readInto: (position: number, into: Uint8Array) => Effect.Effect<void, StorageError>
  readonly sync: Effect.Effect<void, StorageError>
}

/** A part file at `file`, created (with its folder) on the first write, closed with the scope. */
export const filePart = (file: string): Effect.Effect<PartBytes, never, Scope.Scope> =>
  Effect.gen(function* () {
    let fd: number | undefined
    yield* Effect.addFinalizer(() => Effect.sync(() => fd !== undefined && closeQuietly(fd)))
    // Opened read-write either way (undefined: not there, and not to be created).
    const open = (create: boolean): Effect.Effect<number | undefined, StorageError> =>
      Effect.suspend(() => {
        if (fd !== undefined) return Effect.succeed(fd)
        const opened = node<number>((done) => fs.open(file, create ? createFlags : existingFlags, 0o644, done))
        const made = create ? Effect.zipRight(unit((done) => fs.mkdir(path.dirname(file), { recursive: true }, (e) => done(e))), opened) : opened
        return made.pipe(
          Effect.map((n): number | undefined => (fd = n)),
          Effect.catchIf((e) => !create && e.code === "ENOENT", () => Effect.succeed(undefined)),
          Effect.mapError(failure("open", file))
        )
      })
    let written = false
    return {
      write: (position, data) =>
        Effect.flatMap(open(true), (n) => {
          written = true
          return Effect.mapError(writeAll(n!, data, position), failure("write", file))
        }),
      readInto: (position, into) =>
        Effect.flatMap(open(false), (n) =>
          n === undefined ? Effect.sync(() => void into.fill(0)) : Effect.mapError(readAll(n, into, position), failure("read", file))),
      sync: Effect.suspend(() => (written && fd !== undefined ? Effect.mapError(unit((done) => fs.fsync(fd!, done)), failure("sync", file)) : Effect.void))
    } satisfies PartBytes
  })

/** A part file in memory, for tests: its bytes by torrent offset. */
export class MemoryPart implements PartBytes {
  readonly bytes = new Map<number, number>()
  readonly write = (position: number, data: Uint8Array) =>
    Effect.sync(() => data.forEach((b, i) => void this.bytes.set(position + i, b)))
  readonly readInto = (position: number, into: Uint8Array) =>
    Effect.sync(() => {
      for (let i = 0; i < into.length; i++) into[i] = this.bytes.get(position + i) ?? 0
    })
  readonly sync = Effect.void
}

/** The pieces that hold a byte of a parked file (whose spans go to the part file). */
const touchedPieces = (layout: Layout.Layout, isParked: (file: number) => boolean): Set<number> => {
  const out = new Set<number>()
  layout.files.forEach((f, file) => {
    if (f.pad || !isParked(file)) return
    const range = Layout.piecesOfFile(layout, file)
    if (range !== undefined) for (let p = range.first; p <= range.last; p++) out.add(p)
  })
  return out
}

/** `inner` with the spans of the `parked` files kept in `part` instead. */
export const parked = (
  inner: TorrentStorage,
  layout: Layout.Layout,
  parkedFiles: ReadonlySet<number>,
  part: PartBytes
): TorrentStorage => {
  const isParked = (file: number) => parkedFiles.has(file)
  const touched = touchedPieces(layout, isParked)
  const at = (piece: number, offset: number) => piece * layout.pieceLength + offset

  const write = (piece: number, offset: number, data: Uint8Array): Effect.Effect<void, StorageError> =>
    Effect.suspend(() => {
      if (!touched.has(piece)) return inner.write(piece, offset, data)
      return Effect.forEach(Layout.spans(layout, piece, offset, data.length), (span) => {
        const chunk = data.subarray(span.pieceOffset - offset, span.pieceOffset - offset + span.length)
        return isParked(span.file) ? part.write(at(piece, span.pieceOffset), chunk) : inner.write(piece, span.pieceOffset, chunk)
      }, { discard: true })
    })

  const readInto = (piece: number, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> =>
    Effect.suspend(() => {
      if (!touched.has(piece)) return inner.readInto(piece, offset, into)
      return Effect.forEach(Layout.spans(layout, piece, offset, into.length), (span) => {
        const chunk = into.subarray(span.pieceOffset - offset, span.pieceOffset - offset + span.length)
        return isParked(span.file) ? part.readInto(at(piece, span.pieceOffset), chunk) : inner.readInto(piece, span.pieceOffset, chunk)
      }, { discard: true })
    })

  // Runs of pieces that touch no parked file go to `inner` whole; the others one piece at a time.
  const writePieces = (first: number, pieces: ReadonlyArray<Uint8Array>): Effect.Effect<void, StorageError> =>
    Effect.suspend(() => {
      const steps: Array<Effect.Effect<void, StorageError>> = []
      let runStart = 0
      const flush = (end: number) => {
        if (end > runStart) steps.push(inner.writePieces(first + runStart, pieces.slice(runStart, end)))
      }
      pieces.forEach((data, i) => {
        if (!touched.has(first + i)) return
        flush(i)
        steps.push(write(first + i, 0, data))
        runStart = i + 1
      })
      flush(pieces.length)
      return Effect.all(steps, { discard: true })
    })

  return {
    write,
    writePieces,
    readInto,
    read: (piece, offset, length) => {
      const out = new Uint8Array(length)
      return Effect.as(readInto(piece, offset, out), out)
    },
    sync: Effect.zipRight(inner.sync, part.sync),
    syncAll: Effect.zipRight(inner.syncAll, part.sync),
    stamps: inner.stamps
  }
}

/**
 * Moves into `storage` (where they are no longer parked) the bytes of `files` that the part file holds:
 * their spans in the verified pieces at their edges (`have`). Run before anything else writes. Gives the
 * pieces it wrote to.
 */
export const unpark = (
  storage: TorrentStorage,
  layout: Layout.Layout,
  files: Iterable<number>,
  part: PartBytes,
  have: Bitfield
): Effect.Effect<ReadonlySet<number>, StorageError> =>
  Effect.gen(function* () {
    const moved = new Set<number>()
    for (const file of files) {
      const range = Layout.piecesOfFile(layout, file)
      if (range === undefined || layout.files[file]!.pad) continue
      // Only a file's edge pieces can be verified while it is parked: its inner pieces are its alone.
      for (const piece of new Set([range.first, range.last])) {
        if (!have.has(piece)) continue
        for (const span of Layout.spans(layout, piece, 0, Layout.pieceSize(layout, piece))) {
          if (span.file !== file) continue
          const bytes = new Uint8Array(span.length)
          yield* part.readInto(piece * layout.pieceLength + span.pieceOffset, bytes)
          yield* storage.write(piece, span.pieceOffset, bytes)
        }
        moved.add(piece)
      }
    }
    return moved
  })
