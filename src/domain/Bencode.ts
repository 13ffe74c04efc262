/**
 * The bencode value type (BEP 3).
 *
 * Byte strings are `Uint8Array` (often views into the decoded buffer), integers are exact (`number` when
 * safe, `bigint` beyond 2^53), lists are arrays and dictionaries are `Map`s keyed by the raw key bytes as a
 * latin1 string (one char per byte, so the mapping is lossless and key order compares as byte order).
 */
import * as Schema from "effect/Schema"

export type Bencode = Uint8Array | number | bigint | BencodeList | BencodeDict
export interface BencodeList extends ReadonlyArray<Bencode> {}
export interface BencodeDict extends ReadonlyMap<string, Bencode> {}

export const isBytes = (u: unknown): u is Uint8Array => u instanceof Uint8Array
export const isInteger = (u: unknown): u is number | bigint =>
  (typeof u === "number" && Number.isSafeInteger(u)) || typeof u === "bigint"
export const isList = (u: unknown): u is BencodeList => Array.isArray(u)
export const isDict = (u: unknown): u is BencodeDict => u instanceof Map

/** A structural check, iterative so that deep values cannot overflow the stack. */
export const isBencode = (u: unknown): u is Bencode => {
  const stack: Array<unknown> = [u]
  while (stack.length > 0) {
    const v = stack.pop()
    if (isBytes(v) || isInteger(v)) continue
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
      continue
    }
    if (v instanceof Map) {
      for (const [k, item] of v) {
        if (typeof k !== "string") return false
        stack.push(item)
      }
      continue
    }
    return false
  }
  return true
}

/** The Schema of an already decoded bencode value. */
export const BencodeValue: Schema.Schema<Bencode> = Schema.declare(isBencode, {
  identifier: "Bencode",
  description: "a bencode value: bytes, integer, list or dictionary"
})

/** Dictionary keys are raw bytes held as latin1 strings. */
export const keyFromBytes = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

export const keyToBytes = (key: string): Uint8Array => Buffer.from(key, "latin1")

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder("utf-8", { fatal: true })

/** Bytes of a JS string, as UTF-8. */
export const bytes = (s: string): Uint8Array => utf8.encode(s)

/** The UTF-8 text of a byte string, or undefined when it is not valid UTF-8. */
export const text = (b: Uint8Array): string | undefined => {
  try {
    return utf8Strict.decode(b)
  } catch {
    return undefined
  }
}

/** A dictionary with its keys in canonical (byte) order. */
export const dict = (entries: Iterable<readonly [string, Bencode]>): BencodeDict =>
  new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/** Structural equality of two bencode values (bytes by content, integers by value). */
export const equals = (a: Bencode, b: Bencode): boolean => {
  const stack: Array<readonly [Bencode, Bencode]> = [[a, b]]
  while (stack.length > 0) {
    const [x, y] = stack.pop()!
    if (isBytes(x)) {
      if (!isBytes(y) || x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
    } else if (typeof x === "number" || typeof x === "bigint") {
      if ((typeof y !== "number" && typeof y !== "bigint") || BigInt(x) !== BigInt(y)) return false
    } else if (isList(x)) {
      if (!isList(y) || x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) stack.push([x[i]!, y[i]!])
    } else {
      if (!isDict(y) || x.size !== y.size) return false
      for (const [k, v] of x) {
        const w = y.get(k)
        if (w === undefined) return false
        stack.push([v, w])
      }
    }
  }
  return true
}
