/**
 * libtorrent 2.0 (Debian's python3-libtorrent under /usr/bin/python3) as a v2 and hybrid peer (BEP 52) for
 * the swarm interop tests: it makes a v2-only or hybrid .torrent of a folder, seeds one, or downloads one
 * (a .torrent or a magnet, btih and btmh alike). Each session listens on its own 127.0.0.x and dials from
 * it, TCP only and plaintext, DHT, LSD, UPnP and NAT-PMP off. A session given a peer dials it every second
 * until connected (`min_reconnect_time` 1 s), so that it does not matter which side was up first: the CLI
 * has no option to dial a peer for a .torrent, so libtorrent dials it.
 *
 * The script prints JSON lines: `seeding` (with the port and the info hashes) once a seeder listens,
 * `peer` for each peer it meets (address, client name), and `end` when a download is complete or its time
 * is up (seeding, progress, pieces, error).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { spawnSync } from "node:child_process"
import { logTail, type Process, runLogged, spawnLogged } from "./interop.js"
import { python } from "./libtorrentPeer.js"
import { randomBytes } from "./torrents.js"

export { haveLibtorrent, python } from "./libtorrentPeer.js"

/**
 * argv: make SRC OUT v2|hybrid PIECE_LENGTH [TRACKER...]
 *       seed TORRENT SAVE HOST PORT PEER SECONDS        (PEER host:port, or - for none)
 *       download TORRENT|MAGNET SAVE HOST PEER SECONDS
 */
export const libtorrentV2Script = String.raw`
import json, os, sys, time
import libtorrent as lt

def out(**kw):
    print(json.dumps(kw), flush=True)

def session(host, port):
    return lt.session({'listen_interfaces': '%s:%s' % (host, port), 'outgoing_interfaces': host,
                       'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                       'enable_outgoing_utp': False, 'enable_incoming_utp': False,
                       'out_enc_policy': 2, 'in_enc_policy': 2, 'min_reconnect_time': 1,
                       'allow_multiple_connections_per_ip': True, 'announce_to_all_trackers': True})

def hashes(ih):
    return {'v1': str(ih.v1) if ih.has_v1() else None, 'v2': str(ih.v2) if ih.has_v2() else None}

def watch(h, peer, done, deadline):
    seen, dialled = set(), 0
    while time.time() < deadline and not done():
        peers = h.get_peer_info()
        for p in peers:
            key = '%s:%d' % (p.ip[0], p.ip[1])
            if key not in seen:
                seen.add(key)
                out(event='peer', ip=key, client=p.client.decode('utf-8', 'replace') if isinstance(p.client, bytes) else p.client)
        if peer != '-' and time.time() - dialled >= 1 and not any('%s:%d' % (p.ip[0], p.ip[1]) == peer for p in peers):
            ph, pp = peer.rsplit(':', 1)
            h.connect_peer((ph, int(pp)))
            dialled = time.time()
        time.sleep(0.1)

mode = sys.argv[1]
if mode == 'make':
    src, dest, kind, piece_length = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    fs = lt.file_storage()
    lt.add_files(fs, src)
    ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v2_only if kind == 'v2' else 0)
    for url in sys.argv[6:]:
        ct.add_tracker(url)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
    open(dest, 'wb').write(lt.bencode(ct.generate()))
    out(event='made', **hashes(lt.torrent_info(dest).info_hashes()))
elif mode == 'seed':
    torrent, save, host, port, peer, seconds = sys.argv[2:8]
    s = session(host, port)
    h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save, 'flags': lt.torrent_flags.seed_mode})
    out(event='seeding', port=s.listen_port(), **hashes(h.info_hashes()))
    watch(h, peer, lambda: False, time.time() + float(seconds))
else:
    source, save, host, peer, seconds = sys.argv[2:7]
    s = session(host, 0)
    if source.startswith('magnet:'):
        params = lt.parse_magnet_uri(source)
        params.save_path = save
    else:
        params = {'ti': lt.torrent_info(source), 'save_path': save}
    h = s.add_torrent(params)
    watch(h, peer, lambda: h.status().is_seeding, time.time() + float(seconds))
    st = h.status()
    out(event='end', seeding=st.is_seeding, progress=st.progress, pieces=st.num_pieces,
        error=st.errc.message() if st.errc.value() else '')
`

export interface InfoHashes {
  readonly v1: string | null
  readonly v2: string | null
}

/** The JSON lines a run of the script printed (other lines, libtorrent's own, skipped). */
const parseEvents = (text: string): ReadonlyArray<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** The JSON lines in a log so far. */
export const events = (log: string): ReadonlyArray<Record<string, unknown>> =>
  parseEvents(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "")

