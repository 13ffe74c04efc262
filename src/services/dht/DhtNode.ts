/**
 * Our DHT node (BEP 5): the engine behind the Dht port. It ties together the routing table
 * (RoutingTable.ts), KRPC transactions and the rate limits (DhtRpc.ts), the answers to others
 * (DhtServer.ts), the peers and tokens we keep (DhtStore.ts), the queries we send and the background pings
 * that verify nodes (DhtQueries.ts), and lookups (DhtJoin.ts, walked by DhtLookup.ts).
 *
 * Life of a node, all in the caller's scope:
 * - start: the node id (given, else the state file's, else random) and the saved nodes; then, in the
 *   background, the bootstrap (DhtJoin.ts; lookups asked for meanwhile wait for its lookup of our own id).
 * - every minute: a bootstrap again when the table is empty; a find_node lookup for a random id in each
 *   bucket unchanged for 15 minutes (the refresh); expired stored peers dropped. Every 5 minutes: a new
 *   token secret; the state file saved (also when the scope closes).
 * - every answer updates the table with the responder's id; a query that times out counts as a failure
 *   of that node; nodes to verify are pinged in the background (DhtQueries.ts).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import type { NetworkError } from "../../domain/Errors.js"
import { idBytes, nodeId, type NodeId, toHex } from "../../domain/NodeId.js"
import { format, type PeerAddress } from "../../domain/PeerAddress.js"
import { badAfterFailures, RoutingTable } from "../../domain/RoutingTable.js"
import { type Family, parseIp } from "../../protocol/CompactPeers.js"
import * as Krpc from "../../protocol/Krpc.js"
import type { DatagramNetwork, Endpoint } from "../wire/Datagram.js"
import type { DhtOptions, DhtService, DhtStats, LookupResult } from "./Dht.js"
import { type Join, makeJoin } from "./DhtJoin.js"
import type { LookupOutcome } from "./DhtLookup.js"
import { makeQueries, type Queries } from "./DhtQueries.js"
import * as DhtRpc from "./DhtRpc.js"
import { makeServer } from "./DhtServer.js"
import { loadState, saveState } from "./DhtStateFile.js"
import { PeerStore, type RateLimits, TokenSecrets, tokenRotationMs } from "./DhtStore.js"

export interface DhtNodeOptions extends DhtOptions {
  /** How long a query waits for its answer (default 2 s). */
  readonly queryTimeout?: Duration.DurationInput
  readonly rateLimits?: RateLimits
}

/** The node as tests see it: the service, plus find_node lookups and the table. */
export interface DhtEngine extends DhtService {
  /** An iterative find_node lookup for `target`. */
  readonly findNode: (target: Uint8Array) => Effect.Effect<LookupOutcome>
  /** The routing table (read it, do not change it). */
  readonly table: RoutingTable
  /** Saves the state file now (when there is one). */
  readonly save: Effect.Effect<void>
  /** Done when the first bootstrap (with its bucket refreshes) has finished, however it went. */
  readonly bootstrapped: Effect.Effect<void>
}

const maintenanceInterval = Duration.minutes(1)
const saveInterval = Duration.minutes(5)

/** Answers the queries of others, one at a time, for the life of the scope. */
const answerQueries = (
  rpc: DhtRpc.Rpc,
  server: (inbound: DhtRpc.Inbound) => Effect.Effect<void>
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(Effect.forkScoped(
    Effect.forever(
      Effect.flatMap(rpc.inbound, (inbound) =>
        server(inbound).pipe(Effect.catchAllDefect((defect) => Effect.logError("DHT: answering a query failed", defect)))
      )
    )
  ))

interface PeerFinding {
  readonly own: NodeId
  readonly store: PeerStore
  readonly queries: Queries
  readonly join: Join
  /** Done when lookups may start. */
  readonly ready: Effect.Effect<void>
}

/** The service's `lookup`, with get_peers: the peers announced to us first, then those of the lookup's
 *  answers, each once; then announce_peer to the closest nodes that gave a token. */
const getPeers = ({ join, own, queries, ready, store }: PeerFinding): DhtService["lookup"] => (infoHash, lookupOptions) =>
  Effect.gen(function*() {
    yield* ready
    const seen = new Set<string>()
    const onPeers = (peers: ReadonlyArray<PeerAddress>) => {
      const fresh = peers.filter((p) => !seen.has(format(p)) && seen.add(format(p)) !== undefined)
      return fresh.length > 0 ? lookupOptions.onPeers(fresh) : Effect.void
    }
    // Peers announced to us count too: in a small DHT we may be among the nodes closest to the hash.
    yield* onPeers(store.get(infoHash, yield* Clock.currentTimeMillis))
    const outcome = yield* join.lookup(infoHash, join.seedsFor(infoHash), join.getPeers(infoHash), onPeers)
    let announcedTo = 0
    const port = lookupOptions.announcePort
    if (port !== undefined) {
      const replies = yield* Effect.forEach(
        outcome.withTokens,
        ({ contact, token }) => queries.query(contact, (t) => Krpc.announcePeer(t, own, infoHash, port, token, false)),
        { concurrency: "unbounded" }
      )
      announcedTo = replies.filter((r) => r._tag === "Response").length
    }
    yield* Effect.logDebug(
      `DHT: lookup ${toHex(infoHash)}: ${seen.size} peers, ${outcome.queried} queried, announced to ${announcedTo}`
    )
    return { peers: seen.size, queried: outcome.queried, rounds: outcome.rounds, announcedTo } satisfies LookupResult
  }).pipe(Effect.withSpan("Dht.lookup"))

interface Maintained {
  readonly table: RoutingTable
  readonly store: PeerStore
  readonly tokens: TokenSecrets
  readonly join: Join
  /** Waits for the first bootstrap, then bootstraps again when the table is empty. */
  readonly ready: Effect.Effect<void>
  readonly bootstrapIfEmpty: Effect.Effect<void>
  /** Saves the state file, when there is one. */
  readonly save: Effect.Effect<void> | undefined
}

/** The node's upkeep for the life of the scope: every minute the bucket refresh (or a bootstrap when the
 *  table is empty) and expired peers dropped; every 5 minutes a new token secret and the state saved. */
const maintain = (node: Maintained): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { join, store, table } = node
    const upkeep = Effect.gen(function*() {
      if (table.size === 0) return yield* node.bootstrapIfEmpty
      const now = yield* Clock.currentTimeMillis
      store.expire(now)
      for (const index of table.dueForRefresh(now)) yield* join.refresh(index)
    })
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(Effect.sleep(maintenanceInterval), Effect.zipRight(node.ready, upkeep)))
    )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(Effect.sleep(Duration.millis(tokenRotationMs)), Effect.sync(() => node.tokens.rotate(randomBytes(16))))
      )
    )
    if (node.save !== undefined) yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(saveInterval), node.save)))
  })

