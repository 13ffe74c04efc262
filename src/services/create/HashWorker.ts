/**
 * The hashing worker thread of `FileHashing.workerPool`: for each batch it is sent it reads the segments
 * itself (positional reads into one buffer, kept for the next batch) and answers with the batch's piece
 * hashes (BatchHashes.ts: SHA-1 pieces, and for v2 each piece's merkle root), or with the first read that
 * failed. Synchronous: a worker has nothing else to do.
 *
 * A worker thread starts from a file: scripts/build.mjs bundles this module on its own as
 * `dist/hash-worker.cjs`, and whoever starts the pool names that file (src/main.ts, beside the bundle;
 * tests, in `dist/` after the build). It imports no Effect, to start quickly.
 */
import * as fs from "node:fs"
import { parentPort } from "node:worker_threads"
import { readOnlyFlags } from "../files/OpenFlags.js"
import { type Batch, hashBatch, type Segment } from "./BatchHashes.js"
import type { WorkerReply } from "./FileHashing.js"

let buffer = new Uint8Array(0)

/** Reads `segment` into `buffer` from `at`; throws the errno error, or code SHORT for a file that shrank. */
const read = (segment: Segment, at: number): void => {
  // A Buffer path arrives as a plain Uint8Array.
  const fd = fs.openSync(typeof segment.at === "string" ? segment.at : Buffer.from(segment.at), readOnlyFlags)
  try {
    for (let done = 0; done < segment.length;) {
      const n = fs.readSync(fd, buffer, at + done, segment.length - done, segment.position + done)
      if (n === 0) throw Object.assign(new Error("short read"), { code: "SHORT" })
      done += n
    }
  } finally {
    fs.closeSync(fd)
  }
}

const port = parentPort
if (port === null) throw new Error("HashWorker.ts runs on a worker thread: FileHashing.workerPool starts it")

/** Answers one batch: its hashes, or the first read that failed. */
const answer = (batch: Batch): void => {
  const { length, segments } = batch
  if (buffer.length < length) buffer = new Uint8Array(length)
  let filled = 0
  for (const segment of segments) {
    try {
      read(segment, filled)
    } catch (error) {
      const { code, message } = error instanceof Error ? (error as NodeJS.ErrnoException) : { code: undefined, message: String(error) }
      return port.postMessage({ failure: { at: segment.at, message, ...(code !== undefined ? { code } : {}) } } satisfies WorkerReply)
    }
    filled += segment.length
  }
  const { hashes, roots } = hashBatch(buffer.subarray(0, length), batch)
  // The hashes' memory moves to the main thread rather than being copied.
  const reply = roots === undefined ? { hashes } : { hashes, roots }
  port.postMessage(reply satisfies WorkerReply, [hashes.buffer as ArrayBuffer, ...(roots === undefined ? [] : [roots.buffer as ArrayBuffer])])
}

port.on("message", answer)
