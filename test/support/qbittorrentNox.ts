/**
 * qbittorrent-nox (Debian's, 4.5.2) as the reference WebUI API v2 server for the qBittorrent API tests
 * (issue 22): one instance per call, on a loopback address, with a fresh profile, its Web UI behind a
 * password (also from loopback), DHT, LSD, PeX, UPnP/NAT-PMP and peer-country lookups off, and its peer
 * port bound to the same address. Spawned, tracked and stopped by PID through ./interop.ts.
 *
 * What qbittorrent-nox does that shapes this helper (seen with 4.5.2; catalog of its answers:
 * /work/notes/qbt-ref/SUMMARY.md while that exists):
 * - It reads its settings from `<profile>/qBittorrent/config/qBittorrent.conf` (QSettings INI: `\` in a
 *   key is the `/` of the key path). The password is stored as PBKDF2-HMAC-SHA512, 100000 iterations, a
 *   16-byte salt and a 64-byte key, `@ByteArray(<salt b64>:<key b64>)`. Without `LegalNotice/Accepted`
 *   it waits for an answer on stdin.
 * - It runs as root without a flag or a warning.
 * - Its Web UI answers at once with 403 to a request without a session, so readiness is "any HTTP answer".
 * - Login: 200 "Ok." with `Set-Cookie: SID=…; HttpOnly; path=/; SameSite=Strict`, or 200 "Fails."; after 5
 *   failures from one client address the next request from it gets 403 for `WebUI\BanDuration` seconds
 *   (3600 by default). A request whose Origin or Referer does not match its Host gets 401.
 * - With an `InterfaceAddress` other than 127.0.0.1 it logs "Failed to find the configured network address"
 *   (lo lists only 127.0.0.1) yet listens on that address alone: harmless.
 * - SIGTERM stops it cleanly within a second or two.
 * - A relative `savepath` / `setLocation` is accepted and taken from its working folder (the profile here).
 */
import { spawnSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { freePort, logTail, type Process, spawnLogged, tempDir } from "./interop.js"
import { qbtRequest } from "./qbtApiClient.js"

/** The executable: $QBITTORRENT_NOX when set (another build, or a missing one to see the skip), else from PATH. */
export const qbittorrentNoxCommand = process.env["QBITTORRENT_NOX"] ?? "qbittorrent-nox"

/** "qBittorrent v4.5.2", or undefined when qbittorrent-nox is not installed. */
export const qbittorrentNoxVersion = (): string | undefined => {
  const result = spawnSync(qbittorrentNoxCommand, ["--version"], { encoding: "utf8", timeout: 10_000 })
  const line = (result.stdout ?? "").split("\n").find((l) => l.startsWith("qBittorrent"))
  return result.status === 0 ? line?.trim() : undefined
}

/** Thrown by `startQbittorrentNox` when qbittorrent-nox is not installed: a test turns it into a skip. */
export class QbittorrentNoxMissing extends Error {
  override readonly name = "QbittorrentNoxMissing"
  constructor() {
    super("qbittorrent-nox is not installed (Debian: apt-get install -y qbittorrent-nox)")
  }
}

export interface QbittorrentNoxOptions {
  /** The loopback address for the Web UI and the peer port (default 127.0.0.1). */
  readonly address?: string
  /** The default save path (created if missing). */
  readonly saveDir: string
  /** Web UI user (default "admin"). */
  readonly username?: string
  /** Web UI password (default "adminadmin"). */
  readonly password?: string
  /** The profile folder (default: a new temp folder, removed by `stop`). */
  readonly profileDir?: string
  /** Until the Web UI answers (default 30 s). */
  readonly timeoutMs?: number
  /** More qBittorrent.conf keys by section, e.g. `{ Preferences: { "WebUI\\BanDuration": 10 } }`; they win. */
  readonly config?: Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>
}

export interface QbtCallOptions {
  /** Default GET (POST when `body` is given). Actions are POST-only in 4.5.2 (GET gets 405): pass "POST". */
  readonly method?: "GET" | "POST" | "PUT" | "DELETE" | "HEAD"
  /** The Cookie header: a string; null for none; absent for the one the last `login()` returned. */
  readonly cookie?: string | null
  /** A body instead of the form-encoded `params` (FormData for multipart, as torrents/add takes). */
  readonly body?: FormData | string
  /** More request headers (Origin, Referer, Content-Type…). */
  readonly headers?: Readonly<Record<string, string>>
  /** Per call (default 15 s). */
  readonly timeoutMs?: number
}

export interface QbtResponse {
  readonly status: number
  /** Null when the response had none (e.g. the 400 to an unsupported method). */
  readonly contentType: string | null
  /** Every Set-Cookie header. */
  readonly setCookie: ReadonlyArray<string>
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (throws when it is not). */
  readonly json: () => unknown
}

export interface QbittorrentNox {
  /** http://ADDRESS:PORT (no trailing slash) */
  readonly url: string
  readonly address: string
  readonly port: number
  /** Its peer (torrenting) port, on `address`. */
  readonly peerPort: number
  readonly pid: number
  readonly username: string
  readonly password: string
  readonly profileDir: string
  /** qbittorrent-nox's stdout and stderr. */
  readonly logPath: string
  /** The last `bytes` of its own log (`<profile>/qBittorrent/data/logs/qbittorrent.log`) and of stdout. */
  readonly logTail: (bytes?: number) => string
  /** POST auth/login with the credentials (or others); resolves to "SID=…", the Cookie header to send. */
  readonly login: (username?: string, password?: string) => Promise<string>
  /**
   * One request to `/api/v2/<apiPath>` (a leading "/api/v2/" or "/" is accepted). `params` go in the
   * query string for GET and HEAD, else form-encoded in the body (unless `body` is given).
   */
  readonly call: (apiPath: string, params?: Readonly<Record<string, string | number | boolean>>, options?: QbtCallOptions) => Promise<QbtResponse>
  /** SIGTERM by PID, SIGKILL after 10 s; removes the profile when this helper made it. */
  readonly stop: () => Promise<void>
}

const pbkdf2 = promisify(crypto.pbkdf2)

/** `@ByteArray(salt:key)` as qBittorrent 4.2+ stores `WebUI\Password_PBKDF2`. */
export const qbittorrentPasswordHash = async (password: string): Promise<string> => {
  const salt = crypto.randomBytes(16)
  const key = await pbkdf2(password, salt, 100_000, 64, "sha512")
  return `@ByteArray(${salt.toString("base64")}:${key.toString("base64")})`
}

type Sections = Record<string, Record<string, string | number | boolean>>

/** The settings described at the top (key names as qbittorrent-nox 4.5.2 reads them). */
const baseConfig = (o: { address: string; webPort: number; peerPort: number; saveDir: string; username: string; passwordHash: string }): Sections => ({
  LegalNotice: { Accepted: true },
  BitTorrent: {
    "Session\\DHTEnabled": false,
    "Session\\LSDEnabled": false,
    "Session\\PeXEnabled": false,
    "Session\\Port": o.peerPort,
    "Session\\InterfaceAddress": o.address,
    "Session\\DefaultSavePath": o.saveDir,
    "Session\\TempPathEnabled": false
  },
  Network: { PortForwardingEnabled: false },
  Preferences: {
    "Connection\\UPnP": false,
    "Connection\\ResolvePeerCountries": false,
    "WebUI\\Address": o.address,
    "WebUI\\Port": o.webPort,
    "WebUI\\UseUPnP": false,
    "WebUI\\Username": o.username,
    "WebUI\\Password_PBKDF2": `"${o.passwordHash}"`,
    "WebUI\\LocalHostAuth": true
  }
})

const renderConfig = (sections: Sections): string =>
  Object.entries(sections).map(([name, keys]) =>
    `[${name}]\n${Object.entries(keys).map(([k, v]) => `${k}=${String(v)}`).join("\n")}\n`).join("\n")

const mergeConfig = (base: Sections, extra: QbittorrentNoxOptions["config"]): Sections => {
  const out: Sections = {}
  for (const [name, keys] of Object.entries(base)) out[name] = { ...keys }
  for (const [name, keys] of Object.entries(extra ?? {})) out[name] = { ...(out[name] ?? {}), ...keys }
  return out
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))


