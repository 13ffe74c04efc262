/**
 * The Promise face, for programs that do not use Effect: `await Client.create(...)`, `await client.add(...)`,
 * a torrent's events, `await client.close()`. It runs the Effect face's Client (services/client) in a
 * scope of its own, which `close` ends.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Scope from "effect/Scope"
import { type AddOptions, Client as ClientTag, type ClientService, type ClientTorrent, type SeedOptions } from "../services/client/Client.js"
import * as ClientLive from "../services/client/ClientLive.js"
import { Torrent } from "./PromiseTorrent.js"
import { runToPromise } from "./RunPromise.js"

export interface CreateOptions extends ClientLive.ClientOptions {
  /** Where resume data and fetched .torrent files are kept (default: the CLI's state folder). */
  readonly stateDir?: string
  /** The engine's log lines on stderr from this level up (default: none). */
  readonly logLevel?: "debug" | "info" | "warning" | "error" | "none"
}

const levels = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

export class PromiseClient {
  readonly #client: ClientService
  readonly #scope: Scope.CloseableScope
  readonly #torrents = new Map<string, Torrent>()
  readonly #level: LogLevel.LogLevel

  /** @internal See `create`. */
  constructor(client: ClientService, scope: Scope.CloseableScope, level: LogLevel.LogLevel) {
    this.#client = client
    this.#scope = scope
    this.#level = level
  }

  /** A client on its peer port (`port: 0` picks one), over the real network and files. */
  static async create(options: CreateOptions): Promise<PromiseClient> {
    return PromiseClient.over(ClientLive.layer(options), options.logLevel)
  }

  /** A client over any Layer of the Effect face's Client (`layerMemory`, say). */
  static async over(layer: Layer.Layer<ClientTag>, logLevel: CreateOptions["logLevel"] = "none"): Promise<PromiseClient> {
    const level = levels[logLevel]
    const scope = Effect.runSync(Scope.make())
    const client = await runToPromise(
      Layer.buildWithScope(layer, scope).pipe(Effect.map(Context.get(ClientTag)), Logger.withMinimumLogLevel(level))
    )
    return new PromiseClient(client, scope, level)
  }

  /** The peer port. */
  get port(): number {
    return this.#client.port
  }

  /** The torrents it runs, in the order they were added. */
  get torrents(): ReadonlyArray<Torrent> {
    return [...this.#torrents.values()]
  }

  /**
   * Adds a torrent and starts it: a .torrent file's path, its bytes, or a magnet link. Data already in the
   * download folder is checked and kept. `options.files` downloads only those files, by the numbers
   * `bt-effect info` shows (from 1; `{ files: [1, 3] }`), the others not created. Rejects with a
   * `MetainfoError`, `MagnetError`, `DownloadError` or `StorageError` saying why it cannot, or a
   * `UsageError` for a `files` number that is no file of the torrent.
   */
  add(source: string | Uint8Array, options?: AddOptions): Promise<Torrent> {
    return this.#wrap(this.#client.add(source, options))
  }

  /** Seeds `path`: a .torrent made of the file or folder, or (with `options.torrent`) that torrent's data
   *  found in the folder `path`. */
  seed(path: string, options?: SeedOptions): Promise<Torrent> {
    return this.#wrap(this.#client.seed(path, options))
  }

  /** Stops every torrent (a last checkpoint, a `stopped` announce each) and closes the port. */
  async close(): Promise<void> {
    const torrents = [...this.#torrents.values()]
    this.#torrents.clear()
    await Promise.all(torrents.map((t) => t.close()))
    await runToPromise(Scope.close(this.#scope, Exit.void))
  }

  #wrap<E>(added: Effect.Effect<ClientTorrent, E>): Promise<Torrent> {
    return runToPromise(
      Effect.gen(this, function* () {
        const torrent = yield* added
        const known = this.#torrents.get(torrent.infoHash)
        if (known !== undefined) return known
        const made = new Torrent(torrent, yield* torrent.stats, () => this.#torrents.delete(torrent.infoHash))
        made.watch()
        this.#torrents.set(torrent.infoHash, made)
        return made
      }).pipe(Logger.withMinimumLogLevel(this.#level))
    )
  }
}
