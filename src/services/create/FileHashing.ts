/**
 * SHA-1 piece hashes of files taken one after the other (BEP 3: pieces run across file boundaries),
 * using every core.
 *
 * The byte space is cut into batches of whole pieces (about 4 MiB), each a list of file segments. Worker
 * threads read their batch themselves (positional reads into one buffer each) and hash it, so reading and
 * hashing both spread over the cores; the main thread only hands out batches, two per worker so that a
 * worker never waits for the main thread between batches. A single reader on the main thread was the
 * bottleneck beyond one worker. Memory is one batch buffer per worker.
 *
 * The worker is a module of its own (HashWorker.ts), bundled as `dist/hash-worker.cjs`; the pool is given
 * that file (`workerScript`), and without one, hashing is on the calling thread. What a batch's bytes hash
 * to is BatchHashes.ts's; v2 and hybrid torrents (MerkleHashing.ts) plan their own batches and run them
 * through the same `runBatches`.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { HashError } from "../../domain/Errors.js"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { describeErrno } from "../files/FileErrors.js"
import { node } from "../files/NodeCallback.js"
import { readOnlyFlags } from "../files/OpenFlags.js"
import { closeQuietly } from "../files/PositionalIo.js"
import { type Batch, type BatchHashes, hashBatch, type Segment } from "./BatchHashes.js"

export interface HashSource {
  /** Where to read the file (a Buffer keeps names that are not UTF-8). */
  readonly at: string | Buffer
  /** Its length when listed; a file found shorter fails, bytes past this length are not read. */
  readonly length: number
}

export type { Batch, BatchHashes, Segment } from "./BatchHashes.js"

export interface PieceHasher {
  /** What `hashBatch` gives for the batch: its SHA-1 pieces, and its pieces' merkle roots for v2. */
  readonly hashes: (batch: Batch) => Effect.Effect<BatchHashes, HashError>
  /** 20 bytes of SHA-1 per piece of the batch, in order. */
  readonly hash: (batch: Batch) => Effect.Effect<Uint8Array, HashError>
}

/** A hasher from its `hashes`. */
const hasher = (hashes: PieceHasher["hashes"]): PieceHasher => ({
  hashes,
  hash: (batch) => Effect.map(hashes(batch), (result) => result.hashes)
})

// ---------------------------------------------------------------------------------------------------------
// Errors of reading, from the main thread or a worker

/** An error of reading, in words; SHORT is ours: a read that came short of a length listed before. */
const describe = (error: { readonly code?: string | undefined; readonly message: string }): string =>
  error.code === "SHORT" ? "it became shorter while hashing" : describeErrno(error)

const pathText = (at: string | Uint8Array) => (typeof at === "string" ? at : Buffer.from(at).toString("utf8"))

const unreadable = (at: string | Uint8Array, error: { readonly code?: string | undefined; readonly message: string }) =>
  new HashError({ reason: "Unreadable", detail: `cannot read ${pathText(at)}: ${describe(error)}` })

// ---------------------------------------------------------------------------------------------------------
// Hashing on the calling thread: for content too small to pay for starting workers

const readSegment = (segment: Segment, into: Uint8Array) =>
  Effect.acquireUseRelease(
    node<number>((done) => fs.open(segment.at, readOnlyFlags, done)),
    (fd) =>
      Effect.gen(function*() {
        let done = 0
        while (done < segment.length) {
          const at = segment.position + done
          const read = yield* node<number>((cb) => fs.read(fd, into, done, segment.length - done, at, cb))
          if (read === 0) return yield* Effect.fail({ code: "SHORT", message: "" })
          done += read
        }
      }),
    (fd) => Effect.sync(() => closeQuietly(fd))
  ).pipe(Effect.mapError((e) => unreadable(segment.at, e)))

/**
 * Hashing on the calling thread. Buffers are reused (a fresh 4 MiB buffer per batch costs page faults
 * and garbage collection); a batch that fails drops its buffer, since a read may still be writing to it.
 */
export const inlineHasher = (): PieceHasher => {
  const free: Array<Uint8Array> = []
  return hasher((batch) =>
      Effect.gen(function*() {
        const reused = free.pop()
        const buffer = reused !== undefined && reused.length >= batch.length ? reused : new Uint8Array(batch.length)
        const data = buffer.subarray(0, batch.length)
        let filled = 0
        for (const segment of batch.segments) {
          yield* readSegment(segment, data.subarray(filled, filled + segment.length))
          filled += segment.length
        }
        const hashes = hashBatch(data, batch)
        free.push(buffer)
        return hashes
      }))
}

