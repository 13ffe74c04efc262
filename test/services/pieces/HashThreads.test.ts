/**
 * The threads that check downloaded pieces, as the program starts them (dist/digest-worker.cjs, built by
 * `npm test`'s pretest).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HashThreads from "../../../src/services/pieces/HashThreads.js"
import { randomBytes } from "../../support/torrents.js"

const script = path.resolve("dist/digest-worker.cjs")
const sha1 = (data: Uint8Array) => createHash("sha1").update(data).digest()

/** `bytes` copied into shared memory, at `offset`. */
const shared = (bytes: Uint8Array, offset: number) => {
  const view = new Uint8Array(new SharedArrayBuffer(offset + bytes.length), offset, bytes.length)
  view.set(bytes)
  return view
}

describe("HashThreads", () => {
  it.scoped("hashes pieces in shared memory on its threads, many at once, each to its own digest", () =>
    Effect.gen(function* () {
      const threads = yield* HashThreads.make(2, script)
      const pieces = Array.from({ length: 24 }, (_, i) => shared(randomBytes(65536 + i, i + 1), 4096 * (i % 3)))
      const digests = yield* Effect.forEach(pieces, threads.sha1, { concurrency: "unbounded" })
      expect(digests.map((d) => Buffer.from(d).toString("hex"))).toEqual(pieces.map((p) => sha1(p).toString("hex")))
    }))

  it.scoped("hashes ordinary memory on the calling thread", () =>
    Effect.gen(function* () {
      const threads = yield* HashThreads.make(1, script)
      const piece = randomBytes(10000, 3)
      expect(Buffer.from(yield* threads.sha1(piece)).equals(sha1(piece))).toBe(true)
    }))

  it.scopedLive("answers every piece when its threads die: on the calling thread", () =>
    Effect.gen(function* () {
      // A "worker" that ends at once, as a crashed one does.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hash-threads-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const dying = path.join(dir, "dying.cjs")
      fs.writeFileSync(dying, "process.exit(3)\n")
      const threads = yield* HashThreads.make(2, dying)
      const pieces = Array.from({ length: 6 }, (_, i) => shared(randomBytes(30000, 40 + i), 0))
      const early = yield* Effect.forEach(pieces, threads.sha1, { concurrency: "unbounded" })
      yield* Effect.sleep("200 millis")
      const late = yield* threads.sha1(pieces[0]!)
      expect([...early, late].map((d) => Buffer.from(d).toString("hex"))).toEqual(
        [...pieces, pieces[0]!].map((p) => sha1(p).toString("hex"))
      )
    }))
})
