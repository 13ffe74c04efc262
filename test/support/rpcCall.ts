/**
 * Driving a daemon in a test: one classic Transmission RPC call to it on 127.0.0.1, with the session-id
 * handshake (its `arguments` once it says success, else an error naming the method and the result), and
 * polling until it shows what the test waits for.
 */
export type Json = Record<string, unknown>

export const rpcCall = async (port: number, method: string, args: Json): Promise<Json> => {
  const url = `http://127.0.0.1:${port}/transmission/rpc`
  const body = JSON.stringify({ method, arguments: args })
  const first = await fetch(url, { method: "POST", body, signal: AbortSignal.timeout(10_000) })
  const id = first.headers.get("x-transmission-session-id") ?? ""
  const reply = await fetch(url, { method: "POST", body, headers: { "x-transmission-session-id": id }, signal: AbortSignal.timeout(10_000) })
  const answer = (await reply.json()) as { result: string; arguments: Json }
  if (answer.result !== "success") throw new Error(`${method}: ${answer.result}`)
  return answer.arguments
}

/** Polls `probe` every 200 ms until it gives a value, for at most `timeoutMs`. */
export const until = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs: number): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = await probe()
    if (found !== undefined) return found
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
