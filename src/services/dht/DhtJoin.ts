/**
 * Lookups from our DHT node's routing table (DhtLookup.ts walks them, DhtQueries.ts sends their queries),
 * and the two that keep the node in the DHT:
 * - the bootstrap: a find_node lookup for our own id through the bootstrap nodes and the saved ones (tried
 *   3 times while nobody answers), which puts us in our neighbours' tables; then, as Kademlia joins, one
 *   for a random id at each distance farther than our closest neighbour: they fill our table and put us in
 *   the tables of others;
 * - the refresh: a find_node lookup for a random id in a bucket, which counts as refreshed.
 *
 * The find_node and get_peers queries are built here too, with BEP 32's `want` by our family: ["n6"] on
 * IPv6 (a node that answers by `want` alone would otherwise give us `nodes`, IPv4 nodes we cannot reach),
 * both on a dual-stack socket, none on IPv4 (the family every node answers by default).
 */
import * as Deferred from "effect/Deferred"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as dns from "node:dns"
import { commonPrefixLength, equals, idBytes, type NodeId, randomWithPrefix } from "../../domain/NodeId.js"
import { format, type PeerAddress } from "../../domain/PeerAddress.js"
import { k, type RoutingTable } from "../../domain/RoutingTable.js"
import { type Family, parseIp } from "../../protocol/CompactPeers.js"
import * as Krpc from "../../protocol/Krpc.js"
import type { Endpoint } from "../wire/Datagram.js"
import { type LookupContact, type LookupOutcome, lookup as iterate, type QueryOutcome } from "./DhtLookup.js"
import type * as DhtRpc from "./DhtRpc.js"
import type { Queries } from "./DhtQueries.js"

/** Self-lookups at start while nobody answered. */
const bootstrapAttempts = 3
/** Seeds a lookup starts from. */
const seedCount = 2 * k

const randomId = Effect.gen(function*() {
  const out = new Uint8Array(idBytes)
  for (let i = 0; i < idBytes; i++) out[i] = yield* Random.nextIntBetween(0, 256)
  return out
})

const resolve = (endpoint: Endpoint, family: Family, dualStack: boolean): Effect.Effect<Endpoint | undefined> =>
  parseIp(endpoint.host) !== undefined
    ? Effect.succeed(endpoint)
    : Effect.async<Endpoint | undefined>((resume) => {
        dns.lookup(endpoint.host, { family: dualStack ? 0 : family }, (error, address) => {
          resume(Effect.succeed(error === null ? { host: address, port: endpoint.port } : undefined))
        })
      }).pipe(
        Effect.tap((found) =>
          found === undefined ? Effect.logDebug(`DHT: cannot resolve bootstrap node ${format(endpoint)}`) : Effect.void
        )
      )

export interface JoinContext {
  readonly own: NodeId
  readonly table: RoutingTable
  /** Our socket: never asked. */
  readonly self: Endpoint
  /** The socket's family, unless it is dual-stack (bound to "::"). */
  readonly family: Family
  readonly dualStack: boolean
  /** Whether our socket can send to the host. */
  readonly reachable: (host: string) => boolean
  /** The bootstrap nodes (a host may be a DNS name, resolved at each bootstrap). */
  readonly bootstrapNodes: ReadonlyArray<Endpoint>
  readonly queries: Queries
}

/** BEP 32's `want` for a node of `family` (both families on a dual-stack socket); none for IPv4 only. */
export const wantFor = (family: Family, dualStack: boolean): ReadonlyArray<Krpc.Want> | undefined =>
  dualStack ? ["n4", "n6"] : family === 6 ? ["n6"] : undefined

export interface Join {
  /** The find_node query of our node for `target`, with our `want`. */
  readonly findNode: (target: Uint8Array) => (t: Uint8Array) => Krpc.QueryMessage
  /** The get_peers query of our node for `infoHash`, with our `want`. */
  readonly getPeers: (infoHash: Uint8Array) => (t: Uint8Array) => Krpc.QueryMessage
  /** The closest nodes to `target` in our table, then `extra`: where a lookup starts. */
  readonly seedsFor: (target: Uint8Array, extra?: ReadonlyArray<Endpoint>) => Array<LookupContact>
  /** An iterative lookup for `target` from `seeds`, each query built by `build`; `onValues` gets the peers
   *  of get_peers answers. */
  readonly lookup: (
    target: Uint8Array,
    seeds: ReadonlyArray<LookupContact>,
    build: (t: Uint8Array) => Krpc.QueryMessage,
    onValues?: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
  ) => Effect.Effect<LookupOutcome>
  /** A find_node lookup for a random id in the bucket. */
  readonly refresh: (index: number) => Effect.Effect<void>
  /** Joins the DHT; `found` is done once the lookup for our own id is (lookups may start then). */
  readonly bootstrap: (found?: Deferred.Deferred<void>) => Effect.Effect<void>
}

