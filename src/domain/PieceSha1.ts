/**
 * SHA-1 of pieces, the same on the calling thread (FileHashing.inlineHasher) and on worker threads
 * (create/HashWorker.ts, and pieces/DigestWorker.ts for downloaded pieces). No Effect here: the workers'
 * bundles stay small and quick to start.
 */
import * as crypto from "node:crypto"

// `crypto.hash` (Node 20.12+) skips building a Hash object: about 1.5x as fast on 16 KiB pieces.
export const sha1: (data: Uint8Array) => Uint8Array = typeof crypto.hash === "function"
  ? (data) => crypto.hash("sha1", data, "buffer")
  : (data) => crypto.createHash("sha1").update(data).digest()

/** 20 bytes of SHA-1 per `pieceLength` bytes of `data` (the last piece may be short), in order. */
export const hashPieces = (data: Uint8Array, pieceLength: number): Uint8Array<ArrayBuffer> => {
  const count = Math.ceil(data.length / pieceLength)
  const hashes = new Uint8Array(count * 20)
  for (let i = 0; i < count; i++) hashes.set(sha1(data.subarray(i * pieceLength, (i + 1) * pieceLength)), i * 20)
  return hashes
}
