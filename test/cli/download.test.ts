/**
 * `bt-effect download` on bad input and when things go wrong: each gives one clear line and a defined exit
 * code, never a crash. A small HTTP tracker stub on 127.0.0.1 answers as each case needs.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { mainJs, runCli } from "../support/cli.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-download-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A tracker stub: answers every announce with `body`, and records the requests' query strings. */
const stubTracker = async (body: string) => {
  const requests: Array<string> = []
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "")
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/announce`, requests, close: () => new Promise<void>((r) => server.close(() => r())) }
}

const closedPort = async () => {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

const torrentFor = (announce: string, name: string) => {
  const t = makeTorrent({ name, pieceLength: 16384, files: [{ path: [name], data: randomBytes(40_000, 3) }], announce })
  const file = path.join(dir, `${name}.torrent`)
  fs.writeFileSync(file, t.bytes)
  return file
}

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? ""

describe("bt-effect download, when things go wrong", () => {
  it("refuses an invalid torrent with exit 2", async () => {
    const bad = path.join(dir, "bad.torrent")
    fs.writeFileSync(bad, "d4:infoi1ee")
    const r = await runCli(["download", bad, "--out", path.join(dir, "o1"), "--port", "0"])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`bt-effect: ${bad}: 'info' is not a dict`)
  })

  it("refuses a number out of range when it parses the command line: exit 2, one line naming the option", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["download", "x.torrent", "--port", "70000"], "--port takes a port number, 0 to 65535, not 70000"],
      [["download", "x.torrent", "--max-peers", "0"], "--max-peers takes 1 to 100000, not 0"],
      [["download", "x.torrent", "--dht-port", "-1"], "--dht-port takes a port number, 0 to 65535, not -1"],
      [["daemon", "--rpc-port", "99999"], "--rpc-port takes a port number, 0 to 65535, not 99999"],
      [["tracker", "--interval", "0"], "--interval takes 1 to 86400 seconds, not 0"]
    ]
    for (const [args, line] of cases) {
      const r = await runCli(args)
      expect(r.code, args.join(" ")).toBe(2)
      expect((r.stdout + r.stderr).trim(), args.join(" ")).toBe(`bt-effect: ${line}`)
    }
  })

  it("says the tracker is unreachable and gives up when nothing comes (exit 1)", async () => {
    const file = torrentFor(`http://127.0.0.1:${await closedPort()}/announce`, "unreachable")
    const r = await runCli(["download", file, "--out", path.join(dir, "o2"), "--port", "0", "--stall-timeout", "2"])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/tracker http:\/\/127\.0\.0\.1:\d+\/announce failed/)
    expect(lastLine(r.stderr)).toMatch(/^bt-effect: stalled: no peers for 2s \(trackers: http:\/\/127\.0\.0\.1:\d+\/announce: .+\)$/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    // Nothing arrived, so nothing is left behind: no full-size empty file for the data.
    expect(fs.existsSync(path.join(dir, "o2", "unreachable"))).toBe(false)
  })

  // A UDP tracker retries for minutes (BEP 15); until it gives up it has not answered, which is not "0 peers".
  it("a UDP tracker that never answers is said to have given no answer yet, not 0 peers", async () => {
    const silent = dgram.createSocket("udp4")
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve))
    try {
      const url = `udp://127.0.0.1:${silent.address().port}/announce`
      const file = torrentFor(url, "silent-udp")
      const r = await runCli(["download", file, "--out", path.join(dir, "o-udp"), "--port", "0", "--stall-timeout", "2"])
      expect(r.code).toBe(1)
      expect(lastLine(r.stderr)).toBe(`bt-effect: stalled: no peers for 2s (trackers: ${url}: no answer yet)`)
    } finally {
      silent.close()
    }
  })

  it("shows a tracker's failure reason", async () => {
    const tracker = await stubTracker("d14:failure reason17:torrent not founde")
    try {
      const file = torrentFor(tracker.url, "refused")
      const r = await runCli(["download", file, "--out", path.join(dir, "o3"), "--port", "0", "--stall-timeout", "2"])
      expect(r.code).toBe(1)
      expect(r.stdout).toContain("torrent not found")
      expect(lastLine(r.stderr)).toContain("torrent not found")
    } finally {
      await tracker.close()
    }
  })

  it("gives up on a swarm with no peers at all", async () => {
    const tracker = await stubTracker("d8:intervali1800e5:peers0:e")
    try {
      const file = torrentFor(tracker.url, "lonely")
      const r = await runCli(["download", file, "--out", path.join(dir, "o4"), "--port", "0", "--stall-timeout", "2"])
      expect(r.code).toBe(1)
      expect(lastLine(r.stderr)).toMatch(/^bt-effect: stalled: no peers for 2s \(trackers: .*: 0 peer\(s\)\)$/)
      expect(tracker.requests[0]).toContain("event=started")
    } finally {
      await tracker.close()
    }
  })

  it("refuses a download folder it cannot write to (exit 1, naming the path)", async () => {
    const file = torrentFor("http://127.0.0.1:1/announce", "nowhere")
    const blocker = path.join(dir, "a-file")
    fs.writeFileSync(blocker, "x")
    const out = path.join(blocker, "sub")
    const r = await runCli(["download", file, "--out", out, "--port", "0"])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(new RegExp(`^bt-effect: ${out}: .*not a folder`))
    expect(r.stderr).not.toContain("internal error")
  })

  it("refuses a port already in use", async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve))
    const { port } = server.address() as AddressInfo
    try {
      const file = torrentFor("http://127.0.0.1:1/announce", "busy")
      const r = await runCli(["download", file, "--out", path.join(dir, "o5"), "--port", String(port)])
      expect(r.code).toBe(1)
      expect(lastLine(r.stderr)).toContain(`port ${port} is already in use`)
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  it("stops cleanly on Ctrl-C: a stopped announce, exit 130", async () => {
    const tracker = await stubTracker("d8:intervali1800e5:peers0:e")
    try {
      const file = torrentFor(tracker.url, "interrupted")
      const child = spawn(process.execPath, [mainJs, "download", file, "--out", path.join(dir, "o6"), "--port", "0"], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      const deadline = Date.now() + 10_000
      while (!tracker.requests.some((r) => r.includes("event=started")) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50))
      }
      child.kill("SIGINT")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      const code = await exited
      clearTimeout(timer)
      expect(code).toBe(130)
      expect(tracker.requests.some((r) => r.includes("event=stopped"))).toBe(true)
    } finally {
      await tracker.close()
    }
  })
})
