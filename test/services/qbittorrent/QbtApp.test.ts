/**
 * The qBittorrent API's `app` scope (QbtApp.ts) over a memory session: each endpoint's reply and status as
 * in the catalog of qbittorrent-nox 4.5.2 (/work/notes/qbt-ref: app_*.json), which are POST-only, and the
 * preferences kept in the state folder across a restart (a new session and new endpoints on the same folder).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach } from "vitest"
import { appEndpoints, appVersion, makeAppEndpoints, preferencesFile } from "../../../src/services/qbittorrent/QbtApp.js"
import type { Endpoints } from "../../../src/services/qbittorrent/QbtEndpoint.js"
import { make as makeMemory, type MemoryControlHandle } from "../../../src/services/session/MemoryControl.js"
import { callEndpoint } from "./callEndpoint.js"

const folders: Array<string> = []
afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})
const stateFolder = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qbt-app-"))
  folders.push(dir)
  return dir
}

const call = callEndpoint

const setUp = (configDir = stateFolder()) => makeMemory({ settings: { configDir, downloadDir: "/data/downloads" } })

const prefs = (control: MemoryControlHandle, scope: Endpoints = appEndpoints) =>
  Effect.map(call(scope, "preferences", control), (r) => JSON.parse(r.body) as Record<string, unknown>)

describe("qBittorrent API: app", () => {
  it("marks setPreferences alone POST-only", () => {
    expect(Object.fromEntries(Object.entries(appEndpoints).map(([name, e]) => [name, e.post]))).toEqual({
      version: false, webapiVersion: false, buildInfo: false, defaultSavePath: false, preferences: false, setPreferences: true
    })
  })

  it.effect("version, webapiVersion and defaultSavePath are text", () =>
    Effect.gen(function*() {
      const control = yield* setUp()
      expect(yield* call(appEndpoints, "version", control)).toEqual({ status: 200, body: appVersion, json: false })
      expect(appVersion).toMatch(/^v4\.6\.\d+$/)
      expect(yield* call(appEndpoints, "webapiVersion", control)).toEqual({ status: 200, body: "2.9.3", json: false })
      expect(yield* call(appEndpoints, "defaultSavePath", control)).toEqual({ status: 200, body: "/data/downloads", json: false })
    }))

  it.effect("buildInfo has qBittorrent's fields and types", () =>
    Effect.gen(function*() {
      const control = yield* setUp()
      const reply = yield* call(appEndpoints, "buildInfo", control)
      expect(reply.json).toBe(true)
      const info = JSON.parse(reply.body) as Record<string, unknown>
      expect(Object.keys(info).sort()).toEqual(["bitness", "boost", "libtorrent", "openssl", "qt", "zlib"])
      expect(info["bitness"]).toSatisfy((n: unknown) => n === 64 || n === 32)
      for (const key of ["boost", "libtorrent", "openssl", "qt", "zlib"]) expect(typeof info[key]).toBe("string")
      expect(info["libtorrent"]).toMatch(/^bt-effect /)
      expect(info["openssl"]).toBe(process.versions.openssl)
    }))

  it.effect("preferences: 174 keys, ours from the settings", () =>
    Effect.gen(function*() {
      const control = yield* setUp()
      const reply = yield* call(appEndpoints, "preferences", control)
      expect(reply.json).toBe(true)
      const p = JSON.parse(reply.body) as Record<string, unknown>
      expect(Object.keys(p)).toHaveLength(174)
      expect(p).toMatchObject({ save_path: "/data/downloads", listen_port: 6881, max_active_downloads: 5, web_ui_ban_duration: 3600 })
    }))

  it.effect("setPreferences: 400 without json, 200 ignoring bad JSON, 200 applying and keeping the rest", () =>
    Effect.gen(function*() {
      const control = yield* setUp()
      expect(yield* call(appEndpoints, "setPreferences", control)).toEqual({ status: 400, body: "Bad Request", json: false })
      expect(yield* call(appEndpoints, "setPreferences", control, { json: "{not json" })).toEqual({ status: 200, body: "", json: false })
      expect(control.calls()).toEqual([])
      // The catalog's request: max_active_downloads is ours, web_ui_ban_duration kept, the unknown key dropped,
      // dht (fixed at start) not applied.
      const reply = yield* call(appEndpoints, "setPreferences", control, {
        json: JSON.stringify({ max_active_downloads: 4, dht: false, web_ui_ban_duration: 10, unknown_key_xyz: 1 })
      })
      expect(reply).toEqual({ status: 200, body: "", json: false })
      expect(control.calls()).toEqual([{ _tag: "updateSettings", settings: { downloadQueueSize: 4 } }])
      const p = yield* prefs(control)
      expect(p).toMatchObject({ max_active_downloads: 4, web_ui_ban_duration: 10, dht: true })
      expect("unknown_key_xyz" in p).toBe(false)
      expect(Object.keys(p)).toHaveLength(174)
    }))

  it.effect("kept preferences survive a restart; later sets merge over them", () =>
    Effect.gen(function*() {
      const configDir = stateFolder()
      const first = yield* setUp(configDir)
      yield* call(appEndpoints, "setPreferences", first, { json: JSON.stringify({ locale: "de", max_connec: 200, dl_limit: 1000 }) })
      yield* call(appEndpoints, "setPreferences", first, { json: JSON.stringify({ max_connec: 300, web_ui_session_timeout: 60 }) })
      expect(fs.existsSync(preferencesFile(configDir))).toBe(true)
      const again = yield* setUp(configDir)
      const p = yield* prefs(again, makeAppEndpoints())
      expect(p).toMatchObject({ locale: "de", max_connec: 300, web_ui_session_timeout: 60 })
      // dl_limit is a setting of the session (its own settings.json), not of this file.
      expect(p["dl_limit"]).toBe(0)
      expect(JSON.parse(fs.readFileSync(preferencesFile(configDir), "utf8"))).toEqual({
        version: 1, preferences: { locale: "de", max_connec: 300, web_ui_session_timeout: 60 }
      })
    }))

  it.effect("a file that does not decode is ignored: the defaults answer", () =>
    Effect.gen(function*() {
      const configDir = stateFolder()
      fs.writeFileSync(preferencesFile(configDir), "{broken")
      const p = yield* prefs(yield* setUp(configDir))
      expect(p["locale"]).toBe("C")
    }))

  it.effect("the API's own facts answer over what is kept", () =>
    Effect.gen(function*() {
      const control = yield* setUp()
      const scope = makeAppEndpoints({ web_ui_port: 9091, web_ui_address: "127.0.0.1", web_ui_username: "rpc" })
      yield* call(scope, "setPreferences", control, { json: JSON.stringify({ web_ui_port: 1 }) })
      expect(yield* prefs(control, scope)).toMatchObject({ web_ui_port: 9091, web_ui_address: "127.0.0.1", web_ui_username: "rpc" })
    }))
})
