/**
 * One peer connection of a torrent: the handshake (PeerHandshake.ts), then the peer's state machine
 * (PeerState.ts) fed by the reader, and the loop that does what the state machine leaves to effects,
 * until the connection ends.
 *
 * The way of a block is short: each socket chunk goes through the synchronous frame parser, and each
 * frame is handled at once by the state (a block is copied into its piece right there, so the chunk can
 * be reused as soon as the callback returns). A completed piece goes to the torrent, which verifies it
 * apart from any peer. The loop sleeps until the reader or the torrent wakes it with something to do:
 * requests to make, the peer's requests to serve, bytes to send.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type { BlockRequest } from "../../domain/Block.js"
import { PeerError, type PeerErrorReason, type StorageError } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import * as Handshake from "../../protocol/Handshake.js"
import * as Message from "../../protocol/Message.js"
import type { Connection } from "../wire/PeerNetwork.js"
import { type SwarmContext } from "./PeerContext.js"
import { PeerExtensions } from "./PeerExtensions.js"
import * as PeerHandshake from "./PeerHandshake.js"
import { PeerState } from "./PeerState.js"
import { limits } from "./PeerLimits.js"

export type { PeerInfo, PeerLink, SwarmContext } from "./PeerContext.js"

export interface SessionOptions {
  readonly connection: Connection
  readonly context: SwarmContext
  /** Inbound connections wait for the peer's handshake before sending ours. */
  readonly inbound: boolean
}

/** We speak BEP 6 and BEP 10 always, BEP 5 when our DHT node runs; a hybrid's v1 handshake says that we
 *  speak v2 as well (BEP 52's bit: a v2-only torrent's handshake says so by its hash, and libtorrent sets
 *  the bit for hybrids only). */
const reservedFor = (ctx: SwarmContext) =>
  Handshake.reserved({
    fast: true,
    extensions: true,
    dht: ctx.dht !== undefined,
    v2: ctx.infoHashV2 !== undefined && !InfoHash.equals(ctx.infoHash, ctx.infoHashV2)
  })

/** Runs a session until the connection ends; fails with why it ended. */
export const run = (options: SessionOptions): Effect.Effect<never, PeerError | StorageError> =>
  Effect.gen(function* () {
    const { connection, context: ctx, inbound } = options
    const key = connection.remote
    const clock = yield* Effect.clock
    const fail = (reason: PeerErrorReason, detail: string) => new PeerError({ reason, address: key, detail })
    const greeted = yield* PeerHandshake.exchange(connection, {
      infoHash: ctx.infoHash,
      ...(ctx.infoHashV2 !== undefined ? { v2Hash: ctx.infoHashV2 } : {}),
      peerId: ctx.peerId,
      reserved: reservedFor(ctx),
      inbound
    })
    const handshake = greeted.theirs

    const wakeup = yield* Queue.sliding<void>(1)
    const wake = () => void wakeup.unsafeOffer(undefined)
    const queue = (bytes: Uint8Array) => state.queueBytes(bytes)
    const endWith = (reason: PeerErrorReason, detail: string) => state.stop(fail(reason, detail))
    const extensions = Handshake.supportsExtensions(handshake.reserved)
      ? new PeerExtensions(connection.address, inbound, ctx.extensions, queue, endWith)
      : undefined
    const state: PeerState = new PeerState(key, connection.address.host, ctx, {
      peerId: handshake.peerId,
      fast: Handshake.supportsFast(handshake.reserved),
      extensions,
      dht: Handshake.supportsDht(handshake.reserved),
      dialled: inbound ? undefined : connection.address,
      v2: greeted.v2
    }, wake)
    // A peer that completed MSE with us, or came over uTP, is told to others as one that speaks it (PEX's
    // flags 0x01 and 0x04).
    const link = connection.encrypted === true || connection.transport === "utp"
      ? { ...state.link(), ...(connection.encrypted === true ? { encrypted: true } : {}), ...(connection.transport === "utp" ? { utp: true } : {}) }
      : state.link()
    const refused = ctx.attach(link, handshake.peerId)
    if (refused !== undefined) return yield* fail(refused.reason, refused.detail)
    yield* Effect.logDebug(`peer ${key} connected (${inbound ? "inbound" : "outbound"}, ${state.client})`)
    if (connection.encrypted === true) yield* Effect.logDebug(`peer ${key}: encrypted (MSE, RC4)`)
    if (connection.transport === "utp") yield* Effect.logDebug(`peer ${key}: over uTP`)
    state.start(clock.unsafeCurrentTimeMillis())
    greeted.deliver({
      frame: (frame) => state.onFrame(frame, clock.unsafeCurrentTimeMillis()),
      // The reader wakes the loop only when it has something to do, not for every chunk.
      chunkDone: () => {
        if (state.wantsTurn()) wake()
      },
      end: (error) => {
        state.stop(error)
        wake()
      }
    })
    return yield* loop(state, ctx, wakeup, connection).pipe(
      Effect.ensuring(
        Effect.suspend(() => {
          state.detach()
          return Effect.logDebug(`peer ${key}: ${state.summary()}`)
        })
      )
    )
  }).pipe(Effect.scoped)

/** Does what the state leaves to effects, each time it is woken, until the state says the session ends. */
const loop = (state: PeerState, ctx: SwarmContext, wakeup: Queue.Queue<void>, connection: Connection): Effect.Effect<never, PeerError | StorageError> =>
  Effect.gen(function* () {
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => {
          state.tick(now)
          wakeup.unsafeOffer(undefined)
        })),
        { schedule: Schedule.spaced(limits.tickMs) }
      )
    )
    const clock = yield* Effect.clock
    while (true) {
      const stopped = state.stopped
      if (stopped !== undefined) return yield* stopped
      const now = clock.unsafeCurrentTimeMillis()
      state.fillRequests(now)
      const uploads = state.takeUploads(now)
      if (uploads.length > 0) yield* serve(state, ctx, uploads, now, connection)
      const out = state.takeOutbox()
      if (out.length > 0) yield* send(state, out, now, connection)
      // More to do at once (uploads waiting): go round again without sleeping.
      if (!state.busy) yield* Queue.take(wakeup)
    }
  }).pipe(Effect.scoped)

/**
 * Serves a batch of the peer's requests with what waits in the outbox, in one write: each block a view
 * into its piece after its 13-byte header, no copy. The pieces stay pinned until the transport has taken
 * the bytes.
 */
const serve = (state: PeerState, ctx: SwarmContext, batch: ReadonlyArray<BlockRequest>, now: number, connection: Connection) =>
  ctx.withPieces(batch.map((r) => r.piece), (piece) => {
    const headers = new Uint8Array(13 * batch.length)
    const chunks = state.takeOutbox()
    batch.forEach((r, i) => {
      Message.writePieceHeader(headers, 13 * i, r.piece, r.offset, r.length)
      chunks.push(headers.subarray(13 * i, 13 * i + 13), piece(r.piece).subarray(r.offset, r.offset + r.length))
      state.uploaded(r.length, now)
    })
    return send(state, chunks, now, connection)
  })

const send = (state: PeerState, chunks: ReadonlyArray<Uint8Array>, now: number, connection: Connection): Effect.Effect<void, PeerError> => {
  state.sent(now)
  return connection.write(chunks).pipe(
    Effect.mapError((e) => new PeerError({ reason: "Closed", address: connection.remote, detail: e.message }))
  )
}
