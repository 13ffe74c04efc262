/**
 * Incremental framing of the peer wire: socket chunks of any size in, complete frames out, synchronously
 * and in order. Optionally the 68-byte handshake comes first; then length-prefixed messages.
 *
 * API: `push(chunk, onFrame)` calls `onFrame` once per complete frame and returns a `WireError` or
 * undefined. It is the cheapest form per message: no array and no Either per chunk, nothing buffered on
 * our side between the socket and the handler, and the handler sees each message while its chunk is
 * still hot. `pushAll(chunk)` wraps it for callers that want `Either<ReadonlyArray<Frame>, WireError>`
 * (frames before an error in the same chunk are then dropped with the connection). `onFrame` must not
 * call back into the parser; if it throws, the rest of the chunk is lost, so the parser marks itself
 * failed and rethrows.
 *
 * Limits: a length prefix above `maxMessageLength` (or, for a piece, above 9 + `maxBlockLength`) is
 * refused with reason "TooLong" as soon as the 4 prefix bytes (and the id byte, when the limit depends on
 * it) are in, before any of the body is buffered. Unknown ids and wrong lengths of fixed-size messages
 * are refused at the id byte too. After an error the parser stays failed and returns that error.
 *
 * Copies: a message that lies within one chunk is decoded in place; its byte payloads are views into
 * that chunk. This assumes the chunk is not reused after `push` returns, which holds for Node sockets
 * (each 'data' chunk is a fresh Buffer) and must hold for any other source. A message spread over
 * chunks is gathered once into an allocation of exactly its payload's size, made when its first body
 * bytes arrive; bytes are copied into it once and never moved again.
 */
import * as Either from "effect/Either"
import { WireError } from "../domain/Errors.js"
import * as Handshake from "./Handshake.js"
import * as Message from "./Message.js"

/** 1 MiB of payload (a bitfield of 8 Mi pieces, a metadata piece with its dictionary) and some header. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1024 * 1024 + 13

/** Blocks are 16 KiB by convention; larger requests are refused by most clients. */
export const DEFAULT_MAX_BLOCK_LENGTH = 16 * 1024

export interface Options {
  /** The largest length prefix accepted for a message other than piece. */
  readonly maxMessageLength?: number
  /** The largest block accepted in a piece message (whose length prefix is then 9 + this). */
  readonly maxBlockLength?: number
  /** Expect the 68-byte handshake before the messages. */
  readonly handshake?: boolean
  /** In handshake mode, also yield a `HandshakePrefix` frame once the first 48 bytes are in. */
  readonly handshakePrefix?: boolean
  /**
   * Gather messages spread over chunks in one reused buffer (up to a piece message's size) instead of a
   * fresh allocation each. Frames are then valid only during `onFrame`, like the chunks themselves:
   * for a consumer that copies what it keeps, this removes most of a download's garbage.
   */
  readonly reuseBuffer?: boolean
}

export interface HandshakeFrame {
  readonly _tag: "Handshake"
  readonly handshake: Handshake.Handshake
}

/** The reserved bytes and info hash, available before the peer id (see `Handshake.decodePrefix`). */
export interface HandshakePrefixFrame {
  readonly _tag: "HandshakePrefix"
  readonly prefix: Handshake.HandshakePrefix
}

export type Frame = Message.Message | HandshakeFrame | HandshakePrefixFrame

export interface FrameParser {
  /** Feeds one chunk; calls `onFrame` for each frame it completes. Returns the error that ends the stream. */
  readonly push: (chunk: Uint8Array, onFrame: (frame: Frame) => void) => WireError | undefined
  /** Feeds one chunk and collects its frames. */
  readonly pushAll: (chunk: Uint8Array) => Either.Either<ReadonlyArray<Frame>, WireError>
  /** Bytes received for the frame in progress and held by the parser. */
  readonly bufferedBytes: number
  /** Bytes allocated for the frame in progress (a body is allocated whole when its first bytes arrive). */
  readonly allocatedBytes: number
  /** The error that ended the stream, if any. */
  readonly failure: WireError | undefined
  /** True until the handshake has been read (false when not in handshake mode, or once failed). */
  readonly awaitingHandshake: boolean
}

