/**
 * An in-process network for whole swarms in one process: each member gets its own PeerNetwork bound to a
 * host name (e.g. "10.0.0.1"); a listener at host:port is reachable by the others, and the accepting side
 * sees the caller's host with an ephemeral port.
 *
 * The chunks of a write are copied into one (as a kernel copies what a socket writes: the sender may
 * reuse its buffers once the write completes) and arrive in order. Each direction is a pipe shaped by its sender's
 * link: a chunk leaves once the link has carried the chunks before it (`bandwidth`, bytes/s; `write`
 * waits for this, which is the backpressure) and arrives `latency` later. Time is Effect's `Clock`, so a
 * swarm runs deterministically under TestClock; with no latency and no bandwidth limit nothing waits on
 * the clock. The receiver's `run` fiber delivers the chunks (no fiber per connection besides it), and data
 * written before `run` waits in the pipe. Closing an end sends the end of the stream down the same pipe,
 * after the data; `disconnect` instead resets every connection of a host at once, as a peer that vanishes.
 * Connecting takes no time.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import { NetworkError } from "../../domain/Errors.js"
import { format, PeerAddress } from "../../domain/PeerAddress.js"
import { type Connection, PeerNetwork, type PeerNetworkService } from "./PeerNetwork.js"

export interface LinkOptions {
  /** One-way delay of every chunk and of the end of the stream. */
  readonly latency?: Duration.DurationInput
  /** Bytes per second a host sends on each of its connections; unlimited when absent. */
  readonly bandwidth?: number
}

export interface MemoryNetwork {
  /** The PeerNetwork of one host; `link` (default: the network's) shapes what this host sends. */
  readonly host: (name: string, link?: LinkOptions) => PeerNetworkService
  /** Resets every connection of a host: both ends' `run` fail with Read, their writes with Closed.
   *  The host's listeners stay. */
  readonly disconnect: (host: string) => Effect.Effect<void>
  /** The number of open connections of a host. */
  readonly connections: (host: string) => Effect.Effect<number>
  /** Makes connecting to a host hang until the caller's timeout (a host that drops SYNs), as the many
   *  unreachable addresses trackers hand out do. */
  readonly blackhole: (host: string) => void
  /** Connection attempts in progress now, from any host (hanging on blackholed hosts). */
  readonly connecting: () => number
}

interface Link {
  readonly latency: number // ms
  readonly bandwidth: number | undefined // bytes/s
}

const toLink = (options: LinkOptions | undefined, fallback: Link): Link => ({
  latency: options?.latency === undefined ? fallback.latency : Duration.toMillis(options.latency),
  bandwidth: options?.bandwidth ?? fallback.bandwidth
})

/** One direction of a connection. `chunk` undefined marks the end of the stream. */
interface Item {
  readonly at: number
  readonly chunk: Uint8Array | undefined
}

class Pipe {
  private items: Array<Item | undefined> = []
  private head = 0
  /** When the link has carried everything written so far. */
  private freeAt = 0
  private wake: (() => void) | undefined = undefined

  constructor(private readonly link: Link) {}

  get isEmpty(): boolean {
    return this.head === this.items.length
  }

  peek(): Item | undefined {
    return this.items[this.head]
  }

  shift(): void {
    // Drop the reference at once: a long-lived pipe must not hold on to delivered chunks.
    this.items[this.head++] = undefined
    if (this.head === this.items.length) this.clear()
  }

  clear(): void {
    this.items = []
    this.head = 0
  }

  /** Sends `bytes` at `now`: returns when they arrive; `freeAt` moves past their transmission. */
  schedule(now: number, bytes: number): number {
    const start = Math.max(now, this.freeAt)
    this.freeAt = this.link.bandwidth === undefined ? start : start + (bytes * 1000) / this.link.bandwidth
    return this.freeAt + this.link.latency
  }

  sentBy(now: number): number {
    return Math.max(0, this.freeAt - now)
  }

  push(at: number, chunk: Uint8Array | undefined): void {
    const wasEmpty = this.isEmpty
    this.items.push({ at, chunk })
    // A reader with items pending sleeps until the first, which arrives no later than this one.
    if (wasEmpty) this.signal()
  }

  signal(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    const wake = () => resume(Effect.void)
    this.wake = wake
    return Effect.sync(() => {
      if (this.wake === wake) this.wake = undefined
    })
  })
}

