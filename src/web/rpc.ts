/**
 * The daemon's Transmission RPC (the classic dialect) at /transmission/rpc. The daemon asks for its
 * X-Transmission-Session-Id on every call (CSRF protection): a call without it gets 409 and the id to use,
 * which is kept for every call after and the call sent again, once.
 */

const rpcPath = "/transmission/rpc"

let sessionId = ""

const post = async (body: string, mayRetry: boolean): Promise<unknown> => {
  const response = await fetch(rpcPath, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Transmission-Session-Id": sessionId },
    body,
    credentials: "same-origin"
  })
  if (response.status === 409 && mayRetry) {
    sessionId = response.headers.get("X-Transmission-Session-Id") ?? ""
    return post(body, false)
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`)
  const reply: unknown = await response.json()
  const envelope: { readonly result?: unknown; readonly arguments?: unknown } = typeof reply === "object" && reply !== null ? reply : {}
  if (envelope.result !== "success") throw new Error(envelope.result ? String(envelope.result) : "no result")
  return envelope.arguments || {}
}

/**
 * Calls a method; its reply's arguments are taken to have the shape that method returns (the daemon
 * that answers is the one that served this script, so the two are built together).
 */
export const rpc = async <Reply extends object = object>(method: string, args: object = {}): Promise<Reply> =>
  (await post(JSON.stringify({ method, arguments: args }), true)) as Reply

/** What went wrong, in a line. */
export const errorText = (e: unknown): string => (e instanceof Error && e.message ? e.message : String(e))