/** libtorrent's v2-only or hybrid torrent of SRC (a folder) at OUT, with TRACKERS, and its info hashes. */
export const makeTorrent = (
  src: string,
  out: string,
  kind: "v2" | "hybrid",
  pieceLength: number,
  trackers: ReadonlyArray<string> = []
): InfoHashes => {
  const r = spawnSync(python, ["-c", libtorrentV2Script, "make", src, out, kind, String(pieceLength), ...trackers], {
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL"
  })
  if (r.status !== 0) throw new Error(`libtorrent could not make the torrent: ${r.stderr}${r.stdout}`)
  const made = parseEvents(r.stdout).find((e) => e["event"] === "made")
  if (made === undefined) throw new Error(`libtorrent printed no info hashes: ${r.stdout}`)
  return { v1: made["v1"] as string | null, v2: made["v2"] as string | null }
}

export interface LibtorrentSeeder extends Process {
  readonly address: string
  readonly log: string
}

/**
 * A libtorrent seeder of TORRENT (its data under SAVE) on HOST:PORT for at most `seconds`, dialling `dial`
 * until connected; resolves once it listens.
 */
export const startLibtorrentSeeder = async (options: {
  readonly torrent: string
  readonly save: string
  readonly host: string
  readonly port: number
  readonly dial?: string
  readonly log: string
  readonly seconds?: number
}): Promise<LibtorrentSeeder> => {
  const { torrent, save, host, port, log } = options
  const proc = spawnLogged(python, ["-c", libtorrentV2Script, "seed", torrent, save, host, String(port), options.dial ?? "-", String(options.seconds ?? 90)], log)
  const until = Date.now() + 20_000
  while (!events(log).some((e) => e["event"] === "seeding")) {
    if (proc.hasExited() || Date.now() > until) {
      await proc.stop()
      throw new Error(`the libtorrent seeder did not start: ${logTail(log)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { ...proc, address: `${host}:${port}`, log }
}

export interface LibtorrentDownload {
  readonly code: number | null
  readonly timedOut: boolean
  /** The `end` line: whether it has every piece. */
  readonly end: { readonly seeding: boolean; readonly progress: number; readonly pieces: number; readonly error: string } | undefined
  /** The peers it met, with the client names it gave them. */
  readonly peers: ReadonlyArray<{ readonly ip: string; readonly client: string }>
  readonly log: string
}

/** libtorrent downloading SOURCE (a .torrent or a magnet) into SAVE from HOST, dialling `dial`, for at most `seconds`. */
export const runLibtorrentDownload = async (options: {
  readonly source: string
  readonly save: string
  readonly host: string
  readonly dial: string
  readonly log: string
  readonly seconds: number
}): Promise<LibtorrentDownload> => {
  const { source, save, host, dial, log, seconds } = options
  fs.mkdirSync(save, { recursive: true })
  const run = await runLogged(python, ["-c", libtorrentV2Script, "download", source, save, host, dial, String(seconds)], log, (seconds + 15) * 1000)
  const all = events(log)
  const end = all.find((e) => e["event"] === "end") as LibtorrentDownload["end"]
  const peers = all.filter((e) => e["event"] === "peer").map((e) => ({ ip: String(e["ip"]), client: String(e["client"]) }))
  return { code: run.code, timedOut: run.timedOut, end, peers, log }
}

/** Writes FILES (path under ROOT, bytes) and returns ROOT. */
/** Paths under a torrent's folder `share` and their sizes, to put v2 through its paces: an empty file, one
 *  shorter than a block, sizes off the piece boundaries, a file of hundreds of pieces (layers in chunks). */
export const v2ShareSizes = (pieceLength: number): ReadonlyArray<readonly [string, number]> => [
  ["a.empty", 0],
  ["b/short.txt", 5000],
  ["b/sub/odd.bin", 3 * pieceLength + 20000],
  ["c.bin", 2 * pieceLength + 100],
  ["large.bin", 530 * pieceLength + 777],
  ["z.bin", 40000]
]

/** The files of `sizes` under `share/`, each with repeatable bytes (the test kit's) from `seed` on. */
export const shareFilesOf = (sizes: ReadonlyArray<readonly [string, number]>, seed: number) =>
  sizes.map(([name, length], i) => [`share/${name}`, randomBytes(length, i + seed)] as const)

export const writeFiles = (root: string, files: ReadonlyArray<readonly [string, Uint8Array]>): string => {
  for (const [name, bytes] of files) {
    const at = path.join(root, ...name.split("/"))
    fs.mkdirSync(path.dirname(at), { recursive: true })
    fs.writeFileSync(at, bytes)
  }
  return root
}

/**
 * The files of FILES that differ under `got` from their bytes (missing, another length, other bytes), as
 * "name: why" lines: [] when every file arrived whole. Pad files a v1 client may write are not looked at.
 */
export const differences = (got: string, files: ReadonlyArray<readonly [string, Uint8Array]>): ReadonlyArray<string> =>
  files.flatMap(([name, bytes]) => {
    const at = path.join(got, ...name.split("/"))
    if (!fs.existsSync(at)) return [`${name}: missing`]
    const there = fs.readFileSync(at)
    if (there.length !== bytes.length) return [`${name}: ${there.length} bytes, not ${bytes.length}`]
    return Buffer.compare(there, bytes) === 0 ? [] : [`${name}: other bytes`]
  })
