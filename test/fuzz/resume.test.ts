/**
 * Fuzzing resume files (src/protocol/ResumeFile.ts `decodeResume`): arbitrary bytes, bencode soup in the
 * file's keys, and mutations of files the encoder wrote. A damaged resume file must only ever cost a
 * re-check, never a crash.
 *
 * It must answer with `ResumeData` or the reason (a string) it is not one, in bounded time. What it
 * accepts must be valid by the Schema and encode back to a file that decodes to the same data.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { ResumeData } from "../../src/domain/ResumeData.js"
import { decodeResume, encodeResume } from "../../src/protocol/ResumeFile.js"
import { mutated } from "./mutations.js"
import { anyBytes, bencodeTokens, fuzz, runDecoder, tokenSoup } from "./support.js"

const isResumeData = Schema.is(ResumeData)

const check = (raw: Uint8Array): void => {
  const result = runDecoder("decodeResume", () => decodeResume(raw))
  if (Either.isLeft(result)) {
    expect(typeof result.left).toBe("string")
    expect(result.left.length).toBeGreaterThan(0)
    return
  }
  const data = result.right
  expect(data).toBeInstanceOf(ResumeData)
  expect(isResumeData(data)).toBe(true)
  // Compared as files: the decoded byte strings are views, Buffers or not depending on the input.
  const file = encodeResume(data)
  const again = runDecoder("decodeResume(encodeResume(data))", () => decodeResume(file))
  expect(Either.isRight(again) && Buffer.compare(encodeResume(again.right), file)).toBe(0)
}

const resumeArb: FastCheck.Arbitrary<ResumeData> = FastCheck.integer({ min: 0, max: 200 }).chain((pieceCount) =>
  FastCheck.record({
    infoHash: FastCheck.uint8Array({ minLength: 20, maxLength: 20 }),
    root: FastCheck.oneof(FastCheck.string({ maxLength: 40 }), FastCheck.constant("/data/downloads")),
    pieces: FastCheck.uint8Array({ minLength: Math.ceil(pieceCount / 8), maxLength: Math.ceil(pieceCount / 8) }),
    files: FastCheck.array(
      FastCheck.option(
        FastCheck.record({
          size: FastCheck.oneof(FastCheck.constant(0), FastCheck.maxSafeNat()),
          mtimeNs: FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 64n })
        }),
        { nil: null }
      ),
      { maxLength: 8 }
    ),
    downloaded: FastCheck.maxSafeNat(),
    uploaded: FastCheck.maxSafeNat(),
    savedAt: FastCheck.maxSafeInteger()
  }).map((f) => new ResumeData({ ...f, infoHash: InfoHash.make(f.infoHash), pieceCount }))
)

const tokens = bencodeTokens([
  "file-format", "bt-effect resume", "file-version", "info-hash", "root", "piece-count", "pieces", "files", "size",
  "mtime-ns", "downloaded", "uploaded", "saved-at"
])

describe("fuzz: resume files", () => {
  fuzz("decodeResume: arbitrary bytes", anyBytes, check, 400)

  fuzz("decodeResume: resume file token soup", tokenSoup(tokens, 300), check, 600)

  fuzz("decodeResume: mutations of valid resume files", mutated(resumeArb.map(encodeResume), { bencode: true }), check, 500)
})
