/**
 * Fuzzing what DHT nodes send (src/protocol/Krpc.ts `decode`, and KrpcNodes.ts `decodeNodes`): every
 * datagram a UDP socket delivers goes through `decode`, from anyone on the Internet.
 *
 * Inputs: arbitrary bytes, bencode soup in KRPC's own keys, bencode values, valid messages whose fields
 * are replaced by junk or removed (which reaches each field's check), byte and bencode mutations of valid
 * datagrams, and long repeated patterns (far over the 8 KiB limit). Each must answer with a message or a
 * `KrpcError` of a known reason, in bounded time. What it accepts must be a valid message by its Schema,
 * decode the same again once re-encoded, and be what the Schema codec gives too; a refusal carries a
 * transaction id only when it is 1..32 bytes that the input holds, and anything over 8 KiB is TooLarge.
 */
import { describe, expect } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { type Bencode, type BencodeDict, isDict } from "../../src/domain/Bencode.js"
import { KrpcError, KrpcErrorReason } from "../../src/domain/Errors.js"
import * as Bencoding from "../../src/protocol/Bencode.js"
import { parseIp } from "../../src/protocol/CompactPeers.js"
import * as Krpc from "../../src/protocol/Krpc.js"
import { datagram } from "../support/krpcArbitraries.js"
import { mutated } from "./mutations.js"
import { anyBytes, bencodeTokens, bencodeValue, fuzz, repeated, runDecoder, tokenSoup } from "./support.js"

const isReason = Schema.is(KrpcErrorReason)
const isMessage = Schema.is(Krpc.KrpcMessage)
const viaSchema = Schema.decodeUnknownEither(Krpc.KrpcMessageFromBytes)

const krpcKeys = [
  "t", "y", "q", "r", "e", "a", "v", "ro", "ip", "id", "target", "info_hash", "port", "implied_port", "token",
  "nodes", "nodes6", "values", "want", "n4", "n6", "ping", "find_node", "get_peers", "announce_peer"
]

const contains = (haystack: Uint8Array, needle: Uint8Array) => Buffer.from(haystack).includes(Buffer.from(needle))

// ---------------------------------------------------------------------------------------------------------
// Inputs

/** A key of a message's top level, or of its `a` or `r`, to give a value or (undefined) to remove. */
interface FieldEdit {
  readonly where: "top" | "inner"
  readonly key: string
  readonly value: Bencode | undefined
}

const fieldEdit: FastCheck.Arbitrary<FieldEdit> = FastCheck.record({
  where: FastCheck.constantFrom("top" as const, "inner" as const),
  key: FastCheck.constantFrom(...krpcKeys),
  value: FastCheck.option(bencodeValue([]), { nil: undefined, freq: 3 })
})

const edit = (m: BencodeDict, { where, key, value }: FieldEdit): BencodeDict => {
  const inner = m.get("a") ?? m.get("r")
  const target = new Map(where === "inner" && isDict(inner) ? inner : m)
  if (value === undefined) target.delete(key)
  else target.set(key, value)
  if (where === "top" || !isDict(inner)) return target
  const top = new Map<string, Bencode>(m)
  top.set(m.has("a") ? "a" : "r", target)
  return top
}

/** Valid datagrams with fields removed or given junk values: each field's check gets reached. */
const editedMessages: FastCheck.Arbitrary<Uint8Array> = FastCheck.tuple(
  datagram,
  FastCheck.array(fieldEdit, { minLength: 1, maxLength: 3 })
).map(([bytes, edits]) => {
  const value = Either.getOrThrow(Bencoding.decode(bytes)).value
  if (!isDict(value)) return bytes
  return Bencoding.encode(edits.reduce<BencodeDict>(edit, value))
})

// ---------------------------------------------------------------------------------------------------------
// Checks

const checkDecode = (bytes: Uint8Array): void => {
  const result = runDecoder("Krpc.decode", () => Krpc.decode(bytes))
  if (Either.isLeft(result)) {
    const e = result.left
    expect(e).toBeInstanceOf(KrpcError)
    expect(isReason(e.reason), e.reason).toBe(true)
    if (bytes.length > Krpc.maxDatagramBytes) expect(e.reason).toBe("TooLarge")
    if (e.transactionId !== undefined) {
      expect(e.reason).toBe("Malformed")
      expect(e.transactionId.length >= 1 && e.transactionId.length <= Krpc.maxTransactionIdBytes).toBe(true)
      expect(contains(bytes, e.transactionId), "the transaction id is not from the input").toBe(true)
    }
    expect(Either.isLeft(viaSchema(bytes))).toBe(true)
    return
  }
  const m = result.right
  expect(bytes.length).toBeLessThanOrEqual(Krpc.maxDatagramBytes)
  expect(isMessage(m), JSON.stringify(m)).toBe(true)
  const again = Krpc.decode(Krpc.encode(m))
  expect(again).toEqual(Either.right(m))
  expect(viaSchema(bytes)).toEqual(Either.right(m))
}

const checkNodes = ([bytes, family]: readonly [Uint8Array, 4 | 6]): void => {
  const result = runDecoder("Krpc.decodeNodes", () => Krpc.decodeNodes(bytes, family))
  const size = Krpc.nodeEntryBytes(family)
  if (Either.isLeft(result)) {
    expect(result.left.reason).toBe("Malformed")
    expect(bytes.length % size).not.toBe(0)
    return
  }
  for (const node of result.right) {
    expect(node.id.length).toBe(20)
    expect(node.port >= 1 && node.port <= 65535).toBe(true)
    expect(parseIp(node.host)?.family).toBe(family)
  }
  const again = Krpc.encodeNodes(result.right, family)
  expect(again.length).toBe(result.right.length * size)
  // Only the entries with port 0 are gone.
  const kept = Array.from({ length: bytes.length / size }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
    .filter((entry) => entry[size - 2] !== 0 || entry[size - 1] !== 0)
  expect(Buffer.compare(again, Buffer.concat(kept))).toBe(0)
}

describe("fuzz: DHT messages", () => {
  fuzz("Krpc.decode: arbitrary bytes", anyBytes, checkDecode, 500)

  fuzz("Krpc.decode: bencode soup in KRPC's keys", tokenSoup(bencodeTokens(krpcKeys)), checkDecode, 500)

  fuzz("Krpc.decode: bencode values with KRPC's keys", bencodeValue(krpcKeys).map(Bencoding.encode), checkDecode, 500)

  fuzz("Krpc.decode: valid messages with fields removed or replaced", editedMessages, checkDecode, 800)

  fuzz("Krpc.decode: mutations of valid datagrams", mutated(datagram, { bencode: true }), checkDecode, 800)

  fuzz(
    "Krpc.decode: long repeated patterns",
    repeated(["d", "l", "i1e", "le", "1:a", "d1:t2:aae"], "d1:t2:aa1:y1:r1:rd2:id20:mnopqrstuvwxyz1234566:valuesl"),
    checkDecode,
    60
  )

  fuzz(
    "Krpc.decodeNodes: arbitrary node info of either family",
    FastCheck.tuple(anyBytes, FastCheck.constantFrom<4 | 6>(4, 6)),
    checkNodes,
    500
  )
})
