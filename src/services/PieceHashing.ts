/**
 * SHA-1 piece hashes of files read one after the other (BEP 3: pieces run across file boundaries), using
 * every core: the main fiber reads batches of whole pieces in order, worker threads hash them.
 *
 * A batch travels by transfer, not copy: its `ArrayBuffer` moves to a worker and comes back with the
 * hashes, to be read into again, so memory is bounded by the few buffers in use (`slots`). Batches of
 * several pieces keep the cost of a message small beside the hashing (a 16 KiB piece alone would cost
 * about as much to post as to hash).
 *
 * The worker is plain JavaScript held in a string and started with `eval: true`: it needs no build step
 * and no file on disk, so it runs the same from `dist/` and from the TypeScript sources under vitest.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { Worker } from "node:worker_threads"

export const HashErrorReason = Schema.Literal("Unreadable", "Worker")
export type HashErrorReason = typeof HashErrorReason.Type

/** A file could not be read to its end, or a hashing worker failed (out of memory, no threads left). */
export class HashError extends Schema.TaggedError<HashError>()("HashError", {
  reason: HashErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.reason === "Worker" ? `hashing worker failed: ${this.detail}` : this.detail
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hashers: a batch of pieces in, their hashes out

export interface Hashed {
  /** The buffer that was hashed, given back for reuse. */
  readonly buffer: ArrayBuffer
  /** 20 bytes per piece, in order. */
  readonly hashes: Uint8Array
}

export interface PieceHasher {
  /**
   * The SHA-1 of each piece in the first `length` bytes of `buffer`, cut every `pieceLength` bytes (the
   * last piece may be short). The buffer is unusable until it comes back in the result.
   */
  readonly hash: (buffer: ArrayBuffer, length: number, pieceLength: number) => Effect.Effect<Hashed, HashError>
}

// `crypto.hash` (Node 20.12+) skips building a Hash object: about 1.5x as fast on 16 KiB pieces.
const sha1: (data: Uint8Array) => Uint8Array = typeof crypto.hash === "function"
  ? (data) => crypto.hash("sha1", data, "buffer")
  : (data) => crypto.createHash("sha1").update(data).digest()

const hashPieces = (data: Uint8Array, pieceLength: number): Uint8Array => {
  const count = Math.ceil(data.length / pieceLength)
  const hashes = new Uint8Array(count * 20)
  for (let i = 0; i < count; i++) hashes.set(sha1(data.subarray(i * pieceLength, (i + 1) * pieceLength)), i * 20)
  return hashes
}

/** Hashing on the calling thread: for content too small to pay for starting workers. */
export const inline: PieceHasher = {
  hash: (buffer, length, pieceLength) =>
    Effect.sync(() => ({ buffer, hashes: hashPieces(new Uint8Array(buffer, 0, length), pieceLength) }))
}

// The same loop as `hashPieces`, for the worker. CommonJS: an eval'd worker has `require`, not `import`.
const workerSource = `
const { parentPort } = require("node:worker_threads")
const crypto = require("node:crypto")
const sha1 = typeof crypto.hash === "function"
  ? (data) => crypto.hash("sha1", data, "buffer")
  : (data) => crypto.createHash("sha1").update(data).digest()
parentPort.on("message", ({ buffer, length, pieceLength }) => {
  const data = new Uint8Array(buffer, 0, length)
  const count = Math.ceil(length / pieceLength)
  const hashes = new Uint8Array(count * 20)
  for (let i = 0; i < count; i++) hashes.set(sha1(data.subarray(i * pieceLength, (i + 1) * pieceLength)), i * 20)
  parentPort.postMessage({ buffer, hashes }, [buffer, hashes.buffer])
})
`

const isHashed = (u: unknown): u is Hashed =>
  typeof u === "object" && u !== null && "buffer" in u && u.buffer instanceof ArrayBuffer &&
  "hashes" in u && u.hashes instanceof Uint8Array

interface Task {
  readonly buffer: ArrayBuffer
  readonly length: number
  readonly pieceLength: number
  readonly resume: (result: Effect.Effect<Hashed, HashError>) => void
}

/**
 * Batches posted to a worker before it is done with the first: the next one already waits in its port
 * when it finishes, so it never idles through a round trip to the main thread (which may be busy reading).
 */
export const batchesPerWorker = 2

/**
 * A pool of `size` workers (at least one), stopped when the scope closes. Batches queue until a worker
 * has room; a worker that fails fails its batches, every queued batch and every later one.
 */
export const workerPool = (size: number): Effect.Effect<PieceHasher, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => Array.from({ length: Math.max(1, size) }, () => new Worker(workerSource, { eval: true }))),
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
          target[0].postMessage({ buffer: task.buffer, length: task.length, pieceLength: task.pieceLength }, [task.buffer])
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
          if (!isHashed(message)) return breakPool(new HashError({ reason: "Worker", detail: "unexpected message from a worker" }))
          task.resume(Effect.succeed(message))
          dispatch()
        })
        worker.on("error", (error) => breakPool(new HashError({ reason: "Worker", detail: error.message })))
        // Workers only exit when the pool terminates them; an earlier exit is a crash.
        worker.on("exit", (code) => breakPool(new HashError({ reason: "Worker", detail: `a worker exited (code ${code})` })))
      }

      return {
        hash: (buffer, length, pieceLength) =>
          Effect.async<Hashed, HashError>((resume) => {
            if (broken !== undefined) return resume(Effect.fail(broken))
            const task: Task = { buffer, length, pieceLength, resume }
            queued.push(task)
            dispatch()
            // A batch not yet posted is dropped; one in a worker finishes there and its result is ignored.
            return Effect.sync(() => {
              const at = queued.indexOf(task)
              if (at >= 0) queued.splice(at, 1)
            })
          })
      }
    }
  )