// ---------------------------------------------------------------------------------------------------------
// Hashing on worker threads

const WorkerReply = Schema.Union(
  Schema.Struct({ hashes: Schema.Uint8ArrayFromSelf, roots: Schema.optional(Schema.Uint8ArrayFromSelf) }),
  Schema.Struct({
    failure: Schema.Struct({
      at: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf),
      code: Schema.optional(Schema.String),
      message: Schema.String
    })
  })
)
/** What a worker answers for a batch: its hashes, or the first read that failed. */
export type WorkerReply = typeof WorkerReply.Type
const decodeReply = Schema.decodeUnknownOption(WorkerReply)

interface Task {
  readonly batch: Batch
  readonly resume: (result: Effect.Effect<BatchHashes, HashError>) => void
}

/**
 * Batches posted to a worker before it is done with the first: the next one already waits in its port
 * when it finishes, so it never idles through a round trip to the main thread.
 */
export const batchesPerWorker = 2

/**
 * A pool of `size` workers (at least one) running `workerScript` (HashWorker.ts bundled, as
 * dist/hash-worker.cjs), stopped when the scope closes. Batches queue until a worker has room; a worker that fails (or a script
 * that cannot be loaded) fails its batches, every queued batch and every later one.
 */
export const workerPool = (size: number, workerScript: string): Effect.Effect<PieceHasher, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      // Resolved: Worker takes a relative path only with "./" before it.
      Effect.sync(() => Array.from({ length: Math.max(1, size) }, () => new Worker(path.resolve(workerScript)))),
      (workers) => Effect.promise(() => Promise.all(workers.map((w) => w.terminate())))
    ),
    (workers): PieceHasher => {
      // What each worker holds, oldest first: a worker answers in the order it was sent batches.
      const posted = new Map<Worker, Array<Task>>(workers.map((w) => [w, []]))
      const queued: Array<Task> = []
      let broken: HashError | undefined

      const leastBusy = (): [Worker, Array<Task>] | undefined => {
        let best: [Worker, Array<Task>] | undefined
        for (const entry of posted) if (best === undefined || entry[1].length < best[1].length) best = entry
        return best !== undefined && best[1].length < batchesPerWorker ? best : undefined
      }

      const dispatch = (): void => {
        while (broken === undefined && queued.length > 0) {
          const target = leastBusy()
          if (target === undefined) return
          const task = queued.shift()!
          target[1].push(task)
          target[0].postMessage(task.batch)
        }
      }

      const breakPool = (error: HashError): void => {
        if (broken !== undefined) return
        broken = error
        const pending = [...posted.values()].flatMap((tasks) => tasks.splice(0))
        for (const task of [...pending, ...queued.splice(0)]) task.resume(Effect.fail(error))
      }

      for (const [worker, tasks] of posted) {
        worker.on("message", (message: unknown) => {
          const task = tasks.shift()
          if (task === undefined) return
          const reply = decodeReply(message)
          if (reply._tag === "None") return breakPool(new HashError({ reason: "Worker", detail: "unexpected message" }))
          const value = reply.value
          task.resume("hashes" in value ? Effect.succeed(value.roots === undefined ? { hashes: value.hashes } : { hashes: value.hashes, roots: value.roots }) : Effect.fail(unreadable(value.failure.at, value.failure)))
          dispatch()
        })
        worker.on("error", (error) => breakPool(new HashError({ reason: "Worker", detail: error.message })))
        // Workers only exit when the pool terminates them; an earlier exit is a crash.
        worker.on("exit", (code) => breakPool(new HashError({ reason: "Worker", detail: `a worker exited (code ${code})` })))
      }

      return hasher((batch) =>
          Effect.async<BatchHashes, HashError>((resume) => {
            if (broken !== undefined) return resume(Effect.fail(broken))
            const task: Task = { batch, resume }
            queued.push(task)
            dispatch()
            // A batch not yet posted is dropped; one in a worker finishes there and its result is ignored.
            return Effect.sync(() => {
              const at = queued.indexOf(task)
              if (at >= 0) queued.splice(at, 1)
            })
          }))
    }
  )

