/**
 * The queries our DHT node sends (DhtNode.ts), and what their answers teach the routing table: every
 * answer updates the table with the responder's id; a query that times out counts as a failure of that
 * node. A node in the table that queried us but never answered is pinged before we hand it to others, and
 * a full bucket's oldest questionable node is pinged (twice) before a newcomer is turned away. These pings
 * run in the background, a bounded number at a time; beyond that they are skipped.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import { equals, type NodeId } from "../../domain/NodeId.js"
import type { InsertOutcome, RoutingTable } from "../../domain/RoutingTable.js"
import * as Krpc from "../../protocol/Krpc.js"
import type { LookupContact } from "./DhtLookup.js"
import type * as DhtRpc from "./DhtRpc.js"

/** Background pings (verifying nodes) at once; more are skipped. */
const maxBackground = 32

export interface QueriesContext {
  readonly own: NodeId
  readonly table: RoutingTable
  readonly rpc: DhtRpc.Rpc
}

export interface Queries {
  /** Sends a query; the answer (or its absence) updates the table. */
  readonly query: (to: LookupContact, build: (t: Uint8Array) => Krpc.QueryMessage) => Effect.Effect<DhtRpc.Reply>
  readonly ping: (to: LookupContact) => Effect.Effect<DhtRpc.Reply>
  /** Runs `effect` in the background, unless `maxBackground` already run: false then. */
  readonly inBackground: (effect: Effect.Effect<void>) => boolean
  /** What the table did with a node: a full bucket's questionable node is verified in the background. */
  readonly noted: (outcome: InsertOutcome) => Effect.Effect<void>
  /** A node that queried us but never answered us is pinged before we hand it to others; again at its
   *  next query if that ping was lost (until two failures make it bad). */
  readonly verifyNew: (id: Uint8Array) => void
}

/** The queries of a node, with the background pings in the caller's scope. */
export const makeQueries = ({ own, rpc, table }: QueriesContext): Effect.Effect<Queries, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runBackground = yield* FiberSet.makeRuntime<never, void, never>()
    let background = 0

    const inBackground = (effect: Effect.Effect<void>): boolean => {
      if (background >= maxBackground) return false
      background++
      runBackground(Effect.ensuring(effect, Effect.sync(() => background--)))
      return true
    }

    const query = (to: LookupContact, build: (t: Uint8Array) => Krpc.QueryMessage): Effect.Effect<DhtRpc.Reply> =>
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

    const ping = (to: LookupContact) => query(to, (t) => Krpc.ping(t, own))

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

    const verifyNew = (id: Uint8Array): void => {
      const entry = table.claimVerification(id)
      if (entry !== undefined && !inBackground(Effect.asVoid(ping(entry)))) table.release(id)
    }

    return { query, ping, inBackground, noted, verifyNew }
  })
