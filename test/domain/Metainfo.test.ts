import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { toHex } from "../../src/domain/InfoHash.js"
import * as Layout from "../../src/domain/Layout.js"
import { layoutOf, pieceHash, relativePath, trackerTiers } from "../../src/domain/Metainfo.js"
import { type Bencode, type BencodeDict, bytes, dict } from "../../src/domain/Bencode.js"
import { decodeMetainfo, maxFiles, maxPathDepth, maxPieces } from "../../src/domain/MetainfoDecode.js"
import { encode } from "../../src/protocol/Bencode.js"
import { decodeTorrent, encodeTorrent, maxTorrentBytes } from "../../src/protocol/TorrentFile.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { makeV2Torrent } from "../support/v2Torrents.js"

const latin1 = (s: string) => Buffer.from(s, "latin1")

describe("Metainfo", () => {
  it("reads a single-file torrent", () => {
    const t = makeTorrent({ name: "file.bin", pieceLength: 32768, files: [{ path: ["file.bin"], data: randomBytes(100_000) }], announce: "http://t/a" })
    const m = t.metainfo
    expect([m.name, m.safeName, m.multiFile, m.pieceLength, m.pieceCount, m.totalLength]).toEqual(["file.bin", "file.bin", false, 32768, 4, 100_000])
    expect(m.files.map((f) => [f.path, f.length])).toEqual([[["file.bin"], 100_000]])
    expect(relativePath(m, m.files[0]!)).toEqual(["file.bin"])
    expect(toHex(m.infoHash!)).toBe(toHex(createHash("sha1").update(m.infoBytes).digest()))
    expect(trackerTiers(m)).toEqual([["http://t/a"]])
    expect(toHex(pieceHash(m, 3))).toBe(toHex(createHash("sha1").update(t.payload.subarray(98304)).digest()))
  })

  it("reads a multi-file torrent whose piece spans three files", () => {
    const t = makeTorrent({
      name: "album",
      pieceLength: 16384,
      files: [
        { path: ["a.txt"], data: randomBytes(10_000, 1) },
        { path: ["empty"], data: new Uint8Array(0) },
        { path: ["sub", "b.txt"], data: randomBytes(3_000, 2) },
        { path: ["sub", "c.txt"], data: randomBytes(20_000, 3) }
      ]
    })
    const m = t.metainfo
    expect([m.multiFile, m.pieceCount, m.totalLength]).toEqual([true, 3, 33_000])
    expect(relativePath(m, m.files[2]!)).toEqual(["album", "sub", "b.txt"])
    const spans = Layout.spans(layoutOf(m), 0, 0, 16384)
    expect(spans.map((s) => [s.file, s.fileOffset, s.length])).toEqual([[0, 0, 10_000], [2, 0, 3_000], [3, 0, 3_384]])
  })

  it("sanitises every path and keeps the original for display", () => {
    const t = makeTorrent({
      name: "../evil",
      pieceLength: 16384,
      files: [
        { path: ["..", "..", "etc", "passwd"], data: randomBytes(10) },
        { path: ["/abs"], data: randomBytes(10) },
        { path: ["CON"], data: randomBytes(10) },
        { path: ["dup"], data: randomBytes(10) },
        { path: ["DUP"], data: randomBytes(10) }
      ]
    })
    const m = t.metainfo
    expect(m.name).toBe("../evil")
    expect(m.safeName).toBe(".._evil")
    expect(m.files.map((f) => f.path)).toEqual([["etc", "passwd"], ["_abs"], ["_CON"], ["dup"], ["DUP.1"]])
    expect(m.files[0]!.displayPath).toBe("../../etc/passwd")
    expect(m.warnings).toContain("unsafe path component in '../../etc/passwd': dot component '..'")
    expect(m.warnings).toContain("unsafe name: separator in component")
  })

  it("names the torrent by its info hash when the name sanitises to nothing", () => {
    const m = makeTorrent({ name: "..", pieceLength: 16384, files: [{ path: ["x"], data: randomBytes(5) }], multiFile: true }).metainfo
    expect(m.safeName).toBe(toHex(m.infoHash!))
  })

  it("recognises BEP 47 pad files by attribute and by the old name convention", () => {
    const m = makeTorrent({
      name: "p",
      pieceLength: 16384,
      files: [
        { path: ["a"], data: randomBytes(100) },
        { path: [".pad", "16284"], data: new Uint8Array(16284) },
        { path: ["b"], data: randomBytes(100) },
        { path: ["_____padding_file_0"], data: new Uint8Array(16284) },
        { path: ["c"], data: randomBytes(100) }
      ]
    }).metainfo
    expect(m.files.map((f) => f.pad)).toEqual([false, false, false, true, false])
  })

  it.each([
    ["d4:infod6:lengthi1e4:name1:a12:piece lengthi0e6:pieces20:aaaaaaaaaaaaaaaaaaaaee", "'piece length' is not positive (0)"],
    ["d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces19:aaaaaaaaaaaaaaaaaaaee", "'pieces' length 19 is not a multiple of 20"],
    ["d4:infod6:lengthi99999e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee", "piece count mismatch: 'pieces' has 1 hashes, length/piece length needs 7"],
    ["d4:infod4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee", "missing 'length' or 'files'"],
    ["d4:infoi1ee", "'info' is not a dict"],
    ["le", "top-level value is not a dict"],
    ["d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaa", "invalid bencode"]
  ])("refuses %s: %s", (input, message) => {
    const result = decodeTorrent(latin1(input))
    expect(Either.isLeft(result) && result.left.message).toContain(message)
  })

  it("hashes the raw info bytes, not a re-encoding, and encodes them back unchanged", () => {
    // 'name' before 'length': not in byte order, as some real torrents are.
    const info = `d4:name1:a6:lengthi1e12:piece lengthi16384e6:pieces20:${"a".repeat(20)}e`
    const file = latin1(`d7:comment2:hi4:info${info}e\n`)
    const m = Either.getOrThrow(decodeTorrent(file))
    expect(toHex(m.infoHash!)).toBe(toHex(createHash("sha1").update(info, "latin1").digest()))
    expect(m.warnings).toEqual(["1 trailing byte(s) after the top-level value (ignored)", "unsorted dict keys at /info"])
    const again = Either.getOrThrow(decodeTorrent(encodeTorrent(m)))
    expect(toHex(again.infoHash!)).toBe(toHex(m.infoHash!))
    expect(again.comment).toBe("hi")
  })

  it("reads announce-list tiers, dropping duplicates and empty tiers", () => {
    const m = makeTorrent({
      name: "t",
      pieceLength: 16384,
      files: [{ path: ["t"], data: randomBytes(10) }],
      announce: "http://a/ann",
      announceList: [["http://a/ann", "udp://b:1/ann"], [], ["http://a/ann"], ["udp://c:2"]]
    }).metainfo
    expect(trackerTiers(m)).toEqual([["http://a/ann", "udp://b:1/ann"], ["udp://c:2"]])
  })

  it("reads the private flag", () => {
    const m = makeTorrent({ name: "t", pieceLength: 16384, files: [{ path: ["t"], data: randomBytes(10) }], private: true }).metainfo
    expect(m.private).toBe(true)
  })

  it("reads url-list as a string or a list", () => {
    const info = Buffer.from(
      makeTorrent({ name: "t", pieceLength: 16384, files: [{ path: ["t"], data: randomBytes(10) }] }).metainfo.infoBytes
    ).toString("latin1")
    const one = Either.getOrThrow(decodeTorrent(latin1(`d4:info${info}8:url-list9:http://wse`)))
    expect(one.urlList).toEqual(["http://ws"])
    const list = Either.getOrThrow(decodeTorrent(latin1(`d4:info${info}8:url-listl4:http3:ftpi1eee`)))
    expect(list.urlList).toEqual(["http", "ftp"])
    expect(list.warnings).toContain("url-list has non-string entries (dropped)")
  })
})

