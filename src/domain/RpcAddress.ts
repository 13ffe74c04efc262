/**
 * Where a daemon's RPC is and who we are to it, as a person types them: `--rpc-url 127.0.0.1:9091` is what
 * transmission-remote takes, so the scheme and the RPC path may be left out; `--rpc-auth` is USER:PASSWORD
 * for the client and the daemon alike, so that a value one accepts the other accepts too.
 */
import * as Either from "effect/Either"

export const defaultRpcPath = "/transmission/rpc"

/**
 * The RPC's full URL from `[http[s]://]HOST[:PORT][/PATH]` or a bare port; without a path, Transmission's.
 * Left: why the text is no address.
 */
export const parseRpcUrl = (text: string): Either.Either<string, string> => {
  const trimmed = text.trim()
  const withHost = /^\d+$/.test(trimmed) ? `127.0.0.1:${trimmed}` : trimmed
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(withHost) ? withHost : `http://${withHost}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return Either.left(`--rpc-url takes [http://]HOST:PORT[/PATH], not '${text}'`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(`--rpc-url takes an http:// or https:// address, not '${text}'`)
  }
  if (url.hostname === "") return Either.left(`--rpc-url has no host: '${text}'`)
  if (url.pathname === "/" || url.pathname === "") url.pathname = defaultRpcPath
  return Either.right(url.toString())
}

export interface RpcCredentials {
  readonly username: string
  readonly password: string
}

/**
 * USER:PASSWORD (the password may hold colons; the user may not). A value without a colon, or with an empty
 * user or password, is refused: Basic authentication has no way to say "no password" that both sides read
 * the same way, and the daemon once took `nopassword` that no client could then send.
 */
export const parseRpcAuth = (text: string): Either.Either<RpcCredentials, string> => {
  const colon = text.indexOf(":")
  if (colon <= 0 || colon === text.length - 1) return Either.left("--rpc-auth takes USER:PASSWORD (both not empty)")
  return Either.right({ username: text.slice(0, colon), password: text.slice(colon + 1) })
}
