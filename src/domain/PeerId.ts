/**
 * Peer ids (20 bytes). Ours follow the Azureus style `-BE0100-` followed by 12 random characters, so that
 * other clients and trackers can tell what we are.
 */
import * as Schema from "effect/Schema"

export const PeerId = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((u) => u.length === 20, { message: () => "a peer id is 20 bytes" }),
  Schema.brand("PeerId")
)
export type PeerId = typeof PeerId.Type

/** The client prefix: bt-effect 0.1.0. */
export const clientPrefix = "-BE0100-"

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/** A peer id from 12 random bytes (the caller supplies randomness, so this stays pure). */
export const make = (random: Uint8Array): PeerId => {
  const out = new Uint8Array(20)
  for (let i = 0; i < 8; i++) out[i] = clientPrefix.charCodeAt(i)
  for (let i = 0; i < 12; i++) out[8 + i] = alphabet.charCodeAt((random[i] ?? 0) % alphabet.length)
  return PeerId.make(out)
}
