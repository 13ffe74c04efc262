/**
 * Calls one endpoint of a qBittorrent API scope with text parameters against a session, as QbtApi.ts does
 * once a request has passed its checks (cookie, Origin, method): for the scopes' tests.
 */
import * as Effect from "effect/Effect"
import type { Endpoints, QbtReply } from "../../../src/services/qbittorrent/QbtEndpoint.js"
import type { SessionControlService } from "../../../src/services/session/SessionControl.js"

export const callEndpoint = (
  scope: Endpoints,
  method: string,
  control: SessionControlService,
  params: Record<string, string> = {}
): Effect.Effect<QbtReply> => {
  const endpoint = scope[method]
  if (endpoint === undefined) return Effect.die(new Error(`no endpoint ${method}`))
  return endpoint.run({ params: { text: (name) => params[name], files: () => [] }, control, client: "test" })
}
