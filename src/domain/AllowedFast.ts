/**
 * BEP 6's allowed fast set: the pieces a peer may download from us even while we choke it. Derived from
 * the peer's IPv4 address (its /24) and the info hash, so that a peer cannot widen its set by opening
 * more connections from one network. IPv6 peers get none (BEP 6 defines the set for IPv4 only).
 */
import { createHash } from "node:crypto"

/** The size of the set that bt-effect grants (BEP 6's example value). */
export const allowedFastCount = 10

const ipv4 = (host: string): number | undefined => {
  const parts = host.split(".")
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

/** The allowed fast set of `host` for a torrent of `pieceCount` pieces, in BEP 6's order. */
export const allowedFastSet = (host: string, infoHash: Uint8Array, pieceCount: number, k = allowedFastCount): ReadonlyArray<number> => {
  const ip = ipv4(host)
  if (ip === undefined || pieceCount === 0) return []
  const want = Math.min(k, pieceCount)
  let x: Buffer = Buffer.alloc(24)
  x.writeUInt32BE((ip & 0xffffff00) >>> 0, 0)
  x.set(infoHash.subarray(0, 20), 4)
  const set: Array<number> = []
  while (set.length < want) {
    x = createHash("sha1").update(x).digest()
    for (let i = 0; i < 5 && set.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount
      if (!set.includes(index)) set.push(index)
    }
  }
  return set
}
