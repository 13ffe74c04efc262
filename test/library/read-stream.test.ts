/**
 * The Promise face's Readable over an Effect Stream (src/library/ReadStream.ts): pulled only as read,
 * ended at the stream's end, its typed error emitted, and, destroyed early, its pull in flight interrupted
 * and its stream's scope closed (what the stream held released).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import { toReadable } from "../../src/library/ReadStream.js"
import { StorageError } from "../../src/library/index.js"

const bytes = (n: number) => new Uint8Array([n, n, n])

/** A stream that notes when its resource is taken and released, and each element pulled. */
const watched = <E>(rest: Stream.Stream<Uint8Array, E>) => {
  const log: Array<string> = []
  const stream = Stream.unwrapScoped(
    Effect.as(
      Effect.acquireRelease(Effect.sync(() => log.push("acquired")), () => Effect.sync(() => log.push("released"))),
      Stream.concat(Stream.make(bytes(1), bytes(2)), rest).pipe(Stream.tap((b) => Effect.sync(() => log.push(`pulled ${b[0]}`))))
    )
  )
  return { log, stream }
}

describe("library: a Stream as a Node Readable", () => {
  it("gives the stream's bytes, ends, and releases what it held", async () => {
    const { log, stream } = watched(Stream.make(bytes(3)))
    const readable = toReadable(stream)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(log).toEqual([])
    const chunks: Array<Buffer> = []
    for await (const chunk of readable) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([1, 1, 1, 2, 2, 2, 3, 3, 3]))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(log.at(-1)).toBe("released")
  })

  it("emits the stream's error itself", async () => {
    const error = new StorageError({ reason: "Read", path: "x", detail: "gone" })
    const readable = toReadable(watched(Stream.fail(error)).stream)
    readable.resume()
    expect(await new Promise((resolve) => readable.once("error", resolve))).toBe(error)
  })

  it("destroyed while waiting, interrupts the wait and releases what the stream held", async () => {
    const { log, stream } = watched(Stream.never)
    const readable = toReadable(stream)
    const events: Array<string> = []
    readable.on("data", (b: Buffer) => events.push(`data ${b[0]}`))
    readable.on("error", () => events.push("error"))
    readable.on("end", () => events.push("end"))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(log).toEqual(["acquired", "pulled 1", "pulled 2"])
    readable.destroy()
    await new Promise((resolve) => readable.once("close", resolve))
    expect(log).toEqual(["acquired", "pulled 1", "pulled 2", "released"])
    expect(events).toEqual(["data 1", "data 2"])
  })
})
