// libtorrent (Debian's python3-libtorrent 2.0, through bench/libtorrent-driver.py) as a seeder and as a
// downloader for the "utp" rows: one session per process, on a loopback address of its own, peers over
// uTP only or TCP only. The seeder is ready once the tracker has its `started` announce with nothing left,
// as aria2c's; the downloader exits once complete and is timed under /usr/bin/time as aria2c is (its CPU
// and peak RSS are the python process's: the interpreter's start and libtorrent's import, about 0.1 s of
// CPU, are in them). Tracked and stopped by PID (bench/support.mjs).
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { measure, startSeeder } from "./clients.mjs"
import { freeTcpUdpPort, infoHash } from "./support.mjs"

/** Debian's python3, which has python3-libtorrent (a pyenv python3 earlier on the PATH has not). */
export const python = "/usr/bin/python3"
const driver = path.join(path.dirname(fileURLToPath(import.meta.url)), "libtorrent-driver.py")

let available
/** Undefined when `import libtorrent` works under /usr/bin/python3, else why not. */
export const libtorrentMissing = () => {
  available ??= spawnSync(python, ["-c", "import libtorrent; print(libtorrent.__version__)"], { encoding: "utf8" })
  return available.status === 0 ? undefined : "python3-libtorrent is not installed for /usr/bin/python3 (apt-get install -y python3-libtorrent)"
}

/** The socket buffers the "utp" rows give libtorrent unless a row says otherwise: 4 MiB, this machine's
 *  net.core.rmem_max (the kernel caps a larger SO_RCVBUF there). At the OS default (net.core.rmem_default,
 *  212992 bytes) uTP on loopback overflows the UDP receive buffer: libtorrent ← libtorrent over uTP
 *  measured 5 to 7 MB/s then, with thousands of UDP RcvbufErrors, against 62 MB/s and none at 4 MiB. */
export const utpSocketBuffer = 4 * 1024 * 1024

const driverArgs = (mode, torrent, dir, host, port, transport, socketBuffer = 0) =>
  [driver, mode, torrent, dir, host, String(port), "--transport", transport, "--socket-buffer", String(socketBuffer), "--parent", String(process.pid)]

/** libtorrent seeding `dataDir` (taken as complete: no check first) on `host`, over `transport` only,
 *  with `socketBuffer` bytes of socket buffers (0: the OS default). */
export const startLibtorrentSeeder = async (ctx, { name, host, torrent, info, dataDir, transport, socketBuffer }) => {
  const missing = libtorrentMissing()
  if (missing !== undefined) throw new Error(missing)
  const port = await freeTcpUdpPort(host)
  return startSeeder(ctx, name, python, driverArgs("seed", torrent, dataDir, host, port, transport, socketBuffer), {
    host, port, hash: infoHash(info), timeoutMs: 30_000
  })
}

/** libtorrent on `host` downloads `torrent` into `outDir` over `transport` only, and exits once complete
 *  (exit 3 when a peer sent payload over the other transport). */
export const libtorrentDownload = async (ctx, { outDir, torrent, logPath, host, transport, socketBuffer, watch }, seeders) => {
  const missing = libtorrentMissing()
  if (missing !== undefined) throw new Error(missing)
  const port = await freeTcpUdpPort(host)
  return measure(ctx, python, driverArgs("download", torrent, outDir, host, port, transport, socketBuffer), logPath, seeders, { watch })
}