// ---------------------------------------------------------------------------------------------------------
// Reading

export interface HashSource {
  /** Where to read the file (a Buffer keeps names that are not UTF-8). */
  readonly at: string | Buffer
  /** Its length when listed; a file found shorter fails, bytes past this length are not read. */
  readonly length: number
}

const node = <A>(run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void) =>
  Effect.async<A, NodeJS.ErrnoException>((resume) => {
    run((error, value) => resume(error === null ? Effect.succeed(value) : Effect.fail(error)))
  })

const causes: Readonly<Record<string, string>> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ELOOP: "it is a symbolic link",
  EIO: "input/output error",
  EMFILE: "too many open files"
}

/** An error of Node's file system calls as a one-line reason. */
export const describeErrno = (error: NodeJS.ErrnoException): string => causes[error.code ?? ""] ?? error.message

const unreadable = (at: string | Buffer, why: string) =>
  new HashError({ reason: "Unreadable", detail: `cannot read ${at.toString()}: ${why}` })

const noFollow = fs.constants.O_NOFOLLOW ?? 0

/**
 * Reads the files' concatenation front to back, one file open at a time, closed when the scope ends.
 * Links are not followed (O_NOFOLLOW): a file swapped for a link after listing fails.
 */
const sequentialReader = (files: ReadonlyArray<HashSource>) =>
  Effect.gen(function*() {
    let index = 0
    let offset = 0
    let fd: number | undefined
    const close = () => {
      if (fd !== undefined) fs.close(fd, () => {})
      fd = undefined
    }
    yield* Effect.addFinalizer(() => Effect.sync(close))

    const readFrom = (file: HashSource, into: Uint8Array, at: number, length: number) =>
      Effect.gen(function*() {
        // Uninterruptible until the descriptor is recorded, so that the finalizer closes it.
        const failed = (e: NodeJS.ErrnoException) => unreadable(file.at, describeErrno(e))
        const open = fd ?? (yield* Effect.uninterruptible(
          node<number>((done) => fs.open(file.at, fs.constants.O_RDONLY | noFollow, done)).pipe(
            Effect.tap((opened) => {
              fd = opened
            }),
            Effect.mapError(failed)
          )
        ))
        const read = yield* node<number>((done) => fs.read(open, into, at, length, offset, done)).pipe(
          Effect.mapError(failed)
        )
        if (read > 0) return read
        return yield* unreadable(file.at, `it became shorter while hashing (${offset} of ${file.length} bytes)`)
      })

    /** Fills the first `length` bytes of `into` with the next bytes of the content. */
    return (into: Uint8Array, length: number): Effect.Effect<void, HashError> =>
      Effect.gen(function*() {
        let filled = 0
        while (filled < length) {
          const file = files[index]
          if (file === undefined) return yield* new HashError({ reason: "Unreadable", detail: "read past the content" })
          if (offset === file.length) {
            close()
            index++
            offset = 0
            continue
          }
          const read = yield* readFrom(file, into, filled, Math.min(length - filled, file.length - offset))
          filled += read
          offset += read
        }
      })
  })

