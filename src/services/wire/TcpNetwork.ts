/**
 * The peer network over TCP (node:net): the real Layer of the PeerNetwork port (PeerNetwork.ts says why it
 * is not @effect/platform's Socket).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Net from "node:net"
import { NetworkError } from "../../domain/Errors.js"
import { type Bind, isBound, localFor, unbound } from "../../domain/BindAddress.js"
import { format, PeerAddress } from "../../domain/PeerAddress.js"
import { type Connection, defaultConnectTimeout, PeerNetwork, type PeerNetworkService } from "./PeerNetwork.js"
import { connectError, errorCode, errorText, portError } from "./SocketErrors.js"

/** Sockets that read into a buffer of their own (`onread`): they emit no 'data' events. */
const usesOwnBuffer = new WeakSet<Net.Socket>()

/** The size of an outbound connection's read buffer. */
const readBufferSize = 256 * 1024

const closedError = (address: string): NetworkError =>
  new NetworkError({ reason: "Closed", address, detail: "connection closed" })

/** An IPv4 peer accepted on a dual-stack socket shows as "::ffff:a.b.c.d". */
const unmapped = (host: string): string => (host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host)

/** Bytes read before `run` (reused buffers cannot wait): copied, and delivered when `run` starts. */
interface Reader {
  handler: ((chunk: Uint8Array) => void) | undefined
  readonly early: Array<Uint8Array>
}

const deliver = (reader: Reader, chunk: Uint8Array): void => {
  if (reader.handler !== undefined) reader.handler(chunk)
  else reader.early.push(Uint8Array.prototype.slice.call(chunk))
}

/** A Connection over an open socket. Attaches the socket's error listener at once (an 'error' without
 *  a listener would crash the process); the socket stays paused until `run`. With `reader`, the socket
 *  reads through `onread` into a buffer of its own, and calls `deliver` itself. */
const fromSocket = (socket: Net.Socket, address: PeerAddress, reader: Reader = { handler: undefined, early: [] }): Connection => {
  const remote = format(address)
  let failure: unknown = undefined
  let closed = false
  let running = false
  socket.on("error", (error) => {
    failure ??= error
  })

  const run = (onChunk: (chunk: Uint8Array) => void): Effect.Effect<void, NetworkError> =>
    Effect.async<void, NetworkError>((resume) => {
      if (running) {
        return resume(Effect.fail(new NetworkError({ reason: "Read", address: remote, detail: "already running" })))
      }
      if (failure !== undefined) {
        return resume(Effect.fail(new NetworkError({ reason: "Read", address: remote, detail: errorText(failure) })))
      }
      running = true
      const detach = () => {
        running = false
        reader.handler = undefined
        socket.off("data", onData)
        socket.off("end", onEnd)
        socket.off("error", onError)
        socket.off("close", onClose)
      }
      const finish = (exit: Effect.Effect<void, NetworkError>) => {
        detach()
        resume(exit)
      }
      const guarded = (chunk: Uint8Array) => {
        try {
          onChunk(chunk)
        } catch (defect) {
          socket.destroy()
          finish(Effect.die(defect))
        }
      }
      const onData = (chunk: Buffer) => deliver(reader, chunk)
      const onEnd = () => finish(Effect.void)
      const onError = (error: Error) =>
        finish(Effect.fail(new NetworkError({ reason: "Read", address: remote, detail: errorText(error) })))
      const onClose = () => finish(Effect.void)
      for (const chunk of reader.early.splice(0)) {
        guarded(chunk)
        if (!running) return
      }
      if (socket.destroyed || socket.readableEnded) return finish(Effect.void)
      reader.handler = guarded
      if (!usesOwnBuffer.has(socket)) socket.on("data", onData)
      socket.on("end", onEnd)
      socket.on("error", onError)
      socket.on("close", onClose)
      socket.resume()
      // Interrupted: stop reading, keep what arrives for a later `run`.
      return Effect.sync(() => {
        detach()
        socket.pause()
      })
    })

  const write = (chunks: ReadonlyArray<Uint8Array>): Effect.Effect<void, NetworkError> =>
    Effect.async<void, NetworkError>((resume) => {
      if (closed || socket.destroyed || socket.writableEnded) return resume(Effect.fail(closedError(remote)))
      const last = chunks.length - 1
      if (last < 0) return resume(Effect.void)
      // Node calls the callback of every write, with ERR_STREAM_DESTROYED when the socket closed first.
      const done = (error: Error | null | undefined) => {
        if (closed || errorCode(error) === "ERR_STREAM_DESTROYED") resume(Effect.fail(closedError(remote)))
        else if (error) resume(Effect.fail(new NetworkError({ reason: "Write", address: remote, detail: errorText(error) })))
        else resume(Effect.void)
      }
      socket.cork()
      for (let i = 0; i < last; i++) socket.write(chunks[i]!)
      socket.write(chunks[last]!, done)
      socket.uncork()
    })

  const close = Effect.sync(() => {
    closed = true
    socket.destroy()
  })

  return { remote, address, run, write, close }
}

