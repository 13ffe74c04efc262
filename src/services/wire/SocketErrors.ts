/**
 * The errors of Node's sockets in words, as `NetworkError`s: one table for TCP (TcpNetwork.ts) and UDP
 * (UdpDatagram.ts). Not the file errors' table (files/FileErrors.ts): a socket's errors are other codes,
 * and their sentences name the port or the peer, not a file.
 */
import { NetworkError } from "../../domain/Errors.js"

/** The errno code of what a socket threw or emitted (`ECONNREFUSED`), when it has one. */
export const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** A TCP connection to `address` that could not be made. */
export const connectError = (address: string, error: unknown): NetworkError => {
  switch (errorCode(error)) {
    case "ECONNREFUSED":
      return new NetworkError({ reason: "Connect", address, detail: "connection refused" })
    case "EHOSTUNREACH":
      return new NetworkError({ reason: "Connect", address, detail: "host unreachable" })
    case "ENETUNREACH":
      return new NetworkError({ reason: "Connect", address, detail: "network unreachable" })
    case "ENOTFOUND":
      return new NetworkError({ reason: "Connect", address, detail: "host not found" })
    case "ETIMEDOUT":
      return new NetworkError({ reason: "Timeout", address, detail: "connection timed out" })
    default:
      return new NetworkError({ reason: "Connect", address, detail: `cannot connect: ${errorText(error)}` })
  }
}

/** A port that could not be had at `address`: a TCP server listens on it, a UDP socket binds it. */
export const portError = (protocol: "TCP" | "UDP", address: string, port: number, error: unknown): NetworkError => {
  const named = protocol === "TCP" ? `port ${port}` : `UDP port ${port}`
  const listen = (detail: string) => new NetworkError({ reason: "Listen", address, detail })
  switch (errorCode(error)) {
    case "EADDRINUSE":
      return listen(`${named} is already in use`)
    case "EACCES":
      return listen(`no permission to ${protocol === "TCP" ? "listen on" : "bind"} ${named}`)
    case "EADDRNOTAVAIL":
      return listen("address not available on this machine")
    default:
      return listen(`cannot ${protocol === "TCP" ? "listen" : "bind"}: ${errorText(error)}`)
  }
}
