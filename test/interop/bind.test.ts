/**
 * `--bind` and IPv6 against libtorrent 2.0 (Debian's python3-libtorrent) on loopback, DHT/LSD/port mapping
 * off everywhere:
 * - bound to 127.0.0.2, bt-effect seeds and downloads: the tracker (bittorrent-tracker) sees its announce
 *   from 127.0.0.2, libtorrent sees its connection from 127.0.0.2, and nothing listens on 127.0.0.1;
 * - over ::1 both ways: bt-effect downloads from libtorrent on [::1] (found through bt-effect's own
 *   tracker on [::1], whose compact `peers6` it reads and dials), and libtorrent downloads from bt-effect,
 *   which listens dual stack without --bind.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, runLogged, spawnLogged, startTracker, stopAll, tempDir } from "../support/interop.js"
import { makePayload, verifyDownload, writeTorrent } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

const python = "/usr/bin/python3"
const haveLibtorrent = spawnSync(python, ["-c", "import libtorrent"], { stdio: "ignore" }).status === 0
const haveIpv6 = spawnSync(process.execPath, ["-e", "require('net').createServer().listen(0,'::1',function(){this.close()})"]).status === 0

/**
 * A libtorrent session: `seed` (its data already in SAVE) or `leech`, listening on LISTEN (and sending
 * from it: outgoing_interfaces), dialling PEER when given. It prints one JSON line at the end: the peer
 * addresses it saw (ip as libtorrent names it), whether it has the whole torrent and whether a tracker
 * answered it, each time that
 * changes and at the end. A seeder runs for SECONDS (or until stopped); a leecher until it is done or
 * SECONDS pass.
 */
const session = String.raw`
import json, sys, time
import libtorrent as lt
role, torrent, save, listen, outgoing, peer, seconds = sys.argv[1:8]
s = lt.session({'listen_interfaces': listen, 'outgoing_interfaces': outgoing, 'enable_dht': False,
                'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                'allow_multiple_connections_per_ip': True,
                'alert_mask': lt.alert_category.connect | lt.alert_category.peer})
params = {'ti': lt.torrent_info(torrent), 'save_path': save}
if role == 'seed':
    params['flags'] = lt.torrent_flags.seed_mode
h = s.add_torrent(params)
if peer != '-':
    host, port = peer.rsplit(':', 1)
    h.connect_peer((host.strip('[]'), int(port)))
seen = set()
said = None
deadline = time.time() + float(seconds)
print(json.dumps({'ready': True}), flush=True)
while time.time() < deadline:
    # A connection may open and close between two polls (2 MiB on loopback): its alerts are kept.
    for a in s.pop_alerts():
        if isinstance(a, (lt.incoming_connection_alert, lt.peer_connect_alert)):
            seen.add(a.endpoint[0])
    for p in h.get_peer_info():
        seen.add(p.ip[0])
    st = h.status()
    now = {'seen': sorted(seen), 'seeding': st.is_seeding, 'announced': st.current_tracker != ''}
    if now != said:
        print(json.dumps(now), flush=True)
        said = now
    if role == 'leech' and now['seeding']:
        break
    time.sleep(0.1)
print(json.dumps({'seen': sorted(seen), 'seeding': h.status().is_seeding}), flush=True)
`

/** What the session last said of its peers (nothing seen: no peer). */
const lastLine = (log: string): { seen: Array<string>; seeding: boolean } => {
  const said = fs.readFileSync(log, "utf8").trim().split("\n").filter((line) => line.startsWith("{\"seen\""))
  return said.length === 0 ? { seen: [], seeding: false } : JSON.parse(said.at(-1)!)
}

