/**
 * Every torrent of the corpus against its expected.jsonl line: validity, info hashes, name, pieces,
 * lengths, files (as the torrent names them), private flag, trackers and web seeds; and that every valid
 * one downloads (v1, hybrid and v2 alike), but a v2-only torrent without the piece layers of its larger
 * files, whose pieces could be checked against nothing.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { toHex } from "../../src/domain/InfoHash.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
import { V2Pieces } from "../../src/domain/V2Pieces.js"
import { skipUnless } from "../support/skips.js"
import { corpusMissing, corpusPresent, readCorpusFile, readJsonl, shownBytes } from "./corpus.js"

const expected = readJsonl("expected.jsonl")

/**
 * Where bt-effect deliberately rejects what expected.jsonl accepts, and why. The corpus README allows a
 * client to reject more when it enforces a documented limit.
 */
const policyDifferences: Record<string, string> = {
  "torrents/arvidn/libtorrent/v2_deep_recursion.torrent": "nesting deeper than 100"
}

/** v2-only torrents that lack the piece layer of a file longer than a piece: downloaded only as a magnet
 *  is, their layers asked of peers. */
const withoutLayers = new Set([
  "torrents/arvidn/libtorrent/v2_no_piece_layers.torrent",
  "torrents/arvidn/libtorrent/v2_incomplete_piece_layer.torrent"
])

describe("conformance: torrents", () => {
  skipUnless(corpusPresent, corpusMissing)
  it("has all 120 torrents", () => expect(expected.length).toBe(120))

  it.each(expected.map((e) => [String(e["file"]), e] as const))("%s", (file, e) => {
    const result = decodeTorrent(readCorpusFile(file))
    const policy = policyDifferences[file]
    if (policy !== undefined) {
      expect(Either.isLeft(result) && result.left.message).toContain(policy)
      return
    }
    if (e["valid"] !== true) {
      expect(Either.isLeft(result), `should be rejected: ${JSON.stringify(e["errors"])}`).toBe(true)
      return
    }
    if (Either.isLeft(result)) throw new Error(`rejected a valid torrent: ${result.left.message}`)
    const m = result.right
    // The corpus gives the SHA-1 of the raw info bytes for every torrent; v2-only ones are not named by it.
    expect(toHex(createHash("sha1").update(m.infoBytes).digest())).toBe(e["info_hash_v1"])
    expect(m.infoHash === undefined ? null : toHex(m.infoHash)).toBe(e["has_v1"] === true ? e["info_hash_v1"] : null)
    expect(m.infoHashV2 === undefined ? null : toHex(m.infoHashV2)).toBe(e["info_hash_v2"])
    expect(shownBytes(m.rawName)).toEqual(e["name"])
    expect(m.pieceLength).toBe(e["piece_length"])
    expect(m.pieceCount).toBe(e["num_pieces"])
    const listed = e["files"] as ReadonlyArray<Record<string, unknown>>
    // The corpus counts pad files in the total; bt-effect's total is the files' bytes (the piece space,
    // pads in, is the layout's).
    const pads = listed.reduce((n, f) => n + (f["pad"] === true ? Number(f["length"]) : 0), 0)
    expect(m.totalLength).toBe(Number(e["total_length"]) - pads)
    // A v2-only torrent's own pad files, laid between its files as libtorrent lays them, are not the
    // torrent's: the corpus lists the file tree.
    const files = m.version === "v2" ? m.files.filter((f) => !f.pad) : m.files
    expect(
      files.map((f) => ({ path: f.rawPath.map(shownBytes), length: f.length, ...(f.pad ? { pad: true } : {}) }))
    ).toEqual(
      (e["files"] as ReadonlyArray<Record<string, unknown>>).map((f) => ({
        path: f["path"],
        length: f["length"],
        ...(f["pad"] === true ? { pad: true } : {})
      }))
    )
    // It downloads: every piece has a hash to be checked against (v2: the piece layers).
    const unchecked = m.version === "v2" ? V2Pieces.of(m)!.missingLayers : 0
    expect(unchecked > 0).toBe(withoutLayers.has(file))
    expect(m.private).toBe(e["private"])
    expect(m.announce ?? null).toBe(e["announce"])
    expect(m.announceList.length === 0 ? null : m.announceList).toEqual(e["announce_list"])
    expect(m.urlList.length === 0 ? (e["url_list"] === null ? null : []) : m.urlList).toEqual(e["url_list"])
    // Every file the client would write stays inside the torrent's folder.
    for (const f of m.files) {
      for (const c of f.path) expect(c === "" || c === "." || c === ".." || /[/\\\0]/.test(c)).toBe(false)
    }
  })
})
