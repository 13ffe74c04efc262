/**
 * Fuzzing the magnet parser (src/domain/Magnet.ts `parse`): arbitrary text, magnet vocabulary soup, and
 * mutations of valid links (the shared corpus's and built ones): byte mutations of their UTF-8, and
 * parameters repeated up to thousands of times.
 *
 * It must answer with a `Magnet` or a `MagnetError` of a known reason, in bounded time. A link it accepts
 * must be a valid `Magnet` by its Schema (parse builds it without validating again) and must survive
 * `format`: parsing the formatted link gives the same link back.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { MagnetError, MagnetErrorReason } from "../../src/domain/Errors.js"
import { format, Magnet, parse } from "../../src/domain/Magnet.js"
import { corpusDir, corpusPresent } from "../conformance/corpus.js"
import { maxMutatedBytes, mutated } from "./mutations.js"
import { fuzz, runDecoder, tokenSoup, utf8 } from "./support.js"

const isReason = Schema.is(MagnetErrorReason)
const isMagnet = Schema.is(Magnet)

const check = (uri: string): void => {
  const result = runDecoder("Magnet.parse", () => parse(uri))
  if (Either.isLeft(result)) {
    expect(result.left).toBeInstanceOf(MagnetError)
    expect(isReason(result.left.reason), result.left.reason).toBe(true)
    return
  }
  const m = result.right
  expect(m).toBeInstanceOf(Magnet)
  // Validating a selection of a million files takes a second; the smaller ones are checked in full.
  if ((m.selectOnly?.length ?? 0) <= 10_000) expect(isMagnet(m)).toBe(true)
  const formatted = runDecoder("Magnet.format", () => format(m))
  const again = runDecoder("Magnet.parse(format(m))", () => parse(formatted))
  expect(Either.isRight(again) && format(again.right)).toBe(formatted)
}

const v1 = "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36"
const v2 = "1220d2474e86c95b19b8bcfdb92bc12c9d44667cfa36d2474e86c95b19b8bcfdb92b"

const builtLinks: ReadonlyArray<string> = [
  `magnet:?xt=urn:btih:${v1}&dn=Leaves+of+Grass&tr=udp%3A%2F%2Ftracker.example%3A6969&tr=http://t2.example/announce`,
  `magnet:?xt=urn:btih:64DZYZWMUAVLIWJUXGDIK4QGAAIN7SL6&xl=10826029&kt=joe+blow+mp3&so=0,2,4,6-8&ws=http://seed.example/f`,
  `magnet:?xt=urn:btmh:${v2}&xt=urn:btih:${v1}&x.pe=123.213.32.10:47450&x.pe=[2001:db8::2]:55013&dht=router.example:6881`,
  `magnet:?XT.1=urn:btih:${v1.toUpperCase()}&as=http://a.example/x.torrent&xs=urn:sha1:abc` +
  "&xt=urn:ed2k:31d6cfe0d16ae931b73c59d7e0c089c0&dn=%E2%82%AC%20euro",
  `magnet:?xt=urn:btih:${v1}&so=0-1048575&so=1`
]

const corpusLinks: ReadonlyArray<string> = corpusPresent
  ? fs.readFileSync(path.join(corpusDir, "magnets.txt"), "utf8").split("\n").filter((l) => l.trim() !== "")
  : []

const links = FastCheck.constantFrom(...builtLinks, ...corpusLinks)

/** Bytes back to text, as UTF-8 (bad sequences become U+FFFD) or as latin1 (every byte one character). */
const asText = (bytes: Uint8Array, latin1: boolean) => Buffer.from(bytes).toString(latin1 ? "latin1" : "utf8")

const mutatedLinks = FastCheck.tuple(mutated(links.map(utf8), { bencode: false }), FastCheck.boolean()).map(
  ([b, latin1]) => asText(b, latin1)
)

/** A link with one of its parameters repeated in place, up to ~1 MiB: many `so`, many `kt`, many `x.pe`. */
const repeatedParameter = FastCheck.tuple(links, FastCheck.nat(), FastCheck.integer({ min: 1, max: 100_000 })).map(
  ([link, which, times]) => {
    const [head, query = ""] = link.split("?", 2)
    const params = query.split("&")
    const i = which % params.length
    const param = params[i]!
    const repeat = Math.min(times, Math.floor(maxMutatedBytes / (param.length + 1)))
    return `${head}?${[...params.slice(0, i), ...Array.from({ length: repeat }, () => param), ...params.slice(i + 1)].join("&")}`
  }
)

const anyText = FastCheck.oneof(
  FastCheck.string({ unit: "binary", maxLength: 300 }),
  FastCheck.string({ maxLength: 300 }).map((s) => `magnet:?${s}`)
)

const tokens = [
  "magnet:?", "magnet:?", "xt=", "XT.1=", "urn:btih:", "urn:btmh:", v1, v2, "64DZYZWMUAVLIWJUXGDIK4QGAAIN7SL6", "&", "&", "=",
  "%", "%2", "%41", "%zz", "%E2%82", "%00", "+", " ", "dn=", "kt=", "so=", "0", "1048575", "4294967295", "9999999999",
  ",", "-", "x.pe=", "dht=", "[", "]", ":", "::1", "1.2.3.4", "65535", "65536", "xl=", "tr=", "ws=", "as=", "xs=", "\n"
]

describe("fuzz: magnet", () => {
  fuzz("Magnet.parse: arbitrary text", anyText, check, 800)

  fuzz("Magnet.parse: magnet vocabulary soup", tokenSoup(tokens, 60).map((b) => asText(b, false)), check, 800)

  fuzz("Magnet.parse: mutations of valid links", mutatedLinks, check, 500)

  fuzz("Magnet.parse: valid links with one parameter repeated many times", repeatedParameter, check, 8)
})
