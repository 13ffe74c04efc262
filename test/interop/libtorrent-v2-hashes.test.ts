/**
 * The other way round from libtorrent-v2-magnet.test.ts: libtorrent 2.0, added by a btmh magnet, gets the
 * info dictionary and the piece layers from us. Our side is a peer made of HashExchange over FileHashes
 * (test/support/v2HashServer.ts: handshake with the truncated v2 hash and the v2 bit, ut_metadata, HaveAll,
 * hash requests answered). libtorrent asks as its hash picker does (the piece layer, 512 hashes a request,
 * proofs to the root) and proves each answer against the file's root; it disconnects a peer whose hashes do
 * not prove. That it has them all is seen from the .torrent it writes of what it holds
 * (write_torrent_file), which it refuses to write while a v2 file lacks its piece layer: its piece
 * layers are the ones of the .torrent it made. libtorrent runs with DHT, LSD, UPnP, NAT-PMP and uTP off,
 * on 127.0.0.2; our peer listens on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Either from "effect/Either"
import * as InfoHash from "../../src/domain/InfoHash.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import { runLogged, tempDir } from "../support/interop.js"
import { haveLibtorrent, python } from "../support/libtorrentPeer.js"
import { requiredInCi } from "../support/skips.js"
import { randomBytes } from "../support/torrents.js"
import { startHashServer } from "../support/v2HashServer.js"

const pieceLength = 16384

/** Makes a v2-only torrent of SRC at OUT and prints its v2 info hash. */
const make = String.raw`
import os, sys
import libtorrent as lt
src, out = sys.argv[1], sys.argv[2]
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, ${pieceLength}, flags=lt.create_torrent.v2_only)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
open(out, 'wb').write(lt.bencode(ct.generate()))
print(str(lt.torrent_info(out).info_hashes().v2))
`

/** Adds MAGNET, dials PEER, and once it has the metadata writes what it holds as a .torrent to OUT. */
const fetch = String.raw`
import sys, time
import libtorrent as lt
magnet, save, peer_port, out = sys.argv[1:5]
s = lt.session({'listen_interfaces': '127.0.0.2:0', 'outgoing_interfaces': '127.0.0.2',
                'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                'enable_outgoing_utp': False, 'enable_incoming_utp': False,
                'out_enc_policy': 2, 'in_enc_policy': 2, 'allowed_enc_level': 1,
                'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification})
atp = lt.parse_magnet_uri(magnet)
atp.save_path = save
h = s.add_torrent(atp)
h.connect_peer(('127.0.0.1', int(peer_port)))
deadline = time.time() + 40
result = 'no metadata'
while time.time() < deadline:
    if h.status().has_metadata:
        h.save_resume_data(lt.torrent_handle.save_info_dict)
        params = None
        until = time.time() + 5
        while params is None and time.time() < until:
            s.wait_for_alert(200)
            for a in s.pop_alerts():
                if isinstance(a, lt.save_resume_data_alert):
                    params = a.params
        if params is not None:
            try:
                open(out, 'wb').write(lt.bencode(lt.write_torrent_file(params, 0)))
                result = 'written'
                break
            except Exception as e:
                result = 'not written: %s' % e
    time.sleep(0.3)
print(result, flush=True)
`

describe("interop: libtorrent 2.0 gets a btmh magnet's piece layers from our hash messages", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-v2-hashes-")
  const closers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const close of closers) await close()
    root.remove()
  })

  it("libtorrent asks for the piece layers, proves our answers and ends with every layer", async () => {
    const share = path.join(root.path, "share")
    fs.mkdirSync(share, { recursive: true })
    fs.writeFileSync(path.join(share, "big.bin"), randomBytes(700 * pieceLength + 123, 4))
    fs.writeFileSync(path.join(share, "mid.bin"), randomBytes(5 * pieceLength, 5))
    fs.writeFileSync(path.join(share, "small.txt"), randomBytes(5000, 6))
    const original = path.join(root.path, "original.torrent")
    const made = await runLogged(python, ["-c", make, share, original], path.join(root.path, "make.log"), 60_000)
    expect(made.code, fs.readFileSync(made.logPath, "utf8")).toBe(0)
    const theirs = Either.getOrThrow(decodeTorrent(fs.readFileSync(original)))

    const server = await startHashServer(theirs)
    closers.push(server.close)
    const written = path.join(root.path, "written.torrent")
    const magnet = `magnet:?xt=urn:btmh:1220${InfoHash.toHex(theirs.infoHashV2!)}`
    const run = await runLogged(python, ["-c", fetch, magnet, path.join(root.path, "save"), String(server.port), written], path.join(root.path, "fetch.log"), 60_000)
    const output = fs.readFileSync(run.logPath, "utf8")
    expect(output.trim().split("\n").at(-1), `${output}\n${JSON.stringify(server.log)}`).toBe("written")
    expect(server.log.ended).toEqual([])
    // As libtorrent's hash picker asks: the piece layer (0 here: a piece is one leaf), chunks of 512
    // aligned to 512 (the last rounded up to a power of two), proofs up to the root.
    expect([...server.log.requests].sort()).toEqual(["0/0/512/9", "0/0/8/2", "0/512/256/9"])
    expect(server.log.answers).toEqual(["Hashes", "Hashes", "Hashes"])

    const got = Either.getOrThrow(decodeTorrent(fs.readFileSync(written)))
    expect(InfoHash.toHex(got.infoHashV2!)).toBe(InfoHash.toHex(theirs.infoHashV2!))
    const layers = (m: typeof got) =>
      m.files.filter((f) => !f.pad).map((f) => [f.path.join("/"), f.pieceLayer === undefined ? null : InfoHash.toHex(f.pieceLayer)])
    expect(layers(got)).toEqual(layers(theirs))
    expect(got.pieceLayerHashes).toBe(701 + 5)
  }, 120_000)
})
