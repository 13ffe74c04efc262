/**
 * bt-effect as libtorrent sees it (libtorrent 2.0 through Debian's python3-libtorrent): a libtorrent
 * session downloads from a bt-effect seeder on loopback and names it. libtorrent names a peer by its peer
 * id until the BEP 10 handshake arrives, then by that handshake's `v`: both must say bt-effect (our peer
 * id prefix once was "-BE", which libtorrent names "baretorrent").
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { background, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, runLogged, stopAll, tempDir } from "../support/interop.js"
import { makePayload, verifyDownload } from "../support/payload.js"
import { requiredInCi } from "../support/skips.js"

/** Debian's python3, which has python3-libtorrent (a python3 of pyenv's earlier on the PATH would not). */
const python = "/usr/bin/python3"
const haveLibtorrent = spawnSync(python, ["-c", "import libtorrent"], { stdio: "ignore" }).status === 0

/** A libtorrent session on 127.0.0.3 (DHT, LSD and port mapping off) that dials the seeder, downloads
 *  into OUT and prints, as JSON lines, the names it gives its peers and its progress. Its download is held
 *  to 4 MB/s, so that the polls see the peer before the download ends (unlimited on loopback, 3 MiB could
 *  arrive between two polls, and the names were then empty). libtorrent exempts peers on the local network
 *  from rate limits (its local peer class): the filter puts every address in the global class instead,
 *  without which the limit held nothing and the test failed about 2 runs in 3 on a busy machine. */
const leecher = String.raw`
import json, sys, time
import libtorrent as lt
torrent, out, port, seeder_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = lt.session({'listen_interfaces': '127.0.0.3:%d' % port, 'enable_dht': False, 'enable_lsd': False,
                'enable_upnp': False, 'enable_natpmp': False, 'download_rate_limit': 4000000})
f = lt.ip_filter()
f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
s.set_peer_class_filter(f)
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': out})
h.connect_peer(('127.0.0.1', seeder_port))
names = set()
deadline = time.time() + 60
while time.time() < deadline:
    for p in h.get_peer_info():
        names.add(p.client.decode('utf-8', 'replace') if isinstance(p.client, bytes) else p.client)
    st = h.status()
    if st.is_seeding:
        break
    time.sleep(0.1)
print(json.dumps({'names': sorted(names), 'seeding': h.status().is_seeding}))
`

describe("interop: libtorrent 2.0 downloads from bt-effect", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-libtorrent-")

  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  it("names the seeder bt-effect, by its peer id and by its BEP 10 handshake, and gets the data", async () => {
    const payload = makePayload(path.join(root.path, "seed"), "single", { seed: 7, size: 3 * 1024 * 1024 })
    const torrent = payload.torrentPath
    const seederPort = await freePort()
    const seeder = await background(
      ["seed", torrent, "--data", payload.dataDir, "--port", String(seederPort), "--no-dht", "--no-pex", "--state", path.join(root.path, "state")],
      /seeding .* on port \d+/
    )
    const out = path.join(root.path, "out")
    fs.mkdirSync(out)
    const log = path.join(root.path, "libtorrent.log")
    const result = await runLogged(python, ["-c", leecher, torrent, out, String(await freePort("127.0.0.3")), String(seederPort)], log, 90_000)
    await stop(seeder.child)
    expect(result.code, logTail(log)).toBe(0)
    const seen = JSON.parse(fs.readFileSync(log, "utf8").trim().split("\n").at(-1)!) as { names: Array<string>; seeding: boolean }
    expect(seen.seeding, logTail(log)).toBe(true)
    // Before the BEP 10 handshake: our peer id's code and version; after it: our `v`.
    expect(seen.names.filter((name) => name !== "")).toEqual(expect.arrayContaining(["bt-effect 0.1.0"]))
    expect(seen.names.every((name) => name === "" || name === "bt-effect 0.1.0" || name === "EF 0.1.0"), seen.names.join(", ")).toBe(true)
    expect(await verifyDownload(payload, out)).toEqual([])
  }, 120_000)
})
