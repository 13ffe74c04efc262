/**
 * A peer's network address. IPv6 hosts are kept without brackets; `format` adds them back.
 */
import * as Schema from "effect/Schema"

export class PeerAddress extends Schema.Class<PeerAddress>("PeerAddress")({
  host: Schema.String,
  port: Schema.Int.pipe(Schema.between(1, 65535))
}) {}

export const format = (a: { readonly host: string; readonly port: number }): string =>
  a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`

/** The key that identifies a peer address in maps and sets. */
export const key = format

/**
 * "host:port" or "[v6]:port" as a user writes it (the host may be a name), or undefined. The port is
 * 1..65535.
 */
export const parseHostPort = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { host: match[1] ?? match[2]!, port }
}