export const makeJoin = (context: JoinContext): Join => {
  const { own, queries, reachable, table } = context
  const want = wantFor(context.family, context.dualStack)
  const queryOptions: Krpc.QueryOptions = want === undefined ? {} : { want }
  const findNode = (target: Uint8Array) => (t: Uint8Array) => Krpc.findNode(t, own, target, queryOptions)
  const getPeers = (infoHash: Uint8Array) => (t: Uint8Array) => Krpc.getPeers(t, own, infoHash, queryOptions)

  const nodesOf = (response: Krpc.Response) =>
    [...(response.nodes ?? []), ...(response.nodes6 ?? [])].filter((n) => reachable(n.host) && !equals(n.id, own))

  const toOutcome = (reply: DhtRpc.Reply): QueryOutcome =>
    reply._tag !== "Response"
      ? { _tag: "Failed" }
      : {
          _tag: "Answered",
          id: reply.message.response.id,
          nodes: nodesOf(reply.message.response),
          ...(reply.message.response.values === undefined ? {} : { values: reply.message.response.values }),
          ...(reply.message.response.token === undefined ? {} : { token: reply.message.response.token })
        }

  const seedsFor = (target: Uint8Array, extra: ReadonlyArray<Endpoint> = []): Array<LookupContact> => [
    ...table.closest(target, seedCount),
    ...extra
  ]

  const lookup: Join["lookup"] = (target, seeds, build, onValues) =>
    iterate({
      target,
      seeds,
      query: (contact) => Effect.map(queries.query(contact, build), toOutcome),
      exclude: (c) =>
        (c.id !== undefined && equals(c.id, own)) || (c.host === context.self.host && c.port === context.self.port),
      ...(onValues === undefined ? {} : { onValues })
    })

  /** A find_node lookup for `target`; the bucket it falls in counts as refreshed. */
  const lookupNear = (target: Uint8Array) =>
    Effect.gen(function*() {
      table.touch(table.bucketIndexOf(target), yield* Clock.currentTimeMillis)
      yield* lookup(target, seedsFor(target), findNode(target))
    })
  const refresh = (index: number) => Effect.flatMap(randomId, (random) => lookupNear(table.randomIdIn(index, random)))

  /** Our own id first (which puts us in our neighbours' tables), then, as Kademlia joins, every distance
   *  farther than our closest neighbour: that fills our table and puts us in other nodes' tables. The
   *  first part done, lookups may start (`found`). */
  const bootstrap = (found?: Deferred.Deferred<void>) =>
    Effect.gen(function*() {
      const endpoints: Array<Endpoint> = []
      for (const endpoint of context.bootstrapNodes) {
        const resolved = yield* resolve(endpoint, context.family, context.dualStack)
        if (resolved !== undefined && reachable(resolved.host)) endpoints.push(resolved)
      }
      if (seedsFor(own, endpoints).length === 0) return yield* Effect.logDebug("DHT: no node to bootstrap from")
      // A lost datagram must not leave us alone for a minute (until the maintenance tries again).
      let outcome = yield* lookup(own, seedsFor(own, endpoints), findNode(own))
      // (Not "while the table is empty": a node that queried us meanwhile is in it, and may know no one.)
      for (let attempt = 1; attempt < bootstrapAttempts && outcome.closest.length === 0; attempt++) {
        outcome = yield* lookup(own, seedsFor(own, endpoints), findNode(own))
      }
      if (found !== undefined) yield* Deferred.succeed(found, undefined)
      // By distance from us rather than by bucket: a table that has not split yet (we know few nodes, as
      // after a join that lost datagrams) still explores every range up to our closest neighbour.
      const closest = table.closest(own, 1)[0]
      const depth = closest === undefined ? 0 : commonPrefixLength(own, closest.id)
      for (let bits = 0; bits < depth; bits++) yield* lookupNear(randomWithPrefix(own, bits, true, yield* randomId))
      yield* Effect.logDebug(`DHT: bootstrap done, ${table.size} nodes (${outcome.queried} queried for our id)`)
    }).pipe(Effect.withSpan("Dht.bootstrap"))

  return { findNode, getPeers, seedsFor, lookup, refresh, bootstrap }
}