/** Until the Web UI gives any HTTP answer; throws with the log when the process ends or time runs out. */
const waitForWebUi = async (base: string, proc: Process, timeoutMs: number, tail: () => string): Promise<void> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (proc.hasExited()) throw new Error(`qbittorrent-nox exited before its Web UI answered:\n${tail()}`)
    try {
      await fetch(`${base}/api/v2/app/version`, { signal: AbortSignal.timeout(2_000) })
      return
    } catch {
      if (Date.now() > until) throw new Error(`qbittorrent-nox's Web UI did not answer at ${base} within ${timeoutMs} ms:\n${tail()}`)
      await sleep(100)
    }
  }
}

/**
 * Starts qbittorrent-nox as described at the top; resolves once its Web UI answers (not logged in).
 * Throws `QbittorrentNoxMissing` when it is not installed.
 */
export const startQbittorrentNox = async (options: QbittorrentNoxOptions): Promise<QbittorrentNox> => {
  if (qbittorrentNoxVersion() === undefined) throw new QbittorrentNoxMissing()
  const address = options.address ?? "127.0.0.1"
  const username = options.username ?? "admin"
  const password = options.password ?? "adminadmin"
  const madeProfile = options.profileDir === undefined ? tempDir("bt-effect-qbt-") : undefined
  const profileDir = options.profileDir ?? madeProfile!.path
  const [webPort, peerPort] = [await freePort(address), await freePort(address)]
  fs.mkdirSync(options.saveDir, { recursive: true })
  const configDir = path.join(profileDir, "qBittorrent", "config")
  fs.mkdirSync(configDir, { recursive: true })
  const passwordHash = await qbittorrentPasswordHash(password)
  const sections = mergeConfig(baseConfig({ address, webPort, peerPort, saveDir: options.saveDir, username, passwordHash }), options.config)
  fs.writeFileSync(path.join(configDir, "qBittorrent.conf"), renderConfig(sections))
  const logPath = path.join(profileDir, "qbittorrent-nox.stdout.log")
  const ownLog = path.join(profileDir, "qBittorrent", "data", "logs", "qbittorrent.log")
  const tail = (bytes = 4_000) => `${logTail(ownLog, bytes)}\n--- stdout/stderr ---\n${logTail(logPath, bytes)}`
  // In the profile as its working folder: it resolves a relative setLocation/savepath against it, and
  // must not create folders in the checkout. `env -C` changes folder and execs: the PID is qbittorrent-nox's.
  const proc = spawnLogged("env", ["-C", profileDir, qbittorrentNoxCommand, `--profile=${profileDir}`, `--webui-port=${webPort}`], logPath)
  const url = `http://${address}:${webPort}`
  const stop = async () => {
    await proc.stop(10_000)
    madeProfile?.remove()
  }
  try {
    await waitForWebUi(url, proc, options.timeoutMs ?? 30_000, tail)
  } catch (e) {
    await stop()
    throw e
  }
  let session: string | null = null
  const login = async (user = username, pass = password) => {
    const response = await qbtRequest(url, "auth/login", { username: user, password: pass }, { method: "POST" }, null)
    const sid = response.setCookie.map((c) => /^SID=[^;]*/.exec(c)?.[0]).find((c) => c !== undefined)
    if (response.status !== 200 || sid === undefined) {
      throw new Error(`qbittorrent-nox login as ${user}: ${response.status} ${JSON.stringify(response.text)}`)
    }
    session = sid
    return sid
  }
  const call = (apiPath: string, params: Readonly<Record<string, string | number | boolean>> = {}, callOptions: QbtCallOptions = {}) =>
    qbtRequest(url, apiPath, params, callOptions, callOptions.cookie === undefined ? session : callOptions.cookie)
  return { url, address, port: webPort, peerPort, pid: proc.pid, username, password, profileDir, logPath, logTail: tail, login, call, stop }
}