const connect = Effect.fn("PeerNetwork.connect")(function*(
  address: PeerAddress,
  options: { readonly timeout?: Duration.DurationInput } | undefined,
  bind: Bind
) {
  const remote = format(address)
  const timeout = Duration.decode(options?.timeout ?? defaultConnectTimeout)
  // Bound: from the bound address of the peer's family only (a name resolved in that family), never
  // from another address of the machine.
  const local = isBound(bind) ? localFor(bind, address.host) : undefined
  if (isBound(bind) && local === undefined) {
    return yield* new NetworkError({ reason: "Connect", address: remote, detail: "no address of its family bound (--bind)" })
  }
  let socket: Net.Socket | undefined
  yield* Effect.addFinalizer(() => Effect.sync(() => socket?.destroy()))
  return yield* Effect.async<Connection, NetworkError>((resume) => {
    const reader: Reader = { handler: undefined, early: [] }
    const buffer = Buffer.allocUnsafe(readBufferSize)
    const opened = Net.createConnection({
      host: address.host,
      port: address.port,
      ...(local !== undefined ? { localAddress: local.address, family: local.family } : {}),
      noDelay: true,
      onread: {
        buffer,
        callback: (bytes: number, into: Uint8Array) => {
          deliver(reader, into.subarray(0, bytes))
          return true
        }
      }
    })
    usesOwnBuffer.add(opened)
    socket = opened
    const onError = (error: Error) => {
      opened.destroy()
      resume(Effect.fail(connectError(remote, error)))
    }
    opened.once("error", onError)
    opened.once("connect", () => {
      const connection = fromSocket(opened, address, reader)
      opened.off("error", onError)
      resume(Effect.succeed(connection))
    })
    return Effect.sync(() => opened.destroy())
  }).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new NetworkError({
          reason: "Timeout",
          address: remote,
          detail: `no connection after ${Duration.format(timeout)}`
        })
    })
  )
})

/** One server on host:port (`host` undefined: Node's default, `::` dual stack where the machine has IPv6,
 *  else 0.0.0.0), closed with the scope and every connection it accepted. */
const serve = (host: string | undefined, port: number, accept: (socket: Net.Socket) => void, sockets: Set<Net.Socket>) => {
  // Named as the wildcard address it is where the machine has IPv6 ("[::]:6881").
  const where = format({ host: host ?? "::", port })
  return Effect.acquireRelease(
    Effect.async<Net.Server, NetworkError>((resume) => {
      const server = Net.createServer({ noDelay: true }, accept)
      const onError = (error: Error) => {
        server.close()
        resume(Effect.fail(portError("TCP", where, port, error)))
      }
      server.once("error", onError)
      server.listen({ port, ...(host !== undefined ? { host } : {}) }, () => {
        server.off("error", onError)
        // Accept errors (e.g. out of file descriptors) drop that connection, not the listener.
        server.on("error", () => {})
        resume(Effect.succeed(server))
      })
      return Effect.sync(() => server.close())
    }),
    (server) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
}

const listen = Effect.fn("PeerNetwork.listen")(function*(
  options: { readonly port: number; readonly host?: string },
  onConnection: (connection: Connection) => Effect.Effect<void>,
  bind: Bind
) {
  const runFork = yield* FiberSet.makeRuntime<never, void, never>()
  const sockets = new Set<Net.Socket>()

  const accept = (socket: Net.Socket) => {
    const remoteHost = socket.remoteAddress
    const remotePort = socket.remotePort
    if (remoteHost === undefined || remotePort === undefined) {
      // Already reset by the peer before we saw it.
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
    const connection = fromSocket(socket, new PeerAddress({ host: unmapped(remoteHost), port: remotePort }))
    runFork(
      onConnection(connection).pipe(
        Effect.ensuring(connection.close),
        Effect.catchAllDefect((defect) => Effect.logError(`PeerNetwork: handler for ${connection.remote} died`, defect))
      )
    )
  }

  // A host asked for wins; else the bound addresses (the same port on each); else every address.
  const hosts: ReadonlyArray<string | undefined> = options.host !== undefined
    ? [options.host]
    : isBound(bind)
    ? [bind.ipv4, bind.ipv6].filter((h): h is string => h !== undefined)
    : [undefined]
  const first = yield* serve(hosts[0], options.port, accept, sockets)
  const bound = first.address()
  const port = typeof bound === "object" && bound !== null ? bound.port : options.port
  for (const host of hosts.slice(1)) yield* serve(host, port, accept, sockets)
  return { port }
})

/** The TCP network bound to `bind` (BindAddress.ts): listening there unless asked otherwise, dialling from it. */
export const makeBound = (bind: Bind): Effect.Effect<PeerNetworkService> =>
  Effect.succeed(PeerNetwork.of({
    connect: (address, options) => connect(address, options, bind),
    listen: (options, onConnection) => listen(options, onConnection, bind)
  }))

export const make: Effect.Effect<PeerNetworkService> = makeBound(unbound)

export const layerBound = (bind: Bind): Layer.Layer<PeerNetwork> => Layer.effect(PeerNetwork, makeBound(bind))

export const layer: Layer.Layer<PeerNetwork> = layerBound(unbound)