const empty = new Uint8Array(0)

/** Reads a big-endian u32; the caller has checked that 4 bytes are there. */
const u32 = (bytes: Uint8Array, at: number): number =>
  bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)

const tooLong = (detail: string) => new WireError({ reason: "TooLong", detail })

class Parser implements FrameParser {
  private readonly maxMessage: number
  private readonly maxPiece: number
  private readonly maxAny: number
  private readonly announcePrefix: boolean

  /** The handshake being gathered; undefined once it has been read or when there is none. */
  private handshake: Uint8Array | undefined
  private handshakeFilled = 0

  /** Length prefix bytes gathered across chunks; at 4 the prefix is known and the id is awaited. */
  private readonly head = new Uint8Array(4)
  private headFilled = 0

  /** The id and payload size of a message whose header is read and whose body has not begun (-1: none). */
  private pendingId = -1
  private pendingSize = 0

  /** The payload being gathered across chunks, and its message id. */
  private body: Uint8Array | undefined
  private bodyFilled = 0
  private bodyId = 0

  private error: WireError | undefined
  /** The reused gathering buffer (`reuseBuffer`). */
  private readonly scratch: Uint8Array | undefined

  constructor(options: Options) {
    this.maxMessage = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH
    this.maxPiece = 9 + (options.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH)
    this.maxAny = Math.max(this.maxMessage, this.maxPiece)
    this.announcePrefix = options.handshakePrefix === true
    this.handshake = options.handshake === true ? new Uint8Array(Handshake.HANDSHAKE_LENGTH) : undefined
    this.scratch = options.reuseBuffer === true ? new Uint8Array(this.maxPiece) : undefined
  }

  get bufferedBytes(): number {
    if (this.handshake !== undefined) return this.handshakeFilled
    return this.headFilled + (this.pendingId >= 0 ? 5 : 0) + (this.body === undefined ? 0 : 5 + this.bodyFilled)
  }

  get allocatedBytes(): number {
    if (this.handshake !== undefined) return this.handshake.length
    return this.body === undefined ? 0 : this.body.length
  }

  get failure(): WireError | undefined {
    return this.error
  }

  get awaitingHandshake(): boolean {
    return this.handshake !== undefined
  }

  push(chunk: Uint8Array, onFrame: (frame: Frame) => void): WireError | undefined {
    if (this.error !== undefined) return this.error
    try {
      let at = 0
      if (this.handshake !== undefined) {
        at = this.pushHandshake(this.handshake, chunk, onFrame)
        if (this.error !== undefined) return this.error
      }
      return this.pushMessages(chunk, at, onFrame)
    } catch (cause) {
      if (this.error === undefined) {
        this.fail(
          new WireError({ reason: "BadPayload", detail: "a frame handler threw, so the rest of the stream could not be framed" })
        )
      }
      throw cause
    }
  }

  pushAll(chunk: Uint8Array): Either.Either<ReadonlyArray<Frame>, WireError> {
    const frames: Array<Frame> = []
    const error = this.push(chunk, (frame) => {
      frames.push(frame)
    })
    return error === undefined ? Either.right(frames) : Either.left(error)
  }

  /** Ends the stream: keeps the error, lets go of whatever was gathered. */
  private fail(error: WireError): WireError {
    this.error = error
    this.handshake = undefined
    this.handshakeFilled = 0
    this.headFilled = 0
    this.pendingId = -1
    this.body = undefined
    this.bodyFilled = 0
    return error
  }