/** Resolves once the session's tracker has answered it (so that the tracker can name it to others). */
const announced = async (log: string, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs
  while (!fs.existsSync(log) || !fs.readFileSync(log, "utf8").includes(`"announced": true`)) {
    if (Date.now() > until) throw new Error(`libtorrent never announced: ${logTail(log)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Whether something accepts TCP connections at host:port. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.createConnection({ host, port })
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

describe("interop: --bind and IPv6 with libtorrent 2.0", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-bind-")

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  it("seeding bound to 127.0.0.2: the tracker and libtorrent see 127.0.0.2, nothing listens on 127.0.0.1", async () => {
    const tracker = await startTracker()
    const payload = makePayload(path.join(root.path, "seed-bound"), "single", { seed: 11, size: 2 * 1024 * 1024 })
    const torrent = writeTorrent(payload, path.join(root.path, "seed-bound.torrent"), { announce: tracker.httpUrl })
    const port = await freePort("127.0.0.2")
    const seeder = await background(
      ["seed", torrent, "--data", payload.dataDir, "--port", String(port), "--bind", "127.0.0.2", "--no-dht", "--no-pex", "--state", path.join(root.path, "state-a")],
      /seeding .* on port \d+/
    )
    const announce = await tracker.waitForAnnounce((a) => a.type === "http")
    expect(announce.addr).toBe(`127.0.0.2:${port}`)
    expect(await accepts("127.0.0.2", port)).toBe(true)
    expect(await accepts("127.0.0.1", port)).toBe(false)
    const out = path.join(root.path, "out-a")
    fs.mkdirSync(out)
    const log = path.join(root.path, "libtorrent-a.log")
    const listen = `127.0.0.3:${await freePort("127.0.0.3")}`
    const result = await runLogged(python, ["-c", session, "leech", torrent, out, listen, "127.0.0.3", `127.0.0.2:${port}`, "60"], log, 90_000)
    await stop(seeder.child)
    expect(result.code, logTail(log)).toBe(0)
    const seen = lastLine(log)
    expect(seen.seeding, logTail(log)).toBe(true)
    // libtorrent may list itself for a moment (the tracker gave it its own address): any other is ours.
    expect(seen.seen.filter((ip) => ip !== "127.0.0.3")).toEqual(["127.0.0.2"])
    expect(await verifyDownload(payload, out)).toEqual([])
  }, 120_000)

  it("downloading bound to 127.0.0.2: announced and dialled from 127.0.0.2", async () => {
    const tracker = await startTracker()
    const payload = makePayload(path.join(root.path, "leech-bound"), "single", { seed: 12, size: 2 * 1024 * 1024 })
    const torrent = writeTorrent(payload, path.join(root.path, "leech-bound.torrent"), { announce: tracker.httpUrl })
    const log = path.join(root.path, "libtorrent-b.log")
    const ltPort = await freePort("127.0.0.3")
    const seeder = spawnLogged(python, ["-c", session, "seed", torrent, payload.dataDir, `127.0.0.3:${ltPort}`, "127.0.0.3", "-", "60"], log)
    await tracker.waitForAnnounce((a) => a.addr === `127.0.0.3:${ltPort}`, 20_000)
    const out = path.join(root.path, "out-b")
    const port = await freePort("127.0.0.2")
    const run = await runCli(
      ["download", torrent, "--out", out, "--port", String(port), "--bind", "127.0.0.2", "--no-dht", "--no-pex", "--state", path.join(root.path, "state-b"), "--stall-timeout", "30"],
      { timeoutMs: 60_000 }
    )
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect((await tracker.waitForAnnounce((a) => a.addr.startsWith("127.0.0.2:"))).addr).toBe(`127.0.0.2:${port}`)
    expect(tracker.announces.filter((a) => a.addr.startsWith("127.0.0.1:"))).toEqual([])
    await seeder.stop()
    const seen = lastLine(log)
    expect(seen.seen.filter((ip) => ip !== "127.0.0.3"), logTail(log)).toEqual(["127.0.0.2"])
    expect(await verifyDownload(payload, out)).toEqual([])
  }, 120_000)

  it.skipIf(!haveIpv6)("downloads from libtorrent on [::1], found through peers6 of bt-effect's tracker on [::1]", async () => {
    const trackerPort = await freePort("::1")
    const trackerProcess = await background(["tracker", "--host", "::1", "--port", String(trackerPort)], /tracker: http/)
    const payload = makePayload(path.join(root.path, "v6-leech"), "single", { seed: 13, size: 2 * 1024 * 1024 })
    const torrent = writeTorrent(payload, path.join(root.path, "v6-leech.torrent"), { announce: `http://[::1]:${trackerPort}/announce` })
    const log = path.join(root.path, "libtorrent-c.log")
    const ltPort = await freePort("::1")
    const seeder = spawnLogged(python, ["-c", session, "seed", torrent, payload.dataDir, `[::1]:${ltPort}`, "::1", "-", "60"], log)
    await announced(log)
    const out = path.join(root.path, "out-c")
    const run = await runCli(
      ["download", torrent, "--out", out, "--port", String(await freePort()), "--no-dht", "--no-pex", "--state", path.join(root.path, "state-c"), "--stall-timeout", "30"],
      { timeoutMs: 60_000 }
    )
    await stop(trackerProcess.child)
    expect(run.code, run.stdout + run.stderr + logTail(log)).toBe(0)
    await seeder.stop()
    expect(lastLine(log).seen, logTail(log)).toEqual(["::1"])
    expect(await verifyDownload(payload, out)).toEqual([])
  }, 120_000)

  it.skipIf(!haveIpv6)("libtorrent on ::1 downloads from bt-effect, which listens on IPv6 too without --bind", async () => {
    const payload = makePayload(path.join(root.path, "v6-seed"), "single", { seed: 14, size: 2 * 1024 * 1024 })
    const port = await freePort("::1")
    const seeder = await background(
      ["seed", payload.torrentPath, "--data", payload.dataDir, "--port", String(port), "--no-dht", "--no-pex", "--state", path.join(root.path, "state-d")],
      /seeding .* on port \d+/
    )
    expect(await accepts("127.0.0.1", port)).toBe(true)
    const out = path.join(root.path, "out-d")
    fs.mkdirSync(out)
    const log = path.join(root.path, "libtorrent-d.log")
    const result = await runLogged(python, ["-c", session, "leech", payload.torrentPath, out, `[::1]:${await freePort("::1")}`, "::1", `[::1]:${port}`, "60"], log, 90_000)
    await stop(seeder.child)
    expect(result.code, logTail(log)).toBe(0)
    const seen = lastLine(log)
    expect(seen.seeding, logTail(log)).toBe(true)
    expect(seen.seen).toEqual(["::1"])
    expect(await verifyDownload(payload, out)).toEqual([])
  }, 120_000)
})
