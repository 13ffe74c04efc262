/**
 * The qBittorrent API's `app` scope: version, webapiVersion, buildInfo, preferences, setPreferences and
 * defaultSavePath. Preferences are our session settings where they map (protocol/QbtPreferences.ts); the
 * rest are kept as clients set them in the state folder (QbtKeptPreferences.ts), so that a tool that sets
 * them reads them back, also after a restart.
 */
import * as Effect from "effect/Effect"
import type { SessionSettings } from "../../domain/SessionView.js"
import type { QbtPreferences } from "../../protocol/QbtPreferenceDefaults.js"
import { applyPreferences, preferences } from "../../protocol/QbtPreferences.js"
import type { SessionControlService } from "../session/SessionControl.js"
import { type Endpoints, fromControl, json, missing, text } from "./QbtEndpoint.js"
import { keep, loadKept } from "./QbtKeptPreferences.js"

export { preferencesFile } from "./QbtKeptPreferences.js"

/**
 * The application version answered. Sonarr, Radarr and the other *arr tools choose their proxy by
 * `app/webapiVersion` alone (QBittorrentProxySelector: API v2 when /api/v2/app/webapiVersion answers, and
 * the 5.0 names `stopped`/`stop` only from web API 2.11); other clients (qBitController, qbittorrent-api's
 * check against the releases it supports) read `app/version` as "v<major>.<minor>.<patch>" to tell 4.x
 * from 5.x. bt-effect answers as qBittorrent 4.6 does (pause/resume, `pausedUP`), so it names the last 4.6
 * release, whose web API is 2.9.3: a pair that exists, and that no tool reads as 5.0.
 */
export const appVersion = "v4.6.7"
export const webapiVersion = "2.9.3"

/** The pointer width of this process's machine. */
const bitness = ["x64", "arm64", "ppc64", "s390x", "riscv64", "loong64", "mips64el"].includes(process.arch) ? 64 : 32

/** buildInfo's fields, with bt-effect's parts: no Qt nor Boost, the daemon in libtorrent's place. */
const buildInfo = (settings: SessionSettings) => ({
  bitness,
  boost: "",
  libtorrent: settings.version.startsWith("bt-effect") ? settings.version : `bt-effect ${settings.version}`,
  openssl: process.versions.openssl ?? "",
  qt: "",
  zlib: process.versions.zlib ?? ""
})

/** Applies a setPreferences' JSON: our settings changed, the other keys kept. */
const setPreferences = (control: SessionControlService, body: string) =>
  Effect.gen(function* () {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      // qBittorrent ignores JSON it cannot read: 200, nothing changed.
      return text()
    }
    const settings = yield* control.settings
    const update = applyPreferences(parsed, settings)
    if (Object.keys(update.change).length > 0) yield* control.updateSettings(update.change)
    yield* keep(settings.configDir, update.kept)
    return text()
  }).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))

/**
 * The `app` endpoints. `facts` are preferences the API knows of itself and answers over what is kept (its
 * address and port, the user name): the router passes them.
 */
export const makeAppEndpoints = (facts: Partial<QbtPreferences> = {}): Endpoints => ({
  version: { post: false, run: () => Effect.succeed(text(appVersion)) },
  webapiVersion: { post: false, run: () => Effect.succeed(text(webapiVersion)) },
  buildInfo: { post: false, run: ({ control }) => Effect.map(control.settings, (s) => json(buildInfo(s))) },
  defaultSavePath: { post: false, run: ({ control }) => Effect.map(control.settings, (s) => text(s.downloadDir)) },
  preferences: {
    post: false,
    run: ({ control }) =>
      Effect.gen(function* () {
        const settings = yield* control.settings
        return json(preferences(settings, yield* loadKept(settings.configDir), facts))
      })
  },
  setPreferences: {
    post: true,
    run: ({ control, params }) => {
      const body = params.text("json")
      return body === undefined ? Effect.succeed(missing) : setPreferences(control, body)
    }
  }
})

export const appEndpoints: Endpoints = makeAppEndpoints()
