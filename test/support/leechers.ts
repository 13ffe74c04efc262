/**
 * Real clients as downloaders from a seeder that a test runs (aria2c's downloader is `runAria2Download`
 * in ./interop.ts). For now: transmission-cli (Debian: `apt-get install -y transmission-cli`, which pulls
 * transmission-common, libminiupnpc17 and libnatpmp1).
 *
 * What Transmission 3.00 does that shapes this helper:
 * - It never dials peers at 127.x addresses (loopback is not a peer address to libtransmission); it only
 *   accepts them. On loopback the seeder must call it, having learnt its address from the tracker: an
 *   aria2c seeder does (`startAria2Seeder` with `reannounceSeconds`, so it hears of a later leecher soon).
 * - It turns interested only at its next rechoke pulse, about 10 s after a handshake: a download takes
 *   at least that long, however small.
 * - transmission-cli has no flags for DHT, LPD, PEX, uTP or the bind address, but it reads settings.json
 *   from its config dir (`-g`): a fresh one per run holds them.
 * - Once complete it seeds forever. Its `-f` script runs when the torrent completes (every piece checked):
 *   ours writes a marker file; we then stop the process by PID with SIGINT (it ignores SIGTERM's usual
 *   meaning: SIGTERM kills it at once, without its `stopped` announce).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Exit, freePort, logTail, type Process, spawnLogged } from "./interop.js"

/** transmission-cli's version line, or undefined when it is not installed. */
export const transmissionVersion = (): string | undefined => {
  const result = spawnSync("transmission-cli", ["--version"], { encoding: "utf8" })
  // It prints its version on stderr and exits 0.
  const line = `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n").find((l) => l.startsWith("transmission-cli"))
  return result.status === 0 ? line : undefined
}

export interface TransmissionDownloadOptions {
  readonly torrent: string
  /** Where the torrent's content goes (`-w`): `<outDir>/<name>`. */
  readonly outDir: string
  /** Until complete (default 120 s); the process is stopped then. */
  readonly timeoutMs?: number
  /** The peer port (default: a free port on `host`). */
  readonly port?: number
  /** The only IPv4 address it listens on (default 127.0.0.1). */
  readonly host?: string
  /** Default: `<outDir>.transmission.log`. */
  readonly logPath?: string
  /** Called once it runs, with its PID and address (e.g. to start a seeder only then). */
  readonly onStart?: (started: { readonly pid: number; readonly address: string }) => void
  /** Peer encryption: tolerated (`-et`, the default: plaintext preferred) or required (`-er`). */
  readonly encryption?: "tolerated" | "required"
}

export interface LeecherResult {
  /** The completion signal came (the download is whole and checked by the client). */
  readonly completed: boolean
  readonly timedOut: boolean
  /** From start to the completion signal (or to the end, when none came). */
  readonly seconds: number
  /** How the process ended after we stopped it (or by itself, early). */
  readonly exit: Exit
  /** "host:port" it listened on. */
  readonly address: string
  readonly logPath: string
}

/**
 * Settings that keep Transmission on loopback and to the tracker: no DHT, LPD, PEX, uTP, port mapping,
 * RPC or blocklist; no speed limits; plaintext allowed (encryption 0 = tolerated); files written whole
 * at their name (no ".part"), without preallocation. Also for a seeder (./seeders.ts).
 */
export const transmissionSettings = (host: string, port: number, outDir: string) => ({
  "dht-enabled": false,
  "lpd-enabled": false,
  "pex-enabled": false,
  "utp-enabled": false,
  "port-forwarding-enabled": false,
  "rpc-enabled": false,
  "blocklist-enabled": false,
  "bind-address-ipv4": host,
  "bind-address-ipv6": "::1",
  "peer-port": port,
  "peer-port-random-on-start": false,
  "encryption": 0,
  "speed-limit-down-enabled": false,
  "speed-limit-up-enabled": false,
  "alt-speed-enabled": false,
  "ratio-limit-enabled": false,
  "idle-seeding-limit-enabled": false,
  "download-dir": outDir,
  "incomplete-dir-enabled": false,
  "rename-partial-files": false,
  "preallocation": 0,
  "start-added-torrents": true,
  "message-level": 2
})

/**
 * Stops transmission-cli the way it expects: SIGINT (it does not catch SIGTERM) makes it stop the torrent,
 * announce `stopped` and exit 0. SIGTERM, then SIGKILL, if it has not exited within `graceMs`.
 */
export const interruptTransmission = async (proc: Process, graceMs: number): Promise<Exit> => {
  if (!proc.hasExited()) {
    try {
      process.kill(proc.pid, "SIGINT")
    } catch {
      // gone already
    }
  }
  const timer = setTimeout(() => void proc.stop(2_000), graceMs)
  const exit = await proc.exited
  clearTimeout(timer)
  return exit
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * transmission-cli downloading `torrent` into `outDir` from peers that call it (see the header), then
 * stopped by PID once its completion script has run, or after `timeoutMs`. Its config dir is a fresh
 * temporary folder, removed afterwards. The torrent's own tracker is the one it announces to (write a
 * .torrent naming the test tracker, e.g. with `writeTorrent`).
 */
export const runTransmissionDownload = async (options: TransmissionDownloadOptions): Promise<LeecherResult> => {
  const host = options.host ?? "127.0.0.1"
  const port = options.port ?? (await freePort(host))
  const address = `${host}:${port}`
  const logPath = options.logPath ?? `${options.outDir}.transmission.log`
  const timeoutMs = options.timeoutMs ?? 120_000
  fs.mkdirSync(options.outDir, { recursive: true })
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-transmission-"))
  try {
    const marker = path.join(configDir, "completed")
    const script = path.join(configDir, "on-complete.sh")
    fs.writeFileSync(path.join(configDir, "settings.json"), JSON.stringify(transmissionSettings(host, port, options.outDir), null, 1))
    // Single-quoted for sh (a quote in TMPDIR becomes '\'').
    const quoted = `'${marker.replaceAll("'", "'\\''")}'`
    fs.writeFileSync(script, `#!/bin/sh\necho "$TR_TORRENT_NAME" > ${quoted}\n`, { mode: 0o755 })
    const started = performance.now()
    const proc = spawnLogged("transmission-cli", [
      "-g", configDir, "-w", options.outDir, "-p", String(port), "-M", "-D", "-U", options.encryption === "required" ? "-er" : "-et", "-f", script, options.torrent
    ], logPath)
    options.onStart?.({ pid: proc.pid, address })
    let completedAt: number | undefined
    for (const until = started + timeoutMs; performance.now() < until && !proc.hasExited();) {
      if (fs.existsSync(marker)) {
        completedAt = performance.now()
        break
      }
      await sleep(100)
    }
    const timedOut = completedAt === undefined && !proc.hasExited()
    const exit = await interruptTransmission(proc, 10_000)
    return {
      completed: completedAt !== undefined,
      timedOut,
      seconds: ((completedAt ?? performance.now()) - started) / 1000,
      exit,
      address,
      logPath
    }
  } finally {
    fs.rmSync(configDir, { recursive: true, force: true })
  }
}

/** The log of a leecher run without the status lines it redraws with "\r" (for assertion messages). */
export const leecherLog = (result: LeecherResult, bytes = 4_000): string =>
  logTail(result.logPath, 200_000)
    .split(/[\r\n]+/)
    .filter((line) => line.trim() !== "" && !line.startsWith("Progress:") && !line.startsWith("Seeding,"))
    .join("\n")
    .slice(-bytes)