// ---------------------------------------------------------------------------------------------------------
// Hashing files

/** Bytes per batch: large enough that posting one costs little beside hashing it. */
const batchTarget = 4 * 1024 * 1024
/** The most bytes held in batch buffers at once, whatever the number of workers. */
const maxBufferedBytes = 256 * 1024 * 1024

export interface HashFilesOptions {
  /** Hashing threads; 0 hashes on the calling thread. */
  readonly workers: number
  /** Called with the bytes hashed so far: once with 0 at the start, then after each batch. */
  readonly onProgress?: (hashed: number, total: number) => void
}

/**
 * The concatenated 20-byte SHA-1 hashes of the pieces of the files' concatenation. The main fiber reads
 * batch after batch into free buffers; each batch is hashed in its own fiber, which gives the buffer back
 * when done. A failed batch gives back an empty buffer instead (its own went to a worker that is gone), so
 * that the reader wakes, sees the failure and stops.
 */
export const hashFiles = (
  files: ReadonlyArray<HashSource>,
  pieceLength: number,
  options: HashFilesOptions
): Effect.Effect<Uint8Array, HashError> =>
  Effect.scoped(Effect.gen(function*() {
    const total = files.reduce((sum, f) => sum + f.length, 0)
    const onProgress = options.onProgress ?? (() => {})
    onProgress(0, total)
    if (total === 0) return new Uint8Array(0)
    const batchPieces = Math.max(1, Math.floor(batchTarget / pieceLength))
    const batchBytes = Math.min(batchPieces * pieceLength, total)
    const batchCount = Math.ceil(total / batchBytes)
    const workers = Math.max(0, Math.min(Math.floor(options.workers), batchCount))
    // A single batch gains nothing from a thread, and starting one costs tens of milliseconds.
    const hasher = workers === 0 || batchCount === 1 ? inline : yield* workerPool(workers)
    // Enough buffers to keep every worker busy while the next batch is read, within the memory bound.
    const slots = Math.max(2, Math.min(workers * batchesPerWorker + 1, Math.floor(maxBufferedBytes / batchBytes)))

    const read = yield* sequentialReader(files)
    const pieces = new Uint8Array(Math.ceil(total / pieceLength) * 20)
    const free = yield* Queue.bounded<ArrayBuffer>(slots)
    const running = yield* FiberSet.make<void>()
    let allocated = 0
    let hashed = 0
    let failed: HashError | undefined
    const nextBuffer = Effect.suspend(() => {
      if (allocated === slots) return Queue.take(free)
      allocated++
      return Effect.succeed(new ArrayBuffer(batchBytes))
    })

    for (let batch = 0; batch < batchCount && failed === undefined; batch++) {
      const buffer = yield* nextBuffer
      if (failed !== undefined) break
      const length = Math.min(batchBytes, total - batch * batchBytes)
      yield* read(new Uint8Array(buffer), length)
      yield* FiberSet.run(
        running,
        hasher.hash(buffer, length, pieceLength).pipe(
          Effect.matchEffect({
            onFailure: (e) => {
              failed ??= e
              return Queue.offer(free, new ArrayBuffer(0))
            },
            onSuccess: (done) => {
              pieces.set(done.hashes, batch * batchPieces * 20)
              hashed += length
              onProgress(hashed, total)
              return Queue.offer(free, done.buffer)
            }
          })
        )
      )
    }
    yield* FiberSet.awaitEmpty(running)
    if (failed !== undefined) return yield* failed
    return pieces
  }))
