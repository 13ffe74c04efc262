/**
 * v2 and hybrid torrents (BEP 52, BEP 47) between bt-effect and libtorrent 2.0 (Debian's
 * python3-libtorrent), both ways, on files only (no network: a session listens on 127.0.0.1 and meets no
 * peer). libtorrent loads the .torrent `bt-effect create --v2` / `--hybrid` makes, names it by the same info
 * hashes, and after a full recheck of the data says it is seeding: every piece verified against our piece
 * layers (v2) and our SHA-1 pieces (hybrid). A copy with one byte changed is not seeding, so the recheck
 * does look at the data. The other way, torrents libtorrent makes over the same files decode with our
 * parser to the info hashes libtorrent reports, and `bt-effect info --json` prints them.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Either from "effect/Either"
import { toHex } from "../../src/domain/InfoHash.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import { runCli } from "../support/cli.js"
import { tempDir } from "../support/interop.js"
import { requiredInCi } from "../support/skips.js"
import { randomBytes } from "../support/torrents.js"

/** Debian's python3, which has python3-libtorrent (a python3 of pyenv's earlier on the PATH would not). */
const python = "/usr/bin/python3"
const haveLibtorrent = spawnSync(python, ["-c", "import libtorrent"], { stdio: "ignore", timeout: 10_000 }).status === 0

/** Loads TORRENT, prints its info hashes, adds it over SAVE, forces a recheck and prints whether it seeds. */
const check = String.raw`
import json, sys, time
import libtorrent as lt
torrent, save = sys.argv[1], sys.argv[2]
ti = lt.torrent_info(torrent)
ih = ti.info_hashes()
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                'enable_upnp': False, 'enable_natpmp': False})
h = s.add_torrent({'ti': ti, 'save_path': save})
h.force_recheck()
checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
deadline = time.time() + 30
time.sleep(0.2)
while time.time() < deadline and h.status().state in checking:
    time.sleep(0.05)
st = h.status()
print(json.dumps({'v1': str(ih.v1) if ih.has_v1() else None, 'v2': str(ih.v2) if ih.has_v2() else None,
                  'seeding': st.is_seeding, 'pieces': st.num_pieces, 'of': ti.num_pieces(), 'error': st.errc.message() if st.errc.value() else ''}))
`

/** Makes a v2-only or hybrid torrent of SRC with libtorrent and prints its info hashes. */
const make = String.raw`
import json, os, sys
import libtorrent as lt
src, out, mode, piece_length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v2_only if mode == 'v2' else 0)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
open(out, 'wb').write(lt.bencode(ct.generate()))
ih = lt.torrent_info(out).info_hashes()
print(json.dumps({'v1': str(ih.v1) if ih.has_v1() else None, 'v2': str(ih.v2) if ih.has_v2() else None}))
`

const runPython = (script: string, args: ReadonlyArray<string>) => {
  const r = spawnSync(python, ["-c", script, ...args], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" })
  expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0)
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>
}

const pieceLength = 32768

/** Repeatable pseudo-random bytes (the test kit's), so failures reproduce. */
const data = (length: number, seed: number): Buffer => Buffer.from(randomBytes(length, seed))

/** An empty file, one shorter than a piece, one many pieces long (several hashing batches), nested folders. */
const files: ReadonlyArray<readonly [string, number]> = [
  ["a.empty", 0],
  ["b/short.txt", 5000],
  ["b/sub/half.bin", 3 * pieceLength + 16384],
  ["many.bin", 140 * pieceLength + 777],
  ["one.bin", pieceLength]
]

const writeShare = (root: string) => {
  for (const [i, [name, length]] of files.entries()) {
    const at = path.join(root, "share", ...name.split("/"))
    fs.mkdirSync(path.dirname(at), { recursive: true })
    fs.writeFileSync(at, data(length, i + 3))
  }
  return path.join(root, "share")
}

