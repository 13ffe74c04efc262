/**
 * DHT node ids (BEP 5): 160-bit values, as 20 bytes, in the same space as info hashes. Distance is XOR,
 * compared byte by byte (the first byte where two distances differ decides), so no BigInt is needed.
 * Randomness is passed in by the caller, so this stays pure.
 */
import * as Schema from "effect/Schema"

export const idBytes = 20
export const idBits = idBytes * 8

export const NodeId = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((u) => u.length === idBytes, { message: () => "a node id is 20 bytes" }),
  Schema.brand("NodeId")
)
export type NodeId = typeof NodeId.Type

/** A node id from 20 bytes the caller has checked (decoded messages, random bytes). */
export const nodeId = (bytes: Uint8Array): NodeId => NodeId.make(bytes)

export const isNodeId = (bytes: Uint8Array): boolean => bytes.length === idBytes

export const equals = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when a = b. */
export const compareDistance = (target: Uint8Array, a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < idBytes; i++) {
    const da = (a[i]! ^ target[i]!) & 0xff
    const db = (b[i]! ^ target[i]!) & 0xff
    if (da !== db) return da - db
  }
  return 0
}

/** The XOR distance as bytes (for display and brute-force checks). */
export const distance = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(idBytes)
  for (let i = 0; i < idBytes; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** The number of leading bits `a` and `b` share (160 when equal). */
export const commonPrefixLength = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < idBytes; i++) {
    const x = (a[i]! ^ b[i]!) & 0xff
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return idBits
}

/** Bit `index` of `id`, counting from the most significant bit of the first byte. */
export const bit = (id: Uint8Array, index: number): number => (id[index >> 3]! >> (7 - (index & 7))) & 1

/**
 * An id that shares exactly the first `prefixBits` bits with `base`; when `flipNext` the bit after them
 * differs from `base`'s (a node of the bucket at that depth), else it is random too. The rest comes from
 * `random` (20 bytes).
 */
export const randomWithPrefix = (base: Uint8Array, prefixBits: number, flipNext: boolean, random: Uint8Array): NodeId => {
  const out = new Uint8Array(idBytes)
  for (let i = 0; i < idBytes; i++) {
    const keep = Math.max(0, Math.min(8, prefixBits - i * 8))
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff
    out[i] = (base[i]! & mask) | (random[i]! & ~mask & 0xff)
  }
  if (flipNext && prefixBits < idBits) {
    const byte = prefixBits >> 3
    const m = 0x80 >> (prefixBits & 7)
    out[byte] = (out[byte]! & ~m & 0xff) | (~base[byte]! & m & 0xff)
  }
  return nodeId(out)
}

export const toHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex")

/** The ids sorted by distance to `target`, closest first (a copy). */
export const sortByDistance = <A extends { readonly id: Uint8Array }>(target: Uint8Array, items: Iterable<A>): Array<A> =>
  [...items].sort((x, y) => compareDistance(target, x.id, y.id))
