/**
 * Message Stream Encryption on a connection: the handshake (protocol/Mse.ts's machines) run over the
 * connection's bytes, and then, with RC4 chosen, a Connection whose every byte goes through RC4.
 *
 * After the handshake the read path stays zero-copy: each chunk is decrypted in place as it is read (a
 * chunk is the reader's, valid during its callback only) and handed on. Writes are views into shared
 * piece buffers and must never change, so they are encrypted into a buffer of our own, one writev of it,
 * reused once the transport has taken it (a write while another is in flight gets a fresh one). With
 * plaintext chosen, the payload goes as on a plaintext connection, through the one forwarding closure that
 * replays what came with the handshake.
 *
 * `dial` is the outbound rule of a policy: `prefer` tries MSE and, when the peer closes or fails it, dials
 * once more in plaintext; `require` only MSE; `off` plaintext, the connection as the network made it.
 * A TCP connection closed under the handshake is first tried again over uTP when the network has it.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { NetworkError } from "../../domain/Errors.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import * as Mse from "../../protocol/Mse.js"
import type { Rc4 } from "../../protocol/Rc4.js"
import { type Connection, PeerNetwork } from "./PeerNetwork.js"

/** The whole MSE handshake, from the first byte to the payload. */
export const handshakeTimeout = Duration.seconds(10)
/** Payload bytes that may arrive before whoever runs the connection starts reading it. */
export const maxUnreadBytes = 2 * 1024 * 1024

const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(bytes)

/** Writes encrypted into a buffer of ours (the chunks themselves are only read). */
const encryptingWrite = (connection: Connection, encrypt: Rc4) => {
  let spare: Uint8Array | undefined
  return (chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void, NetworkError> =>
    Effect.suspend(() => {
      let size = 0
      for (const chunk of chunks) size += chunk.length
      if (size === 0) return Effect.void
      const buffer = spare !== undefined && spare.length >= size ? spare : new Uint8Array(Math.max(size, 16 * 1024))
      spare = undefined
      let at = 0
      for (const chunk of chunks) {
        encrypt.applyTo(chunk, 0, chunk.length, buffer, at)
        at += chunk.length
      }
      return Effect.ensuring(connection.write([buffer.subarray(0, size)]), Effect.sync(() => void (spare = buffer)))
    })
}

/**
 * Runs `machine` on `connection` (its reader runs in the scope from here on) and gives the connection
 * of the payload; fails with Encryption (the handshake broken or refused), Closed or Timeout.
 */
export const handshake = (
  connection: Connection,
  machine: Mse.Machine,
  policy: Mse.Policy
): Effect.Effect<{ readonly connection: Connection; readonly infoHash: Uint8Array }, NetworkError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: NetworkError["reason"], detail: string) => new NetworkError({ reason, address: connection.remote, detail })
    const steps = yield* Queue.unbounded<Mse.Step>()
    const ended = yield* Deferred.make<void, NetworkError>()
    let held: Array<Uint8Array> = []
    let heldBytes = 0
    let reader: ((chunk: Uint8Array) => void) | undefined
    let live: ((chunk: Uint8Array) => void) | undefined
    let over = false
    const deliver = (chunk: Uint8Array) => {
      if (reader !== undefined) return reader(chunk)
      heldBytes += chunk.length
      if (heldBytes > maxUnreadBytes) return void Effect.runFork(connection.close)
      held.push(copy(chunk))
    }
    yield* connection
      .run((chunk) => {
        if (live !== undefined) return live(chunk)
        if (over) return
        const step = machine.push(chunk)
        if (step.error !== undefined || step.done !== undefined) over = true
        const done = step.done
        if (done !== undefined) {
          if (done.received.length > 0) held.push(done.received)
          heldBytes = done.received.length
          const decrypt = done.decrypt
          live = decrypt === undefined ? deliver : (c) => {
            decrypt.apply(c)
            deliver(c)
          }
        }
        steps.unsafeOffer(step)
      })
      .pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.zipRight(Deferred.done(ended, exit), Queue.offer(steps, { write: [], error: "the peer closed the connection" }))
        ),
        Effect.forkScoped
      )
    const write = (chunks: ReadonlyArray<Uint8Array>) =>
      chunks.length === 0 ? Effect.void : connection.write(chunks).pipe(Effect.mapError((e) => fail("Closed", e.detail)))
    const exchange = Effect.gen(function* () {
      yield* write(machine.start().write)
      while (true) {
        const step = yield* Queue.take(steps)
        yield* write(step.write)
        if (step.error !== undefined) return yield* fail("Encryption", `encryption handshake: ${step.error}`)
        if (step.done !== undefined) return step.done
      }
    })
    const outcome = yield* exchange.pipe(
      Effect.timeoutFail({ duration: handshakeTimeout, onTimeout: () => fail("Timeout", `no encryption handshake within ${Duration.toSeconds(handshakeTimeout)} s`) })
    )
    if (policy === "require" && outcome.encrypt === undefined) return yield* fail("Encryption", "the peer chose plaintext; we require encryption")
    const payload: Connection = {
      remote: connection.remote,
      address: connection.address,
      ...(connection.transport !== undefined ? { transport: connection.transport } : {}),
      ...(outcome.encrypt !== undefined ? { encrypted: true } : {}),
      close: connection.close,
      write: outcome.encrypt === undefined ? connection.write : encryptingWrite(connection, outcome.encrypt),
      run: (onChunk) =>
        Effect.zipRight(
          Effect.sync(() => {
            for (const chunk of held) onChunk(chunk)
            held = []
            reader = onChunk
          }),
          Deferred.await(ended)
        ).pipe(Effect.onInterrupt(() => Effect.sync(() => void (reader = undefined))))
    }
    return { connection: payload, infoHash: outcome.infoHash }
  })

