/**
 * Fuzzing Message Stream Encryption's handshake machines (src/protocol/Mse.ts): arbitrary bytes and
 * mutated real handshakes, in random chunks, to the answering side and to the dialling side.
 *
 * Neither may throw. A stream that is not a handshake ends in an error within the spec's bounds: the
 * answering side has failed once 96 + 628 bytes came without HASH('req1', S), the dialling side once
 * 96 + 616 came without ENCRYPT(VC); after an error nothing more is read. A handshake with a byte changed
 * either still completes (a byte of padding) for our torrent, or fails, or waits for bytes that its
 * bounded lengths still allow, never more than the largest handshake.
 */
import { createHash } from "node:crypto"
import { describe, expect } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Mse from "../../src/protocol/Mse.js"
import { anyBytes, fuzz, runDecoder } from "./support.js"

const infoHash = new Uint8Array(createHash("sha1").update("fuzzed torrent").digest())
const find = (req2: Uint8Array) => (Buffer.compare(req2, Mse.req2(infoHash)) === 0 ? infoHash : undefined)

const seeded = (seed: number) => (n: number) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    out[i] = seed >>> 24
  }
  return out
}

const chunked = (stream: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((p) => (stream.length === 0 ? 0 : p % stream.length)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...at, stream.length]) {
    if (cut > from) out.push(stream.subarray(from, cut))
    from = Math.max(from, cut)
  }
  return out
}

/** The largest handshake the answering side reads: Ya, PadA, req1-3, VC, provide, PadC, IA. */
const largestResponderInput = 96 + Mse.maxReq1Search + 20 + 14 + Mse.maxPad + 2 + Mse.maxInitialPayload

interface Fed {
  readonly error: string | undefined
  readonly done: Mse.Outcome | undefined
  /** Bytes given before the push that ended it (or all, if none did). */
  readonly before: number
}

const feed = (machine: Mse.Machine, chunks: ReadonlyArray<Uint8Array>, name: string): Fed => {
  let before = 0
  let error: string | undefined
  let done: Mse.Outcome | undefined
  for (const chunk of chunks) {
    const step = runDecoder(name, () => machine.push(chunk))
    if (error !== undefined || done !== undefined) {
      // Once over, nothing more is read or written.
      expect(step.write.length).toBe(0)
      expect(step.error).toBeUndefined()
      expect(step.done).toBeUndefined()
      continue
    }
    error = step.error
    done = step.done
    if (error === undefined && done === undefined) before += chunk.length
  }
  return { error, done, before }
}

const garbage = FastCheck.record({ stream: anyBytes, cuts: FastCheck.array(FastCheck.nat(), { maxLength: 16 }), seed: FastCheck.nat() })

/** The bytes a real initiator sends a responder whose randomness is `seed`, and one byte of it changed. */
const mutatedHandshake = FastCheck.record({
  seed: FastCheck.nat(),
  at: FastCheck.nat(),
  xor: FastCheck.integer({ min: 1, max: 255 }),
  cut: FastCheck.option(FastCheck.nat(), { nil: undefined }),
  cuts: FastCheck.array(FastCheck.nat(), { maxLength: 8 })
})

describe("fuzz: MSE handshake", () => {
  fuzz("Mse.responder: arbitrary bytes in random chunks", garbage, ({ stream, cuts, seed }) => {
    const machine = Mse.responder({ policy: "prefer", find, random: seeded(seed) })
    const fed = feed(machine, chunked(stream, cuts), "Mse.responder.push")
    expect(fed.done).toBeUndefined()
    if (stream.length >= Mse.keyLength + Mse.maxReq1Search) expect(fed.error).toBeDefined()
    expect(fed.before).toBeLessThan(Mse.keyLength + Mse.maxReq1Search)
  }, 300)

  fuzz("Mse.initiator: arbitrary bytes in random chunks", garbage, ({ stream, cuts, seed }) => {
    const machine = Mse.initiator(infoHash, "prefer", { random: seeded(seed) })
    machine.start()
    const fed = feed(machine, chunked(stream, cuts), "Mse.initiator.push")
    expect(fed.done).toBeUndefined()
    if (stream.length >= Mse.keyLength + Mse.maxVcSearch) expect(fed.error).toBeDefined()
    expect(fed.before).toBeLessThan(Mse.keyLength + Mse.maxVcSearch)
  }, 300)

  fuzz("Mse.responder: a real handshake with one byte changed, or cut short", mutatedHandshake, ({ at, cut, cuts, seed, xor }) => {
    const initiator = Mse.initiator(infoHash, "prefer", { random: seeded(seed + 1) })
    const probe = Mse.responder({ policy: "prefer", find, random: seeded(seed) })
    const ya = Buffer.concat(initiator.start().write)
    const yb = Buffer.concat(probe.push(ya).write)
    const step3 = Buffer.concat(initiator.push(yb).write)
    const stream = Uint8Array.from(Buffer.concat([ya, step3]))
    stream[at % stream.length]! ^= xor
    const sent = cut === undefined ? stream : stream.subarray(0, cut % stream.length)
    const fed = feed(Mse.responder({ policy: "prefer", find, random: seeded(seed) }), chunked(sent, cuts), "Mse.responder.push")
    if (fed.done !== undefined) expect(Buffer.compare(fed.done.infoHash, infoHash)).toBe(0)
    expect(fed.before).toBeLessThanOrEqual(largestResponderInput)
  }, 300)
})
