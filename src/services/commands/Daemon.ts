/**
 * `bt-effect daemon`: a session of many torrents (Session.ts) behind the Transmission RPC, the qBittorrent
 * API (qbittorrent/), /metrics and the web interface (RpcServer.ts, WebFiles.ts), with its watch folder,
 * until stopped. Stopping (Ctrl-C, SIGTERM) closes every torrent as
 * `download` does: a last checkpoint each, `stopped` announces, files closed; the session list is on disk.
 */
import * as Effect from "effect/Effect"
import type { DhtOptions } from "../dht/Dht.js"
import * as HashThreads from "../pieces/HashThreads.js"
import type * as Progress from "./Progress.js"
import * as RpcServer from "../session/RpcServer.js"
import * as Session from "../session/Session.js"
import { SessionControl } from "../session/SessionControl.js"
import * as WebFiles from "../session/WebFiles.js"
import * as MetricsRoute from "../session/MetricsRoute.js"
import * as WatchFolder from "../session/WatchFolder.js"
import * as QbtScopes from "../qbittorrent/QbtScopes.js"
import * as path from "node:path"

export interface DaemonOptions {
  readonly rpcHost: string
  readonly rpcPort: number
  readonly peerPort: number
  /** Absent: the saved setting, else ./downloads. */
  readonly downloadDir?: string
  readonly stateDir: string
  readonly dht?: DhtOptions
  readonly pex: boolean
  readonly auth?: { readonly username: string; readonly password: string }
  readonly allowedHosts: ReadonlyArray<string>
  /** Folders the APIs may put data in besides the download and incomplete folders (`--allow-folder`). */
  readonly allowedFolders: ReadonlyArray<string>
  /** A folder whose .torrent files are added (`--watch-dir`), renamed .added or removed once added. */
  readonly watch?: { readonly folder: string; readonly remove: boolean }
  readonly version: string
  readonly progress: Progress.ProgressOptions
  /** The folder of the web interface's built files (dist/web: src/main.ts names the one beside the bundle). */
  readonly webDir: string
  /** Threads that hash downloaded pieces, shared by every torrent, and their script; 0: the main thread. */
  readonly hashThreads?: { readonly count: number; readonly script: string }
}

export const daemon = (options: DaemonOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      // Read first: a daemon without its web interface stops before it opens any torrent.
      const webFiles = yield* WebFiles.load(options.webDir)
      const threads = options.hashThreads !== undefined && options.hashThreads.count > 0
        ? yield* HashThreads.make(options.hashThreads.count, options.hashThreads.script)
        : undefined
      const control = yield* Session.make({
        ...(threads !== undefined ? { hashThreads: threads } : {}),
        stateDir: options.stateDir,
        ...(options.downloadDir !== undefined ? { downloadDir: options.downloadDir } : {}),
        peerPort: options.peerPort,
        pex: options.pex,
        version: options.version,
        ...(options.dht !== undefined ? { dht: options.dht } : {})
      })
      const server = yield* RpcServer.make({
        host: options.rpcHost,
        port: options.rpcPort,
        allowedHosts: options.allowedHosts,
        staticFiles: webFiles,
        routes: [
          QbtScopes.route({
            credentials: options.auth,
            allowedFolders: options.allowedFolders.map((f) => path.resolve(f)),
            address: options.rpcHost,
            port: options.rpcPort
          }),
          MetricsRoute.route
        ],
        ...(options.auth !== undefined ? { auth: options.auth } : {})
      }).pipe(Effect.provideService(SessionControl, control))
      if (options.watch !== undefined) {
        yield* WatchFolder.run({ folder: path.resolve(options.watch.folder), remove: options.watch.remove, add: WatchFolder.addTo(control) })
      }
      const settings = yield* control.settings
      const host = options.rpcHost.includes(":") ? `[${options.rpcHost}]` : options.rpcHost
      yield* options.progress.write(
        `daemon: web interface http://${host}:${server.port}/ , RPC http://${host}:${server.port}/transmission/rpc , ` +
          `qBittorrent API http://${host}:${server.port}/api/v2 ; ` +
          `peers on port ${settings.peerPort}; downloads into ${settings.downloadDir} (Ctrl-C stops)\n`
      )
      return yield* Effect.never
    })
  )
