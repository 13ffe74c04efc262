/**
 * Threads that check downloaded pieces, so that SHA-1 leaves the thread that runs the peers. On a machine
 * with cores to spare, the main thread (which parses, copies and schedules every block) is what limits a
 * fast download, and SHA-1 was about a quarter of its work (0.8 of 3.3 CPU s/GiB, bt-effect from
 * bt-effect).
 *
 * A piece is handed over where it lies: PieceAssembly gathers its blocks in memory shared with the
 * threads (a shared `WebAssembly.Memory`, page-aligned for direct writes too), so a request is an offset
 * and a length, and the answer 20 bytes. A piece elsewhere (past the shared memory, or the short last
 * piece) is hashed on the calling thread as before.
 *
 * The threads are the process's: a daemon's torrents share them. A thread that fails is not replaced;
 * its pieces and every later one are hashed on the calling thread instead, so a download goes on.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { sha1 as sha1Here } from "../../domain/PieceSha1.js"
import type { DigestReply, DigestRequest } from "./DigestWorker.js"

export interface HashThreads {
  /** How many threads hash. */
  readonly count: number
  /** The SHA-1 of `data`, on a thread when it lies in shared memory. `data` must not change until then. */
  readonly sha1: (data: Uint8Array) => Effect.Effect<Uint8Array>
}

/**
 * Threads where none are asked for: one per core beyond two, at most four. A thread helps only with a core
 * of its own; the main thread and the kernel's network and disk work keep two busy. On a 2-core machine,
 * bt-effect from bt-effect on loopback (1 GiB, 4 runs each) went at 258-344 MB/s and 3.5-4.6 CPU s/GiB with
 * one thread, against 303-386 MB/s and 2.8-3.6 CPU s/GiB without; in one bench run of 3 each (`--rows
 * btbt,threads`), medians 299.1 against 319.3 MB/s, 4.32 against 3.42 CPU s/GiB. There it costs, so there
 * it is off.
 */
export const defaultCount = (): number => Math.max(0, Math.min(4, os.availableParallelism() - 2))

interface Pending {
  readonly data: Uint8Array
  readonly resume: (digest: Effect.Effect<Uint8Array>) => void
}

/**
 * `count` threads (at least one) running `script` (DigestWorker.ts bundled as dist/digest-worker.cjs),
 * stopped when the scope closes.
 */
export const make = (count: number, script: string): Effect.Effect<HashThreads, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      // Resolved: Worker takes a relative path only with "./" before it.
      Effect.sync(() => Array.from({ length: Math.max(1, Math.floor(count)) }, () => new Worker(path.resolve(script)))),
      (workers) => Effect.promise(() => Promise.all(workers.map((w) => w.terminate())))
    ),
    (started): HashThreads => {
      // Each thread's pieces by request id; a thread answers in order, but ids keep that an assumption less.
      const threads = started.map((worker) => ({ worker, pending: new Map<number, Pending>() }))
      let live = threads.slice()
      let nextId = 0

      const fail = (thread: (typeof threads)[number]) => {
        if (!live.includes(thread)) return
        live = live.filter((t) => t !== thread)
        for (const p of thread.pending.values()) p.resume(Effect.sync(() => sha1Here(p.data)))
        thread.pending.clear()
      }
      for (const thread of threads) {
        thread.worker.on("message", ({ id, digest }: DigestReply) => {
          const p = thread.pending.get(id)
          if (p === undefined) return
          thread.pending.delete(id)
          p.resume(Effect.succeed(digest))
        })
        thread.worker.on("error", () => fail(thread))
        // Threads only exit when the scope closes; an earlier exit is a crash.
        thread.worker.on("exit", () => fail(thread))
      }

      const leastBusy = () => {
        let best = live[0]
        for (const t of live) if (best === undefined || t.pending.size < best.pending.size) best = t
        return best
      }

      return {
        count: started.length,
        sha1: (data) =>
          Effect.suspend(() => {
            const thread = data.buffer instanceof SharedArrayBuffer ? leastBusy() : undefined
            if (thread === undefined) return Effect.sync(() => sha1Here(data))
            return Effect.async<Uint8Array>((resume) => {
              const id = nextId++
              thread.pending.set(id, { data, resume })
              thread.worker.postMessage(
                { id, memory: data.buffer as SharedArrayBuffer, offset: data.byteOffset, length: data.length } satisfies DigestRequest
              )
              // Abandoned: the thread still hashes it, and its answer finds nobody waiting.
              return Effect.sync(() => void thread.pending.delete(id))
            })
          })
      }
    }
  )
