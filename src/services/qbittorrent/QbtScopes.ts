/**
 * The qBittorrent API put together: its scopes' endpoints (app, transfer, torrents, sync) and its logins,
 * as the daemon serves them (QbtApi.route). What one daemon's API remembers (logins, what each client of
 * sync/maindata was last sent) lives as long as the daemon.
 */
import type { Credentials } from "./QbtAuth.js"
import * as QbtAuth from "./QbtAuth.js"
import * as QbtAdd from "./QbtAdd.js"
import * as QbtApi from "./QbtApi.js"
import { makeAppEndpoints } from "./QbtApp.js"
import * as QbtLabels from "./QbtLabels.js"
import * as QbtSync from "./QbtSync.js"
import * as QbtTorrentActions from "./QbtTorrentActions.js"
import { torrentViewEndpoints } from "./QbtTorrentViews.js"
import { transferEndpoints } from "./QbtTransfer.js"
import type { Route } from "../session/RpcServer.js"

export interface QbtOptions {
  /** The daemon's `--rpc-auth`: none, no login needed. */
  readonly credentials: Credentials | undefined
  /** Folders besides the download and incomplete folders that data may go to (`--allow-folder`). */
  readonly allowedFolders: ReadonlyArray<string>
  /** Where the API listens (`--rpc-host`, `--rpc-port`), as app/preferences tells it. */
  readonly address: string
  readonly port: number
}

/** The API as a route of the daemon's HTTP server. */
export const route = (options: QbtOptions): Route => {
  const actions = { allowedFolders: options.allowedFolders }
  return QbtApi.route({
    auth: QbtAuth.make({ credentials: options.credentials }),
    scopes: {
      app: makeAppEndpoints({
        web_ui_address: options.address,
        ...(options.port > 0 ? { web_ui_port: options.port } : {}),
        web_ui_username: options.credentials?.username ?? "",
        // Without --rpc-auth no client logs in: qBittorrent's bypass, for every address.
        bypass_local_auth: options.credentials === undefined,
        bypass_auth_subnet_whitelist_enabled: options.credentials === undefined,
        bypass_auth_subnet_whitelist: options.credentials === undefined ? "0.0.0.0/0\n::/0" : ""
      }),
      transfer: transferEndpoints,
      torrents: { ...torrentViewEndpoints, ...QbtTorrentActions.make(actions), ...QbtLabels.make(actions), add: QbtAdd.make(actions) },
      sync: QbtSync.make()
    }
  })
}
