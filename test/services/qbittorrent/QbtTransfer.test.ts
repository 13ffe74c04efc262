/**
 * The qBittorrent API's `transfer` scope (QbtTransfer.ts) over a memory session: info's fields and types as
 * in the catalog (transfer_*.json of qbittorrent-nox 4.5.2), the alternative speed mode, and the limits in
 * force (the alternative ones while that mode is on), with the catalog's statuses.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach } from "vitest"
import { preferencesFile } from "../../../src/services/qbittorrent/QbtKeptPreferences.js"
import { transferEndpoints } from "../../../src/services/qbittorrent/QbtTransfer.js"
import { make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { callEndpoint as call } from "./callEndpoint.js"

const folders: Array<string> = []
afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

const ok = { status: 200, body: "", json: false }
const textOf = (body: string) => ({ status: 200, body, json: false })

describe("qBittorrent API: transfer", () => {
  it("marks what changes anything POST-only", () => {
    expect(Object.fromEntries(Object.entries(transferEndpoints).map(([name, e]) => [name, e.post]))).toEqual({
      info: false, speedLimitsMode: false, downloadLimit: false, uploadLimit: false,
      toggleSpeedLimitsMode: true, setSpeedLimitsMode: true, setDownloadLimit: true, setUploadLimit: true
    })
  })

  it.effect("info: the catalog's fields and types, the session's rates and totals", () =>
    Effect.gen(function*() {
      const control = yield* makeMemory()
      const empty = JSON.parse((yield* call(transferEndpoints, "info", control)).body) as Record<string, unknown>
      expect(empty).toEqual({
        connection_status: "firewalled", dht_nodes: 0, dl_info_data: 0, dl_info_speed: 0, dl_rate_limit: 0,
        up_info_data: 0, up_info_speed: 0, up_rate_limit: 0
      })
      const torrent = makeTorrent({ name: "t", pieceLength: 16384, files: [{ path: ["a"], data: randomBytes(40_000, 1) }] })
      const added = yield* control.add({ _tag: "Metainfo", bytes: torrent.bytes }, {})
      yield* control.setRates(added.id, 3000, 700)
      // Lifetime bytes, of which this session's: transfer/info says the session's.
      yield* control.update(added.id, { downloadedEver: 92345, uploadedEver: 5678, downloadedSession: 12345, uploadedSession: 678 })
      const busy = JSON.parse((yield* call(transferEndpoints, "info", control)).body) as Record<string, unknown>
      expect(busy).toMatchObject({ dl_info_speed: 3000, up_info_speed: 700, dl_info_data: 12345, up_info_data: 678, connection_status: "firewalled" })
      const peer = {
        address: "127.0.0.2", port: 6881, clientName: "x", peerId: "", rateToClient: 0, rateToPeer: 0, bytesToClient: 0, bytesToPeer: 0,
        progress: 0, isDownloadingFrom: false, isUploadingTo: false, isIncoming: true
      }
      yield* control.update(added.id, { peers: [peer] })
      expect(JSON.parse((yield* call(transferEndpoints, "info", control)).body)).toMatchObject({ connection_status: "connected" })
    }))

  it.effect("speedLimitsMode, toggleSpeedLimitsMode and setSpeedLimitsMode", () =>
    Effect.gen(function*() {
      const control = yield* makeMemory()
      expect(yield* call(transferEndpoints, "speedLimitsMode", control)).toEqual(textOf("0"))
      expect(yield* call(transferEndpoints, "toggleSpeedLimitsMode", control)).toEqual(ok)
      expect(yield* call(transferEndpoints, "speedLimitsMode", control)).toEqual(textOf("1"))
      expect((yield* control.settings).altSpeedEnabled).toBe(true)
      expect(yield* call(transferEndpoints, "setSpeedLimitsMode", control, { mode: "0" })).toEqual(ok)
      expect(yield* call(transferEndpoints, "speedLimitsMode", control)).toEqual(textOf("0"))
      expect(yield* call(transferEndpoints, "setSpeedLimitsMode", control, { mode: "2" })).toEqual(ok)
      expect(yield* call(transferEndpoints, "speedLimitsMode", control)).toEqual(textOf("1"))
      expect(yield* call(transferEndpoints, "setSpeedLimitsMode", control)).toEqual({ status: 400, body: "Bad Request", json: false })
      expect(yield* call(transferEndpoints, "setSpeedLimitsMode", control, { mode: "abc" }))
        .toEqual({ status: 400, body: "'mode': invalid argument", json: false })
    }))

  it.effect("the limits: set and read in bytes/s, the alternative ones while that mode is on; 400 without a limit", () =>
    Effect.gen(function*() {
      const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "qbt-transfer-"))
      folders.push(configDir)
      const control = yield* makeMemory({ settings: { configDir } })
      expect(yield* call(transferEndpoints, "setDownloadLimit", control, { limit: "1048576" })).toEqual(ok)
      expect(yield* call(transferEndpoints, "setUploadLimit", control, { limit: "524288" })).toEqual(ok)
      expect(yield* call(transferEndpoints, "downloadLimit", control)).toEqual(textOf("1048576"))
      expect(yield* call(transferEndpoints, "uploadLimit", control)).toEqual(textOf("524288"))
      expect(JSON.parse((yield* call(transferEndpoints, "info", control)).body)).toMatchObject({ dl_rate_limit: 1048576, up_rate_limit: 524288 })
      expect(yield* call(transferEndpoints, "setDownloadLimit", control)).toEqual({ status: 400, body: "Bad Request", json: false })
      // The alternative mode: its limits (50 kB/s by default) in force, and the ones set.
      yield* call(transferEndpoints, "toggleSpeedLimitsMode", control)
      expect(yield* call(transferEndpoints, "downloadLimit", control)).toEqual(textOf("50000"))
      expect(yield* call(transferEndpoints, "setDownloadLimit", control, { limit: "10240" })).toEqual(ok)
      expect(yield* call(transferEndpoints, "downloadLimit", control)).toEqual(textOf("10240"))
      expect(JSON.parse((yield* call(transferEndpoints, "info", control)).body)).toMatchObject({ dl_rate_limit: 10240, up_rate_limit: 50000 })
      // Whole kB/s in the session (as the Transmission RPC reads them), the bytes kept beside them.
      expect((yield* control.settings).altSpeedDown).toBe(10)
      expect(JSON.parse(fs.readFileSync(preferencesFile(configDir), "utf8")).preferences).toEqual({ alt_dl_limit: 10240 })
      yield* call(transferEndpoints, "toggleSpeedLimitsMode", control)
      expect(yield* call(transferEndpoints, "downloadLimit", control)).toEqual(textOf("1048576"))
      // 0, a negative limit and one that is no number are "unlimited", as qBittorrent reads them.
      for (const limit of ["0", "-1", "abc"]) {
        yield* call(transferEndpoints, "setUploadLimit", control, { limit: "1000" })
        expect(yield* call(transferEndpoints, "setUploadLimit", control, { limit })).toEqual(ok)
        expect(yield* call(transferEndpoints, "uploadLimit", control)).toEqual(textOf("0"))
      }
    }))
})
