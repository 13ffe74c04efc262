/**
 * `bt-effect demo`: a swarm in a box. In one process: a 64 MiB payload in a temporary folder, the embedded
 * tracker, one seeder and three downloaders on real TCP sockets on 127.0.0.1, with live progress. Every
 * downloader's file is checked against the payload at the end; the temporary folder is removed.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import { DownloadError } from "../../domain/Errors.js"
import * as Prng from "../../domain/Prng.js"
import { formatBytes, formatRate } from "../../domain/Units.js"
import { createTorrent } from "../create/CreateTorrent.js"
import type { ProgressOptions } from "./Progress.js"
import { recoverShowing } from "./Recover.js"
import * as ResumeFiles from "../storage/ResumeFiles.js"
import * as Torrent from "../torrent/Torrent.js"
import * as TrackerServer from "../tracker/TrackerServer.js"
import { randomPeerId } from "../../domain/PeerId.js"

export interface DemoOptions {
  readonly size: number
  readonly downloaders: number
  readonly progress: ProgressOptions
  /** The hashing worker's file, to hash the payload on every core (CreateOptions.workerScript). */
  readonly workerScript: string
}

const host = "127.0.0.1"

/** A folder under the system's temporary folder, removed with the scope. */
const temporaryFolder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-demo-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Pseudo-random bytes, written in 1 MiB chunks (quick, and the same every run). */
const writePayload = (file: string, size: number) =>
  Effect.sync(() => {
    const prng = Prng.make(20261124)
    const fd = fs.openSync(file, "w")
    const chunk = Buffer.allocUnsafe(1024 * 1024)
    const hash = createHash("sha256")
    try {
      for (let at = 0; at < size; at += chunk.length) {
        for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((prng.next() * 2 ** 32) >>> 0, i)
        const part = chunk.subarray(0, Math.min(chunk.length, size - at))
        hash.update(part)
        fs.writeSync(fd, part)
      }
    } finally {
      fs.closeSync(fd)
    }
    return hash.digest("hex")
  })

const sha256File = (file: string) =>
  Effect.async<string>((resume) => {
    const hash = createHash("sha256")
    fs.createReadStream(file)
      .on("data", (d) => hash.update(d))
      .on("end", () => resume(Effect.succeed(hash.digest("hex"))))
      .on("error", () => resume(Effect.succeed("unreadable")))
  })

/** The torrent's log lines (--verbose) say whose they are and when, since the demo's start: one process
 *  holds the seeder and every downloader, and a peer's address alone does not tell which of them speaks. */
const labelled = (label: string, since: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) =>
      HashSet.map(loggers, (logger) =>
        Logger.mapInputOptions(logger, (o: Logger.Logger.Options<unknown>) => ({
          ...o,
          message: [
            `+${((o.date.getTime() - since) / 1000).toFixed(3)}s ${label}:`,
            ...(Array.isArray(o.message) ? o.message : [o.message])
          ]
        }))
      )
    )

const row = (label: string, s: Torrent.TorrentStats) =>
  `${label.padEnd(12)} ${((100 * s.verifiedBytes) / s.totalLength).toFixed(1).padStart(5)}%  ` +
  `down ${formatRate(s.downloadRate).padStart(12)}  up ${formatRate(s.uploadRate).padStart(12)}  peers ${s.peers}`

export const demo = (options: DemoOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { progress } = options
      const dir = yield* temporaryFolder
      const seedDir = path.join(dir, "seeder")
      fs.mkdirSync(seedDir)
      const name = `demo-${Math.round(options.size / 1024 / 1024)}MiB.bin`
      yield* progress.write(`demo: writing a ${formatBytes(options.size)} payload in ${dir}\n`)
      const expected = yield* writePayload(path.join(seedDir, name), options.size)

      const tracker = yield* TrackerServer.make({ port: 0, host, interval: 5 })
      yield* progress.write(`demo: tracker at ${tracker.httpUrl} and ${tracker.udpUrl}\n`)
      const { metainfo } = yield* createTorrent({
        path: path.join(seedDir, name),
        announce: [tracker.httpUrl],
        workerScript: options.workerScript
      })

      // The seeder checks its data, as every seeder does, then serves it.
      // Resume data in the temporary folder too: the demo leaves nothing behind.
      const state = ResumeFiles.layer(path.join(dir, "state"))
      const { have } = yield* recoverShowing(metainfo, seedDir, progress).pipe(Effect.provide(state))
      const since = yield* Clock.currentTimeMillis
      const start = (label: string, root: string, trusted?: typeof have) =>
        Effect.flatMap(randomPeerId, (peerId) =>
          Torrent.start({ metainfo, root, peerId, port: 0, listenHost: host, ...(trusted ? { trusted } : {}) })
        ).pipe(Effect.provide(state), labelled(label, since))
      const seeder = yield* start("seeder", seedDir, have)
      const started = yield* Clock.currentTimeMillis
      const downloaders = yield* Effect.forEach(Array.from({ length: options.downloaders }, (_, i) => i + 1), (n) =>
        Effect.map(start(`downloader ${n}`, path.join(dir, `downloader-${n}`)), (handle) => ({ n, handle }))
      )
      yield* progress.write(
        `demo: one seeder and ${options.downloaders} downloaders on ${host} (ports ${seeder.port}, ${downloaders.map((d) => d.handle.port).join(", ")})\n`
      )

      const lines = options.downloaders + 1
      const show = Effect.gen(function* () {
        let first = true
        while (true) {
          const rows = [row("seeder", yield* seeder.stats)]
          for (const d of downloaders) rows.push(row(`downloader ${d.n}`, yield* d.handle.stats))
          if (progress.tty) {
            yield* progress.write(`${first ? "" : `\x1b[${lines}A`}${rows.map((r) => `\r\x1b[2K${r}\n`).join("")}`)
          } else {
            yield* progress.write(rows.join("\n") + "\n")
          }
          first = false
          yield* Effect.sleep(progress.tty ? "500 millis" : "2 seconds")
        }
      })
      const shower = yield* Effect.forkScoped(show)
      const times = yield* Effect.forEach(downloaders, (d) =>
        Effect.flatMap(d.handle.completed, () => Effect.map(Clock.currentTimeMillis, (now) => ({ n: d.n, ms: now - started }))),
        { concurrency: "unbounded" }
      )
      yield* Fiber.interrupt(shower)

      yield* progress.write("demo: checking every downloader's file against the payload (sha256)\n")
      for (const d of downloaders) {
        const got = yield* sha256File(path.join(dir, `downloader-${d.n}`, name))
        if (got !== expected) {
          return yield* new DownloadError({ reason: "Stalled", detail: `downloader ${d.n}: sha256 ${got} differs from the payload's` })
        }
      }
      const seederStats = yield* seeder.stats
      for (const t of times) {
        const s = yield* downloaders[t.n - 1]!.handle.stats
        yield* progress.write(
          `downloader ${t.n}: ${formatBytes(options.size)} in ${(t.ms / 1000).toFixed(1)} s (${formatRate((options.size * 1000) / t.ms)}), ` +
            `sent ${formatBytes(s.uploadedBytes)} to the others, sha256 ok\n`
        )
      }
      yield* progress.write(
        `demo: done; the seeder sent ${formatBytes(seederStats.uploadedBytes)} ` +
          `(${(seederStats.uploadedBytes / options.size).toFixed(2)} copies), the downloaders shared the rest\n`
      )
    })
  )
