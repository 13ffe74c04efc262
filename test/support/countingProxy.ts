/**
 * A TCP proxy on loopback that forwards every connection it accepts to one target and counts the bytes
 * each way, over all the connections it has carried. Interop tests put it between bt-effect and another
 * client to measure what bt-effect was sent from outside its process: a client killed with SIGKILL
 * reports nothing, and its own counters die with it.
 *
 * Bytes are counted as the proxy reads them from the target, before they are written on to the client:
 * what was in flight when a client died counts as sent (the count errs high, never low). Each direction is
 * piped with backpressure, so that margin stays within the sockets' buffers.
 *
 * A test that kills a client calls `dropConnections()` at once. Without it the proxy goes on reading from
 * the target until it notices that the client's sockets are gone, and counts what it pushes into the dead
 * client's buffers: 0.9 to 3.8 MiB per kill on loopback (aria2c seeder), bytes that nobody will ever read.
 */
import * as net from "node:net"

export interface CountingProxy {
  /** "host:port" the proxy listens on. */
  readonly address: string
  readonly host: string
  readonly port: number
  /** Bytes read from the target (and forwarded to the clients), all connections together. */
  readonly downstreamBytes: () => number
  /** Bytes read from the clients (and forwarded to the target), all connections together. */
  readonly upstreamBytes: () => number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /**
   * Calls `listener` after every chunk read from the target, with the new downstream total, synchronously
   * (before the chunk is forwarded). Returns a function that removes the listener.
   */
  readonly onDownstream: (listener: (total: number) => void) => () => void
  /**
   * Destroys every open connection now (both sides): nothing more is read from the target for them, so
   * nothing more is counted. New connections are still accepted.
   */
  readonly dropConnections: () => void
  /** Stops accepting and destroys every open connection; resolves once the listening socket is closed. */
  readonly close: () => Promise<void>
}

export interface CountingProxyOptions {
  readonly target: { readonly host: string; readonly port: number }
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default: any free port. */
  readonly port?: number
}

export const startCountingProxy = async (options: CountingProxyOptions): Promise<CountingProxy> => {
  const host = options.host ?? "127.0.0.1"
  let downstream = 0
  let upstream = 0
  let accepted = 0
  const listeners = new Set<(total: number) => void>()
  const sockets = new Set<net.Socket>()

  const server = net.createServer((client) => {
    accepted += 1
    const target = net.connect({ host: options.target.host, port: options.target.port })
    for (const socket of [client, target]) {
      sockets.add(socket)
      socket.setNoDelay(true)
      // A reset is how a SIGKILLed client leaves; it ends the pair, it is not an error of the test.
      socket.on("error", () => {})
      socket.once("close", () => {
        sockets.delete(socket)
        client.destroy()
        target.destroy()
      })
    }
    // Counted in "data" listeners next to the pipes: both see every chunk, and pausing the readable side
    // for backpressure pauses the counting with it.
    target.on("data", (chunk: Buffer) => {
      downstream += chunk.length
      for (const listener of listeners) listener(downstream)
    })
    client.on("data", (chunk: Buffer) => {
      upstream += chunk.length
    })
    client.pipe(target)
    target.pipe(client)
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0

  return {
    address: `${host}:${port}`,
    host,
    port,
    downstreamBytes: () => downstream,
    upstreamBytes: () => upstream,
    accepted: () => accepted,
    onDownstream: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    dropConnections: () => {
      for (const socket of sockets) socket.destroy()
    },
    close: () =>
      new Promise<void>((resolve) => {
        listeners.clear()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
  }
}
