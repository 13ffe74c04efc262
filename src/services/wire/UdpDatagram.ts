/** The datagram port over node:dgram: the real Layer of DatagramNetwork (Datagram.ts). */
import * as dgram from "node:dgram"
import { isIPv4 } from "node:net"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type Bind, unbound } from "../../domain/BindAddress.js"
import type { NetworkError } from "../../domain/Errors.js"
import { format } from "../../domain/PeerAddress.js"
import { DatagramNetwork, type DatagramSocket, type Endpoint } from "./Datagram.js"
import { share } from "./SharedDatagram.js"
import { errorText, portError } from "./SocketErrors.js"

/** An IPv4 sender seen by a dual-stack socket shows as "::ffff:a.b.c.d". */
const unmapped = (host: string): string => (host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host)

const bind = Effect.fn("DatagramNetwork.bind")(function*(
  options: { readonly port: number; readonly host?: string; readonly receiveBufferBytes?: number },
  onMessage: (bytes: Uint8Array, from: Endpoint) => void,
  bound: Bind
) {
  // The DHT speaks IPv4 (BEP 5): bound, its socket takes the bound IPv4 address, else the IPv6 one.
  const host = options.host ?? bound.ipv4 ?? bound.ipv6 ?? "0.0.0.0"
  const ipv6 = host.includes(":")
  const where = format({ host, port: options.port })
  const socket = yield* Effect.acquireRelease(
    Effect.async<dgram.Socket, NetworkError>((resume) => {
      const socket = dgram.createSocket({
        type: ipv6 ? "udp6" : "udp4",
        ...(options.receiveBufferBytes !== undefined ? { recvBufferSize: options.receiveBufferBytes } : {})
      })
      const onError = (error: Error) => {
        socket.close()
        resume(Effect.fail(portError("UDP", where, options.port, error)))
      }
      socket.once("error", onError)
      socket.on("message", (message, info) => {
        // A handler that throws must not take the socket (and the process) with it.
        try {
          onMessage(message, { host: unmapped(info.address), port: info.port })
        } catch {
          // dropped, as a datagram that never arrived
        }
      })
      socket.bind({ port: options.port, address: host }, () => {
        socket.off("error", onError)
        // Send failures are reported to the send callbacks; an 'error' without a listener would crash us.
        socket.on("error", () => {})
        resume(Effect.succeed(socket))
      })
      return Effect.sync(() => socket.close())
    }),
    (socket) =>
      Effect.async<void>((resume) => {
        try {
          socket.close(() => resume(Effect.void))
        } catch {
          resume(Effect.void)
        }
      })
  )
  const port = socket.address().port

  const send = (to: Endpoint, bytes: Uint8Array): Effect.Effect<void> =>
    Effect.async<string | undefined>((resume) => {
      try {
        // A dual-stack socket ("::") reaches IPv4 hosts at their IPv4-mapped address.
        const address = ipv6 && isIPv4(to.host) ? `::ffff:${to.host}` : to.host
        socket.send(bytes, to.port, address, (error) => resume(Effect.succeed(error === null ? undefined : errorText(error))))
      } catch (error) {
        // Thrown at once when the socket is closed or the port is out of range.
        resume(Effect.succeed(errorText(error)))
      }
    }).pipe(
      Effect.flatMap((failed) =>
        failed === undefined ? Effect.void : Effect.logDebug(`UDP send to ${format(to)} failed: ${failed}`)
      )
    )

  const post = (to: Endpoint, bytes: Uint8Array): void => {
    try {
      socket.send(bytes, to.port, ipv6 && isIPv4(to.host) ? `::ffff:${to.host}` : to.host)
    } catch {
      // closed, or a port out of range: lost, as UDP loses
    }
  }

  return { port, send, post } satisfies DatagramSocket
})

/** UDP bound to `bound` (BindAddress.ts): a socket asked for without a host takes the bound address. A port
 *  bound twice is shared (SharedDatagram.ts): uTP and the DHT on the peer port. */
export const layerBound = (bound: Bind): Layer.Layer<DatagramNetwork> =>
  Layer.sync(DatagramNetwork, () => DatagramNetwork.of({ bind: share((options, onMessage) => bind(options, onMessage, bound)) }))

export const layer: Layer.Layer<DatagramNetwork> = layerBound(unbound)
