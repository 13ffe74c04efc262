import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { type Bencode, isBytes, isDict, isList } from "../../src/domain/Bencode.js"
import { decode } from "../../src/protocol/Bencode.js"
import { skipUnless } from "../support/skips.js"
import { corpusMissing, corpusPresent, readCorpusFile, shownBytes } from "./corpus.js"

// JSON numbers of 16 digits or more lose precision in JSON.parse; both sides show them as "big:<digits>".
const bigLiteral = /(?<=[:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g
const big = (n: number | bigint) => (String(n).replace("-", "").length >= 16 ? `big:${n}` : n)

/** The corpus's JSON view of a bencode value: strings as text or {hex}, non-UTF-8 keys as `hex:..`. */
const toJson = (v: Bencode): unknown => {
  if (isBytes(v)) return shownBytes(v)
  if (typeof v === "number" || typeof v === "bigint") return big(v)
  if (isList(v)) return v.map(toJson)
  if (isDict(v)) {
    const out: Record<string, unknown> = {}
    for (const [k, item] of v) {
      const shown = shownBytes(Buffer.from(k, "latin1"))
      out[typeof shown === "string" ? shown : `hex:${shown.hex}`] = toJson(item)
    }
    return out
  }
  return v
}

const vectors = corpusPresent
  ? readCorpusFile("bencode-vectors.jsonl")
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l.replace(bigLiteral, '"big:$1"')) as { input_hex: string; valid: boolean; json: unknown; why: string })
  : []

describe("conformance: bencode vectors", () => {
  skipUnless(corpusPresent, corpusMissing)
  it("has all 86 vectors", () => expect(vectors.length).toBe(86))
  it.each(vectors.map((v) => [v.why, v] as const))("%s", (_, v) => {
    const result = decode(Buffer.from(v.input_hex, "hex"))
    expect(Either.isRight(result)).toBe(v.valid)
    if (Either.isRight(result)) expect(toJson(result.right.value)).toEqual(v.json)
  })
})
