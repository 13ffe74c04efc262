/**
 * `--bind` on the command line: bad values are usage errors (exit 2, one line), an address the machine
 * does not have fails the run in one line (exit 1), and the daemon's one peer port is bound there only.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { freePort } from "../support/interop.js"
import { makePayload } from "../support/payload.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-cli-bind-"))
afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(root, { recursive: true, force: true })
})

const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.createConnection({ host, port })
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

describe("cli: --bind", () => {
  const payload = makePayload(path.join(root, "p"), "single", { size: 64 * 1024 })

  it("a value that is not one IPv4 and one IPv6 address is a one-line usage error", async () => {
    for (const [args, line] of [
      [["--bind", "eth0"], `bt-effect: --bind takes an IPv4 or IPv6 address, not "eth0"`],
      [["--bind", "127.0.0.2", "--bind", "127.0.0.3"], "bt-effect: --bind takes one IPv4 address, not both 127.0.0.2 and 127.0.0.3"]
    ] as const) {
      for (const command of ["download", "seed", "stream"]) {
        const extra = command === "seed" ? ["--data", payload.dataDir] : []
        const run = await runCli([command, payload.torrentPath, ...extra, ...args])
        expect(run.code, run.stderr).toBe(2)
        expect(run.stderr.trim()).toBe(line)
      }
    }
  }, 60_000)

  it("an address this machine does not have fails the run in one line, exit 1", async () => {
    const run = await runCli(["seed", payload.torrentPath, "--data", payload.dataDir, "--bind", "192.0.2.1", "--port", "0", "--no-dht", "--state", path.join(root, "s1")])
    expect(run.code, run.stderr).toBe(1)
    expect(run.stderr.trim()).toBe("bt-effect: 192.0.2.1:0: address not available on this machine")
  }, 30_000)

  it("the daemon's peer port is bound to the address given, and to no other", async () => {
    const port = await freePort("127.0.0.2")
    const daemon = await background(
      ["daemon", "--rpc-port", "0", "--peer-port", String(port), "--bind", "127.0.0.2", "--download-dir", path.join(root, "dl"), "--state", path.join(root, "s2"), "--no-dht"],
      /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//
    )
    expect(await accepts("127.0.0.2", port)).toBe(true)
    expect(await accepts("127.0.0.1", port)).toBe(false)
    await stop(daemon.child)
  }, 30_000)
})
