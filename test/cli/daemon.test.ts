/**
 * `bt-effect daemon` as a user starts it (the built program): one daemon per state folder.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-cli-daemon-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(root, { recursive: true, force: true })
})

const daemonArgs = (state: string) => [
  "daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", path.join(root, "downloads"), "--state", state, "--no-dht"
]
const ready = /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//

describe("cli: daemon", () => {
  it("a second daemon on the same state folder says which process holds it and exits 1; once the first stops, it starts", async () => {
    const state = path.join(root, "state")
    const first = await background(daemonArgs(state), ready, 30_000)
    const second = await runCli(daemonArgs(state), { timeoutMs: 20_000 })
    expect(second.code, second.stderr).toBe(1)
    expect(second.stderr.trim()).toBe(
      `bt-effect: ${state}: in use by another bt-effect daemon (process ${first.child.pid}); stop it first, or give this one another --state`
    )
    expect(await stop(first.child)).toBe(130)
    const third = await background(daemonArgs(state), ready, 30_000)
    expect(await stop(third.child)).toBe(130)
  }, 90_000)
})
