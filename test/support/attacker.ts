/**
 * Raw attackers for swarm tests: a connection over the in-memory network on which a test scripts the
 * exact bytes to send (a correct handshake or not, then anything at all), while everything bt-effect
 * sends is parsed and kept, and the end of the connection is recorded with who ended it and when
 * (Effect's Clock: virtual time under TestClock). An attacker either listens (bt-effect dials it, having
 * learnt it from the tracker or from `peers`) or dials bt-effect itself (an inbound attack).
 *
 * Unlike the scripted peers of fakePeer.ts, an attacker never closes a connection unless its script says
 * so: when its script is over it waits, so that a closed connection is bt-effect's decision.
 *
 * `watchMemory` samples the process's memory during a case, for the bound every hostile-peer case checks.
 */
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { NetworkError } from "../../src/domain/Errors.js"
import type { InfoHash } from "../../src/domain/InfoHash.js"
import type { PeerAddress } from "../../src/domain/PeerAddress.js"
import { PeerId } from "../../src/domain/PeerId.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import type { MemoryNetwork } from "../../src/services/wire/MemoryNetwork.js"
import type { Connection } from "../../src/services/wire/PeerNetwork.js"

/** How an attacker's connection ended. */
export interface Ending {
  /** "bt-effect": it closed the connection; "attacker": the script did; "reset": the network reset it. */
  readonly by: "bt-effect" | "attacker" | "reset"
  /** Clock time of the end (ms). */
  readonly atMs: number
}

export interface RawConnection {
  /** The other end as this side sees it ("host:port"). */
  readonly remote: string
  /** When the connection was opened (Clock ms). */
  readonly openedAtMs: number
  /** What bt-effect sent, parsed: its handshake first, then its messages. */
  readonly frames: ReadonlyArray<FrameParser.Frame>
  readonly receivedBytes: () => number
  /** Bytes the network took from the script (those sent after the end are not counted). */
  readonly sentBytes: () => number
  /** Writes the chunks as one write; false when the connection has ended (nothing is sent then). */
  readonly send: (...chunks: ReadonlyArray<Uint8Array>) => Effect.Effect<boolean>
  /** Waits until more than `seen` frames are in; false if the connection ended first. */
  readonly more: (seen: number) => Effect.Effect<boolean>
  /** The first frame from bt-effect for which `pick` gives a value, waiting for it; undefined if the
   *  connection ends first. */
  readonly waitFor: <A>(pick: (frame: FrameParser.Frame) => A | undefined) => Effect.Effect<A | undefined>
  /** The end of the connection, when it comes. */
  readonly ended: Effect.Effect<Ending>
  /** The end, if it has come. */
  readonly ending: () => Ending | undefined
  /** Ends the connection from the attacker's side (a clean close; `network.disconnect` resets). */
  readonly close: Effect.Effect<void>
  /** Why the script failed, if it did. */
  readonly scriptFailure: () => string | undefined
}

export type Script = (connection: RawConnection) => Effect.Effect<void, unknown>

/** A handshake for `infoHash`: the peer id is "-XX0000-" and the host (distinct per attacker); BEP 6 on
 *  unless told. */
export const handshake = (infoHash: InfoHash, host: string, options: { readonly fast?: boolean } = {}): Uint8Array =>
  Handshake.encode({
    reserved: Handshake.reserved({ fast: options.fast ?? true }),
    infoHash,
    peerId: PeerId.make(Uint8Array.from(Buffer.from(`-XX0000-${host}`.padEnd(20, "x").slice(0, 20), "latin1")))
  })

/** A frame with any length prefix and id (and payload bytes after the id), however wrong. */
export const rawFrame = (length: number, id?: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const out = new Uint8Array(4 + (id === undefined ? 0 : 1) + payload.length)
  new DataView(out.buffer).setUint32(0, length >>> 0)
  if (id !== undefined) out[4] = id
  out.set(payload, id === undefined ? 4 : 5)
  return out
}

/** Runs the attacker's side of `connection`: reads until the end, runs the script alongside. */
const attach = (connection: Connection, script: Script): Effect.Effect<RawConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const openedAtMs = yield* Clock.currentTimeMillis
    const parser = FrameParser.make({ handshake: true })
    const frames: Array<FrameParser.Frame> = []
    // Wakes every waiter at once (the script and the test may both wait): a fresh Deferred per change.
    let pulse = Deferred.unsafeMake<void>(FiberId.none)
    const notify = () => {
      const woken = pulse
      pulse = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(woken, Exit.void)
    }
    const ended = yield* Deferred.make<Ending>()
    let ending: Ending | undefined
    let received = 0
    let sent = 0
    let closing = false
    let failure: string | undefined
    const finish = (by: Ending["by"]) =>
      Effect.flatMap(Clock.currentTimeMillis, (atMs) =>
        Effect.suspend(() => {
          ending ??= { by, atMs }
          notify()
          return Deferred.succeed(ended, ending)
        })
      )
    yield* connection
      .run((chunk) => {
        received += chunk.length
        // What bt-effect sends is well formed; a parse failure would show as missing frames.
        parser.push(chunk, (frame) => void frames.push(frame))
        notify()
      })
      .pipe(
        Effect.matchEffect({
          onFailure: () => finish("reset"),
          onSuccess: () => finish(closing ? "attacker" : "bt-effect")
        }),
        Effect.forkScoped
      )
    const more = (seen: number): Effect.Effect<boolean> =>
      Effect.gen(function* () {
        while (true) {
          if (frames.length > seen) return true
          if (ending !== undefined) return false
          yield* Deferred.await(pulse)
        }
      })
    const raw: RawConnection = {
      remote: connection.remote,
      openedAtMs,
      frames,
      receivedBytes: () => received,
      sentBytes: () => sent,
      send: (...chunks) =>
        Effect.suspend(() => {
          if (ending !== undefined) return Effect.succeed(false)
          let size = 0
          for (const c of chunks) size += c.length
          return connection.write(chunks).pipe(
            Effect.as(true),
            Effect.tap(() => {
              sent += size
            }),
            Effect.orElseSucceed(() => false)
          )
        }),
      more,
      waitFor: <A>(pick: (frame: FrameParser.Frame) => A | undefined) =>
        Effect.gen(function* () {
          let seen = 0
          while (yield* more(seen)) {
            for (; seen < frames.length; seen++) {
              const hit = pick(frames[seen]!)
              if (hit !== undefined) return hit
            }
          }
          return undefined
        }),
      ended: Deferred.await(ended),
      ending: () => ending,
      close: Effect.suspend(() => {
        closing = true
        return Effect.zipRight(connection.close, finish("attacker"))
      }),
      scriptFailure: () => failure
    }
    yield* script(raw).pipe(
      Effect.catchAllCause((cause) =>
        Effect.sync(() => {
          failure = Cause.pretty(cause)
        })
      ),
      Effect.forkScoped
    )
    return raw
  })

