/**
 * File selection against a real aria2c seeder (on 127.0.0.2, DHT/LPD/PEX off) of a 200-file torrent
 * (16 KiB pieces spanning files): `--files` with two files from the middle downloads exactly those (sha256
 * equal), creates no other file in the download folder, and receives no more than the pieces that hold
 * them (their bytes plus the boundary pieces' other bytes). A second `download` with two more files
 * selected fetches only the pieces not had yet, and moves the parked boundary bytes into place.
 *
 * The bytes are measured outside bt-effect too: it reaches the seeder only through a counting TCP proxy
 * (../support/countingProxy.ts), named by a static tracker of this file; aria2c announces to the harness's
 * tracker, where bt-effect never appears, so every byte it receives crosses the proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as FileSelection from "../../src/domain/FileSelection.js"
import * as Layout from "../../src/domain/Layout.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import { manyFilesPayload } from "../support/aria2Magnet.js"
import { mainJs } from "../support/cli.js"
import { type CountingProxy, startCountingProxy } from "../support/countingProxy.js"
import {
  aria2cVersion,
  freePort,
  logTail,
  runLogged,
  type Seeder,
  startAria2Seeder,
  startTracker,
  stopAll,
  type TempDir,
  tempDir,
  type Tracker
} from "../support/interop.js"
import { type Payload, sha256Tree, writeTorrent } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

/** An HTTP tracker that names one peer (the proxy) to every announce. */
const staticTracker = async (peer: { readonly host: string; readonly port: number }) => {
  const compact = Buffer.from([...peer.host.split(".").map(Number), peer.port >> 8, peer.port & 0xff])
  const body = Buffer.concat([Buffer.from("d8:intervali600e5:peers6:"), compact, Buffer.from("e")])
  const server = http.createServer((_, res) => res.end(body))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** Wire bytes beyond the pieces' payload: handshake, extension handshake, bitfield, 13 bytes per block. */
const wireAllowance = 4096

describe("interop: file selection from aria2c", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  let root: TempDir | undefined
  let tracker: Tracker
  let seeder: Seeder | undefined
  let payload: Payload
  let torrent: string
  let proxy: CountingProxy | undefined
  let viaProxy: Awaited<ReturnType<typeof staticTracker>> | undefined

  beforeAll(async () => {
    if (aria2cVersion() === undefined) return
    root = tempDir("bt-effect-interop-select-")
    tracker = await startTracker()
    payload = manyFilesPayload(root.path, { fileCount: 200, seed: 5 })
    seeder = await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker })
    proxy = await startCountingProxy({ target: { host: seeder.host, port: seeder.port } })
    viaProxy = await staticTracker(proxy)
    torrent = writeTorrent(payload, path.join(root.path, "select.torrent"), { announce: viaProxy.url })
  }, 120_000)

  afterAll(async () => {
    await proxy?.close()
    await viaProxy?.close()
    await seeder?.stop()
    await tracker?.stop()
    await stopAll()
    root?.remove()
  }, 30_000)

  const download = async (out: string, files: string, log: string) => {
    const state = path.join(root!.path, "state")
    fs.mkdirSync(state, { recursive: true })
    const port = await freePort("127.0.0.1")
    const wireBefore = proxy!.downstreamBytes()
    const args = [mainJs, "download", torrent, "--out", out, "--port", String(port), "--state", state, "--no-dht", "--json",
      "--stall-timeout", "30", "--files", files]
    const result = await runLogged(process.execPath, args, path.join(root!.path, log), 90_000)
    expect({ code: result.code, timedOut: result.timedOut }, logTail(result.logPath)).toEqual({ code: 0, timedOut: false })
    const done = fs.readFileSync(result.logPath, "utf8").split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { event: string; downloadedBytes?: number; totalBytes?: number })
      .find((e) => e.event === "done")
    expect(done, logTail(result.logPath)).toBeDefined()
    const said = fs.readFileSync(result.logPath, "utf8").split("\n").filter((l) => !l.includes('"progress"')).join("\n").slice(0, 3000)
    return { ...done!, said, wire: proxy!.downstreamBytes() - wireBefore }
  }

  /** Bytes of the pieces that hold the 0-based `files`, less those of the pieces in `had`. */
  const pieceBytes = (files: ReadonlyArray<number>, had: ReadonlyArray<number> = []) => {
    const layout = layoutOf(payload.metainfo)
    const before = FileSelection.wantedPieces(layout, had)
    let bytes = 0
    FileSelection.wantedPieces(layout, files).forEachSet((p) => {
      if (!before.has(p)) bytes += Layout.pieceSize(layout, p)
    })
    return bytes
  }

  it("--files 100,101 downloads exactly those two files, and moves only their pieces; then 99-102 fills in the rest", async () => {
    const out = path.join(root!.path, "out")
    const first = await download(out, "100,101", "first.log")
    const expected = (numbers: ReadonlyArray<number>) =>
      new Map(numbers.map((n) => [payload.files[n - 1]!.path, payload.files[n - 1]!.sha256]))
    // Only the selected files exist in the folder, with the seed's content.
    expect(await sha256Tree(out)).toEqual(expected([100, 101]))
    const selected = payload.files[99]!.length + payload.files[100]!.length
    expect(first.totalBytes).toBe(selected)
    // Received: the selected bytes plus the boundary pieces' other bytes, nothing more.
    expect(first.downloadedBytes).toBeGreaterThanOrEqual(selected)
    expect(first.downloadedBytes).toBeLessThanOrEqual(pieceBytes([99, 100]))
    // On the wire (what the seeder sent through the proxy): those pieces and the protocol's few bytes.
    expect(first.wire).toBeLessThanOrEqual(pieceBytes([99, 100]) + wireAllowance)
    console.log(`selection: ${selected} bytes selected, ${pieceBytes([99, 100])} in their pieces, ` +
      `${first.downloadedBytes} received (${first.wire} bytes on the wire)`)

    // More files selected: the parked boundary bytes move into place, only the missing pieces are fetched.
    const second = await download(out, "99-102", "second.log")
    expect(await sha256Tree(out)).toEqual(expected([99, 100, 101, 102]))
    expect(second.downloadedBytes, second.said).toBeLessThanOrEqual(pieceBytes([98, 99, 100, 101], [99, 100]))
    expect(second.wire).toBeLessThanOrEqual(pieceBytes([98, 99, 100, 101], [99, 100]) + wireAllowance)
    console.log(`second: ${pieceBytes([98, 99, 100, 101], [99, 100])} bytes in the new pieces, ` +
      `${second.downloadedBytes} received (${second.wire} bytes on the wire)`)
  }, 200_000)
})
