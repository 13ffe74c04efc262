/**
 * A btmh magnet (BEP 52's v2 info hash, no btih) fetched from a libtorrent 2.0 seeder on loopback:
 * MetadataFetch dials it with the truncated v2 hash and the v2 bit, gets the info dictionary through
 * ut_metadata and checks it with SHA-256 against the v2 hash, then asks libtorrent for the piece layers the
 * dictionary lacks with hash requests (512 piece hashes each, proofs to the root), and returns a Metainfo
 * whose piece layers are those of the .torrent libtorrent made, for a v2-only torrent and a hybrid (its
 * pad files between the files, as libtorrent lays them out). A file of 701 pieces takes two requests,
 * the second of 256 hashes (189 real, the rest padding dropped); a file shorter than a piece needs none.
 * libtorrent runs with DHT, LSD, UPnP, NAT-PMP and uTP off, on 127.0.0.2.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as InfoHash from "../../src/domain/InfoHash.js"
import * as Magnet from "../../src/domain/Magnet.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as PeerId from "../../src/domain/PeerId.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import * as MetadataFetch from "../../src/services/torrent/MetadataFetch.js"
import { MemoryTracker, layer as memoryTrackerLayer } from "../../src/services/tracker/MemoryTracker.js"
import * as TcpNetwork from "../../src/services/wire/TcpNetwork.js"
import { freePort, type Process, spawnLogged, tempDir } from "../support/interop.js"
import { haveLibtorrent, python } from "../support/libtorrentPeer.js"
import { requiredInCi } from "../support/skips.js"
import { randomBytes } from "../support/torrents.js"

const pieceLength = 16384

/** Makes a v2-only or hybrid torrent (MODE) of SRC, seeds it on HOST:PORT once its data is checked, prints "seeding". */
const seed = String.raw`
import os, sys, time
import libtorrent as lt
src, out, host, port, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, ${pieceLength}, flags=lt.create_torrent.v2_only if mode == 'v2' else 0)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
open(out, 'wb').write(lt.bencode(ct.generate()))
s = lt.session({'listen_interfaces': '%s:%s' % (host, port), 'outgoing_interfaces': host,
                'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                'enable_outgoing_utp': False, 'enable_incoming_utp': False,
                'out_enc_policy': 2, 'in_enc_policy': 2, 'allowed_enc_level': 1})
h = s.add_torrent({'ti': lt.torrent_info(out), 'save_path': os.path.dirname(os.path.abspath(src))})
deadline = time.time() + 30
while time.time() < deadline and not h.status().is_seeding:
    time.sleep(0.05)
print('seeding' if h.status().is_seeding else 'not seeding', flush=True)
time.sleep(600)
`

const waitFor = async (file: string, text: string, ms: number): Promise<string> => {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const log = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
    if (log.includes(text)) return log
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`no "${text}" within ${ms} ms: ${fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "(no log)"}`)
}

describe("interop: a btmh magnet's metadata and piece layers from libtorrent 2.0", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-v2-magnet-")
  /** The seeders started, each stopped by its own pid when the cases are done. */
  const seeders: Array<Process> = []
  afterAll(async () => {
    await Promise.all(seeders.map((p) => p.stop(2_000)))
    root.remove()
  })

  for (const mode of ["v2", "hybrid"] as const) it(`fetches a ${mode} torrent's info dictionary by its v2 hash and the piece layers with hash requests`, async () => {
    const share = path.join(root.path, mode, "share")
    fs.mkdirSync(share, { recursive: true })
    fs.writeFileSync(path.join(share, "big.bin"), randomBytes(700 * pieceLength + 123, 1))
    fs.writeFileSync(path.join(share, "mid.bin"), randomBytes(5 * pieceLength, 2))
    fs.writeFileSync(path.join(share, "small.txt"), randomBytes(5000, 3))
    const torrentPath = path.join(root.path, mode, "libtorrent.torrent")
    const port = await freePort("127.0.0.2")
    const log = path.join(root.path, mode, "libtorrent.log")
    seeders.push(spawnLogged(python, ["-c", seed, share, torrentPath, "127.0.0.2", String(port), mode], log))
    await waitFor(log, "seeding", 60_000)
    expect(fs.readFileSync(log, "utf8")).not.toContain("not seeding")

    const theirs = Either.getOrThrow(decodeTorrent(fs.readFileSync(torrentPath)))
    expect(theirs.version).toBe(mode)
    const magnet = Either.getOrThrow(Magnet.parse(`magnet:?xt=urn:btmh:1220${InfoHash.toHex(theirs.infoHashV2!)}`))
    expect(magnet.infoHash).toBeUndefined()

    const result = await Effect.runPromise(
      MetadataFetch.fetch({
        infoHash: magnet.infoHashV2Truncated!,
        infoHashV2: magnet.infoHashV2!,
        peerId: PeerId.make(Buffer.from("v2magnet____")),
        port: 0,
        peers: [new PeerAddress({ host: "127.0.0.2", port })],
        trackers: []
      }).pipe(
        Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("no metadata within 60 s") }),
        Effect.provide(Layer.merge(TcpNetwork.layer, memoryTrackerLayer(new MemoryTracker())))
      )
    )
    expect(InfoHash.toHex(result.info)).toBe(InfoHash.toHex(theirs.infoBytes))
    const got = result.metainfo!
    expect(got.version).toBe(mode)
    const layers = (files: typeof got.files) =>
      files.filter((f) => !f.pad).map((f) => [f.path.join("/"), f.pieceLayer === undefined ? null : InfoHash.toHex(f.pieceLayer)])
    expect(layers(got.files)).toEqual(layers(theirs.files))
    // big.bin and mid.bin have layers (701 and 5 hashes), small.txt none.
    expect(layers(got.files).filter(([, l]) => l !== null).map(([p, l]) => [p, (l as string).length / 64])).toEqual([
      ["big.bin", 701],
      ["mid.bin", 5]
    ])
  }, 120_000)
})
