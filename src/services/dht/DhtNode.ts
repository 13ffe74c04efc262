/**
 * Our DHT node (BEP 5): the engine behind the Dht port. It ties together the routing table
 * (RoutingTable.ts), KRPC transactions and the rate limits (DhtRpc.ts), the answers to others
 * (DhtServer.ts), the peers and tokens we keep (DhtStore.ts) and iterative lookups (DhtLookup.ts).
 *
 * Life of a node, all in the caller's scope:
 * - start: the node id (given, else the state file's, else random) and the saved nodes; then, in the
 *   background, a find_node lookup for our own id through the bootstrap nodes and the saved ones (tried 3
 *   times while nobody answers; lookups asked for meanwhile wait for it), and, as Kademlia joins, one for
 *   a random id at each distance farther than our closest neighbour: they fill our table and put us in
 *   the tables of others.
 * - every minute: a bootstrap again when the table is empty; a find_node lookup for a random id in each
 *   bucket unchanged for 15 minutes (the refresh); expired stored peers dropped. Every 5 minutes: a new
 *   token secret; the state file saved (also when the scope closes).
 * - every answer updates the table with the responder's id; a query that times out counts as a failure
 *   of that node. A node in the table that queried us but never answered is pinged before we hand it to
 *   others, and a full bucket's oldest questionable node is pinged (twice) before a newcomer is turned
 *   away. These pings run in the background, a bounded number at a time; beyond that they are skipped.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import * as dns from "node:dns"
import type { NetworkError } from "../../domain/Errors.js"
import { commonPrefixLength, equals, idBytes, nodeId, type NodeId, randomWithPrefix, toHex } from "../../domain/NodeId.js"
import { format, type PeerAddress } from "../../domain/PeerAddress.js"
import { badAfterFailures, type InsertOutcome, k, RoutingTable } from "../../domain/RoutingTable.js"
import { type Family, parseIp } from "../../protocol/CompactPeers.js"
import * as Krpc from "../../protocol/Krpc.js"
import type { DatagramNetwork, Endpoint } from "../wire/Datagram.js"
import type { DhtOptions, DhtService, DhtStats, LookupResult } from "./Dht.js"
import { type LookupContact, type LookupOutcome, lookup as iterate, type QueryOutcome } from "./DhtLookup.js"
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
/** Background pings (verifying nodes) at once; more are skipped. */
const maxBackground = 32
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
    const runBackground = yield* FiberSet.makeRuntime<never, void, never>()
    let background = 0

    const inBackground = (effect: Effect.Effect<void>): boolean => {
      if (background >= maxBackground) return false
      background++
      runBackground(Effect.ensuring(effect, Effect.sync(() => background--)))
      return true
    }

    /** Sends a query; the answer (or its absence) updates the table. */
    const queryNode = (to: LookupContact, build: (t: Uint8Array) => Krpc.QueryMessage): Effect.Effect<DhtRpc.Reply> =>
      Effect.gen(function*() {
        const reply = yield* rpc.query(to, build)
        const now = yield* Clock.currentTimeMillis
        if (reply._tag === "Response") {
          const id = reply.message.response.id
          if (!equals(id, own)) yield* noted(table.heard({ id, host: to.host, port: to.port }, "Response", now))
        } else if (reply._tag === "Timeout") {
          const known = to.id !== undefined ? table.find(to.id) : table.findEndpoint(to)
          if (known !== undefined && known.host === to.host && known.port === to.port) table.failed(known.id, now)
        }
        return reply
      })

    const ping = (to: LookupContact) => queryNode(to, (t) => Krpc.ping(t, own))

    /** Two pings at most: a node that misses both is bad, and gives its place to a newcomer. */
    const verify = (entry: { readonly id: Uint8Array; readonly host: string; readonly port: number }) =>
      Effect.gen(function*() {
        for (let attempt = 0; attempt < 2; attempt++) {
          const reply = yield* ping(entry)
          if (reply._tag !== "Timeout") return
          const still = table.find(entry.id)
          if (still === undefined || still.host !== entry.host) return
        }
      })

    const noted = (outcome: InsertOutcome): Effect.Effect<void> =>
      Effect.sync(() => {
        if (outcome._tag !== "Full" || outcome.ping === undefined) return
        const entry = outcome.ping
        if (!inBackground(verify(entry))) table.release(entry.id)
      })

    /** A node that queried us but never answered us is pinged before we hand it to others; again at its
     *  next query if that ping was lost (until two failures make it bad). */
    const verifyNew = (id: Uint8Array): void => {
      const entry = table.claimVerification(id)
      if (entry !== undefined && !inBackground(Effect.asVoid(ping(entry)))) table.release(id)
    }

    const server = makeServer({
      own,
      table,
      store,
      tokens,
      rpc,
      onHeard: (outcome, node) => (outcome._tag === "Full" ? noted(outcome) : Effect.sync(() => verifyNew(node.id)))
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(rpc.inbound, (inbound) =>
          server(inbound).pipe(Effect.catchAllDefect((defect) => Effect.logError("DHT: answering a query failed", defect)))
        )
      )
    )

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

    const run = (
      target: Uint8Array,
      seeds: ReadonlyArray<LookupContact>,
      build: (t: Uint8Array) => Krpc.QueryMessage,
      onValues?: (peers: ReadonlyArray<PeerAddress>) => Effect.Effect<void>
    ) =>
      iterate({
        target,
        seeds,
        query: (contact) => Effect.map(queryNode(contact, build), toOutcome),
        exclude: (c) => (c.id !== undefined && equals(c.id, own)) || (c.host === bindHost && c.port === rpc.port),
        ...(onValues === undefined ? {} : { onValues })
      })

    /** A find_node lookup for `target`; the bucket it falls in counts as refreshed. */
    const lookupNear = (target: Uint8Array) =>
      Effect.gen(function*() {
        table.touch(table.bucketIndexOf(target), yield* Clock.currentTimeMillis)
        yield* run(target, seedsFor(target), (t) => Krpc.findNode(t, own, target))
      })
    const refresh = (index: number) => Effect.flatMap(randomId, (random) => lookupNear(table.randomIdIn(index, random)))

    /** Our own id first (which puts us in our neighbours' tables), then, as Kademlia joins, every distance
     *  farther than our closest neighbour: that fills our table and puts us in other nodes' tables. The
     *  first part done, lookups may start (`found`). */
    const bootstrap = (found?: Deferred.Deferred<void>) =>
      Effect.gen(function*() {
        const endpoints: Array<Endpoint> = []
        for (const endpoint of options.bootstrap) {
          const resolved = yield* resolve(endpoint, family, dualStack)
          if (resolved !== undefined && reachable(resolved.host)) endpoints.push(resolved)
        }
        if (seedsFor(own, endpoints).length === 0) return yield* Effect.logDebug("DHT: no node to bootstrap from")
        // A lost datagram must not leave us alone for a minute (until the maintenance tries again).
        let outcome = yield* run(own, seedsFor(own, endpoints), (t) => Krpc.findNode(t, own, own))
        // (Not "while the table is empty": a node that queried us meanwhile is in it, and may know no one.)
        for (let attempt = 1; attempt < bootstrapAttempts && outcome.closest.length === 0; attempt++) {
          outcome = yield* run(own, seedsFor(own, endpoints), (t) => Krpc.findNode(t, own, own))
        }
        if (found !== undefined) yield* Deferred.succeed(found, undefined)
        // By distance from us rather than by bucket: a table that has not split yet (we know few nodes, as
        // after a join that lost datagrams) still explores every range up to our closest neighbour.
        const closest = table.closest(own, 1)[0]
        const depth = closest === undefined ? 0 : commonPrefixLength(own, closest.id)
        for (let bits = 0; bits < depth; bits++) yield* lookupNear(randomWithPrefix(own, bits, true, yield* randomId))
        yield* Effect.logDebug(`DHT: bootstrap done, ${table.size} nodes (${outcome.queried} queried for our id)`)
      }).pipe(Effect.withSpan("Dht.bootstrap"))

    const started = yield* Deferred.make<void>()
    const bootstrapped = yield* Deferred.make<void>()
    // Lookups and the maintenance may all find the table empty at once: one bootstrap for them all.
    const bootstrapLock = yield* Effect.makeSemaphore(1)
    const bootstrapIfEmpty = bootstrapLock.withPermits(1)(Effect.suspend(() => (table.size === 0 ? bootstrap() : Effect.void)))
    const ready = Effect.zipRight(Deferred.await(started), bootstrapIfEmpty)

    const findNode = (target: Uint8Array) =>
      Effect.zipRight(ready, Effect.suspend(() => run(target, seedsFor(target), (t) => Krpc.findNode(t, own, target))))

    const lookup: DhtService["lookup"] = (infoHash, lookupOptions) =>
      Effect.gen(function*() {
        yield* ready
        const seen = new Set<string>()
        const onPeers = (peers: ReadonlyArray<PeerAddress>) => {
          const fresh = peers.filter((p) => !seen.has(format(p)) && seen.add(format(p)) !== undefined)
          return fresh.length > 0 ? lookupOptions.onPeers(fresh) : Effect.void
        }
        // Peers announced to us count too: in a small DHT we may be among the nodes closest to the hash.
        yield* onPeers(store.get(infoHash, yield* Clock.currentTimeMillis))
        const outcome = yield* run(infoHash, seedsFor(infoHash), (t) => Krpc.getPeers(t, own, infoHash), onPeers)
        let announcedTo = 0
        const port = lookupOptions.announcePort
        if (port !== undefined) {
          const replies = yield* Effect.forEach(
            outcome.withTokens,
            ({ contact, token }) => queryNode(contact, (t) => Krpc.announcePeer(t, own, infoHash, port, token, false)),
            { concurrency: "unbounded" }
          )
          announcedTo = replies.filter((r) => r._tag === "Response").length
        }
        yield* Effect.logDebug(
          `DHT: lookup ${toHex(infoHash)}: ${seen.size} peers, ${outcome.queried} queried, announced to ${announcedTo}`
        )
        return { peers: seen.size, queried: outcome.queried, rounds: outcome.rounds, announcedTo } satisfies LookupResult
      }).pipe(Effect.withSpan("Dht.lookup"))

    const addNode = (endpoint: Endpoint): Effect.Effect<void> =>
      Effect.sync(() => {
        if (!reachable(endpoint.host) || endpoint.port < 1 || endpoint.port > 65535) return
        if (table.findEndpoint(endpoint) !== undefined) return
        inBackground(Effect.asVoid(ping(endpoint)))
      })

    const stats = Effect.sync((): DhtStats => {
      const counts = rpc.counts()
      return {
        nodes: table.size,
        buckets: table.bucketCount,
        storedPeers: store.size,
        queriesReceived: counts.queriesReceived,
        queriesSent: counts.queriesSent,
        queriesDropped: counts.queriesDropped
      }
    })

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
      bootstrap(started).pipe(
        Effect.ensuring(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.succeed(bootstrapped, undefined)))
      )
    )

    const maintain = Effect.gen(function*() {
      if (table.size === 0) return yield* bootstrapIfEmpty
      const now = yield* Clock.currentTimeMillis
      store.expire(now)
      for (const index of table.dueForRefresh(now)) yield* refresh(index)
    })
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(Effect.sleep(maintenanceInterval), Effect.zipRight(ready, maintain)))
    )
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(Effect.sleep(Duration.millis(tokenRotationMs)), Effect.sync(() => tokens.rotate(randomBytes(16)))))
    )
    if (stateFile !== undefined) yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(saveInterval), save)))

    return {
      port: rpc.port,
      nodeId: own,
      lookup,
      addNode,
      stats,
      findNode,
      table,
      save,
      bootstrapped: Deferred.await(bootstrapped)
    } satisfies DhtEngine
  })
