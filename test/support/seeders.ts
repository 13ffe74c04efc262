/**
 * Real clients as seeders for a client under test that dials them (aria2c's is `startAria2Seeder` in
 * ./interop.ts). For now: transmission-cli (Transmission 3.00) seeding a folder it checks first.
 *
 * Transmission on loopback: it listens on its `bind-address-ipv4` only, and announces from that address
 * too (its HTTP announces leave from it), so the tracker hands out the address it listens on. It never
 * dials a peer at 127.x itself: the client under test must call it (see ./leechers.ts). It checks the
 * data before it announces `started` with nothing left, so a peer that calls it then is served at once
 * (it unchokes at its next rechoke, within about 10 s). Stopped by PID with SIGINT (./leechers.ts).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Exit, freePort, logTail, spawnLogged, type Tracker } from "./interop.js"
import { interruptTransmission, transmissionSettings } from "./leechers.js"

export interface TransmissionSeederOptions {
  readonly torrent: string
  /** The folder holding the content (`-w`: `<dataDir>/<name>`). */
  readonly dataDir: string
  /** The torrent's own tracker, where we wait for its `started` announce. */
  readonly tracker: Tracker
  /** The only IPv4 address it listens on (default 127.0.0.12). */
  readonly host?: string
  /** Peer encryption: tolerated (`-et`, plaintext preferred), preferred (`-ep`) or required (`-er`). */
  readonly encryption?: "tolerated" | "preferred" | "required"
  /** Until it has announced (default 30 s). */
  readonly timeoutMs?: number
  /** Default: `<dirname(dataDir)>/transmission-seed-<port>.log`. */
  readonly logPath?: string
}

export interface TransmissionSeeder {
  readonly pid: number
  /** "host:port" it listens on and announced. */
  readonly address: string
  readonly logPath: string
  /** SIGINT (its `stopped` announce), SIGKILL after 10 s; its config dir removed. */
  readonly stop: () => Promise<Exit>
}

const flag = { tolerated: "-et", preferred: "-ep", required: "-er" } as const

/**
 * transmission-cli seeding `dataDir` on host (a fresh config dir: DHT, LPD, PEX, uTP and port mapping
 * off). Resolves once the tracker has answered its `started` announce with nothing left.
 */
export const startTransmissionSeeder = async (options: TransmissionSeederOptions): Promise<TransmissionSeeder> => {
  const host = options.host ?? "127.0.0.12"
  const port = await freePort(host)
  const address = `${host}:${port}`
  const logPath = options.logPath ?? path.join(path.dirname(options.dataDir), `transmission-seed-${port}.log`)
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-transmission-seed-"))
  fs.writeFileSync(path.join(configDir, "settings.json"), JSON.stringify(transmissionSettings(host, port, options.dataDir), null, 1))
  const proc = spawnLogged("transmission-cli", [
    "-g", configDir, "-w", options.dataDir, "-p", String(port), "-M", "-D", "-U", flag[options.encryption ?? "tolerated"], options.torrent
  ], logPath)
  const stop = async () => {
    try {
      return await interruptTransmission(proc, 10_000)
    } finally {
      fs.rmSync(configDir, { recursive: true, force: true })
    }
  }
  const exitedEarly = proc.exited.then((exit) => {
    throw new Error(`transmission-cli seeder exited (${exit.code ?? exit.signal})`)
  })
  try {
    await Promise.race([
      options.tracker.waitForAnnounce((a) => a.addr === address && a.event === "start" && a.left === 0, options.timeoutMs ?? 30_000),
      exitedEarly
    ])
  } catch (e) {
    await stop()
    throw e instanceof Error ? new Error(`${e.message}\nseeder log: ${logTail(logPath)}`) : e
  }
  exitedEarly.catch(() => {})
  return { pid: proc.pid, address, logPath, stop }
}
