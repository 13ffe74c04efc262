/**
 * v2 and hybrid torrents (BEP 52) moving between bt-effect and libtorrent 2.0 over the wire, on loopback:
 * libtorrent seeds a v2-only or hybrid torrent it made and `bt-effect download` fetches it (from the
 * .torrent, for which libtorrent dials us, the CLI having no option to dial a peer; and from a btmh magnet,
 * whose x.pe we dial); libtorrent downloads the torrents `bt-effect create --v2` / `--hybrid` makes from
 * `bt-effect seed` (from the .torrent, and from a btmh magnet: the info and the piece layers from us);
 * and one hybrid swarm: bt-effect downloads from libtorrent, then serves a peer that
 * knows the torrent by its v1 hash alone, with both hashes announced to a tracker as libtorrent announces
 * them.
 *
 * That v1 peer is libtorrent from a btih-only magnet, which speaks v1 on the wire until it has the
 * metadata: the v1 clients at hand cannot join a hybrid's swarm.
 * aria2c 1.36 drops the "" keys of the info's `file tree` when it hashes the info again, so it names the
 * torrent by another hash (it announces and dials under a swarm nobody is in), and Transmission 3.00
 * refuses the .torrent as unparsable.
 *
 * The files are chosen for v2's layout: each file starts a piece, so a file whose size is not a multiple
 * of the piece length ends in a piece padded with zeros (a block past its end lies wholly in the padding,
 * which libtorrent never asks for); one file is shorter than a piece (no piece layer: its pieces root is its
 * piece's hash), one is empty (no piece at all), and one has more than 512 pieces, so that its piece layer
 * takes libtorrent's (and our) hash requests more than one answer when it comes from a magnet.
 *
 * Each party has a loopback address of its own: libtorrent's seeder 127.0.0.2, its downloader 127.0.0.3,
 * bt-effect 127.0.0.4, the v1 peer 127.0.0.5.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { background, runCli, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, startTracker, stopAll, tempDir } from "../support/interop.js"
import { differences, haveLibtorrent, makeTorrent, runLibtorrentDownload, startLibtorrentSeeder, writeFiles, shareFilesOf, v2ShareSizes } from "../support/libtorrentV2.js"
import { requiredInCi } from "../support/skips.js"

const pieceLength = 32768
const seederHost = "127.0.0.2"
const leecherHost = "127.0.0.3"
const ourHost = "127.0.0.4"
const v1Host = "127.0.0.5"

const sizes = v2ShareSizes(pieceLength)

const shareFiles = shareFilesOf(sizes, 11)

/** The options every bt-effect here runs with: its own address, TCP in plaintext (as libtorrent is set). */
const quiet = (port: number, state: string) => [
  "--port", String(port), "--bind", ourHost, "--no-dht", "--no-pex", "--no-utp", "--encryption", "off", "--state", state
]

