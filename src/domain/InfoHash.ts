/**
 * Info hashes: the v1 SHA-1 (20 bytes) that names a torrent on the wire, and the v2 SHA-256 (32 bytes).
 */
import * as Schema from "effect/Schema"

const isLength = (n: number) => (u: Uint8Array) => u.length === n

/** A v1 info hash: the SHA-1 of the raw bencoded `info` dictionary. */
export const InfoHash = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter(isLength(20), { message: () => "an info hash is 20 bytes" }),
  Schema.brand("InfoHash")
)
export type InfoHash = typeof InfoHash.Type

/** A v2 info hash: the SHA-256 of the raw bencoded `info` dictionary. */
export const InfoHashV2 = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter(isLength(32), { message: () => "a v2 info hash is 32 bytes" }),
  Schema.brand("InfoHashV2")
)
export type InfoHashV2 = typeof InfoHashV2.Type

export const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

const hexPattern = /^[0-9a-fA-F]*$/

/** Bytes from hex, or undefined when `hex` is not an even-length hex string. */
export const fromHex = (hex: string): Uint8Array | undefined =>
  hex.length % 2 === 0 && hexPattern.test(hex) ? new Uint8Array(Buffer.from(hex, "hex")) : undefined

/** An InfoHash from 20 bytes; the caller has checked the length (as `decode` paths do). */
export const infoHash = (bytes: Uint8Array): InfoHash => InfoHash.make(bytes)

export const equals = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(a, b) === 0
