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