describe("interop: v2 and hybrid swarms with libtorrent 2.0", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-v2-swarm-")
  const source = writeFiles(path.join(root.path, "source"), shareFiles)
  const share = path.join(source, "share")
  afterAll(async () => {
    await stopAllBackground()
    await stopAll()
    root.remove()
  }, 30_000)

  const place = (name: string) => {
    const dir = path.join(root.path, name)
    fs.mkdirSync(dir, { recursive: true })
    return dir
  }

  for (const kind of ["v2", "hybrid"] as const) {
    it(`bt-effect downloads a ${kind} torrent libtorrent made and seeds, and the files are the sources`, async () => {
      const dir = place(`lt-seeds-${kind}`)
      const torrent = path.join(dir, `${kind}.torrent`)
      makeTorrent(share, torrent, kind, pieceLength)
      const port = await freePort(ourHost)
      const seeder = await startLibtorrentSeeder({
        torrent, save: source, host: seederHost, port: await freePort(seederHost), dial: `${ourHost}:${port}`,
        log: path.join(dir, "libtorrent.log"), seconds: 60
      })
      const out = path.join(dir, "out")
      const got = await runCli(["download", torrent, "--out", out, "--stall-timeout", "30", ...quiet(port, path.join(dir, "state"))], { timeoutMs: 50_000 })
      await seeder.stop()
      expect(got.code, `${got.stderr}\n${got.stdout.slice(-2000)}\nlibtorrent: ${logTail(seeder.log)}`).toBe(0)
      expect(differences(out, shareFiles)).toEqual([])
      // Pad files are the torrent's layout, not data: none is written.
      expect(fs.existsSync(path.join(out, "share", ".pad"))).toBe(false)
    }, 60_000)
  }

  /** `bt-effect create --KIND` of the sources, seeded by `bt-effect seed`; with its truncated v2 hash. */
  const seedOurs = async (kind: "v2" | "hybrid", dir: string) => {
    const torrent = path.join(dir, `ours-${kind}.torrent`)
    const made = await runCli(["create", share, `--${kind}`, "--piece-length", String(pieceLength), "-o", torrent], { timeoutMs: 30_000 })
    expect(made.code, made.stderr).toBe(0)
    const info = await runCli(["info", torrent, "--json"])
    expect(info.code, info.stderr).toBe(0)
    const v2 = String((JSON.parse(info.stdout) as Record<string, unknown>)["infoHashV2"])
    const port = await freePort(ourHost)
    const seed = await background(["seed", torrent, "--data", source, ...quiet(port, path.join(dir, "state"))], /seeding .* on port \d+/, 20_000)
    return { torrent, v2, address: `${ourHost}:${port}`, seed }
  }

  for (const kind of ["v2", "hybrid"] as const) {
    it(`libtorrent downloads bt-effect's --${kind} torrent from bt-effect's seed to completion`, async () => {
      const dir = place(`we-seed-${kind}`)
      const { torrent, address, seed } = await seedOurs(kind, dir)
      const save = path.join(dir, "libtorrent")
      const run = await runLibtorrentDownload({ source: torrent, save, host: leecherHost, dial: address, log: path.join(dir, "libtorrent.log"), seconds: 30 })
      const ours = seed.output()
      await stop(seed.child)
      expect(run.end, `libtorrent: ${logTail(run.log)}\nbt-effect: ${ours.slice(-2000)}`).toMatchObject({ seeding: true, error: "" })
      expect(differences(save, shareFiles)).toEqual([])
      expect(run.peers.map((p) => p.ip)).toContain(address)
    }, 60_000)

    // From a btmh magnet libtorrent dials with the truncated v2 hash (a hybrid too), takes the info from
    // us and asks for each file's piece layer with hash requests: a hybrid must be found by its v2 hash.
    it(`libtorrent downloads bt-effect's --${kind} torrent from bt-effect's seed given only a btmh magnet`, async () => {
      const dir = place(`we-seed-btmh-${kind}`)
      const { v2, address, seed } = await seedOurs(kind, dir)
      const save = path.join(dir, "libtorrent")
      const run = await runLibtorrentDownload({
        source: `magnet:?xt=urn:btmh:1220${v2}&dn=share`, save, host: leecherHost, dial: address, log: path.join(dir, "libtorrent.log"), seconds: 30
      })
      const ours = seed.output()
      await stop(seed.child)
      expect(run.end, `libtorrent: ${logTail(run.log)}\nbt-effect: ${ours.slice(-2000)}`).toMatchObject({ seeding: true, error: "" })
      expect(differences(save, shareFiles)).toEqual([])
    }, 60_000)
  }

  for (const kind of ["v2", "hybrid"] as const) {
    const link = kind === "v2" ? "a btmh magnet" : "a magnet with both btih and btmh"
    it(`bt-effect downloads ${link} from a libtorrent seeder named by x.pe`, async () => {
      const dir = place(`magnet-${kind}`)
      const torrent = path.join(dir, `${kind}.torrent`)
      const hashes = makeTorrent(share, torrent, kind, pieceLength)
      const seederPort = await freePort(seederHost)
      const seeder = await startLibtorrentSeeder({
        torrent, save: source, host: seederHost, port: seederPort, log: path.join(dir, "libtorrent.log"), seconds: 60
      })
      const topics = [...(kind === "hybrid" ? [`xt=urn:btih:${hashes.v1}`] : []), `xt=urn:btmh:1220${hashes.v2}`]
      const magnet = `magnet:?${topics.join("&")}&dn=share&x.pe=${seederHost}:${seederPort}`
      const out = path.join(dir, "out")
      const got = await runCli(["download", magnet, "--out", out, "--stall-timeout", "30", ...quiet(await freePort(ourHost), path.join(dir, "state"))], { timeoutMs: 50_000 })
      await seeder.stop()
      expect(got.code, `${got.stderr}\n${got.stdout.slice(-2000)}\nlibtorrent: ${logTail(seeder.log)}`).toBe(0)
      expect(differences(out, shareFiles)).toEqual([])
    }, 60_000)
  }

  it("one hybrid swarm: bt-effect downloads from libtorrent, then a v1 peer (libtorrent from a btih-only magnet) from bt-effect alone; both hashes announced", async () => {
    const dir = place("hybrid-swarm")
    const tracker = await startTracker()
    try {
      const torrent = path.join(dir, "hybrid.torrent")
      const hashes = makeTorrent(share, torrent, "hybrid", pieceLength, [tracker.httpUrl])
      const port = await freePort(ourHost)
      const seederPort = await freePort(seederHost)
      const seeder = await startLibtorrentSeeder({
        torrent, save: source, host: seederHost, port: seederPort, dial: `${ourHost}:${port}`,
        log: path.join(dir, "libtorrent-seeder.log"), seconds: 60
      })
      const out = path.join(dir, "bt-effect")
      const leecher = await background(
        ["download", torrent, "--out", out, "--seed", ...quiet(port, path.join(dir, "state"))],
        /seeding on port \d+/,
        25_000
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\nlibtorrent: ${logTail(seeder.log)}`)
      })
      await seeder.stop()
      expect(differences(out, shareFiles)).toEqual([])

      // The seeder is gone: whatever the v1 peer gets, metadata and pieces, it gets from bt-effect. Knowing
      // the torrent by its v1 hash alone, libtorrent dials with it and without the v2 bit (0x10 of reserved
      // byte 7: it cannot know that the torrent is a hybrid before the metadata), so the connection stays v1.
      const save = path.join(dir, "v1-peer")
      const run = await runLibtorrentDownload({
        source: `magnet:?xt=urn:btih:${hashes.v1}&dn=share`, save, host: v1Host, dial: `${ourHost}:${port}`,
        log: path.join(dir, "libtorrent-v1.log"), seconds: 25
      })
      const ours = leecher.output()
      await stop(leecher.child)
      expect(run.end, `v1 peer: ${logTail(run.log)}\nbt-effect: ${ours.slice(-2000)}`).toMatchObject({ seeding: true, error: "" })
      expect(differences(save, shareFiles)).toEqual([])

      // libtorrent announces a hybrid under its v1 hash and under its truncated v2 hash; so must we.
      const truncated = hashes.v2!.slice(0, 40)
      const announced = (addr: string) => [...new Set(tracker.announces.filter((a) => a.addr === addr).map((a) => a.infoHash))].sort()
      const both = [hashes.v1!, truncated].sort()
      const every = `every announce: ${JSON.stringify(tracker.announces)}`
      expect(announced(`${seederHost}:${seederPort}`), `libtorrent's hashes; ${every}`).toEqual(both)
      expect(announced(`${ourHost}:${port}`), `bt-effect's hashes (v1 ${hashes.v1}, v2 ${truncated}); ${every}`).toEqual(both)
    } finally {
      await tracker.stop()
    }
  }, 60_000)
})
