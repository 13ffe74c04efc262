/**
 * KRPC over one datagram socket (BEP 5): our queries as transactions, matched to their answers, and the
 * queries of others handed to the server in order, within the rate limits.
 *
 * A query gets a 2-byte transaction id not in use, and waits `queryTimeout` (Effect's Clock, one timer
 * fiber for all of them) for an answer with that id from the endpoint it was sent to: an answer with a
 * known id from anywhere else is ignored, so a third party cannot answer for a node it does not control. Datagrams are handled
 * synchronously in the socket's handler: decoded, answers completed at once, queries admitted by the rate
 * limiter into a bounded queue that one server fiber drains (a flood fills it and is dropped, the queue
 * does not grow). Malformed queries whose `t` could be read are queued too, to be answered with error 203;
 * anything else that cannot be decoded is dropped.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import { isDict, isBytes, keyFromBytes } from "../../domain/Bencode.js"
import type { NetworkError } from "../../domain/Errors.js"
import { decode as decodeBencode } from "../../protocol/Bencode.js"
import { canonicalHost } from "../../protocol/CompactPeers.js"
import * as Krpc from "../../protocol/Krpc.js"
import { DatagramNetwork, type Endpoint } from "../wire/Datagram.js"
import { defaultRateLimits, RateLimiter, type RateLimits } from "./DhtStore.js"

export const defaultQueryTimeout: Duration.Duration = Duration.seconds(2)

/** Queries waiting for the server fiber; beyond this they are dropped. */
const inboundCapacity = 256

export type Inbound =
  | { readonly _tag: "Query"; readonly message: Krpc.QueryMessage; readonly from: Endpoint }
  | { readonly _tag: "Malformed"; readonly transactionId: Uint8Array; readonly detail: string; readonly from: Endpoint }

export type Reply =
  | { readonly _tag: "Response"; readonly message: Krpc.ResponseMessage }
  | { readonly _tag: "Error"; readonly message: Krpc.ErrorMessage }
  | { readonly _tag: "Timeout" }

export interface RpcCounts {
  readonly queriesReceived: number
  readonly queriesSent: number
  /** Refused by the rate limits or the full queue. */
  readonly queriesDropped: number
  /** Datagrams that were no message, or answers nobody waited for. */
  readonly ignored: number
}

export interface RpcOptions {
  readonly port: number
  readonly host?: string
  readonly queryTimeout?: Duration.DurationInput
  readonly rateLimits?: RateLimits
}

export interface Rpc {
  readonly port: number
  /** Sends the query built with a fresh transaction id and waits for its answer or the timeout. */
  readonly query: (to: Endpoint, build: (transactionId: Uint8Array) => Krpc.QueryMessage) => Effect.Effect<Reply>
  /** Sends an answer (or any message) as is. */
  readonly send: (to: Endpoint, message: Krpc.KrpcMessage) => Effect.Effect<void>
  /** The next admitted query, in arrival order. */
  readonly inbound: Effect.Effect<Inbound>
  readonly counts: () => RpcCounts
}

interface Pending {
  readonly to: string
  readonly reply: Deferred.Deferred<Reply>
  readonly deadline: number
}

const timedOut: Reply = { _tag: "Timeout" }

const endpointKey = (e: Endpoint) => `${canonicalHost(e.host)}|${e.port}`

/** Whether a datagram that failed to decode says it is a query (then it deserves error 203). */
const saysQuery = (bytes: Uint8Array): boolean => {
  const parsed = decodeBencode(bytes, { maxBytes: Krpc.maxDatagramBytes })
  if (Either.isLeft(parsed) || !isDict(parsed.right.value)) return false
  const y = parsed.right.value.get("y")
  return isBytes(y) && keyFromBytes(y) === "q"
}

