/**
 * `bt-effect daemon` with BitTorrent v2 (BEP 52) and hybrid torrents from libtorrent 2.0, driven over the
 * Transmission RPC as a front end drives it, on loopback (each party on its own 127.0.0.x; DHT, PEX, uTP
 * and encryption off, as the libtorrent seeder is set):
 * - a v2-only .torrent added by `metainfo` completes, and torrent-get names it as Transmission 4 and
 *   qBittorrent do (`hashString` the v2 hash truncated to 20 bytes) and counts its files' bytes without the
 *   pad files that align its files to pieces (totalSize, sizeWhenDone, files);
 * - the same torrent added by a btmh magnet (`filename`), its seeder named by x.pe: the info and the piece
 *   layers come from libtorrent, the download completes, and the .torrent kept in the state folder holds
 *   the piece layers (a restart needs no peer to give them again);
 * - a hybrid added by `metainfo` is named by its v1 hash;
 * - a daemon stopped after a btmh magnet's download and started again on the same state folder has the
 *   torrent back complete from its checkpoint: nothing hashed again, nothing downloaded again;
 * - torrent-get's magnetLink names a v2-only torrent by btmh (its full v2 hash), a hybrid by its v1 btih.
 *
 * The files are laid out for v2: each starts a piece, so one whose size is not a multiple of the piece
 * length ends in a padded piece; one is empty, one shorter than a piece (no piece layer), and one has more
 * than 512 pieces, so that its piece layer takes more than one hash request from a magnet.
 */
import * as Either from "effect/Either"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Magnet from "../../src/domain/Magnet.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import { background, type Background, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, stopAll, tempDir } from "../support/interop.js"
import { differences, haveLibtorrent, type LibtorrentSeeder, makeTorrent, startLibtorrentSeeder, writeFiles, shareFilesOf, v2ShareSizes } from "../support/libtorrentV2.js"
import { requiredInCi } from "../support/skips.js"
import { rpcCall, until } from "../support/rpcCall.js"

const pieceLength = 32768
const seederHost = "127.0.0.2"

const sizes = v2ShareSizes(pieceLength)
const shareFiles = shareFilesOf(sizes, 41)
const totalBytes = sizes.reduce((sum, [, length]) => sum + length, 0)
/** v2's pieces: each file's own, none shared (an empty file has none). */
const v2Pieces = sizes.reduce((sum, [, length]) => sum + Math.ceil(length / pieceLength), 0)

const rpc = rpcCall

interface FileRow {
  readonly name: string
  readonly length: number
  readonly bytesCompleted: number
}

interface TorrentRow {
  readonly hashString: string
  readonly name: string
  readonly status: number
  readonly percentDone: number
  readonly totalSize: number
  readonly sizeWhenDone: number
  readonly leftUntilDone: number
  readonly pieceCount: number
  readonly downloadedEver: number
  readonly errorString: string
  readonly files: ReadonlyArray<FileRow>
}

const fields = ["hashString", "name", "status", "percentDone", "totalSize", "sizeWhenDone", "leftUntilDone", "pieceCount", "downloadedEver", "errorString", "files"]

/** The daemon's one torrent, as torrent-get gives it (undefined while there is none). */
const theTorrent = async (port: number): Promise<TorrentRow | undefined> =>
  ((await rpc(port, "torrent-get", { fields }))["torrents"] as ReadonlyArray<TorrentRow>)[0]


/** The files as a complete download shows them: Transmission's names (the torrent's folder first), no pads. */
const expectedFiles = [...shareFiles]
  .map(([name, bytes]) => ({ name, length: bytes.length, bytesCompleted: bytes.length }))
  .sort((a, b) => a.name.localeCompare(b.name))

const filesOf = (row: TorrentRow) =>
  row.files.map((f) => ({ name: f.name, length: f.length, bytesCompleted: f.bytesCompleted })).sort((a, b) => a.name.localeCompare(b.name))

