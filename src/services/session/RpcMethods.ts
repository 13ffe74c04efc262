/**
 * The Transmission RPC's methods run against a SessionControl: a request body in, the response body out
 * (undefined when nothing is to be answered: JSON-RPC notifications). HTTP is RpcServer's business; each
 * method is in RpcTorrentMethods.ts or RpcSessionMethods.ts, and what the server remembers for its clients
 * in RpcClientMemory.ts.
 *
 * Both dialects (classic and JSON-RPC 2.0) come here with the method's name in snake case. Read-only
 * methods sent as notifications are not run.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import {
  buildResponse,
  ErrorCode,
  failure,
  isCall,
  type JsonObject,
  parseBody,
  rejectionResponse,
  type RpcCall,
  type RpcRejection
} from "../../protocol/TransmissionRpc.js"
import * as ClientMemory from "./RpcClientMemory.js"
import type { Method } from "./RpcMethod.js"
import { freeSpace, sessionGet, sessionSet, sessionStats } from "./RpcSessionMethods.js"
import { queueMove, torrentAction, torrentAdd, torrentGet, torrentRemove, torrentSet, torrentSetLocation } from "./RpcTorrentMethods.js"
import { SessionControl } from "./SessionControl.js"

/** A request body to its response: one object, an array (a batch), or undefined (nothing to answer). */
export interface RpcHandler {
  readonly handle: (body: string) => Effect.Effect<JsonObject | ReadonlyArray<JsonObject> | undefined, never, SessionControl>
}

/** Every method, and whether it changes anything (a notification of one that does not is not run). */
const methods: { readonly [method: string]: { readonly run: Method; readonly changes: boolean } } = {
  torrent_get: { run: torrentGet, changes: false },
  torrent_add: { run: torrentAdd, changes: true },
  torrent_set: { run: torrentSet, changes: true },
  torrent_set_location: { run: torrentSetLocation, changes: true },
  torrent_start: { run: torrentAction((c, w) => c.start(w)), changes: true },
  torrent_start_now: { run: torrentAction((c, w) => c.start(w)), changes: true },
  torrent_stop: { run: torrentAction((c, w) => c.stop(w)), changes: true },
  torrent_verify: { run: torrentAction((c, w) => c.verify(w)), changes: true },
  torrent_reannounce: { run: torrentAction((c, w) => c.reannounce(w)), changes: true },
  torrent_remove: { run: torrentRemove, changes: true },
  session_get: { run: sessionGet, changes: false },
  session_set: { run: sessionSet, changes: true },
  session_stats: { run: sessionStats, changes: false },
  free_space: { run: freeSpace, changes: false },
  queue_move_top: { run: queueMove(() => 0), changes: true },
  queue_move_up: { run: queueMove((p) => p - 1), changes: true },
  queue_move_down: { run: queueMove((p) => p + 1), changes: true },
  queue_move_bottom: { run: queueMove((_, n) => n - 1), changes: true }
}

export const makeHandler = (options: { readonly sessionId: string }): Effect.Effect<RpcHandler> =>
  Effect.gen(function*() {
    const memory = yield* ClientMemory.make

    const runCall = (call: RpcCall): Effect.Effect<JsonObject | undefined, never, SessionControl> =>
      Effect.gen(function*() {
        const method = methods[call.method]
        if (method === undefined) {
          return buildResponse(call, failure(ErrorCode.MethodNotFound, call.dialect === "classic" ? "method name not recognized" : ""))
        }
        const notification = call.dialect === "jsonrpc" && call.id === undefined
        if (notification && !method.changes) return undefined
        const control = yield* SessionControl
        const outcome = yield* method.run(call, { control, memory, sessionId: options.sessionId }).pipe(
          Effect.catchAllCause((cause) => Effect.succeed(failure(ErrorCode.InternalError, Cause.pretty(cause).split("\n")[0] ?? "")))
        )
        return buildResponse(call, outcome)
      })

    const handle = (body: string) => {
      const parsed = parseBody(body)
      const one = (item: RpcCall | RpcRejection) =>
        isCall(item) ? runCall(item) : Effect.succeed(rejectionResponse(item))
      if (parsed._tag === "Single") return one(parsed.item)
      return Effect.map(Effect.forEach(parsed.items, one), (responses) => {
        const answered = responses.filter((r): r is JsonObject => r !== undefined)
        return answered.length === 0 ? undefined : answered
      })
    }

    return { handle }
  })
