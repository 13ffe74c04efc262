/**
 * A `node:http` server of ours (the daemon's RPC, `stream`'s files) bound and closed as a scoped resource:
 * bound before anything else runs, so that a port in use is one line naming the address; closed with every
 * connection cut, so that a player holding a keep-alive connection does not keep the process alive.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as http from "node:http"
import { NetworkError } from "../../domain/Errors.js"

const listenError = (address: string, e: unknown): NetworkError => {
  const code = e instanceof Error ? Reflect.get(e, "code") : undefined
  return new NetworkError({
    reason: "Listen",
    address,
    detail: code === "EADDRINUSE" ? "address already in use" : `cannot listen: ${e instanceof Error ? e.message : String(e)}`
  })
}

const listen = (server: http.Server, host: string, port: number) =>
  Effect.async<http.Server, NetworkError>((resume) => {
    const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
    const onError = (e: Error) => resume(Effect.fail(listenError(where, e)))
    server.once("error", onError)
    server.listen({ host, port }, () => {
      server.off("error", onError)
      // Errors after the bind belong to connections, which their own handlers see.
      server.on("error", () => {})
      resume(Effect.succeed(server))
    })
  })

const close = (server: http.Server) =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

/** `server` listening on host:port (0 picks one) until the scope closes. */
export const serve = (server: http.Server, host: string, port: number): Effect.Effect<http.Server, NetworkError, Scope.Scope> =>
  Effect.acquireRelease(listen(server, host, port), close)