interface Host {
  readonly name: string
  link: Link
  readonly ports: Set<number>
  readonly listeners: Map<number, (connection: Endpoint) => void>
  readonly endpoints: Set<Endpoint>
  nextPort: number
}

const firstEphemeralPort = 49152

const allocatePort = (host: Host): number => {
  for (let tries = 0; tries <= 65535 - firstEphemeralPort; tries++) {
    const port = host.nextPort
    host.nextPort = port === 65535 ? firstEphemeralPort : port + 1
    if (!host.ports.has(port)) {
      host.ports.add(port)
      return port
    }
  }
  throw new Error(`MemoryNetwork: no free port left on ${host.name}`)
}

class Endpoint implements Connection {
  readonly remote: string
  peer: Endpoint = this
  private closed = false
  private reset: NetworkError | undefined = undefined
  private running = false

  constructor(
    private readonly host: Host,
    readonly address: PeerAddress,
    private readonly inbound: Pipe,
    private readonly outbound: Pipe,
    /** The ephemeral port of an outbound connection, freed when it closes. */
    private readonly port: number | undefined
  ) {
    this.remote = format(address)
    host.endpoints.add(this)
  }

  readonly run = (onChunk: (chunk: Uint8Array) => void): Effect.Effect<void, NetworkError> =>
    Effect.clockWith((clock) =>
      Effect.suspend(() => {
        if (this.running) {
          return Effect.fail(new NetworkError({ reason: "Read", address: this.remote, detail: "already running" }))
        }
        this.running = true
        const step = (): Effect.Effect<void, NetworkError> => {
          for (;;) {
            if (this.reset !== undefined) return Effect.fail(this.reset)
            if (this.closed) return Effect.void
            const item = this.inbound.peek()
            if (item === undefined) return Effect.zipRight(this.inbound.wait, Effect.suspend(step))
            const now = clock.unsafeCurrentTimeMillis()
            if (item.at > now) {
              // Whole milliseconds, rounded up: bandwidth makes fractional times, and a sleep shorter
              // than the clock's tick would come back before `now` moves, again and again.
              const due = clock.sleep(Duration.millis(Math.ceil(item.at - now)))
              return Effect.zipRight(Effect.raceFirst(due, this.inbound.wait), Effect.suspend(step))
            }
            this.inbound.shift()
            if (item.chunk === undefined) {
              this.finish()
              return Effect.void
            }
            onChunk(item.chunk)
          }
        }
        return Effect.ensuring(
          Effect.suspend(step),
          Effect.sync(() => {
            this.running = false
          })
        )
      })
    )