describe("interop: v2 and hybrid torrents with libtorrent 2.0", () => {
  requiredInCi(haveLibtorrent, "python3-libtorrent is not installed (apt-get install -y python3-libtorrent)")
  const root = tempDir("bt-effect-interop-v2-")
  const share = writeShare(path.join(root.path, "data"))
  afterAll(() => root.remove())

  for (const version of ["v2", "hybrid"] as const) {
    it(`libtorrent loads bt-effect's --${version} torrent, names it by the same hashes and seeds it after a recheck`, async () => {
      const torrent = path.join(root.path, `ours-${version}.torrent`)
      const made = await runCli(["create", share, `--${version}`, "--piece-length", String(pieceLength), "-o", torrent], { timeoutMs: 60_000 })
      expect(made.code, made.stderr).toBe(0)
      const ours = Either.getOrThrow(decodeTorrent(fs.readFileSync(torrent)))
      expect(ours.version).toBe(version)
      const seen = runPython(check, [torrent, path.dirname(share)])
      expect(seen["v2"]).toBe(toHex(ours.infoHashV2!))
      expect(seen["v1"]).toBe(version === "hybrid" ? toHex(ours.infoHash!) : null)
      expect(seen, JSON.stringify(seen)).toMatchObject({ seeding: true, error: "" })
      expect(seen["pieces"]).toBe(seen["of"])

      // One byte changed in the last piece of a file in a subfolder: that piece fails the recheck.
      const copy = path.join(root.path, `changed-${version}`)
      fs.cpSync(share, path.join(copy, "share"), { recursive: true })
      const half = path.join(copy, "share", "b", "sub", "half.bin")
      const bytes = fs.readFileSync(half)
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff
      fs.writeFileSync(half, bytes)
      const changed = runPython(check, [torrent, copy])
      expect(changed["seeding"]).toBe(false)
      expect(changed["pieces"]).toBe((changed["of"] as number) - 1)
    }, 120_000)
  }

  it("torrents libtorrent makes (v2 only, hybrid) decode to the info hashes libtorrent reports, and `info` prints them", async () => {
    const ourFile = path.join(root.path, "ours-v2-again.torrent")
    const made = await runCli(["create", share, "--v2", "--piece-length", String(pieceLength), "-o", ourFile], { timeoutMs: 60_000 })
    expect(made.code, made.stderr).toBe(0)
    const ourV2 = Either.getOrThrow(decodeTorrent(fs.readFileSync(ourFile)))
    for (const mode of ["v2", "hybrid"] as const) {
      const torrent = path.join(root.path, `libtorrent-${mode}.torrent`)
      const theirs = runPython(make, [share, torrent, mode, String(pieceLength)])
      const m = Either.getOrThrow(decodeTorrent(fs.readFileSync(torrent)))
      expect(m.version).toBe(mode)
      expect(toHex(m.infoHashV2!)).toBe(theirs["v2"])
      expect(m.infoHash === undefined ? null : toHex(m.infoHash)).toBe(theirs["v1"])
      // The same files give the same pieces roots whoever made the torrent.
      const roots = (files: typeof m.files) => files.filter((f) => !f.pad).map((f) => (f.piecesRoot === undefined ? null : toHex(f.piecesRoot)))
      expect(roots(m.files)).toEqual(roots(ourV2.files))
      // And the same torrent: bt-effect lays pads as libtorrent 2.0.8 does (a hybrid's last file padded
      // too), so both info hashes are libtorrent's.
      const again = path.join(root.path, `ours-${mode}-same.torrent`)
      const ours = await runCli(["create", share, `--${mode}`, "--piece-length", String(pieceLength), "-o", again], { timeoutMs: 60_000 })
      expect(ours.code, ours.stderr).toBe(0)
      const same = Either.getOrThrow(decodeTorrent(fs.readFileSync(again)))
      expect([same.infoHash === undefined ? null : toHex(same.infoHash), toHex(same.infoHashV2!)]).toEqual([theirs["v1"], theirs["v2"]])
      const shown = await runCli(["info", torrent, "--json"])
      expect(shown.code, shown.stderr).toBe(0)
      const json = JSON.parse(shown.stdout) as Record<string, unknown>
      expect([json["infoHash"], json["infoHashV2"], json["infoHashV2Truncated"], json["metaVersion"]]).toEqual([
        theirs["v1"], theirs["v2"], (theirs["v2"] as string).slice(0, 40), 2
      ])
      expect(json["pieceLayerHashes"]).toBe(m.pieceLayerHashes)
      const text = await runCli(["info", torrent])
      expect(text.stdout).toContain(`info hash v2: ${theirs["v2"]}`)
      if (mode === "hybrid") expect(text.stdout).toContain(`info hash:    ${theirs["v1"]}`)
    }
    // libtorrent's v2-only torrent of the same files at the same piece length is ours, byte for byte in `info`.
    const theirV2 = Either.getOrThrow(decodeTorrent(fs.readFileSync(path.join(root.path, "libtorrent-v2.torrent"))))
    expect(toHex(theirV2.infoHashV2!)).toBe(toHex(ourV2.infoHashV2!))
  }, 120_000)
})
