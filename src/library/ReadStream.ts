/**
 * An Effect `Stream` of bytes as a Node `Readable`, for the Promise face's `createReadStream`. Pulled only
 * as the Readable asks (`_read`), one chunk of the stream at a time, so that a reader that stops reading
 * holds nothing more; destroying it interrupts the pull in flight and closes the stream's scope (its wait
 * for a piece, its subscription to the torrent's events, its deadlines in the picker).
 */
import { Readable } from "node:stream"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export interface ReadableOptions {
  /** Bytes the Readable buffers before it stops pulling (Node's `highWaterMark`; default 64 KiB). */
  readonly highWaterMark?: number
}

export const toReadable = <E>(stream: Stream.Stream<Uint8Array, E>, options: ReadableOptions = {}): Readable => {
  const scope = Effect.runSync(Scope.make())
  let pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> | undefined
  let pulling: Fiber.RuntimeFiber<Chunk.Chunk<Uint8Array>, Option.Option<E>> | undefined
  const next = Effect.suspend(() => pull ?? Effect.flatMap(Scope.extend(Stream.toPull(stream), scope), (made) => (pull = made)))
  const release = () => Effect.runFork(Scope.close(scope, Exit.void))

  const readable: Readable = new Readable({
    highWaterMark: options.highWaterMark ?? 64 * 1024,
    read: () => pullOnce(),
    destroy(error, callback) {
      const fiber = pulling
      pulling = undefined
      Effect.runFork(Effect.zipRight(fiber === undefined ? Effect.void : Fiber.interrupt(fiber), Scope.close(scope, Exit.void)))
        .addObserver(() => callback(error))
    }
  })

  const pullOnce = (): void => {
    if (pulling !== undefined || readable.destroyed) return
    const fiber = Effect.runFork(next)
    pulling = fiber
    fiber.addObserver((exit) => {
      if (pulling !== fiber) return
      pulling = undefined
      if (Exit.isSuccess(exit)) {
        // An empty chunk pushes nothing, and Node would not ask again: pull on.
        if (exit.value.length === 0) return pullOnce()
        for (const bytes of exit.value) readable.push(bytes)
        return
      }
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && Option.isNone(failure.value)) {
        readable.push(null)
        release()
        return
      }
      if (Cause.isInterruptedOnly(exit.cause)) return
      readable.destroy(Option.isSome(failure) && Option.isSome(failure.value) ? asError(failure.value.value) : asError(Cause.squash(exit.cause)))
    })
  }
  return readable
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))