  readonly write = (chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void, NetworkError> =>
    Effect.clockWith((clock) =>
      Effect.suspend(() => {
        if (this.closed) return Effect.fail(this.closedError())
        const now = clock.unsafeCurrentTimeMillis()
        // Copied, as a kernel copies what a socket writes: when the write completes, the sender may reuse
        // its buffers. The chunks of one write travel as one, as a stream would carry them.
        let size = 0
        for (const chunk of chunks) size += chunk.byteLength
        const copy = new Uint8Array(size)
        let offset = 0
        for (const chunk of chunks) {
          copy.set(chunk, offset)
          offset += chunk.byteLength
        }
        const at = this.outbound.schedule(now, size)
        if (!this.peer.closed && size > 0) this.outbound.push(at, copy)
        const sending = Math.ceil(this.outbound.sentBy(now))
        return sending > 0 ? clock.sleep(Duration.millis(sending)) : Effect.void
      })
    )

  readonly close: Effect.Effect<void> = Effect.clockWith((clock) =>
    Effect.sync(() => {
      if (this.closed) return
      this.finish()
      this.inbound.signal()
      if (!this.peer.closed) {
        const now = clock.unsafeCurrentTimeMillis()
        this.outbound.push(this.outbound.schedule(now, 0), undefined)
      }
    })
  )

  /** Resets the connection (both ends). */
  abort(): void {
    for (const end of [this, this.peer]) {
      if (end.closed) continue
      end.reset = new NetworkError({ reason: "Read", address: end.remote, detail: "connection reset" })
      end.finish()
      end.inbound.signal()
    }
  }

  private finish(): void {
    this.closed = true
    this.inbound.clear()
    this.host.endpoints.delete(this)
    if (this.port !== undefined) this.host.ports.delete(this.port)
  }

  private closedError(): NetworkError {
    return new NetworkError({
      reason: "Closed",
      address: this.remote,
      detail: this.reset === undefined ? "connection closed" : "connection reset"
    })
  }
}

const wildcards = new Set(["0.0.0.0", "::"])

export const make = (options?: LinkOptions): Effect.Effect<MemoryNetwork> =>
  Effect.sync(() => {
    const defaults = toLink(options, { latency: 0, bandwidth: undefined })
    const hosts = new Map<string, Host>()
    const blackholes = new Set<string>()
    let connecting = 0
    const hostState = (name: string): Host => {
      let host = hosts.get(name)
      if (host === undefined) {
        host = {
          name,
          link: defaults,
          ports: new Set(),
          listeners: new Map(),
          endpoints: new Set(),
          nextPort: firstEphemeralPort
        }
        hosts.set(name, host)
      }
      return host
    }

    const peerNetwork = (name: string, link?: LinkOptions): PeerNetworkService => {
      const local = hostState(name)
      local.link = toLink(link, defaults)

      const connect = Effect.fn("PeerNetwork.connect")(function*(
        address: PeerAddress,
        options?: { readonly timeout?: Duration.DurationInput }
      ) {
        if (blackholes.has(address.host)) {
          connecting++
          yield* Effect.sleep(options?.timeout ?? "75 seconds").pipe(Effect.ensuring(Effect.sync(() => connecting--)))
          return yield* new NetworkError({ reason: "Timeout", address: format(address), detail: "connection timed out" })
        }
        const target = hosts.get(address.host)
        const accept = target?.listeners.get(address.port)
        if (target === undefined || accept === undefined) {
          return yield* new NetworkError({ reason: "Connect", address: format(address), detail: "connection refused" })
        }
        return yield* Effect.acquireRelease(
          Effect.sync(() => {
            const port = allocatePort(local)
            const there = new Pipe(local.link)
            const back = new Pipe(target.link)
            const mine = new Endpoint(local, address, back, there, port)
            const theirs = new Endpoint(target, new PeerAddress({ host: name, port }), there, back, undefined)
            mine.peer = theirs
            theirs.peer = mine
            accept(theirs)
            return mine
          }),
          (mine) => mine.close
        )
      })

      const listen = Effect.fn("PeerNetwork.listen")(function*(
        options: { readonly port: number; readonly host?: string },
        onConnection: (connection: Connection) => Effect.Effect<void>
      ) {
        const where = format({ host: options.host ?? name, port: options.port })
        if (options.host !== undefined && options.host !== name && !wildcards.has(options.host)) {
          return yield* new NetworkError({ reason: "Listen", address: where, detail: "address not available on this host" })
        }
        const runFork = yield* FiberSet.makeRuntime<never, void, never>()
        const port = yield* Effect.acquireRelease(
          Effect.suspend(() => {
            if (options.port !== 0 && local.ports.has(options.port)) {
              return Effect.fail(
                new NetworkError({ reason: "Listen", address: where, detail: `port ${options.port} is already in use` })
              )
            }
            const port = options.port === 0 ? allocatePort(local) : options.port
            local.ports.add(port)
            local.listeners.set(port, (connection) => {
              runFork(
                onConnection(connection).pipe(
                  Effect.ensuring(connection.close),
                  Effect.catchAllDefect((defect) =>
                    Effect.logError(`PeerNetwork: handler for ${connection.remote} died`, defect)
                  )
                )
              )
            })
            return Effect.succeed(port)
          }),
          (port) =>
            Effect.sync(() => {
              local.listeners.delete(port)
              local.ports.delete(port)
            })
        )
        return { port }
      })

      return { connect, listen }
    }

    return {
      host: peerNetwork,
      disconnect: (name) =>
        Effect.sync(() => {
          const host = hosts.get(name)
          if (host !== undefined) for (const endpoint of [...host.endpoints]) endpoint.abort()
        }),
      connections: (name) => Effect.sync(() => hosts.get(name)?.endpoints.size ?? 0),
      blackhole: (name) => void blackholes.add(name),
      connecting: () => connecting
    }
  })

/** One host of an in-process network (MemoryNetwork.make); `latency` and `bandwidth` shape what it sends. */
export const layerHost = (
  network: MemoryNetwork,
  options: { readonly host: string } & LinkOptions
): Layer.Layer<PeerNetwork> => Layer.sync(PeerNetwork, () => network.host(options.host, options))