export const make = (options: RpcOptions): Effect.Effect<Rpc, NetworkError, DatagramNetwork | Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* DatagramNetwork
    const clock = yield* Effect.clock
    const timeoutMs = Duration.toMillis(Duration.decode(options.queryTimeout ?? defaultQueryTimeout))
    const limiter = new RateLimiter(options.rateLimits ?? defaultRateLimits, clock.unsafeCurrentTimeMillis())
    const queue = yield* Queue.dropping<Inbound>(inboundCapacity)
    const pending = new Map<number, Pending>()
    let nextTransaction = yield* Random.nextIntBetween(0, 0x10000)
    let queriesReceived = 0
    let queriesSent = 0
    let queueDropped = 0
    let ignored = 0

    const admit = (inbound: Inbound): void => {
      queriesReceived++
      if (!limiter.allow(canonicalHost(inbound.from.host), clock.unsafeCurrentTimeMillis())) return
      if (!Queue.unsafeOffer(queue, inbound)) queueDropped++
    }

    const onMessage = (bytes: Uint8Array, from: Endpoint): void => {
      const decoded = Krpc.decode(bytes)
      if (Either.isLeft(decoded)) {
        const t = decoded.left.transactionId
        if (t !== undefined && saysQuery(bytes)) admit({ _tag: "Malformed", transactionId: t, detail: decoded.left.detail, from })
        else ignored++
        return
      }
      const message = decoded.right
      if (message._tag === "Query") return admit({ _tag: "Query", message, from })
      const t = message.transactionId
      const id = t.length === 2 ? (t[0]! << 8) | t[1]! : -1
      const waiting = pending.get(id)
      if (waiting === undefined || waiting.to !== endpointKey(from)) {
        ignored++
        return
      }
      pending.delete(id)
      Deferred.unsafeDone(
        waiting.reply,
        Exit.succeed<Reply>(message._tag === "Response" ? { _tag: "Response", message } : { _tag: "Error", message })
      )
    }

    // One timer for all transactions rather than one per query. Deadlines are in the order of the map
    // (insertion order, one timeout for all, a clock that does not go back), so the first is the earliest.
    let wakeSweeper: (() => void) | undefined
    const idle = Effect.async<void>((resume) => {
      wakeSweeper = () => resume(Effect.void)
      return Effect.sync(() => {
        wakeSweeper = undefined
      })
    })
    const sweep = Effect.suspend(() => {
      const first = pending.values().next()
      if (first.done === true) return idle
      const now = clock.unsafeCurrentTimeMillis()
      if (first.value.deadline > now) return Effect.sleep(Duration.millis(first.value.deadline - now))
      for (const [id, waiting] of pending) {
        if (waiting.deadline > now) break
        pending.delete(id)
        Deferred.unsafeDone(waiting.reply, Exit.succeed(timedOut))
      }
      return Effect.void
    })
    yield* Effect.forkScoped(Effect.forever(sweep))

    const socket = yield* network.bind({ port: options.port, ...(options.host === undefined ? {} : { host: options.host }) }, onMessage)

    const send = (to: Endpoint, message: Krpc.KrpcMessage) => socket.send(to, Krpc.encode(message))

    const query = (to: Endpoint, build: (transactionId: Uint8Array) => Krpc.QueryMessage): Effect.Effect<Reply> =>
      Effect.gen(function*() {
        const reply = yield* Deferred.make<Reply>()
        if (pending.size >= 0x10000) return timedOut
        while (pending.has(nextTransaction)) nextTransaction = (nextTransaction + 1) & 0xffff
        const id = nextTransaction
        nextTransaction = (nextTransaction + 1) & 0xffff
        pending.set(id, { to: endpointKey(to), reply, deadline: clock.unsafeCurrentTimeMillis() + timeoutMs })
        const wake = wakeSweeper
        wakeSweeper = undefined
        wake?.()
        return yield* Effect.gen(function*() {
          queriesSent++
          yield* send(to, build(new Uint8Array([id >> 8, id & 0xff])))
          return yield* Deferred.await(reply)
        }).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              if (pending.get(id)?.reply === reply) pending.delete(id)
            })
          )
        )
      })

    return {
      port: socket.port,
      query,
      send,
      inbound: Queue.take(queue),
      counts: () => ({ queriesReceived, queriesSent, queriesDropped: limiter.dropped + queueDropped, ignored })
    }
  })
