/**
 * The qBittorrent API's `transfer` scope: the session's rates, totals and limits (info), the alternative
 * speed mode (speedLimitsMode, toggleSpeedLimitsMode, setSpeedLimitsMode) and the global limits. As in
 * qBittorrent (SessionImpl::downloadSpeedLimit), the limit read and set is the one in force: the alternative
 * one while the alternative mode is on. Limits are bytes/s, 0 unlimited; our alternative limits are whole
 * kB/s, so the bytes a client sets are kept beside them (QbtKeptPreferences.ts) and read back.
 */
import * as Effect from "effect/Effect"
import type { SessionSettings, SettingsChange } from "../../domain/SessionView.js"
import { applyPreferences, preferences } from "../../protocol/QbtPreferences.js"
import type { SessionControlService } from "../session/SessionControl.js"
import { type Endpoint, type Endpoints, failure, fromControl, json, missing, numberOf, text } from "./QbtEndpoint.js"
import { keep, loadKept } from "./QbtKeptPreferences.js"

const change = (control: SessionControlService, patch: SettingsChange) =>
  control.updateSettings(patch).pipe(
    Effect.as(text()),
    Effect.catchAll((e) => Effect.succeed(fromControl(e)))
  )

/** The limits in force, bytes/s: the alternative ones read as app/preferences answers them (the bytes a
 *  client set, which our whole kB/s hold less finely). */
const limitsOf = (s: SessionSettings): Effect.Effect<{ readonly down: number; readonly up: number }> =>
  s.altSpeedEnabled
    ? Effect.map(loadKept(s.configDir), (kept) => {
      const p = preferences(s, kept)
      return { down: p.alt_dl_limit, up: p.alt_up_limit }
    })
    : Effect.succeed({ down: s.speedLimitDown, up: s.speedLimitUp })

/** Sets the limit in force: the alternative one while it is on (as app/setPreferences sets it). */
const setLimit = (way: "down" | "up"): Endpoint => ({
  post: true,
  run: ({ control, params }) => {
    const given = params.text("limit")
    if (given === undefined) return Effect.succeed(missing)
    // qBittorrent reads the limit as an integer, anything else as 0; 0 and below are "unlimited".
    const bytes = Math.max(0, Math.trunc(numberOf(given) ?? 0))
    return Effect.flatMap(control.settings, (s) => {
      if (!s.altSpeedEnabled) return change(control, way === "down" ? { speedLimitDown: bytes } : { speedLimitUp: bytes })
      const update = applyPreferences(way === "down" ? { alt_dl_limit: bytes } : { alt_up_limit: bytes }, s)
      return control.updateSettings(update.change).pipe(
        Effect.zipRight(keep(s.configDir, update.kept)),
        Effect.as(text()),
        Effect.catchAll((e) => Effect.succeed(fromControl(e)))
      )
    })
  }
})

/** transfer/info. "connected" once a peer came in (qBittorrent's hasIncomingConnections), else "firewalled";
 *  DHT nodes are not counted by the session's port: 0. The totals are the torrents' in the session, since
 *  it started. */
const info: Endpoint = {
  post: false,
  run: ({ control }) =>
    Effect.gen(function* () {
      const limits = yield* limitsOf(yield* control.settings)
      const stats = yield* control.stats
      const torrents = yield* control.torrents("all")
      const incoming = torrents.some((t) => t.peers.some((p) => p.isIncoming))
      return json({
        connection_status: incoming ? "connected" : "firewalled",
        dht_nodes: 0,
        dl_info_data: stats.downloadedSession,
        dl_info_speed: stats.downloadSpeed,
        dl_rate_limit: limits.down,
        up_info_data: stats.uploadedSession,
        up_info_speed: stats.uploadSpeed,
        up_rate_limit: limits.up
      })
    })
}

export const transferEndpoints: Endpoints = {
  info,
  speedLimitsMode: { post: false, run: ({ control }) => Effect.map(control.settings, (s) => text(s.altSpeedEnabled ? "1" : "0")) },
  toggleSpeedLimitsMode: {
    post: true,
    run: ({ control }) => Effect.flatMap(control.settings, (s) => change(control, { altSpeedEnabled: !s.altSpeedEnabled }))
  },
  setSpeedLimitsMode: {
    post: true,
    run: ({ control, params }) => {
      const given = params.text("mode")
      if (given === undefined) return Effect.succeed(missing)
      const mode = numberOf(given)
      // Any integer other than 0 is the alternative mode, as in qBittorrent.
      if (mode === undefined || !Number.isInteger(mode)) return Effect.succeed(failure(400, "'mode': invalid argument"))
      return change(control, { altSpeedEnabled: mode !== 0 })
    }
  },
  downloadLimit: { post: false, run: ({ control }) => Effect.map(Effect.flatMap(control.settings, limitsOf), (l) => text(String(l.down))) },
  uploadLimit: { post: false, run: ({ control }) => Effect.map(Effect.flatMap(control.settings, limitsOf), (l) => text(String(l.up))) },
  setDownloadLimit: setLimit("down"),
  setUploadLimit: setLimit("up")
}
