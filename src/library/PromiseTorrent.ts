/**
 * A torrent of the Promise face (PromiseClient.ts): its figures read at once, its news as Node events, and
 * `done()` as a Promise, over a ClientTorrent of the Effect face. Its watchers run until the torrent is
 * removed or the client closed.
 */
import { EventEmitter } from "node:events"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ClientTorrent, PeerInfo, TorrentStats } from "../services/client/Client.js"
import { ReadableFile } from "./PromiseFile.js"
import { runToPromise } from "./RunPromise.js"

/** The events a torrent emits, with their arguments. */
export interface TorrentEvents {
  /** A piece was verified and stored (its index, from 0). */
  readonly piece: [piece: number]
  /** A peer connected (its "host:port"). */
  readonly peer: [peer: string]
  /** Every piece of the selected files (of every file, without `add`'s `files`) is verified and stored. */
  readonly done: []
  /** The torrent cannot go on (its storage failed). Emitted only when someone listens. */
  readonly error: [error: Error]
}

/** How often the peers connected are looked at for the `peer` event. */
const peerPollMs = 1000

export class Torrent extends EventEmitter<TorrentEvents> {
  readonly infoHash: string
  readonly name: string
  /** The files in torrent order (pad files left out): their number, path in the download folder, length,
   *  whether they are downloaded, and `createReadStream` to read one as it downloads. */
  readonly files: ReadonlyArray<ReadableFile>
  /** The whole torrent's bytes. */
  readonly length: number
  /** The bytes to download: those of the selected files (`add`'s `files`), else `length`. */
  readonly selectedLength: number
  readonly #torrent: ClientTorrent
  readonly #forget: () => void
  #verified: number
  #selectedVerified: number
  #watchers: ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>> = []

  /** @internal Made by `Client.add` and `Client.seed`. */
  constructor(torrent: ClientTorrent, first: TorrentStats, forget: () => void) {
    super()
    this.#torrent = torrent
    this.#forget = forget
    this.infoHash = torrent.infoHash
    this.name = torrent.name
    this.files = torrent.files.map((f) => new ReadableFile(f))
    this.length = first.totalLength
    this.selectedLength = first.selectedLength ?? first.totalLength
    this.#verified = first.verifiedBytes
    this.#selectedVerified = first.selectedVerifiedBytes ?? first.verifiedBytes
  }

  #count(stats: TorrentStats): void {
    this.#verified = stats.verifiedBytes
    this.#selectedVerified = stats.selectedVerifiedBytes ?? stats.verifiedBytes
  }

  /** @internal Starts the watchers behind the events; `close` stops them. */
  watch(): void {
    const t = this.#torrent
    const pieces = t.events.pipe(
      Stream.runForEach((event) =>
        Effect.gen(this, function* () {
          if (event._tag !== "PieceVerified") return
          this.#count(yield* t.stats)
          this.emit("piece", event.piece)
        })
      )
    )
    const finished = t.done.pipe(
      Effect.matchEffect({
        onSuccess: () => Effect.gen(this, function* () {
          this.#count(yield* t.stats)
          this.emit("done")
        }),
        onFailure: (error) => Effect.sync(() => void (this.listenerCount("error") > 0 && this.emit("error", error)))
      })
    )
    const seen = new Set<string>()
    const peers = t.peers.pipe(
      Effect.tap((now) => Effect.sync(() => {
        for (const p of now) {
          if (seen.has(p.key)) continue
          seen.add(p.key)
          this.emit("peer", p.key)
        }
      })),
      Effect.repeat(Schedule.spaced(peerPollMs))
    )
    this.#watchers = [pieces, finished, peers].map((watcher) => Effect.runFork(watcher))
  }

  /** The share of the bytes to download (the selected files') verified and stored, from 0 to 1. */
  get progress(): number {
    return this.selectedLength === 0 ? 1 : this.#selectedVerified / this.selectedLength
  }

  /** Bytes of the selected files verified and stored (of every file, without `add`'s `files`). */
  get downloadedSelected(): number {
    return this.#selectedVerified
  }

  /** Bytes verified and stored, in all the torrent's pieces (a piece shared with a file not selected
   *  counts whole). */
  get downloaded(): number {
    return this.#verified
  }

  /** Resolves once every piece of the selected files (of every file, without `add`'s `files`) is verified
   *  and stored; rejects when the torrent cannot go on. */
  done(): Promise<void> {
    return runToPromise(this.#torrent.done)
  }

  /** Its figures now: rates, peers, bytes each way, trackers. */
  stats(): Promise<TorrentStats> {
    return runToPromise(this.#torrent.stats)
  }

  /** The peers connected now. */
  peers(): Promise<ReadonlyArray<PeerInfo>> {
    return runToPromise(this.#torrent.peers)
  }

  /** Stops the torrent; its data stays. */
  async remove(): Promise<void> {
    this.#forget()
    await this.close()
    await runToPromise(this.#torrent.remove)
  }

  /** @internal Stops the watchers. */
  close(): Promise<void> {
    const watchers = this.#watchers
    this.#watchers = []
    return runToPromise(Fiber.interruptAll(watchers))
  }
}