export const make = (options: DhtNodeOptions): Effect.Effect<DhtEngine, NetworkError, DatagramNetwork | Scope.Scope> =>
  Effect.gen(function*() {
    const bindHost = options.host ?? "0.0.0.0"
    const family: Family = parseIp(bindHost)?.family ?? 4
    const dualStack = bindHost === "::"
    const reachable = (host: string): boolean => {
      const ip = parseIp(host)
      return ip !== undefined && (dualStack || ip.family === family)
    }

    const saved = options.stateFile === undefined ? undefined : yield* loadState(options.stateFile)
    const own: NodeId = nodeId(Uint8Array.from(options.nodeId ?? saved?.nodeId ?? randomBytes(idBytes)))
    const table = new RoutingTable(own, yield* Clock.currentTimeMillis)
    const store = new PeerStore()
    const tokens = new TokenSecrets(randomBytes(16))
    const rpc = yield* DhtRpc.make({
      port: options.port,
      host: bindHost,
      ...(options.queryTimeout === undefined ? {} : { queryTimeout: options.queryTimeout }),
      ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits })
    })
    const queries = yield* makeQueries({ own, table, rpc })
    const server = makeServer({
      own,
      table,
      store,
      tokens,
      rpc,
      onHeard: (outcome, node) =>
        outcome._tag === "Full" ? queries.noted(outcome) : Effect.sync(() => queries.verifyNew(node.id))
    })
    yield* answerQueries(rpc, server)
    const self = { host: bindHost, port: rpc.port }
    const join = makeJoin({ own, table, self, family, dualStack, reachable, bootstrapNodes: options.bootstrap, queries })

    const started = yield* Deferred.make<void>()
    const bootstrapped = yield* Deferred.make<void>()
    // Lookups and the maintenance may all find the table empty at once: one bootstrap for them all.
    const bootstrapLock = yield* Effect.makeSemaphore(1)
    const bootstrapIfEmpty = bootstrapLock.withPermits(1)(Effect.suspend(() => (table.size === 0 ? join.bootstrap() : Effect.void)))
    const ready = Effect.zipRight(Deferred.await(started), bootstrapIfEmpty)

    // The saved nodes are questionable until they answer (the bootstrap asks them first).
    if (saved !== undefined) {
      const now = yield* Clock.currentTimeMillis
      for (const node of saved.nodes) if (reachable(node.host)) table.heard(node, "Query", now)
    }
    const stateFile = options.stateFile
    const save =
      stateFile === undefined
        ? Effect.void
        : Effect.suspend(() => saveState(stateFile, { nodeId: own, nodes: table.entries().filter((e) => e.failures < badAfterFailures) }))
    yield* Effect.addFinalizer(() => save)

    yield* Effect.forkScoped(
      join.bootstrap(started).pipe(
        Effect.ensuring(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.succeed(bootstrapped, undefined)))
      )
    )
    yield* maintain({ table, store, tokens, join, ready, bootstrapIfEmpty, save: stateFile === undefined ? undefined : save })

    return {
      port: rpc.port,
      nodeId: own,
      lookup: getPeers({ own, store, queries, join, ready }),
      addNode: (endpoint: Endpoint): Effect.Effect<void> =>
        Effect.sync(() => {
          if (!reachable(endpoint.host) || endpoint.port < 1 || endpoint.port > 65535) return
          if (table.findEndpoint(endpoint) !== undefined) return
          queries.inBackground(Effect.asVoid(queries.ping(endpoint)))
        }),
      stats: Effect.sync((): DhtStats => {
        const counts = rpc.counts()
        return {
          nodes: table.size,
          buckets: table.bucketCount,
          storedPeers: store.size,
          queriesReceived: counts.queriesReceived,
          queriesSent: counts.queriesSent,
          queriesDropped: counts.queriesDropped
        }
      }),
      findNode: (target) =>
        Effect.zipRight(ready, Effect.suspend(() => join.lookup(target, join.seedsFor(target), join.findNode(target)))),
      table,
      save,
      bootstrapped: Deferred.await(bootstrapped)
    } satisfies DhtEngine
  })
