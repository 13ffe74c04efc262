/**
 * The BEP 3 handshake on a connection, for every kind of peer session: a torrent's (PeerSession.ts) and a
 * magnet link's metadata fetch (torrent/MetadataFetch.ts).
 *
 * It starts the connection's reader: each chunk goes through the synchronous frame parser. Until the
 * caller takes the session over (`deliver`), frames wait here, copied (the parser reuses its buffer, and
 * a peer may send its bitfield in the same chunk as its handshake); what waits is bounded, or a peer could
 * fill memory in the moment between its handshake and ours. An outbound session sends our handshake at
 * once; an inbound one answers only once the peer's is in and names this torrent. The peer's handshake must
 * come first, within the timeout.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { PeerError, type PeerErrorReason } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import type { PeerId } from "../../domain/PeerId.js"
import * as FrameParser from "../../protocol/FrameParser.js"
import * as Handshake from "../../protocol/Handshake.js"
import * as Message from "../../protocol/Message.js"
import type { Connection } from "../wire/PeerNetwork.js"

/** Where a session's frames go once it has taken the connection over. */
export interface FrameSink {
  /** A frame, synchronously as it is parsed: valid during the call only (the parser reuses its buffer). */
  readonly frame: (frame: FrameParser.Frame) => void
  /** After the frames of each chunk. */
  readonly chunkDone: () => void
  /** The connection ended (closed, broken, or a frame that breaks the protocol); once. */
  readonly end: (error: PeerError) => void
}

export interface Greeted {
  /** The peer's handshake. */
  readonly theirs: Handshake.Handshake
  /** The peer speaks BEP 52 on this connection (`ExchangeOptions.v2Hash`). */
  readonly v2: boolean
  /** Takes the connection over: the frames that came with the handshake first, then every frame as it
   *  arrives; an end that came already is told at once. */
  readonly deliver: (sink: FrameSink) => void
}

export interface ExchangeOptions {
  /** The hash we handshake with when we dial: a v1 or hybrid torrent's v1 hash, a v2-only one's v2 hash. */
  readonly infoHash: InfoHash.InfoHash
  /**
   * A v2 or hybrid torrent's v2 hash truncated to 20 bytes. A peer that handshakes with it speaks v2, and so
   * does one that handshakes with a hybrid's v1 hash and sets the v2 bit: an inbound one of those is answered
   * with the v2 hash, so that libtorrent, as the dialler, takes us for a v2 peer too (it does when the answer
   * names the v2 hash). Our own bit (in `reserved`) is the caller's.
   */
  readonly v2Hash?: InfoHash.InfoHash
  readonly peerId: PeerId
  readonly reserved: Uint8Array
  /** Inbound sessions wait for the peer's handshake before sending ours. */
  readonly inbound: boolean
}

export const handshakeTimeout = Duration.seconds(10)
/** Bytes a peer may send before its session takes over (its handshake, bitfield, extension handshake). */
export const maxEarlyBytes = 2 * 1024 * 1024

const withoutV2Bit = (reserved: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(reserved)
  out[7] = (out[7] ?? 0) & ~0x10
  return out
}

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
    case "HashRequest":
    case "HashReject":
      return { ...frame, piecesRoot: copy(frame.piecesRoot) }
    case "Hashes":
      return { ...frame, piecesRoot: copy(frame.piecesRoot), hashes: copy(frame.hashes) }
    default:
      return frame
  }
}

/** Exchanges handshakes on `connection` (its reader runs in the scope); fails with why it could not. */
export const exchange = (connection: Connection, options: ExchangeOptions): Effect.Effect<Greeted, PeerError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: PeerErrorReason, detail: string) => new PeerError({ reason, address: connection.remote, detail })
    const write = (bytes: Uint8Array) => connection.write([bytes]).pipe(Effect.mapError((e) => fail("Closed", e.message)))
    const greeted = yield* Deferred.make<Handshake.Handshake, PeerError>()
    const parser = FrameParser.make({ handshake: true, reuseBuffer: true })
    const early: Array<FrameParser.Frame> = []
    let earlyBytes = 0
    let sink: FrameSink | undefined
    let ended: PeerError | undefined
    const end = (error: PeerError) => {
      if (ended !== undefined) return
      ended = error
      if (sink !== undefined) sink.end(error)
      else Deferred.unsafeDone(greeted, Effect.fail(error))
    }
    let handshaken = false
    const onFrame = (frame: FrameParser.Frame) => {
      if (sink !== undefined) return sink.frame(frame)
      if (handshaken) return void early.push(retain(frame))
      switch (frame._tag) {
        case "HandshakePrefix":
          return
        case "Handshake":
          handshaken = true
          return Deferred.unsafeDone(greeted, Effect.succeed(frame.handshake))
        default:
          return end(fail("Handshake", "expected a handshake"))
      }
    }
    yield* connection
      .run((chunk) => {
        if (sink === undefined && (earlyBytes += chunk.length) > maxEarlyBytes) {
          return end(fail("Protocol", `more than ${maxEarlyBytes} bytes before the handshake was answered`))
        }
        const error = parser.push(chunk, onFrame)
        if (error !== undefined) end(fail("Protocol", error.message))
        sink?.chunkDone()
      })
      .pipe(
        Effect.matchEffect({
          onFailure: (e) => Effect.sync(() => end(fail("Closed", e.message))),
          onSuccess: () => Effect.sync(() => end(fail("Closed", "connection closed by the peer")))
        }),
        Effect.forkScoped
      )

    const ours = (infoHash: InfoHash.InfoHash) => Handshake.encode({ reserved: options.reserved, infoHash, peerId: options.peerId })
    // Answering with the v2 hash upgrades the connection: the bit that offers the upgrade is not sent then,
    // as libtorrent does not send it.
    const upgraded = () =>
      Handshake.encode({ reserved: withoutV2Bit(options.reserved), infoHash: options.v2Hash!, peerId: options.peerId })
    if (!options.inbound) yield* write(ours(options.infoHash))
    const theirs = yield* Deferred.await(greeted).pipe(
      Effect.timeoutFail({ duration: handshakeTimeout, onTimeout: () => fail("Timeout", `no handshake within ${Duration.toSeconds(handshakeTimeout)} s`) })
    )
    const v2Hash = options.v2Hash
    const namesV2 = v2Hash !== undefined && InfoHash.equals(theirs.infoHash, v2Hash)
    if (!namesV2 && !InfoHash.equals(theirs.infoHash, options.infoHash)) return yield* fail("Handshake", "handshake for another torrent")
    const v2 = namesV2 || (v2Hash !== undefined && Handshake.supportsV2(theirs.reserved))
    if (options.inbound) yield* write(v2 ? upgraded() : ours(options.infoHash))
    const deliver = (to: FrameSink) => {
      sink = to
      for (const frame of early.splice(0)) to.frame(frame)
      if (ended !== undefined) to.end(ended)
    }
    return { theirs, v2, deliver } satisfies Greeted
  })