// ---------------------------------------------------------------------------------------------------------
// Hashing files

/** Bytes per batch: large enough that posting one costs little beside reading and hashing it. */
const batchTarget = 4 * 1024 * 1024
/** The most bytes held in workers' batch buffers at once, whatever the number of cores. */
const maxBufferedBytes = 256 * 1024 * 1024

/** Bytes per batch for `pieceLength`: whole pieces, about `batchTarget`. */
export const batchBytesFor = (pieceLength: number): number => Math.max(1, Math.floor(batchTarget / pieceLength)) * pieceLength

interface PlannedBatch extends Batch {
  readonly firstPiece: number
}

/** The batches of the files' concatenation, in order; zero-length files take no part. */
function* plan(files: ReadonlyArray<HashSource>, pieceLength: number, batchBytes: number): Generator<PlannedBatch> {
  let index = 0
  let offset = 0
  let firstPiece = 0
  let left = files.reduce((sum, f) => sum + f.length, 0)
  while (left > 0) {
    const length = Math.min(batchBytes, left)
    const segments: Array<Segment> = []
    for (let need = length; need > 0;) {
      const file = files[index]!
      const take = Math.min(need, file.length - offset)
      if (take > 0) segments.push({ at: file.at, position: offset, length: take })
      offset += take
      need -= take
      if (offset === file.length) {
        index++
        offset = 0
      }
    }
    yield { segments, length, pieceLength, firstPiece }
    firstPiece += length / pieceLength
    left -= length
  }
}

export interface HashFilesOptions {
  /** Hashing threads; 0 hashes on the calling thread. */
  readonly workers: number
  /** The worker threads' script (`workerPool`); without it, hashing is on the calling thread. */
  readonly workerScript?: string
  /** Called with the bytes hashed so far: once with 0 at the start, then after each batch. */
  readonly onProgress?: (hashed: number, total: number) => void
}

/**
 * Hashes `batches` (about `batchBytes` each, `batchCount` of them, `total` bytes in all) on worker threads
 * or the calling thread, handing each result to `done` as it comes (in any order).
 */
export const runBatches = <B extends Batch>(
  batches: Iterable<B>,
  sizes: { readonly total: number; readonly batchBytes: number; readonly batchCount: number },
  options: HashFilesOptions,
  done: (batch: B, result: BatchHashes) => void
): Effect.Effect<void, HashError> =>
  Effect.scoped(Effect.gen(function*() {
    const { batchBytes, batchCount, total } = sizes
    const onProgress = options.onProgress ?? (() => {})
    const workers = Math.max(0, Math.min(Math.floor(options.workers), batchCount, Math.floor(maxBufferedBytes / batchBytes)))
    // A single batch gains nothing from a thread, and starting one costs tens of milliseconds. Inline,
    // two batches at a time overlap the reading of one with the hashing of the other.
    const script = options.workerScript
    const useWorkers = script !== undefined && workers > 0 && batchCount > 1
    const hasher = useWorkers ? yield* workerPool(workers, script) : inlineHasher()
    let hashed = 0
    onProgress(0, total)
    yield* Effect.forEach(
      batches,
      (batch) =>
        Effect.map(hasher.hashes(batch), (result) => {
          done(batch, result)
          hashed += batch.length
          onProgress(hashed, total)
        }),
      { concurrency: useWorkers ? workers * batchesPerWorker : 2, discard: true }
    )
  }))

/** The concatenated 20-byte SHA-1 hashes of the pieces of the files' concatenation. */
export const hashFiles = (
  files: ReadonlyArray<HashSource>,
  pieceLength: number,
  options: HashFilesOptions
): Effect.Effect<Uint8Array, HashError> => {
  const total = files.reduce((sum, f) => sum + f.length, 0)
  const batchBytes = batchBytesFor(pieceLength)
  const pieces = new Uint8Array(Math.ceil(total / pieceLength) * 20)
  return Effect.as(
    runBatches(plan(files, pieceLength, batchBytes), { total, batchBytes, batchCount: Math.ceil(total / batchBytes) }, options, (batch, result) =>
      pieces.set(result.hashes, batch.firstPiece * 20)),
    pieces
  )
}
