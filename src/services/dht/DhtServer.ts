/**
 * The answers our DHT node gives (BEP 5), one query at a time, in arrival order:
 * - ping: our id;
 * - find_node: the 8 closest nodes to the target that have answered us and are not bad, as `nodes`
 *   (IPv4) and/or `nodes6` (IPv6) by the families in `want` (BEP 32), else the requester's family;
 * - get_peers: a token for the requester's IP, the closest nodes, and up to 50 stored peers as `values`
 *   when we have any (nodes too, so that the requester's lookup keeps converging);
 * - announce_peer: stored when the token is one we gave that IP (current or previous secret), with the
 *   UDP source port when `implied_port` is set; else error 203 "bad token";
 * - any other method: error 204; a malformed query whose `t` could be read: error 203.
 * Every response carries the requester's address as `ip` (BEP 42). A querying node is noted in the
 * routing table (unless read-only, BEP 43), which may ask the engine to verify it (`onHeard`).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { PeerAddress } from "../../domain/PeerAddress.js"
import type { InsertOutcome, NodeEntry, RoutingTable } from "../../domain/RoutingTable.js"
import { badAfterFailures, k } from "../../domain/RoutingTable.js"
import { type Family, parseIp } from "../../protocol/CompactPeers.js"
import * as Krpc from "../../protocol/Krpc.js"
import type { Endpoint } from "../wire/Datagram.js"
import type { Inbound, Rpc } from "./DhtRpc.js"
import type { PeerStore, TokenSecrets } from "./DhtStore.js"

export interface ServerContext {
  readonly own: Uint8Array
  readonly table: RoutingTable
  readonly store: PeerStore
  readonly tokens: TokenSecrets
  readonly rpc: Rpc
  /** What the table did with a node that queried us: the engine may ping it. */
  readonly onHeard: (outcome: InsertOutcome, node: Endpoint & { readonly id: Uint8Array }) => Effect.Effect<void>
}

const familyOf = (host: string): Family | undefined => parseIp(host)?.family

const worthGiving = (entry: NodeEntry) => entry.answered && entry.failures < badAfterFailures

/** The `nodes`/`nodes6` fields of an answer about `target` for a requester at `from`. */
export const nodesFor = (
  table: RoutingTable,
  target: Uint8Array,
  from: Endpoint,
  want: ReadonlyArray<Krpc.Want> | undefined
): { nodes?: Array<NodeEntry>; nodes6?: Array<NodeEntry> } => {
  const families = new Set<Family>(
    want !== undefined && want.length > 0 ? want.map((w) => (w === "n4" ? 4 : 6)) : [familyOf(from.host) ?? 4]
  )
  const out: { nodes?: Array<NodeEntry>; nodes6?: Array<NodeEntry> } = {}
  for (const family of families) {
    const closest = table.closest(target, k, (e) => worthGiving(e) && familyOf(e.host) === family)
    if (family === 4) out.nodes = closest
    else out.nodes6 = closest
  }
  return out
}

/** The requester as BEP 42 reports it; none for a host that is not an IP literal. */
const ipOf = (from: Endpoint): PeerAddress | undefined =>
  parseIp(from.host) !== undefined && from.port >= 1 && from.port <= 65535
    ? new PeerAddress({ host: from.host, port: from.port }, true)
    : undefined

const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 40)

export const makeServer = (context: ServerContext) => {
  const { own, rpc, store, table, tokens } = context

  const answer = (inbound: Inbound): Effect.Effect<void> =>
    Effect.gen(function*() {
      const from = inbound.from
      if (inbound._tag === "Malformed") {
        yield* Effect.logDebug(`DHT: malformed query from ${from.host}:${from.port}: ${inbound.detail}`)
        return yield* rpc.send(from, Krpc.error(inbound.transactionId, Krpc.ErrorCode.Protocol, "malformed query"))
      }
      const now = yield* Clock.currentTimeMillis
      const { message } = inbound
      const query = message.query
      const t = message.transactionId
      if (!message.readOnly) {
        const node = { id: query.id, host: from.host, port: from.port }
        yield* context.onHeard(table.heard(node, "Query", now), node)
      }
      const respond = (body: Omit<Krpc.Response, "id">) => rpc.send(from, Krpc.response(t, { id: own, ...body }, ipOf(from)))
      switch (query._tag) {
        case "Ping":
          return yield* respond({})
        case "FindNode":
          return yield* respond(nodesFor(table, query.target, from, query.want))
        case "GetPeers": {
          const values = store.get(query.infoHash, now)
          return yield* respond({
            token: tokens.tokenFor(from.host),
            ...nodesFor(table, query.infoHash, from, query.want),
            ...(values.length > 0 ? { values } : {})
          })
        }
        case "AnnouncePeer": {
          if (!tokens.isValid(from.host, query.token)) {
            yield* Effect.logDebug(`DHT: announce_peer from ${from.host}:${from.port} with a bad token`)
            return yield* rpc.send(from, Krpc.error(t, Krpc.ErrorCode.Protocol, "bad token"))
          }
          store.announce(query.infoHash, { host: from.host, port: query.impliedPort ? from.port : query.port }, now)
          return yield* respond({})
        }
        case "Unknown":
          return yield* rpc.send(from, Krpc.error(t, Krpc.ErrorCode.MethodUnknown, `method unknown: ${printable(query.method)}`))
      }
    })

  return answer
}