describe("interop: the daemon with v2 and hybrid torrents from libtorrent 2.0", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-daemon-v2-")
  const source = writeFiles(path.join(root.path, "source"), shareFiles)
  const share = path.join(source, "share")
  const seeders: Array<LibtorrentSeeder> = []
  afterAll(async () => {
    await stopAllBackground()
    for (const s of seeders) await s.stop()
    await stopAll()
    root.remove()
  }, 30_000)

  const place = (name: string) => {
    const dir = path.join(root.path, name)
    fs.mkdirSync(dir, { recursive: true })
    return dir
  }

  /** libtorrent's KIND torrent of the sources, and its hashes. */
  const made = (dir: string, kind: "v2" | "hybrid") => {
    const torrent = path.join(dir, `${kind}.torrent`)
    return { torrent, hashes: makeTorrent(share, torrent, kind, pieceLength) }
  }

  /** A libtorrent seeder of TORRENT on the seeder's address, dialling `dial` (host:port) if given. */
  const seeder = async (dir: string, torrent: string, dial?: string) => {
    const started = await startLibtorrentSeeder({
      torrent, save: source, host: seederHost, port: await freePort(seederHost), log: path.join(dir, "libtorrent.log"), seconds: 60,
      ...(dial !== undefined ? { dial } : {})
    })
    seeders.push(started)
    return started
  }

  /** `bt-effect daemon` with peers on HOST (TCP in plaintext, as libtorrent is set), its state in `dir/state`. */
  const startDaemon = async (dir: string, host: string, ports?: { readonly rpc: number; readonly peer: number }) => {
    const rpcPort = ports?.rpc ?? await freePort()
    const peerPort = ports?.peer ?? await freePort(host)
    const daemon: Background = await background(
      ["daemon", "--rpc-port", String(rpcPort), "--peer-port", String(peerPort), "--bind", host,
        "--download-dir", path.join(dir, "downloads"), "--state", path.join(dir, "state"),
        "--no-dht", "--no-pex", "--no-utp", "--encryption", "off", "--verbose"],
      /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//, 30_000
    )
    return { rpcPort, peerPort, daemon, downloads: path.join(dir, "downloads"), state: path.join(dir, "state") }
  }

  /** The torrent once complete (percentDone 1, seeding), with what to show when it is not. */
  const completed = (rpcPort: number, why: () => string) =>
    until("the download complete", async () => {
      const row = await theTorrent(rpcPort)
      return row !== undefined && row.percentDone === 1 && row.status === 6 ? row : undefined
    }, 40_000).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\ntorrent: ${JSON.stringify({ ...(await theTorrent(rpcPort)), files: undefined })}\n${why()}`)
    })

  /** The figures of a complete download of the sources, named by `hash`. */
  const expectComplete = (row: TorrentRow, hash: string) => {
    expect(row.hashString).toBe(hash)
    expect(row.name).toBe("share")
    expect(row.errorString).toBe("")
    // The files' bytes: the pads that align a v2 torrent's files to pieces are layout, not data.
    expect({ totalSize: row.totalSize, sizeWhenDone: row.sizeWhenDone, leftUntilDone: row.leftUntilDone }).toEqual({
      totalSize: totalBytes, sizeWhenDone: totalBytes, leftUntilDone: 0
    })
    expect(filesOf(row)).toEqual(expectedFiles)
    expect(row.percentDone).toBe(1)
  }

  /** A btmh magnet of the v2 hash, its seeder named by x.pe. */
  const btmh = (v2: string, peer: string) => `magnet:?xt=urn:btmh:1220${v2}&dn=share&x.pe=${peer}`

  it("a v2-only .torrent added by metainfo completes from libtorrent; torrent-get: the truncated v2 hash, the files' bytes without pads", async () => {
    const dir = place("by-file")
    const { torrent, hashes } = made(dir, "v2")
    expect(hashes.v1).toBeNull()
    const truncated = hashes.v2!.slice(0, 40)
    const host = "127.0.0.51"
    const { rpcPort, peerPort, daemon, downloads } = await startDaemon(dir, host)
    // The daemon cannot dial a peer for a .torrent without trackers: libtorrent dials it.
    const lt = await seeder(dir, torrent, `${host}:${peerPort}`)
    try {
      const added = await rpc(rpcPort, "torrent-add", { metainfo: fs.readFileSync(torrent).toString("base64") })
      expect(added["torrent-added"]).toMatchObject({ id: 1, name: "share", hashString: truncated })
      const row = await completed(rpcPort, () => `bt-effect: ${daemon.output().slice(-3000)}\nlibtorrent: ${logTail(lt.log)}`)
      expectComplete(row, truncated)
      // libtorrent's piece count for this layout: each file's pieces, none shared.
      expect(row.pieceCount).toBe(v2Pieces)
      expect(differences(downloads, shareFiles)).toEqual([])
      expect(fs.existsSync(path.join(downloads, "share", ".pad"))).toBe(false)
      // The torrent is found by its hashString, as a front end names it.
      const byHash = (await rpc(rpcPort, "torrent-get", { ids: [truncated], fields: ["id"] }))["torrents"]
      expect(byHash).toEqual([{ id: 1 }])
    } finally {
      expect(await stop(daemon.child)).toBe(130)
      await lt.stop()
    }
  }, 60_000)

  it("the same torrent added by a btmh magnet (x.pe): metadata and piece layers from libtorrent, complete, the .torrent kept with its piece layers", async () => {
    const dir = place("by-magnet")
    const { torrent, hashes } = made(dir, "v2")
    const truncated = hashes.v2!.slice(0, 40)
    const lt = await seeder(dir, torrent)
    const { rpcPort, daemon, downloads, state } = await startDaemon(dir, "127.0.0.52")
    try {
      const added = await rpc(rpcPort, "torrent-add", { filename: btmh(hashes.v2!, lt.address) })
      expect(added["torrent-added"]).toMatchObject({ id: 1, name: "share", hashString: truncated })
      const row = await completed(rpcPort, () => `bt-effect: ${daemon.output().slice(-3000)}\nlibtorrent: ${logTail(lt.log)}`)
      expectComplete(row, truncated)
      expect(row.pieceCount).toBe(v2Pieces)
      expect(differences(downloads, shareFiles)).toEqual([])
      expect(daemon.output()).toMatch(/metadata received: 1 share/)

      // The .torrent kept for a restart: the info libtorrent made, and every file longer than a piece with
      // its piece layer (a hash per piece), so that no peer need give them again.
      const kept = path.join(state, "torrents", `${truncated}.torrent`)
      expect(fs.existsSync(kept), `${kept}: ${fs.readdirSync(path.dirname(kept)).join(", ")}`).toBe(true)
      const metainfo = Either.getOrThrow(decodeTorrent(fs.readFileSync(kept)))
      expect(Buffer.from(metainfo.infoHashV2!).toString("hex")).toBe(hashes.v2)
      const long = metainfo.files.filter((f) => !f.pad && f.length > pieceLength)
      expect(long.map((f) => f.path.join("/")).sort()).toEqual(["b/sub/odd.bin", "c.bin", "large.bin", "z.bin"])
      for (const f of long) {
        expect(f.pieceLayer?.length, f.path.join("/")).toBe(32 * Math.ceil(f.length / pieceLength))
      }
      // The same layers as libtorrent's .torrent holds.
      const theirs = Either.getOrThrow(decodeTorrent(fs.readFileSync(torrent)))
      const layerOf = (m: typeof theirs, name: string) => m.files.find((f) => f.path.join("/") === name)?.pieceLayer
      for (const f of long) {
        expect(Buffer.from(f.pieceLayer!).equals(Buffer.from(layerOf(theirs, f.path.join("/"))!)), f.path.join("/")).toBe(true)
      }
    } finally {
      expect(await stop(daemon.child)).toBe(130)
      await lt.stop()
    }
  }, 60_000)

  it("a hybrid .torrent added by metainfo is named by its v1 hash and completes from libtorrent", async () => {
    const dir = place("hybrid")
    const { torrent, hashes } = made(dir, "hybrid")
    expect(hashes.v1).not.toBeNull()
    expect(hashes.v2).not.toBeNull()
    const host = "127.0.0.53"
    const { rpcPort, peerPort, daemon, downloads } = await startDaemon(dir, host)
    const lt = await seeder(dir, torrent, `${host}:${peerPort}`)
    try {
      const added = await rpc(rpcPort, "torrent-add", { metainfo: fs.readFileSync(torrent).toString("base64") })
      expect(added["torrent-added"]).toMatchObject({ id: 1, name: "share", hashString: hashes.v1 })
      const row = await completed(rpcPort, () => `bt-effect: ${daemon.output().slice(-3000)}\nlibtorrent: ${logTail(lt.log)}`)
      expectComplete(row, hashes.v1!)
      expect(differences(downloads, shareFiles)).toEqual([])
    } finally {
      expect(await stop(daemon.child)).toBe(130)
      await lt.stop()
    }
  }, 60_000)

  it("a daemon restarted on its state folder has the btmh magnet's v2 torrent back complete from its checkpoint: nothing hashed or downloaded again", async () => {
    const dir = place("restart")
    const { torrent, hashes } = made(dir, "v2")
    const truncated = hashes.v2!.slice(0, 40)
    const lt = await seeder(dir, torrent)
    const host = "127.0.0.54"
    const ports = { rpc: await freePort(), peer: await freePort(host) }
    const first = await startDaemon(dir, host, ports)
    let downloadedEver: number
    try {
      await rpc(first.rpcPort, "torrent-add", { filename: btmh(hashes.v2!, lt.address) })
      const row = await completed(first.rpcPort, () => `bt-effect: ${first.daemon.output().slice(-3000)}\nlibtorrent: ${logTail(lt.log)}`)
      downloadedEver = row.downloadedEver
      expect(downloadedEver).toBeGreaterThanOrEqual(totalBytes)
    } finally {
      expect(await stop(first.daemon.child)).toBe(130)
    }
    expect(differences(first.downloads, shareFiles)).toEqual([])

    // One byte of large.bin changed while the daemon is down, its size and modification time (to the
    // nanosecond) kept: only a daemon that trusts its checkpoint leaves that piece unchecked. One that
    // hashed the data again would find the piece bad: percentDone below 1 (and, could it fetch the piece
    // again, more downloaded and the byte restored).
    const large = path.join(first.downloads, "share", "large.bin")
    const offset = 100 * pieceLength + 5
    const stamp = fs.statSync(large, { bigint: true })
    const fd = fs.openSync(large, "r+")
    fs.writeSync(fd, Buffer.from([shareFiles[4]![1][offset]! ^ 0xff]), 0, 1, offset)
    fs.closeSync(fd)
    const ns = stamp.mtimeNs % 1_000_000_000n
    execFileSync("touch", ["-m", "-d", `@${stamp.mtimeNs / 1_000_000_000n}.${ns.toString().padStart(9, "0")}`, large])
    expect(fs.statSync(large, { bigint: true }).mtimeNs).toBe(stamp.mtimeNs)

    const second = await startDaemon(dir, host, ports)
    try {
      const row = await completed(second.rpcPort, () => `bt-effect: ${second.daemon.output().slice(-3000)}`)
      expectComplete(row, truncated)
      expect(row.downloadedEver).toBe(downloadedEver)
      // A while later: still complete, nothing more downloaded.
      await new Promise((r) => setTimeout(r, 3000))
      const later = (await theTorrent(second.rpcPort))!
      expect({ percentDone: later.percentDone, downloadedEver: later.downloadedEver }).toEqual({ percentDone: 1, downloadedEver })
      expect(fs.readFileSync(large)[offset], "the changed byte was not hashed again").toBe(shareFiles[4]![1][offset]! ^ 0xff)
      // Its metadata and piece layers from the state folder, not from a peer.
      expect(second.daemon.output()).not.toMatch(/metadata received/)
      expect(second.daemon.output()).not.toMatch(/error: \d+ share/)
    } finally {
      expect(await stop(second.daemon.child)).toBe(130)
      await lt.stop()
    }
  }, 60_000)

  // A front end's "copy magnet link": a v2-only torrent has no v1 info hash, so its link names it by btmh
  // (its full v2 hash), as libtorrent's make_magnet_uri does. A btih of the truncated v2 hash is no v1
  // hash: the SHA-1 of the info never matches it, and `bt-effect download` given such a link stalls
  // waiting for metadata it cannot accept (libtorrent 2.0.8 tolerates it). A hybrid's names its v1 hash
  // by btih.
  it("torrent-get's magnetLink: a v2-only torrent added by metainfo by btmh with its v2 hash, a hybrid by btih with its v1 hash", async () => {
    const dir = place("magnet-links")
    const v2 = made(dir, "v2")
    const hybrid = made(dir, "hybrid")
    const { rpcPort, daemon } = await startDaemon(dir, "127.0.0.55")
    try {
      for (const { torrent } of [v2, hybrid]) {
        await rpc(rpcPort, "torrent-add", { metainfo: fs.readFileSync(torrent).toString("base64"), paused: true })
      }
      const rows = (await rpc(rpcPort, "torrent-get", { ids: [1, 2], fields: ["id", "hashString", "magnetLink"] }))["torrents"] as ReadonlyArray<
        { readonly id: number; readonly hashString: string; readonly magnetLink: string }
      >
      const linkOf = (id: number) => {
        const link = rows.find((r) => r.id === id)?.magnetLink ?? ""
        const parsed = Either.getOrThrow(Magnet.parse(link))
        return {
          link,
          btih: parsed.infoHash === undefined ? undefined : Buffer.from(parsed.infoHash).toString("hex"),
          btmh: parsed.infoHashV2 === undefined ? undefined : Buffer.from(parsed.infoHashV2).toString("hex")
        }
      }
      const ofV2 = linkOf(1)
      expect({ btih: ofV2.btih, btmh: ofV2.btmh }, ofV2.link).toEqual({ btih: undefined, btmh: v2.hashes.v2 })
      const ofHybrid = linkOf(2)
      expect(ofHybrid.btih, ofHybrid.link).toBe(hybrid.hashes.v1)
      // A btmh beside it, if any, is the hybrid's v2 hash.
      if (ofHybrid.btmh !== undefined) expect(ofHybrid.btmh, ofHybrid.link).toBe(hybrid.hashes.v2)
    } finally {
      expect(await stop(daemon.child)).toBe(130)
    }
  }, 60_000)
})
