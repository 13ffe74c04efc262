/**
 * Files chosen through the real `transmission-remote` (Transmission 3.00) on a `bt-effect daemon` (the
 * built CLI), while the torrent downloads from a local aria2c seeder (127.0.0.2, DHT/LPD off): added with
 * `-a FILE -G ...`, the daemon downloads only the files wanted and is then complete (100%, Seeding) with
 * exactly those files in its download folder (sha256 equal) and no other file; `-f` shows them wanted or
 * not. Wanting one more file later (`-g`) fetches it, and the folder then holds that one too. The choice
 * survives a restart of the daemon (`-f` the same, still complete).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { background, stop, stopAllBackground } from "../support/cli.js"
import { aria2cVersion, freePort, startAria2Seeder, startTracker, stopAll, type TempDir, tempDir, type Tracker } from "../support/interop.js"
import { type Payload, sha256Tree, writePayload } from "../support/payload.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { requiredInCi } from "../support/skips.js"

const remote = (port: number, ...args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile("transmission-remote", [`127.0.0.1:${port}`, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

/** Waits until `check` holds; `seen` says what was seen last when it never does. */
const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number, seen: () => string = () => "") => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error(`timed out waiting for ${what}\n${seen()}`)
}

/** `-f`'s rows as [number, done, priority, get]. */
const fileRows = (out: string) =>
  out.split("\n").flatMap((line) => {
    const m = /^\s+(\d+):\s+(\S+)\s+(\S+)\s+(Yes|No)\s/.exec(line)
    return m === null ? [] : [[Number(m[1]), m[2]!, m[3]!, m[4]!] as const]
  })

describe("interop: files chosen with transmission-remote on the daemon", () => {
  requiredInCi(aria2cVersion() !== undefined, "aria2c is not installed (apt-get install -y aria2)")
  let root: TempDir | undefined
  let tracker: Tracker | undefined
  let payload: Payload

  beforeAll(async () => {
    if (aria2cVersion() === undefined) return
    root = tempDir("bt-effect-daemon-files-")
    tracker = await startTracker()
    // Pieces of 16 KiB across files of 20 to 62 KiB, in two folders: most pieces hold bytes of two files.
    const files = Array.from({ length: 8 }, (_, i) => ({ path: [i % 2 === 0 ? "even" : "odd", `file-${i}.bin`], data: randomBytes(20_000 + i * 6_007, 40 + i) }))
    const torrent = makeTorrent({ name: "chosen", pieceLength: 16384, files, announce: tracker.httpUrl })
    payload = writePayload(path.join(root.path, "payload"), "chosen", 16384, files, torrent)
    await startAria2Seeder({ torrent: payload.torrentPath, dataDir: payload.dataDir, tracker })
  }, 60_000)

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root?.remove()
  }, 30_000)

  const startDaemon = (state: string, downloads: string, rpcPort: number) =>
    background(
      ["daemon", "--rpc-port", String(rpcPort), "--peer-port", "0", "--download-dir", downloads, "--state", state, "--no-dht", "--verbose"],
      /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//, 30_000
    )

  it("downloads only the files wanted, completes, fetches one wanted later, and keeps the choice over a restart", async () => {
    const rpcPort = await freePort()
    const state = path.join(root!.path, "state")
    const downloads = path.join(root!.path, "downloads")
    let daemon = await startDaemon(state, downloads, rpcPort)
    const expected = (indices: ReadonlyArray<number>) => new Map(indices.map((i) => [payload.files[i]!.path, payload.files[i]!.sha256]))
    let last = ""
    const done = async (count: number) =>
      until("100% of the files wanted", async () => {
        const files = (await remote(rpcPort, "-t", "1", "-f")).stdout
        const list = (await remote(rpcPort, "-l")).stdout
        last = files + list + daemon.output().slice(-2000)
        const rows = fileRows(files)
        // Complete: 100% of what is wanted (transmission-remote says "Idle" of a seed sending nothing).
        return rows.length === payload.files.length && rows.filter((r) => r[1] === "100%").length >= count && /\s100%.*(Idle|Seeding)/.test(list)
      }, 60_000, () => last)

    // Added with files 1, 2, 5 and 6 unwanted (torrent-add's files-unwanted) and file 3 at high priority.
    const added = await remote(rpcPort, "-a", payload.torrentPath, "-G", "1,2,5-6", "-ph", "3")
    expect(added.code, added.stderr).toBe(0)
    const wanted = [0, 3, 4, 7]
    await done(wanted.length)
    expect(await sha256Tree(downloads)).toEqual(expected(wanted))
    const rows = fileRows((await remote(rpcPort, "-t", "1", "-f")).stdout)
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual(payload.files.map((_, i) => [i, i === 3 ? "High" : "Normal", wanted.includes(i) ? "Yes" : "No"]))
    expect(rows.filter((r) => wanted.includes(r[0])).map((r) => r[1])).toEqual(wanted.map(() => "100%"))
    const info = (await remote(rpcPort, "-t", "1", "-i")).stdout
    expect(info).toContain("  Percent Done: 100%\n")

    // One more file wanted: the run starts again, moves its parked bytes into place and fetches the rest.
    expect((await remote(rpcPort, "-t", "1", "-g", "5")).code).toBe(0)
    await until("file 5 fetched", async () => fileRows((await remote(rpcPort, "-t", "1", "-f")).stdout)[5]?.[1] === "100%", 60_000)
    await done(wanted.length + 1)
    expect(await sha256Tree(downloads)).toEqual(expected([0, 3, 4, 5, 7]))

    // A restart keeps the choice: the same files wanted, complete, nothing else fetched or created.
    expect(await stop(daemon.child)).toBe(130)
    daemon = await startDaemon(state, downloads, rpcPort)
    await done(wanted.length + 1)
    expect(fileRows((await remote(rpcPort, "-t", "1", "-f")).stdout).map((r) => r[3])).toEqual(payload.files.map((_, i) => ([0, 3, 4, 5, 7].includes(i) ? "Yes" : "No")))
    expect(await sha256Tree(downloads)).toEqual(expected([0, 3, 4, 5, 7]))
    expect(await stop(daemon.child)).toBe(130)
  }, 240_000)
})
