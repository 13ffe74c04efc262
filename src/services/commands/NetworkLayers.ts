/**
 * The network of the commands that talk to peers (download, seed, stream, daemon) as one Layer, bound to
 * `--bind`'s addresses or not: TCP and uTP to peers (listening there and dialling from there; `--no-utp`,
 * `--no-tcp`), UDP for the DHT,
 * trackers over UDP, and the HttpClient that HTTP trackers (and a .torrent added by its URL) go through,
 * whose agent then opens its sockets from the bound address. It sits here, above wire/ and tracker/,
 * because it puts both together.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import { type Bind, unbound } from "../../domain/BindAddress.js"
import * as NetworkTracker from "../tracker/NetworkTracker.js"
import * as PeerTransports from "../wire/PeerTransports.js"
import * as UdpDatagram from "../wire/UdpDatagram.js"

/**
 * The HttpClient over node:http, bound. An agent has one local address, so bound to both families the
 * requests go over IPv4 (a tracker's name resolved to IPv4 only), and the IPv6 address is given as
 * `ipv6=` (HttpTracker.ts); bound to one, names resolve in that family only.
 */
export const httpClient = (bind: Bind) => {
  const local = bind.ipv4 !== undefined ? { localAddress: bind.ipv4, family: 4 } : bind.ipv6 !== undefined ? { localAddress: bind.ipv6, family: 6 } : undefined
  // node:http: the first announce costs about 15 ms, against 70 ms with Node's fetch (which loads its own
  // undici on first use) and 0.1 s and 7 MB at startup with the undici package. The first announce is
  // on the way to the first peer.
  return local === undefined ? NodeHttpClient.layer : NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer(local)))
}

/** Peers over TCP and uTP (as `transports` says), UDP, trackers and the HttpClient, all bound to `bind`
 *  (unbound: every address). uTP and the DHT share the UDP port: one DatagramNetwork for both. */
export const layer = (bind: Bind = unbound, transports: PeerTransports.Transports = PeerTransports.bothTransports) =>
  Layer.mergeAll(
    PeerTransports.layer(transports, bind).pipe(Layer.provideMerge(UdpDatagram.layerBound(bind))),
    NetworkTracker.layerWith({ bind }).pipe(Layer.provideMerge(httpClient(bind)))
  )
