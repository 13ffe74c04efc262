/**
 * A torrent's bytes as a stream that waits for them: what `stream` and the daemon's `/stream/` serve over
 * HTTP, and what the library's `createReadStream` gives a program.
 *
 * A byte is given only once its piece is verified: a read of a piece not there yet waits for its
 * PieceVerified event (never zeros, never unchecked bytes). The stream is pulled a slice at a time, so a
 * consumer that stops pulling (a paused player) holds no memory, and an interrupted one drops its
 * subscription and its deadlines with its scope.
 *
 * While it reads, the pieces from the read position on get deadlines in the picker (`ReadWindow`,
 * PieceDeadlines.ts): asked for first, in order, so that a seek far ahead does not wait for the pieces
 * before it.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Bitfield } from "../../domain/Bitfield.js"
import type { StorageError } from "../../domain/Errors.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import type { ReadWindow, TorrentEvent } from "./TorrentHandle.js"

export type { ReadWindow } from "./TorrentHandle.js"

/** What a reader needs of a running torrent: its layout, its verified pieces and a way to read them. */
export interface ReadableTorrent {
  readonly metainfo: Metainfo
  /** The verified pieces now. */
  readonly pieces: Effect.Effect<Bitfield>
  /** The torrent's events: a PieceVerified wakes the reads waiting for that piece. */
  readonly events: PubSub.PubSub<TorrentEvent>
  /** Reads bytes of one piece (only ever of a verified one). */
  readonly read: (piece: number, offset: number, length: number) => Effect.Effect<Uint8Array, StorageError>
  /** A window of deadlines for one reader, dropped with its scope; absent: the picker's own order. */
  readonly window?: Effect.Effect<ReadWindow, never, Scope.Scope>
}

/** The most read at once: a slice of a piece. */
export const sliceBytes = 256 * 1024

/** Where file `index` (0-based) starts in the torrent's bytes. */
export const fileStart = (metainfo: Metainfo, index: number): number => {
  let start = 0
  for (let i = 0; i < index && i < metainfo.files.length; i++) start += metainfo.files[i]!.length
  return start
}

/** The torrent's bytes from `start` to `end` (both included, torrent offsets), each piece once it is
 *  verified, in slices of at most `sliceBytes`. */
export const bytes = (
  source: ReadableTorrent,
  start: number,
  end: number
): Stream.Stream<Uint8Array, StorageError> =>
  Stream.unwrapScoped(Effect.gen(function* () {
    const events = yield* PubSub.subscribe(source.events)
    // Subscribed first, then looked: a piece verified in between is in the queue.
    let have = yield* source.pieces
    const window = source.window === undefined ? undefined : yield* source.window
    const pieceLength = source.metainfo.pieceLength
    let position = start
    let windowAt = -1
    const next: Effect.Effect<Uint8Array, Option.Option<StorageError>> = Effect.gen(function* () {
      if (position > end) return yield* Effect.fail(Option.none())
      const piece = Math.floor(position / pieceLength)
      if (window !== undefined && piece !== windowAt) {
        windowAt = piece
        window.moveTo(position, end)
      }
      while (!have.has(piece)) {
        const event = yield* Queue.take(events)
        if (event._tag === "PieceVerified" && event.piece === piece) have = yield* source.pieces
      }
      const offset = position - piece * pieceLength
      const length = Math.min(sliceBytes, pieceLength - offset, end + 1 - position)
      const slice = yield* Effect.mapError(source.read(piece, offset, length), Option.some)
      position += length
      return slice
    })
    return Stream.repeatEffectOption(next)
  }))
