// qBittorrent (libtorrent) as a downloader for the benchmark: `qbittorrent-nox` headless, with a profile
// of its own in the bench's temp folder, driven through its Web API on 127.0.0.1 (the Web UI trusts
// localhost without a password: set in the profile's config before it starts), peers on a loopback
// address of its own. It is a daemon, so a download is timed from adding the .torrent to the API
// reporting progress 1, and its CPU and peak RSS come from /proc over that span (not /usr/bin/time).
// Started once, tracked and stopped by PID.
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { cpuSeconds, exited, freePort, infoHash, logTail, peakRssMB, resetPeakRss, stopTree, track, watchTransfer } from "./support.mjs"
import { seederUse } from "./clients.mjs"

const binary = "qbittorrent-nox"
const pollMs = 100

/**
 * qbittorrent-nox writes a config and a log under $HOME even for `--version` (which must be its only
 * argument, so no `--profile`): every run of it gets a home in `scratch`, a folder of the bench's.
 */
const homeIn = (scratch) => {
  const home = path.join(scratch, "qbittorrent-home")
  fs.mkdirSync(home, { recursive: true })
  return {
    ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"), XDG_CACHE_HOME: path.join(home, ".cache")
  }
}

/** "qBittorrent v4.5.2", or undefined when it is not installed. */
export const qbittorrentVersion = (scratch) => {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8", env: homeIn(scratch) })
  return result.status === 0 ? result.stdout.trim() : undefined
}

/** Installs Debian's qbittorrent-nox (for `--install-qbt`); the reason when that fails. */
export const installQbittorrent = () => {
  const result = spawnSync("apt-get", ["install", "-y", "qbittorrent-nox"], { encoding: "utf8", timeout: 300_000 })
  return result.status === 0 ? undefined : `apt-get install -y qbittorrent-nox failed: ${(result.stderr || result.error?.message || "").trim().slice(-300)}`
}

// qBittorrent >= 4.6 asks to accept its legal notice on the command line; older ones read it from the config.
const needsLegalFlag = (scratch) =>
  (spawnSync(binary, ["--help"], { encoding: "utf8", env: homeIn(scratch) }).stdout ?? "").includes("--confirm-legal-notice")

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts qbittorrent-nox and sets it up for loopback only: no DHT, LSD, PEX, UPnP/NAT-PMP, no encryption
 * (bt-effect has none), TCP only (aria2c has no uTP), listening on `host` and announcing from it. A
 * loopback address of its own, since libtorrent refuses a peer on its own IP address: on 127.0.0.1 it
 * would never connect to the bt-effect seeder, which announces from there.
 */
