/**
 * Magnet conformance: every line of the shared corpus' `magnets-expected.jsonl` (expectations computed
 * independently of bt-effect) against `Magnet.parse`. The corpus lives beside the repository, at
 * `../shared/corpus`, or wherever `BT_CORPUS` points; without it the suite is skipped, not failed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { toHex } from "../../src/domain/InfoHash.js"
import { parse } from "../../src/domain/Magnet.js"
import { skipUnless } from "../support/skips.js"
import { corpusMissing, corpusPresent, readCorpusFile } from "./corpus.js"

const Address = Schema.Struct({ host: Schema.String, port: Schema.Number })
const Strings = Schema.Array(Schema.String)

/** One line of `magnets-expected.jsonl` (its `source` field is provenance, not an expectation). */
const Expected = Schema.Struct({
  uri: Schema.String,
  valid: Schema.Boolean,
  error: Schema.NullOr(Schema.String),
  info_hash_v1: Schema.NullOr(Schema.String),
  info_hash_v2: Schema.NullOr(Schema.String),
  info_hash_v2_truncated: Schema.NullOr(Schema.String),
  dn: Schema.NullOr(Schema.String),
  trackers: Strings,
  web_seeds: Strings,
  peers: Schema.Array(Address),
  select_only: Schema.NullOr(Schema.Array(Schema.Number)),
  dht_nodes: Schema.Array(Address),
  exact_length: Schema.NullOr(Schema.Number),
  keywords: Schema.NullOr(Strings),
  acceptable_sources: Strings,
  exact_sources: Strings,
  other_xt: Strings
})
const decodeLine = Schema.decodeUnknownSync(Schema.parseJson(Expected))

const cases = corpusPresent
  ? readCorpusFile("magnets-expected.jsonl").toString("utf8").split("\n").filter((line) => line.trim() !== "").map((line) => decodeLine(line))
  : []

const hex = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : toHex(bytes))
const addresses = (list: ReadonlyArray<{ readonly host: string; readonly port: number }>) =>
  list.map(({ host, port }) => ({ host, port }))

describe("conformance: magnets", () => {
  skipUnless(corpusPresent, corpusMissing)
  it("reads all 25 magnets of the corpus", () => {
    expect(cases.length).toBe(25)
  })

  cases.forEach((expected, index) => {
    it(`line ${index + 1}: ${expected.uri}`, () => {
      const result = parse(expected.uri)
      if (!expected.valid) {
        // Only `valid` and `error` can be checked here: a rejected link yields no fields to compare.
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(result.left.detail).toBe(expected.error)
        return
      }
      if (Either.isLeft(result)) throw new Error(`rejected a valid magnet: ${result.left.message}`)
      const m = result.right
      expect(expected.error).toBeNull()
      expect({
        info_hash_v1: hex(m.infoHash),
        info_hash_v2: hex(m.infoHashV2),
        info_hash_v2_truncated: hex(m.infoHashV2Truncated),
        dn: m.displayName ?? null,
        trackers: m.trackers,
        web_seeds: m.webSeeds,
        peers: addresses(m.peers),
        select_only: m.selectOnly ?? null,
        dht_nodes: addresses(m.dhtNodes),
        exact_length: m.exactLength ?? null,
        keywords: m.keywords ?? null,
        acceptable_sources: m.acceptableSources,
        exact_sources: m.exactSources,
        other_xt: m.otherXt
      }).toStrictEqual({
        info_hash_v1: expected.info_hash_v1,
        info_hash_v2: expected.info_hash_v2,
        info_hash_v2_truncated: expected.info_hash_v2_truncated,
        dn: expected.dn,
        trackers: expected.trackers,
        web_seeds: expected.web_seeds,
        peers: expected.peers,
        select_only: expected.select_only,
        dht_nodes: expected.dht_nodes,
        exact_length: expected.exact_length,
        keywords: expected.keywords,
        acceptable_sources: expected.acceptable_sources,
        exact_sources: expected.exact_sources,
        other_xt: expected.other_xt
      })
    })
  })
})
