/**
 * The sessions of a swarm, dialled and accepted, within their limits: at most `maxSessions` at once
 * (counted from dialling through the handshake, not only attached peers: counting attached ones let a
 * dialler woken during handshakes open far more), `halfOpen` of them connecting. Addresses come from
 * `learn` into the candidates (PeerCandidates.ts: bounded, hard to poison, dialled fewest failures first);
 * the loop dials those that are due whenever it is woken (an address learnt, a session or a connect ended)
 * and when the next one falls due, and sleeps otherwise: a torrent with nothing to dial costs no timer (a
 * daemon seeds a thousand of them).
 *
 * A torrent runs its peer sessions here (with inbound ones through `accept`); a magnet link's metadata
 * fetch runs its attempts here too. What a session is, and what its end means, is the owner's.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../domain/Errors.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type * as Mse from "../../protocol/Mse.js"
import * as MseConnection from "../wire/MseConnection.js"
import { type Connection, PeerNetwork } from "../wire/PeerNetwork.js"
import type { Candidate, PeerCandidates } from "./PeerCandidates.js"

export interface DialerOptions<E> {
  readonly candidates: PeerCandidates
  /** Sessions at once, dialled and accepted. */
  readonly maxSessions: number
  /** Connections being opened at once. */
  readonly halfOpen: number
  readonly connectTimeout: Duration.DurationInput
  /** What not to dial in a round, besides those in session (a banned host, a peer connected to us from
   *  another port): asked once a round, for a test of each candidate. */
  readonly skip?: () => (candidate: Candidate) => boolean
  /** A connection that opened wipes the address's failures (a torrent's peers; not a metadata fetch's, whose
   *  attempts fail after connecting as often as before). */
  readonly forgiveOnConnect: boolean
  /** The session on a connection, until it ends. */
  readonly session: (connection: Connection, inbound: boolean) => Effect.Effect<void, E>
  /** A dial or a session that failed. */
  readonly ended: (key: string, error: E | NetworkError) => Effect.Effect<void>
  /** Message Stream Encryption for the connections dialled (MseConnection.dial), by the policy of the
   *  moment; without it, plaintext. */
  readonly encryption?: { readonly infoHash: Uint8Array; readonly policy: () => Mse.Policy }
  /** After each round of dialling (progress for whoever shows it). */
  readonly afterRound?: Effect.Effect<void>
}

export interface Dialer {
  /** New addresses to dial (those known or in session are not added again). */
  readonly learn: (addresses: ReadonlyArray<PeerAddress>) => void
  /** Look for candidates to dial now (a session ended, say). */
  readonly wake: () => void
  /** Runs an inbound session, counted with the others; closes it when the sessions are full. */
  readonly accept: (connection: Connection) => Effect.Effect<void>
  /** Ends the session of `key`, if there is one; returns at once. */
  readonly drop: (key: string) => Effect.Effect<void>
  /** Whether `key` is in session (dialling, handshaking or attached). */
  readonly inSession: (key: string) => boolean
  readonly sessions: Effect.Effect<number>
}

/** A dialer whose loop runs in the scope. */
export const make = <E>(options: DialerOptions<E>): Effect.Effect<Dialer, never, PeerNetwork | Scope.Scope> =>
  Effect.gen(function* () {
    const network = yield* PeerNetwork
    const scope = yield* Effect.scope
    const fibers = yield* FiberMap.make<string>()
    const wakeup = yield* Queue.sliding<void>(1)
    const connecting = new Set<string>()
    const wake = () => void wakeup.unsafeOffer(undefined)
    const inSession = (key: string) => FiberMap.unsafeHas(fibers, key)

    const run = (key: string, session: Effect.Effect<void, E | NetworkError>) =>
      FiberMap.run(fibers, key, session.pipe(Effect.catchAll((error) => options.ended(key, error)), Effect.ensuring(Effect.sync(wake))))

    const dial = (candidate: Candidate) =>
      Effect.scoped(
        Effect.gen(function* () {
          const encryption = options.encryption
          const policy = encryption?.policy() ?? "off"
          const opened = encryption === undefined || policy === "off"
            ? network.connect(candidate.address, { timeout: options.connectTimeout })
            : MseConnection.dial(candidate.address, { infoHash: encryption.infoHash, policy, timeout: options.connectTimeout }).pipe(
              Effect.provideService(PeerNetwork, network)
            )
          const connection = yield* opened.pipe(
            // A place among the half-open ones is free: the loop may be waiting for it.
            Effect.ensuring(Effect.sync(() => {
              connecting.delete(candidate.key)
              wake()
            }))
          )
          if (options.forgiveOnConnect) candidate.failures = 0
          return yield* options.session(connection, false)
        })
      )

    /** Dials what is due; gives how long until the next candidate falls due (undefined: none waits, or the
     *  sessions are full, and an end of one wakes the loop). */
    const round = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const skip = options.skip?.()
      const busy = (c: Candidate) => inSession(c.key) || connecting.has(c.key) || skip?.(c) === true
      let full = false
      for (const candidate of options.candidates.due(now, busy)) {
        full = (yield* FiberMap.size(fibers)) >= options.maxSessions || connecting.size >= options.halfOpen
        if (full) break
        connecting.add(candidate.key)
        yield* run(candidate.key, dial(candidate))
      }
      if (options.afterRound !== undefined) yield* options.afterRound
      const next = full ? undefined : options.candidates.nextDueAt(busy)
      return next === undefined ? undefined : Math.max(0, next - now)
    })
    const sleep = (ms: number | undefined) =>
      ms === undefined ? Queue.take(wakeup) : Effect.asVoid(Queue.take(wakeup).pipe(Effect.timeoutOption(Duration.millis(Math.max(ms, 10)))))
    yield* Effect.forkScoped(Effect.iterate(0 as number | undefined, { while: () => true, body: (ms) => Effect.zipRight(sleep(ms), round) }))

    const dialer: Dialer = {
      learn: (addresses) => {
        for (const address of addresses) options.candidates.add(address, (key) => inSession(key) || connecting.has(key))
        wake()
      },
      wake,
      accept: (connection) =>
        Effect.flatMap(FiberMap.size(fibers), (sessions) =>
          sessions >= options.maxSessions
            ? connection.close
            : run(connection.remote, options.session(connection, true)).pipe(Effect.flatMap((fiber) => fiber.await), Effect.asVoid)
        ),
      drop: (key) => Effect.forkIn(FiberMap.remove(fibers, key), scope).pipe(Effect.asVoid),
      inSession,
      sessions: FiberMap.size(fibers)
    }
    return dialer
  })