export interface Listening {
  readonly host: string
  readonly port: number
  /** Every connection bt-effect made to it, in order. */
  readonly connections: ReadonlyArray<RawConnection>
}

/** An attacker listening on host:port; every connection bt-effect makes to it runs `script`. */
export const listenAttacker = (options: {
  readonly network: MemoryNetwork
  readonly host: string
  readonly port: number
  readonly script: Script
}): Effect.Effect<Listening, NetworkError, Scope.Scope> =>
  Effect.gen(function* () {
    const connections: Array<RawConnection> = []
    yield* options.network.host(options.host).listen({ port: options.port, host: options.host }, (connection) =>
      Effect.scoped(
        Effect.gen(function* () {
          const raw = yield* attach(connection, options.script)
          connections.push(raw)
          // The listener closes the connection when this returns: wait for the end instead.
          yield* raw.ended
        })
      )
    )
    return { host: options.host, port: options.port, connections }
  })

/** An attacker on `host` that dials bt-effect at `target` (an inbound connection for bt-effect). */
export const dialAttacker = (options: {
  readonly network: MemoryNetwork
  readonly host: string
  readonly target: PeerAddress
  readonly script: Script
}): Effect.Effect<RawConnection, NetworkError, Scope.Scope> =>
  Effect.flatMap(options.network.host(options.host).connect(options.target), (connection) => attach(connection, options.script))

/** The handshake bt-effect sent, if any. */
export const isHandshake = (frame: FrameParser.Frame): Handshake.Handshake | undefined =>
  frame._tag === "Handshake" ? frame.handshake : undefined

// ---------------------------------------------------------------------------------------------------------
// Memory

// A full collection before a baseline, so that the garbage of earlier tests does not count: `gc` is made
// available at run time (the flag takes effect for contexts created after it).
v8.setFlagsFromString("--expose-gc")
const exposedGc: unknown = vm.runInNewContext("gc")
const collectGarbage = (): void => {
  if (typeof exposedGc === "function") exposedGc()
}

/** Bytes above the baseline. */
export interface MemoryGrowth {
  readonly rss: number
  readonly arrayBuffers: number
  readonly heapUsed: number
}

export interface MemoryWatch {
  /** Takes a sample now (besides the timer's), e.g. right after an attack. */
  readonly sample: () => void
  /** The highest growth sampled so far, each figure on its own. */
  readonly peak: () => MemoryGrowth
  /** One line: the peaks in MiB, absolute and above the baseline. */
  readonly report: (label: string) => string
}

const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1)

/**
 * Samples `process.memoryUsage()` every `intervalMs` of real time until the scope closes, from a baseline
 * taken after a full collection.
 */
export const watchMemory = (intervalMs = 20): Effect.Effect<MemoryWatch, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      collectGarbage()
      const base = process.memoryUsage()
      let top = { rss: base.rss, arrayBuffers: base.arrayBuffers, heapUsed: base.heapUsed }
      const sample = () => {
        const now = process.memoryUsage()
        top = {
          rss: Math.max(top.rss, now.rss),
          arrayBuffers: Math.max(top.arrayBuffers, now.arrayBuffers),
          heapUsed: Math.max(top.heapUsed, now.heapUsed)
        }
      }
      const timer = setInterval(sample, intervalMs)
      const peak = (): MemoryGrowth => ({
        rss: top.rss - base.rss,
        arrayBuffers: top.arrayBuffers - base.arrayBuffers,
        heapUsed: top.heapUsed - base.heapUsed
      })
      const report = (label: string) => {
        sample()
        const g = peak()
        return `${label}: peak rss ${mib(top.rss)} MiB (+${mib(g.rss)}), arrayBuffers ${mib(top.arrayBuffers)} MiB ` +
          `(+${mib(g.arrayBuffers)}), heap ${mib(top.heapUsed)} MiB (+${mib(g.heapUsed)})`
      }
      return { watch: { sample, peak, report }, timer }
    }),
    ({ timer }) => Effect.sync(() => clearInterval(timer))
  ).pipe(Effect.map(({ watch }) => watch))