describe("Metainfo limits", () => {
  const info = (fields: ReadonlyArray<readonly [string, Bencode]>) => dict([["name", bytes("t")], ["piece length", 16384], ...fields])
  const decodeInfo = (infoValue: BencodeDict) => decodeMetainfo(dict([["info", infoValue]]), encode(infoValue), [])
  const reasonOf = (r: ReturnType<typeof decodeInfo>) => Either.match(r, { onLeft: (e) => `${e.reason}: ${e.detail}`, onRight: () => "ok" })

  it(`refuses more than ${maxPieces} pieces (a v2 file of 2^21 pieces and one byte)`, () => {
    const tree = (length: number) => dict([["big.bin", dict([["", dict([["length", length], ["pieces root", new Uint8Array(32).fill(7)]])]])]])
    const at = (length: number) => reasonOf(decodeInfo(info([["meta version", 2], ["file tree", tree(length)]])))
    expect(at(maxPieces * 16384)).toBe("ok")
    expect(at(maxPieces * 16384 + 1)).toBe(`TooLarge: ${maxPieces + 1} pieces; at most ${maxPieces}`)
  })

  it(`refuses more than ${maxFiles} files before looking at any of them`, () => {
    // One shared entry: the list is big, the memory is not.
    const entry = dict([["length", 1], ["path", [bytes("f")]]])
    const files = Array.from({ length: maxFiles + 1 }, () => entry)
    const r = decodeMetainfo(dict([["info", info([["files", files], ["pieces", new Uint8Array(20)]])]]), new Uint8Array(1), [])
    expect(reasonOf(r)).toBe(`TooLarge: ${maxFiles + 1} files; at most ${maxFiles}`)
  })

  it(`refuses a path of more than ${maxPathDepth} components`, () => {
    const file = (depth: number) => dict([["length", 1], ["path", Array.from({ length: depth }, (_, i) => bytes(`d${i}`))]])
    const at = (depth: number) => reasonOf(decodeInfo(info([["files", [file(depth)]], ["pieces", new Uint8Array(20)]])))
    expect(at(maxPathDepth)).toBe("ok")
    expect(at(maxPathDepth + 1)).toBe(`TooLarge: files[0].path has ${maxPathDepth + 1} components; at most ${maxPathDepth}`)
  })
})

