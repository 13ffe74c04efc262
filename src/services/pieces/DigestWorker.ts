/**
 * A worker thread of `HashThreads`: it answers each piece it is sent, a stretch of memory shared with the
 * main thread, with the stretch's SHA-1. Nothing is copied to it: the piece stays where its blocks were
 * gathered (PieceAssembly), and only 20 bytes come back.
 *
 * A worker thread starts from a file: scripts/build.mjs bundles this module on its own as
 * `dist/digest-worker.cjs`. It imports no Effect, to start quickly.
 */
import { parentPort } from "node:worker_threads"
import { sha1 } from "../../domain/PieceSha1.js"

/** What the main thread sends: piece `id`'s bytes, `length` of them from `offset` in `memory`. */
export interface DigestRequest {
  readonly id: number
  readonly memory: SharedArrayBuffer
  readonly offset: number
  readonly length: number
}

/** What the worker answers. */
export interface DigestReply {
  readonly id: number
  readonly digest: Uint8Array
}

const port = parentPort
if (port === null) throw new Error("DigestWorker.ts runs on a worker thread: HashThreads starts it")

port.on("message", ({ id, memory, offset, length }: DigestRequest) => {
  port.postMessage({ id, digest: sha1(new Uint8Array(memory, offset, length)) } satisfies DigestReply)
})
