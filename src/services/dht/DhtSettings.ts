/**
 * The DHT settings of the commands: the bootstrap nodes (the well-known public routers unless the
 * command line or BT_EFFECT_DHT_BOOTSTRAP says otherwise), the UDP port, and where the routing table is
 * kept between runs.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as path from "node:path"
import type { Bind } from "../../domain/BindAddress.js"
import { parseHostPort } from "../../domain/PeerAddress.js"
import * as DhtNode from "./DhtNode.js"
import type { DhtOptions } from "./Dht.js"

/** The routers most clients start from (libtorrent's and Transmission's defaults). */
export const publicRouters = ["router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881"]

/** Overrides the default bootstrap list (comma-separated; empty: none), e.g. for a private network. */
export const bootstrapEnv = "BT_EFFECT_DHT_BOOTSTRAP"

/** "host:port,host:port" as endpoints, or the first entry that is not one. */
export const parseNodes = (
  text: string
): Either.Either<ReadonlyArray<{ readonly host: string; readonly port: number }>, string> => {
  const out: Array<{ readonly host: string; readonly port: number }> = []
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
    const node = parseHostPort(part)
    if (node === undefined) return Either.left(`bad DHT node "${part}": expected HOST:PORT`)
    out.push(node)
  }
  return Either.right(out)
}

export interface DhtFlags {
  readonly enabled: boolean
  /** --dht-port; default: the peer port's number (0 for both picks two free ports). */
  readonly port: number | undefined
  /** --dht-bootstrap, as given. */
  readonly bootstrap: string | undefined
  /** --bind: the node's socket takes the bound IPv4 address, else the bound IPv6 one, on which it is a node
   *  of the IPv6 DHT (BEP 32: IPv6 nodes only, in `nodes6`). Bound to both, it runs over IPv4 only. */
  readonly bind?: Bind
}

/** The DHT options of a command, or undefined when the DHT is off. */
export const dhtOptions = (
  flags: DhtFlags,
  peerPort: number,
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env
): Either.Either<DhtOptions | undefined, string> => {
  if (!flags.enabled) return Either.right(undefined)
  const text = flags.bootstrap ?? env[bootstrapEnv] ?? publicRouters.join(",")
  const host = flags.bind?.ipv4 ?? flags.bind?.ipv6
  return Either.map(parseNodes(text), (bootstrap) => ({
    port: flags.port ?? peerPort,
    ...(host !== undefined ? { host } : {}),
    bootstrap,
    stateFile: path.join(stateDir, "dht.dat")
  }))
}

/**
 * Our DHT node for a command, or undefined when it is off or cannot start (the port taken, say): a
 * torrent still has its trackers and PEX, so that is a warning, not a failure.
 */
export const startDht = (options: DhtOptions | undefined) =>
  options === undefined
    ? Effect.succeed(undefined)
    : DhtNode.make(options).pipe(
        Effect.tap((dht) => Effect.logDebug(`DHT node on UDP port ${dht.port}`)),
        Effect.catchAll((error) => Effect.as(Effect.logWarning(`DHT off: ${error.message}`), undefined))
      )