describe("Metainfo: the .torrent size limit", () => {
  it(`refuses a .torrent over ${maxTorrentBytes} bytes before decoding it`, () => {
    const r = decodeTorrent(new Uint8Array(maxTorrentBytes + 1))
    expect(Either.isLeft(r) && `${r.left.reason}: ${r.left.detail}`).toBe(`TooLarge: torrent file larger than ${maxTorrentBytes} bytes`)
  })
})

describe("Metainfo: a v2-only torrent's piece space", () => {
  it("lays a pad after each file off a piece boundary (the last too), counts no pad in its size and warns of none", () => {
    const pieceLength = 32768
    const t = makeV2Torrent({
      name: "twins",
      pieceLength,
      version: "v2",
      files: [
        { path: ["a"], data: randomBytes(1000, 1) },
        { path: ["b"], data: randomBytes(1000, 2) },
        { path: ["c"], data: randomBytes(pieceLength, 3) },
        { path: ["d"], data: randomBytes(40000, 4) }
      ]
    })
    const m = t.metainfo
    expect(m.files.map((f) => [f.pad, f.length])).toEqual([
      [false, 1000], [true, pieceLength - 1000], [false, 1000], [true, pieceLength - 1000], [false, pieceLength],
      [false, 40000], [true, 2 * pieceLength - 40000]
    ])
    expect(m.totalLength).toBe(1000 + 1000 + pieceLength + 40000)
    expect(layoutOf(m).totalLength).toBe(5 * pieceLength)
    expect(m.pieceCount).toBe(5)
    // Two pads of one length (`.pad/31768`) are no duplicate path.
    expect(m.warnings).toEqual([])
  })
})
