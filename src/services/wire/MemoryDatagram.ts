/**
 * An in-process datagram network, for whole DHTs in one test: as many sockets as a test binds, at host:port
 * (hosts are arbitrary strings, e.g. "10.0.3.7"; a wildcard or absent host binds 127.0.0.1) exchange
 * datagrams through one delivery queue.
 *
 * A datagram is copied when sent (the sender may reuse its buffer) and delivered `latencyMs` later through
 * Effect's Clock, so TestClock drives it; with no latency it is delivered on the next turn of the delivery
 * fiber, never inside `send` (a handler that answers would otherwise recurse). A datagram is lost with
 * probability `loss`, drawn from a Prng seeded with `seed`, so a lossy run repeats exactly; one to an
 * endpoint that nobody has bound when it arrives is dropped, as on a real network.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { NetworkError } from "../../domain/Errors.js"
import { format } from "../../domain/PeerAddress.js"
import * as Prng from "../../domain/Prng.js"
import { share } from "./SharedDatagram.js"
import { DatagramNetwork, type DatagramNetworkService, type DatagramSocket, type Endpoint } from "./Datagram.js"

export interface MemoryDatagramOptions {
  /** One-way delay of every datagram, in milliseconds (default 0). */
  readonly latencyMs?: number
  /** The probability that a datagram is lost, 0..1 (default 0). */
  readonly loss?: number
  /** The seed of the loss Prng (default 1). */
  readonly seed?: number
}

export interface MemoryDatagramCounts {
  readonly sent: number
  readonly delivered: number
  readonly lost: number
  /** Arrived where no socket was bound. */
  readonly unbound: number
}

export interface MemoryDatagram extends DatagramNetworkService {
  readonly counts: () => MemoryDatagramCounts
}

interface InFlight {
  readonly at: number
  readonly to: string
  readonly from: Endpoint
  readonly bytes: Uint8Array
}

const wildcards = new Set(["0.0.0.0", "::"])
const firstEphemeralPort = 49152
/** Deliveries per turn of the delivery fiber before it lets others run. */
const batch = 256

const keyOf = (host: string, port: number) => `${host}|${port}`

/** A memory network whose delivery fiber lives in the current scope. */
export const make = (options: MemoryDatagramOptions = {}) =>
  Effect.gen(function*() {
    const latency = Math.max(0, options.latencyMs ?? 0)
    const loss = Math.min(1, Math.max(0, options.loss ?? 0))
    const prng = Prng.make(options.seed ?? 1)
    const clock = yield* Effect.clock
    const handlers = new Map<string, (bytes: Uint8Array, from: Endpoint) => void>()
    const nextPort = new Map<string, number>()
    // Latency is the same for all, so arrival times are in sending order: a FIFO is a timeline.
    let queue: Array<InFlight | undefined> = []
    let head = 0
    let wake: (() => void) | undefined
    let sent = 0
    let delivered = 0
    let lost = 0
    let unbound = 0

    const wait = Effect.async<void>((resume) => {
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = undefined
      })
    })

    const deliverDue = Effect.suspend(() => {
      if (head === queue.length) {
        queue = []
        head = 0
        return wait
      }
      const now = clock.unsafeCurrentTimeMillis()
      const first = queue[head]!
      if (first.at > now) return Clock.sleep(Duration.millis(first.at - now))
      for (let n = 0; n < batch && head < queue.length; n++) {
        const item = queue[head]!
        if (item.at > now) break
        queue[head++] = undefined
        const handler = handlers.get(item.to)
        if (handler === undefined) {
          unbound++
          continue
        }
        delivered++
        try {
          handler(item.bytes, item.from)
        } catch {
          // a handler that throws loses that datagram only
        }
      }
      return Effect.yieldNow()
    })
    yield* Effect.forkScoped(Effect.forever(deliverDue))

    const allocate = (host: string): number => {
      let port = nextPort.get(host) ?? firstEphemeralPort
      for (let tries = 0; tries <= 65535 - firstEphemeralPort; tries++) {
        if (!handlers.has(keyOf(host, port))) break
        port = port === 65535 ? firstEphemeralPort : port + 1
      }
      nextPort.set(host, port === 65535 ? firstEphemeralPort : port + 1)
      return port
    }

    const bind: DatagramNetworkService["bind"] = (bindOptions, onMessage) =>
      Effect.gen(function*() {
        const host = bindOptions.host === undefined || wildcards.has(bindOptions.host) ? "127.0.0.1" : bindOptions.host
        const where = format({ host, port: bindOptions.port })
        if (bindOptions.port !== 0 && handlers.has(keyOf(host, bindOptions.port))) {
          return yield* new NetworkError({ reason: "Listen", address: where, detail: `UDP port ${bindOptions.port} is already in use` })
        }
        const port = bindOptions.port === 0 ? allocate(host) : bindOptions.port
        const key = keyOf(host, port)
        let open = true
        yield* Effect.acquireRelease(
          Effect.sync(() => handlers.set(key, onMessage)),
          () =>
            Effect.sync(() => {
              open = false
              handlers.delete(key)
            })
        )
        const from: Endpoint = { host, port }
        /** False when the socket is closed. */
        const post = (to: Endpoint, bytes: Uint8Array): boolean => {
          if (!open) return false
          sent++
          if (loss > 0 && prng.next() < loss) {
            lost++
            return true
          }
          queue.push({ at: clock.unsafeCurrentTimeMillis() + latency, to: keyOf(to.host, to.port), from, bytes: Uint8Array.from(bytes) })
          const w = wake
          wake = undefined
          w?.()
          return true
        }
        const send = (to: Endpoint, bytes: Uint8Array): Effect.Effect<void> =>
          Effect.suspend(() => (post(to, bytes) ? Effect.void : Effect.logDebug(`UDP send to ${format(to)} failed: socket closed`)))
        return { port, send, post: (to, bytes) => void post(to, bytes) } satisfies DatagramSocket
      })

    // A port bound twice is shared, as on UDP (SharedDatagram.ts).
    const network: MemoryDatagram = { bind: share(bind), counts: () => ({ sent, delivered, lost, unbound }) }
    return network
  })

/** A DatagramNetwork in memory (see the header). */
export const layer = (options?: MemoryDatagramOptions): Layer.Layer<DatagramNetwork> =>
  Layer.scoped(DatagramNetwork, make(options))