/** The outbound side of MSE on an open connection. */
export const initiate = (connection: Connection, infoHash: Uint8Array, policy: "prefer" | "require"): Effect.Effect<Connection, NetworkError, Scope.Scope> =>
  Effect.map(handshake(connection, Mse.initiator(infoHash, policy), policy), (done) => done.connection)

/** The inbound side, on a connection whose first bytes were not a plaintext handshake: the payload's
 *  connection and the torrent the peer asked for. */
export const respond = (connection: Connection, policy: "prefer" | "require", find: (req2: Uint8Array) => Uint8Array | undefined) =>
  handshake(connection, Mse.responder({ policy, find }), policy)

/** An outbound connection under `policy` (see the top of this file). */
export const dial = (
  address: PeerAddress,
  options: { readonly infoHash: Uint8Array; readonly policy: Mse.Policy; readonly timeout: Duration.DurationInput }
): Effect.Effect<Connection, NetworkError, PeerNetwork | Scope.Scope> =>
  Effect.gen(function* () {
    const network = yield* PeerNetwork
    const connect = Effect.suspend(() => network.connect(address, { timeout: options.timeout }))
    const connection = yield* connect
    if (options.policy === "off") return connection
    const encrypted = (over: Connection) => initiate(over, options.infoHash, options.policy === "require" ? "require" : "prefer")
    // A TCP connection closed under our handshake may be a peer that takes uTP only (a libtorrent with TCP
    // off accepts and closes at once): the network then dials uTP first, and MSE goes again over it before
    // anything is concluded about the peer's encryption.
    const againOverUtp = (error: NetworkError) =>
      // "Encryption" here is the handshake cut short by the peer's close; "Closed", a write that failed.
      (error.reason === "Closed" || error.detail.endsWith("the peer closed the connection")) &&
        connection.transport !== "utp" && network.transports?.utp === true && network.speaksUtp !== undefined
        ? Effect.zipRight(
          Effect.zipRight(connection.close, Effect.sync(() => network.speaksUtp?.(address))),
          Effect.flatMap(connect, (next) => next.transport === "utp" ? encrypted(next) : Effect.zipRight(next.close, Effect.fail(error)))
        )
        : Effect.fail(error)
    const mse = encrypted(connection).pipe(Effect.catchAll(againOverUtp))
    if (options.policy === "require") return yield* mse
    return yield* mse.pipe(
      Effect.catchAll((error) =>
        error.reason === "Connect"
          ? Effect.fail(error)
          : Effect.logDebug(`peer ${connection.remote}: no encryption (${error.detail}); dialling again in plaintext`).pipe(
            Effect.zipRight(connection.close),
            Effect.zipRight(connect)
          )
      )
    )
  })
