/**
 * Fuzzing the bencode decoder (src/protocol/Bencode.ts `decode`): arbitrary bytes, token soup, mutated
 * valid documents and long repeated patterns, with the default limits and with random small ones.
 *
 * It must answer every input with a value or a `BencodeError` of a known reason, in bounded time. What
 * it accepts must be strict bencode: re-encoding the value gives back the input's bytes exactly (unless
 * it reported unsorted keys, the one tolerance), and the nesting it reports stays within the limit.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { BencodeError, BencodeErrorReason } from "../../src/domain/Errors.js"
import { decode, type DecodeOptions, defaultLimits, encode } from "../../src/protocol/Bencode.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { mutated } from "./mutations.js"
import { anyBytes, bencodeTokens, bencodeValue, fuzz, runDecoder, repeated, tokenSoup } from "./support.js"

const isReason = Schema.is(BencodeErrorReason)

const check = (bytes: Uint8Array, options?: DecodeOptions): void => {
  const result = runDecoder("Bencode.decode", () => decode(bytes, options))
  if (Either.isLeft(result)) {
    const error = result.left
    expect(error).toBeInstanceOf(BencodeError)
    expect(isReason(error.reason), error.reason).toBe(true)
    expect(error.offset).toBeGreaterThanOrEqual(0)
    expect(error.offset).toBeLessThanOrEqual(bytes.length)
    return
  }
  const decoded = result.right
  expect(decoded.end + decoded.trailing).toBe(bytes.length)
  if (options?.allowTrailing !== true) expect(decoded.trailing).toBe(0)
  expect(decoded.depth).toBeLessThanOrEqual(options?.maxDepth ?? defaultLimits.maxDepth)
  if (decoded.unsorted.length === 0) {
    expect(Buffer.compare(encode(decoded.value), bytes.subarray(0, decoded.end))).toBe(0)
  }
}

const torrent = makeTorrent({
  name: "fuzz",
  pieceLength: 16384,
  files: [
    { path: ["a", "b.bin"], data: randomBytes(20000, 3) },
    { path: ["c.txt"], data: randomBytes(100, 4) }
  ],
  announceList: [["http://tracker.example/announce"]]
})

const valid: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  { weight: 4, arbitrary: bencodeValue([]).map(encode) },
  { weight: 1, arbitrary: FastCheck.constant(torrent.bytes) }
)

const limits: FastCheck.Arbitrary<DecodeOptions> = FastCheck.record(
  {
    allowTrailing: FastCheck.boolean(),
    maxDepth: FastCheck.integer({ min: 1, max: 120 }),
    maxTokens: FastCheck.integer({ min: 1, max: 500 }),
    maxBytes: FastCheck.integer({ min: 0, max: 5000 })
  },
  { requiredKeys: [] }
)

const tokens = bencodeTokens(["info", "name", "files", "length", "path", "pieces", "a", "b"])

describe("fuzz: bencode", () => {
  fuzz("Bencode.decode: arbitrary bytes", anyBytes, check, 800)

  fuzz("Bencode.decode: bencode token soup, with random limits", FastCheck.tuple(tokenSoup(tokens), limits), ([bytes, options]) =>
    check(bytes, options), 800)

  fuzz("Bencode.decode: mutations of valid documents", mutated(valid, { bencode: true }), (bytes) => check(bytes), 500)

  fuzz(
    "Bencode.decode: mutations of valid documents, with random limits",
    FastCheck.tuple(mutated(valid, { bencode: true }), limits),
    ([bytes, options]) => check(bytes, options),
    200
  )

  fuzz(
    "Bencode.decode: long repeated patterns (deep nesting, many tokens, long runs)",
    repeated(["l", "d", "i1e", "1:a", "d1:a", "li1e", "0:", "le", "de", "l1:ae", "d1:ai1ee", "9", "i", "-"]),
    (bytes) => check(bytes),
    40
  )
})
