/**
 * `/metrics`: the session's figures in the Prometheus text format (domain/SessionMetrics.ts), for a
 * Prometheus scraping the daemon. A route of RpcServer behind the RPC's own Basic authentication (a
 * scrape config's `basic_auth`), so that it tells nothing to whoever may not use the RPC.
 */
import * as Effect from "effect/Effect"
import { prometheusContentType, prometheusText } from "../../domain/SessionMetrics.js"
import type { Route } from "./RpcServer.js"
import { SessionControl } from "./SessionControl.js"

export const route: Route = {
  prefix: "/metrics",
  basicAuth: true,
  handle: (request) =>
    Effect.gen(function*() {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return { status: 405, headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }, body: "Only GET here.\n" }
      }
      const control = yield* SessionControl
      const body = prometheusText({ stats: yield* control.stats, torrents: yield* control.torrents("all"), settings: yield* control.settings })
      return { status: 200, headers: { "content-type": prometheusContentType, "cache-control": "no-cache" }, body: request.method === "HEAD" ? "" : body }
    })
}
