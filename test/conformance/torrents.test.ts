/**
 * Every torrent of the corpus against its expected.jsonl line: validity, info hashes, name, pieces,
 * lengths, files (as the torrent names them), private flag, trackers and web seeds.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { toHex } from "../../src/domain/InfoHash.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"
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
    expect(m.totalLength).toBe(e["total_length"])
    expect(
      m.files.map((f) => ({ path: f.rawPath.map(shownBytes), length: f.length, ...(f.pad ? { pad: true } : {}) }))
    ).toEqual(
      (e["files"] as ReadonlyArray<Record<string, unknown>>).map((f) => ({
        path: f["path"],
        length: f["length"],
        ...(f["pad"] === true ? { pad: true } : {})
      }))
    )
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