export const startQbittorrent = async (ctx, host, { profileName = "qbittorrent" } = {}) => {
  const profile = path.join(ctx.workDir, profileName)
  const configDir = path.join(profile, "qBittorrent", "config")
  fs.mkdirSync(configDir, { recursive: true })
  const configFile = path.join(configDir, "qBittorrent.conf")
  // A restart (the scale row) keeps the profile as qBittorrent left it: its preferences (no DHT, LSD, ...)
  // apply from the first moment, and its resume data is there.
  const restart = fs.existsSync(configFile)
  const webPort = restart ? Number(/WebUI\\Port=(\d+)/.exec(fs.readFileSync(configFile, "utf8"))?.[1]) : await freePort("127.0.0.1")
  if (!restart) fs.writeFileSync(configFile, [
    "[LegalNotice]", "Accepted=true", "",
    "[Preferences]", "WebUI\\Address=127.0.0.1", `WebUI\\Port=${webPort}`, "WebUI\\LocalHostAuth=false", "WebUI\\UseUPnP=false", ""
  ].join("\n"))
  const logPath = path.join(ctx.workDir, `${profileName}.log`)
  const log = fs.openSync(logPath, "a")
  const args = [`--profile=${profile}`, `--webui-port=${webPort}`, ...(needsLegalFlag(ctx.workDir) ? ["--confirm-legal-notice"] : [])]
  const child = track(spawn(binary, args, { stdio: ["ignore", log, log], env: homeIn(ctx.workDir) }))
  fs.closeSync(log)
  const base = `http://127.0.0.1:${webPort}/api/v2`
  const api = async (method, body) => {
    const response = await fetch(`${base}/${method}`, body === undefined ? {} : { method: "POST", body })
    if (!response.ok) throw new Error(`qBittorrent ${method}: HTTP ${response.status} ${await response.text()}`)
    return response
  }
  const qbt = { name: "qbittorrent", child, logPath, api, savePath: path.join(ctx.workDir, "qbittorrent-downloads") }
  try {
    for (const until = Date.now() + 30_000; ;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode})`)
      const version = await api("app/version").then((r) => r.text(), () => undefined)
      if (version !== undefined) {
        qbt.version = version
        break
      }
      if (Date.now() > until) throw new Error("its Web API did not answer within 30 s")
      await sleep(200)
    }
    if (restart) return qbt
    const listenPort = await freePort(host)
    const preferences = {
      dht: false, lsd: false, pex: false, upnp: false, random_port: false, listen_port: listenPort,
      current_interface_address: host, encryption: 2, bittorrent_protocol: 1, anonymous_mode: false,
      save_path: qbt.savePath, temp_path_enabled: false, preallocate_all: false, add_trackers_enabled: false,
      queueing_enabled: false, max_ratio_enabled: false, dl_limit: 0, up_limit: 0
    }
    await api("app/setPreferences", new URLSearchParams({ json: JSON.stringify(preferences) }))
    const applied = await api("app/preferences").then((r) => r.json())
    const wrong = Object.entries(preferences).filter(([key, value]) => key in applied && applied[key] !== value)
    if (wrong.length > 0) throw new Error(`preferences not applied: ${wrong.map(([k]) => `${k}=${JSON.stringify(applied[k])}`).join(", ")}`)
  } catch (error) {
    await stopTree(child)
    throw new Error(`qbittorrent-nox did not start: ${error instanceof Error ? error.message : String(error)}\n${logTail(logPath)}`)
  }
  return qbt
}

/**
 * qBittorrent downloads `torrent` into a fresh `outDir`: timed from the add request to the first poll
 * (every 100 ms) that sees progress 1 (every piece checked); then the torrent is removed, its data left
 * for the bench to verify. CPU and peak RSS are the daemon's over that span (its idle footprint included).
 * With `watch` (the download's files), `transferSeconds` runs from the first payload block on disk to
 * that poll (libtorrent maps the files it writes: a page written is a block allocated).
 */
export const qbittorrentDownload = async (ctx, qbt, { outDir, torrent, info, watch: files }, seeders) => {
  const hash = infoHash(info)
  const cpuBefore = cpuSeconds(qbt.child.pid)
  const seederCpuBefore = seeders.map((s) => cpuSeconds(s.child.pid))
  const peakReset = [qbt, ...seeders].map((p) => resetPeakRss(p.child.pid)).every(Boolean)
  const started = performance.now()
  const watch = files === undefined ? undefined : watchTransfer(files)
  const form = new FormData()
  form.append("torrents", new Blob([fs.readFileSync(torrent)]), path.basename(torrent))
  for (const [key, value] of Object.entries({ savepath: outDir, paused: "false", autoTMM: "false", skip_checking: "false" })) {
    form.append(key, value)
  }
  let timedOut = false
  let failure
  try {
    await qbt.api("torrents/add", form)
    for (;;) {
      const [torrentInfo] = await qbt.api(`torrents/info?hashes=${hash}`).then((r) => r.json())
      if (torrentInfo !== undefined && torrentInfo.progress === 1 && !torrentInfo.state.startsWith("checking")) break
      if (torrentInfo?.state === "error" || torrentInfo?.state === "missingFiles") throw new Error(`state ${torrentInfo.state}`)
      if (performance.now() - started > ctx.timeoutMs) {
        timedOut = true
        break
      }
      if (qbt.child.exitCode !== null || qbt.child.signalCode !== null) throw new Error("qbittorrent-nox exited")
      await sleep(pollMs)
    }
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error)
  }
  const doneAt = performance.now()
  watch?.stop()
  const result = {
    code: failure === undefined ? 0 : 1, timedOut, seconds: (doneAt - started) / 1000,
    transferSeconds: watch?.firstByteAt === undefined ? Number.NaN : (doneAt - watch.firstByteAt) / 1000,
    cpu: cpuSeconds(qbt.child.pid) - cpuBefore, rssMB: peakRssMB(qbt.child.pid),
    ...seederUse(seeders, seederCpuBefore), peakReset, ...(failure === undefined ? {} : { failure })
  }
  await qbt.api("torrents/delete", new URLSearchParams({ hashes: hash, deleteFiles: "false" })).catch(() => {})
  // Deleting is asynchronous in libtorrent: wait until the torrent is gone before its folder is removed.
  for (const until = Date.now() + 10_000; Date.now() < until;) {
    const list = await qbt.api(`torrents/info?hashes=${hash}`).then((r) => r.json(), () => [])
    if (list.length === 0) break
    await sleep(pollMs)
  }
  return result
}

export const stopQbittorrent = async (qbt) => {
  await stopTree(qbt.child)
  await exited(qbt.child)
}
