// Real clients as downloaders ("leechers") for the bench's upload rows, besides aria2c and qBittorrent:
// transmission-cli (Debian's transmission-cli) and WebTorrent (the npm package, run by
// bench/webtorrent/leecher.mjs). Each runs under /usr/bin/time (bench/clients.mjs measure) on a loopback
// address of its own, and writes a marker file once complete, since neither exits by itself then.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { measure } from "./clients.mjs"
import { freePort } from "./support.mjs"

// ------------------------------------------------------------------------------------------------------
// Transmission
//
// What Transmission 3.00 does that shapes this (test/support/leechers.ts has the same driver for tests):
// - It never dials peers at 127.x addresses; it only accepts them. The seeder must call it, having learnt
//   its address from the tracker, i.e. at the seeder's next announce: the wall time includes that wait.
// - It turns interested only at its next rechoke pulse, about 10 s after a handshake.
// - transmission-cli has no flags for DHT, LPD, PEX, uTP or the bind address, but it reads settings.json
//   from its config dir (`-g`); it announces from the bind address too.
// - Once complete it seeds forever. Its `-f` script runs when the torrent completes (every piece checked):
//   ours writes the marker; the bench then stops it with SIGINT (SIGTERM kills it at once, without its
//   `stopped` announce).

/** transmission-cli's version line, or undefined when it is not installed. */
export const transmissionVersion = () => {
  const result = spawnSync("transmission-cli", ["--version"], { encoding: "utf8" })
  // It prints its version on stderr and exits 0.
  const line = `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n").find((l) => l.startsWith("transmission-cli"))
  return result.status === 0 ? line : undefined
}

/**
 * Settings that keep Transmission on `host` and to the tracker: no DHT, LPD, PEX, uTP, port mapping, RPC
 * or blocklist; no speed limits; plaintext allowed (encryption 0 = tolerated); files written whole at
 * their name (no ".part"), without preallocation (the transfer time starts at the first block on disk).
 */
const transmissionSettings = (host, port, outDir) => ({
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "port-forwarding-enabled": false, "rpc-enabled": false, "blocklist-enabled": false,
  "bind-address-ipv4": host, "bind-address-ipv6": "::1", "peer-port": port, "peer-port-random-on-start": false,
  "encryption": 0, "speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
  "ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
  "download-dir": outDir, "incomplete-dir-enabled": false, "rename-partial-files": false, "preallocation": 0,
  "start-added-torrents": true, "message-level": 2
})

/** transmission-cli on `host` downloads `torrent` into `outDir`; stopped with SIGINT once complete. */
export const transmissionDownload = async (ctx, { name, outDir, torrent, logPath, host, watch }, seeders) => {
  if (transmissionVersion() === undefined) throw new Error("transmission-cli is not installed (apt-get install -y transmission-cli)")
  const port = await freePort(host)
  const configDir = path.join(ctx.workDir, `transmission-${name}`)
  fs.mkdirSync(configDir, { recursive: true })
  fs.mkdirSync(outDir, { recursive: true })
  const marker = path.join(configDir, "completed")
  const script = path.join(configDir, "on-complete.sh")
  fs.writeFileSync(path.join(configDir, "settings.json"), JSON.stringify(transmissionSettings(host, port, outDir), null, 1))
  // Single-quoted for sh (a quote in TMPDIR becomes '\'').
  fs.writeFileSync(script, `#!/bin/sh\necho "$TR_TORRENT_NAME" > '${marker.replaceAll("'", "'\\''")}'\n`, { mode: 0o755 })
  try {
    return await measure(ctx, "transmission-cli", [
      "-g", configDir, "-w", outDir, "-p", String(port), "-M", "-D", "-U", "-et", "-f", script, torrent
    ], logPath, seeders, { watch, marker, stopSignal: "SIGINT" })
  } finally {
    fs.rmSync(configDir, { recursive: true, force: true })
  }
}

// ------------------------------------------------------------------------------------------------------
// WebTorrent

const require = createRequire(import.meta.url)
const leecherScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "webtorrent", "leecher.mjs")

/** "WebTorrent 2.8.5", or undefined when the package is not installed (it is a devDependency). */
export const webtorrentVersion = () => {
  try {
    return `WebTorrent ${JSON.parse(fs.readFileSync(require.resolve("webtorrent/package.json"), "utf8")).version}`
  } catch {
    return undefined
  }
}

/** WebTorrent on `host`, TCP only, downloads `torrent` into `outDir` (bench/webtorrent/leecher.mjs). */
export const webtorrentDownload = async (ctx, { name, outDir, torrent, logPath, host, watch }, seeders) => {
  if (webtorrentVersion() === undefined) throw new Error("the webtorrent package is not installed (npm ci)")
  const marker = path.join(ctx.workDir, `webtorrent-${name}.completed`)
  try {
    return await measure(ctx, process.execPath, [
      leecherScript, "--torrent", torrent, "--out", outDir, "--host", host, "--port", String(await freePort(host)), "--done", marker
    ], logPath, seeders, { watch, marker, stopSignal: "SIGINT" })
  } finally {
    fs.rmSync(marker, { force: true })
  }
}