  /** Gathers handshake bytes; returns the offset in `chunk` where the messages begin. */
  private pushHandshake(buffer: Uint8Array, chunk: Uint8Array, onFrame: (frame: Frame) => void): number {
    const before = this.handshakeFilled
    const take = Math.min(buffer.length - before, chunk.length)
    buffer.set(chunk.subarray(0, take), before)
    const filled = before + take
    this.handshakeFilled = filled
    if (before < 20) {
      const start = Handshake.checkStart(buffer.subarray(0, filled))
      if (Either.isLeft(start)) {
        this.fail(start.left)
        return take
      }
    }
    if (this.announcePrefix && before < Handshake.PREFIX_LENGTH && filled >= Handshake.PREFIX_LENGTH) {
      const prefix = Handshake.decodePrefix(buffer)
      if (Either.isLeft(prefix)) {
        this.fail(prefix.left)
        return take
      }
      onFrame({ _tag: "HandshakePrefix", prefix: prefix.right })
    }
    if (filled < buffer.length) return take
    this.handshake = undefined
    const decoded = Handshake.decode(buffer)
    if (Either.isLeft(decoded)) this.fail(decoded.left)
    else onFrame({ _tag: "Handshake", handshake: decoded.right })
    return take
  }

  /** Refuses a message by its length prefix and id before any of its body is read. */
  private admit(length: number, id: number): WireError | undefined {
    if (id === Message.MessageId.Piece) {
      if (length > this.maxPiece) {
        return tooLong(`piece message of ${length} bytes, more than 9 + ${this.maxPiece - 9} (the block limit)`)
      }
    } else if (length > this.maxMessage) {
      return tooLong(`message of ${length} bytes (id ${id}), more than the limit of ${this.maxMessage}`)
    }
    return Message.checkPayloadLength(id, length - 1)
  }

  private emit(id: number, payload: Uint8Array, onFrame: (frame: Frame) => void): WireError | undefined {
    const m = Message.parsePayload(id, payload)
    if (m._tag === "WireError") return this.fail(m)
    onFrame(m)
    return undefined
  }

  private pushMessages(chunk: Uint8Array, start: number, onFrame: (frame: Frame) => void): WireError | undefined {
    const end = chunk.length
    let at = start
    while (at < end) {
      // A body spread over chunks: copy this chunk's part into its allocation.
      const body = this.body
      if (body !== undefined) {
        const take = Math.min(body.length - this.bodyFilled, end - at)
        body.set(chunk.subarray(at, at + take), this.bodyFilled)
        this.bodyFilled += take
        at += take
        if (this.bodyFilled < body.length) return undefined
        this.body = undefined
        this.bodyFilled = 0
        const error = this.emit(this.bodyId, body, onFrame)
        if (error !== undefined) return error
        continue
      }

      let id: number
      let size: number
      if (this.pendingId >= 0) {
        id = this.pendingId
        size = this.pendingSize
        this.pendingId = -1
      } else {
        let length: number
        if (this.headFilled === 0 && end - at >= 5) {
          // The common case: the whole header is in this chunk.
          length = u32(chunk, at)
          if (length === 0) {
            at += 4
            onFrame(Message.keepAlive)
            continue
          }
          id = chunk[at + 4]!
          at += 5
        } else {
          while (this.headFilled < 4 && at < end) this.head[this.headFilled++] = chunk[at++]!
          if (this.headFilled < 4) return undefined
          length = u32(this.head, 0)
          if (length === 0) {
            this.headFilled = 0
            onFrame(Message.keepAlive)
            continue
          }
          if (length > this.maxAny) return this.fail(tooLong(`message of ${length} bytes, more than any limit`))
          if (at === end) return undefined
          id = chunk[at++]!
          this.headFilled = 0
        }
        const refused = this.admit(length, id)
        if (refused !== undefined) return this.fail(refused)
        size = length - 1
      }

      const available = end - at
      if (available >= size) {
        // The whole body is in this chunk: decode it in place.
        const payload = size === 0 ? empty : chunk.subarray(at, at + size)
        at += size
        const error = this.emit(id, payload, onFrame)
        if (error !== undefined) return error
      } else if (available === 0) {
        this.pendingId = id
        this.pendingSize = size
        return undefined
      } else {
        const gathered = this.scratch !== undefined && size <= this.scratch.length ? this.scratch.subarray(0, size) : new Uint8Array(size)
        gathered.set(chunk.subarray(at, end), 0)
        this.body = gathered
        this.bodyFilled = available
        this.bodyId = id
        return undefined
      }
    }
    return undefined
  }
}

/** A parser for one connection's incoming bytes. */
export const make = (options: Options = {}): FrameParser => new Parser(options)
