/**
 * One peer connection: the reader, the handshake, and then the peer's state machine (`PeerState`) until
 * the connection ends.
 *
 * The way of a block is short: each socket chunk goes through the synchronous frame parser, and each
 * frame is handled at once by the state (a block is copied into its piece right there, so the chunk can
 * be reused as soon as the callback returns). Frames that arrive before the handshake is checked wait,
 * copied. A completed piece goes to the torrent, which verifies it apart from any peer.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { PeerError, type PeerErrorReason, type StorageError } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import * as FrameParser from "../../protocol/FrameParser.js"
import * as Handshake from "../../protocol/Handshake.js"
import * as Message from "../../protocol/Message.js"
import type { Connection } from "../wire/PeerNetwork.js"
import { limits, type SwarmContext } from "./PeerContext.js"
import { PeerExtensions } from "./PeerExtensions.js"
import { PeerState } from "./PeerState.js"

export type { PeerInfo, PeerLink, SwarmContext } from "./PeerContext.js"
export { limits } from "./PeerContext.js"

export interface SessionOptions {
  readonly connection: Connection
  readonly context: SwarmContext
  /** Inbound connections wait for the peer's handshake before sending ours. */
  readonly inbound: boolean
}

/** We speak BEP 6 and BEP 10 always, BEP 5 when our DHT node runs. */
const reservedFor = (ctx: SwarmContext) => Handshake.reserved({ fast: true, extensions: true, dht: ctx.dht !== undefined })

const copy = (bytes: Uint8Array) => Uint8Array.prototype.slice.call(bytes)

/** A frame that outlives its chunk (the transport may reuse the chunk's memory): byte fields copied. */
const retain = (frame: FrameParser.Frame): FrameParser.Frame => {
  switch (frame._tag) {
    case "Bitfield":
      return Message.bitfield(copy(frame.bits))
    case "Piece":
      return Message.piece(frame.index, frame.begin, copy(frame.block))
    case "Extended":
      return Message.extended(frame.extendedId, copy(frame.payload))
    default:
      return frame
  }
}

/** Runs a session until the connection ends; fails with why it ended. */
export const run = (options: SessionOptions): Effect.Effect<never, PeerError | StorageError> =>
  Effect.gen(function* () {
    const { connection, context: ctx } = options
    const key = connection.remote
    const clock = yield* Effect.clock
    const maxEarlyBytes = 2 * 1024 * 1024
    const fail = (reason: PeerErrorReason, detail: string) => new PeerError({ reason, address: key, detail })
    const wakeup = yield* Queue.sliding<void>(1)
    const wake = () => void wakeup.unsafeOffer(undefined)
    // Frames are handled during the callback and nothing keeps their bytes (blocks are copied into their
    // piece; `retain` copies what waits for the handshake), so the parser may reuse its buffer.
    const parser = FrameParser.make({ handshake: true, reuseBuffer: true })

    // Until the handshake is checked there is no session: frames wait here (a peer may send its
    // bitfield in the same chunk as its handshake).
    let session: PeerState | undefined
    let early: Array<FrameParser.Frame> | undefined = []
    let ended: PeerError | undefined
    const end = (error: PeerError) => {
      ended ??= error
      session?.stop(error)
      wake()
    }
    const onFrame = (frame: FrameParser.Frame) => {
      if (session !== undefined) session.onFrame(frame, clock.unsafeCurrentTimeMillis())
      else early?.push(retain(frame))
    }

    // The reader: chunks in, frames handled, synchronously and in order.
    let earlyBytes = 0
    yield* connection
      .run((chunk) => {
        // What arrives before the session exists is kept: bounded, or a peer could fill memory in the
        // moment between its handshake and ours.
        if (session === undefined && (earlyBytes += chunk.length) > maxEarlyBytes) {
          return end(fail("Protocol", `more than ${maxEarlyBytes} bytes before the handshake was answered`))
        }
        const error = parser.push(chunk, onFrame)
        if (error !== undefined) end(fail("Protocol", error.message))
        if (session === undefined || session.wantsTurn()) wake()
      })
      .pipe(
        Effect.matchEffect({
          onFailure: (e) => Effect.sync(() => end(fail("Closed", e.message))),
          onSuccess: () => Effect.sync(() => end(fail("Closed", "connection closed by the peer")))
        }),
        Effect.forkScoped
      )

    const ours = Handshake.encode({ reserved: reservedFor(ctx), infoHash: ctx.infoHash, peerId: ctx.peerId })
    if (!options.inbound) yield* connection.write([ours]).pipe(Effect.mapError((e) => fail("Closed", e.message)))

    // The handshake: the first frame, within the timeout.
    const handshake = yield* Effect.gen(function* () {
      while (true) {
        if (ended !== undefined) return yield* ended
        const first = early?.[0]
        if (first !== undefined) {
          if (first._tag === "Handshake") return first.handshake
          if (first._tag !== "HandshakePrefix") return yield* fail("Handshake", "expected a handshake")
          early!.shift()
          continue
        }
        yield* Queue.take(wakeup)
      }
    }).pipe(
      Effect.timeoutFail({ duration: limits.handshakeTimeout, onTimeout: () => fail("Timeout", "no handshake within 10 s") })
    )
    if (!InfoHash.equals(handshake.infoHash, ctx.infoHash)) return yield* fail("Handshake", "handshake for another torrent")
    if (options.inbound) yield* connection.write([ours]).pipe(Effect.mapError((e) => fail("Closed", e.message)))

    const queue = (bytes: Uint8Array) => state.queueBytes(bytes)
    const endWith = (reason: PeerErrorReason, detail: string) => state.stop(fail(reason, detail))
    const extensions = Handshake.supportsExtensions(handshake.reserved)
      ? new PeerExtensions(connection.address, options.inbound, ctx.extensions, queue, endWith)
      : undefined
    const state: PeerState = new PeerState(key, connection.address.host, ctx, {
      peerId: handshake.peerId,
      fast: Handshake.supportsFast(handshake.reserved),
      extensions,
      dht: Handshake.supportsDht(handshake.reserved),
      dialled: options.inbound ? undefined : connection.address
    }, wake)
    const refused = ctx.attach(state.link(), handshake.peerId)
    if (refused !== undefined) return yield* fail(refused.reason, refused.detail)
    yield* Effect.logDebug(`peer ${key} connected (${options.inbound ? "inbound" : "outbound"}, ${state.client})`)
    state.start(clock.unsafeCurrentTimeMillis())
    session = state
    const pending = early!.slice(1)
    early = undefined
    for (const frame of pending) state.onFrame(frame, clock.unsafeCurrentTimeMillis())
    if (ended !== undefined) state.stop(ended)
    return yield* state.loop(wakeup, connection).pipe(
      Effect.ensuring(
        Effect.suspend(() => {
          state.detach()
          return Effect.logDebug(`peer ${key}: ${state.summary()}`)
        })
      )
    )
  }).pipe(Effect.scoped)

