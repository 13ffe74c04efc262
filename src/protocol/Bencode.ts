/**
 * The bencode codec: a strict, iterative decoder and a canonical encoder.
 *
 * Strict means: no leading zeros, no `-0`, no `+`, no duplicate keys, string keys only, no length past
 * the end, nothing after the value unless asked. Unsorted keys are accepted (they exist in the wild) and
 * reported, because the info hash is always taken over the raw bytes, never over a re-encoding.
 *
 * Limits (see `DecodeLimits`): nesting depth 100 (as libtorrent), 2,000,000 tokens, 64 MiB of input and
 * 128 characters per integer. The decoder keeps its own stack, so a 10,000-deep input fails with
 * `TooDeep` rather than overflowing the JavaScript stack.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, BencodeValue, type BencodeDict, isBytes, isDict, isList, keyFromBytes } from "../domain/Bencode.js"
import { BencodeError, type BencodeErrorReason } from "../domain/Errors.js"
import { fromCodec } from "./CodecSchema.js"

export interface DecodeLimits {
  /** Deepest nesting of lists and dictionaries; a top-level list is depth 1. */
  readonly maxDepth: number
  /** Largest input accepted, in bytes. */
  readonly maxBytes: number
  /** Most values (strings, integers, lists, dictionaries) in one input. */
  readonly maxTokens: number
}

export const defaultLimits: DecodeLimits = { maxDepth: 100, maxBytes: 64 * 1024 * 1024, maxTokens: 2_000_000 }

/** The longest integer token accepted, in characters; longer ones are refused before any BigInt work. */
export const maxIntegerChars = 128

export interface DecodeOptions extends Partial<DecodeLimits> {
  /** Accept bytes after the top-level value (their count is in `trailing`). */
  readonly allowTrailing?: boolean
}

export interface Span {
  readonly start: number
  readonly end: number
}

export interface Decoded {
  readonly value: Bencode
  /** Offset just after the top-level value. */
  readonly end: number
  /** Bytes after the top-level value (0 unless `allowTrailing`). */
  readonly trailing: number
  /** Paths (like `/info/files[0]`) of dictionaries whose keys are not in byte order. */
  readonly unsorted: ReadonlyArray<string>
  /** The raw byte span of the top-level dictionary's `info` value, when there is one. */
  readonly infoSpan: Span | undefined
  /** The deepest nesting seen. */
  readonly depth: number
}

const enum C {
  e = 0x65,
  i = 0x69,
  l = 0x6c,
  d = 0x64,
  colon = 0x3a,
  minus = 0x2d,
  plus = 0x2b,
  zero = 0x30,
  nine = 0x39
}

class Failure {
  constructor(readonly reason: BencodeErrorReason, readonly offset: number, readonly detail: string) {}
}

interface ListFrame {
  readonly list: Array<Bencode>
  readonly dict: undefined
  readonly at: string | number | undefined
}
interface DictFrame {
  readonly list: undefined
  readonly dict: Map<string, Bencode>
  readonly at: string | number | undefined
  readonly start: number
  key: string | undefined
  last: string | undefined
  sorted: boolean
}
type Frame = ListFrame | DictFrame

const fail = (reason: BencodeErrorReason, offset: number, detail: string): never => {
  throw new Failure(reason, offset, detail)
}

const isDigit = (c: number) => c >= C.zero && c <= C.nine

const describe = (c: number) =>
  c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, "0")}`

const pathOf = (stack: ReadonlyArray<Frame>, upTo: number): string => {
  let path = ""
  for (let i = 1; i <= upTo; i++) {
    const at = stack[i]!.at
    path += typeof at === "number" ? `[${at}]` : `/${Buffer.from(at ?? "", "latin1").toString("utf8")}`
  }
  return path === "" ? "/" : path
}

/** Decode one bencode value from `bytes`. Never throws. */
export const decode = (bytes: Uint8Array, options?: DecodeOptions): Either.Either<Decoded, BencodeError> => {
  try {
    return Either.right(decodeOrThrow(bytes, options))
  } catch (e) {
    if (e instanceof Failure) return Either.left(new BencodeError(e))
    throw e
  }
}

const decodeOrThrow = (bytes: Uint8Array, options?: DecodeOptions): Decoded => {
  const maxDepth = options?.maxDepth ?? defaultLimits.maxDepth
  const maxBytes = options?.maxBytes ?? defaultLimits.maxBytes
  const maxTokens = options?.maxTokens ?? defaultLimits.maxTokens
  const len = bytes.length
  if (len > maxBytes) fail("TooLarge", 0, `input of ${len} bytes exceeds the limit of ${maxBytes}`)
  if (len === 0) fail("Empty", 0, "empty input")

  const stack: Array<Frame> = []
  const unsorted: Array<string> = []
  let pos = 0
  let tokens = 0
  let depth = 0
  let infoStart = -1
  let infoSpan: Span | undefined
  let root: Bencode | undefined
  let done = false

  // Reads `<digits>:` at pos and returns the string's bytes as a view.
  const readString = (): Uint8Array => {
    const start = pos
    let n = 0
    let digits = 0
    while (pos < len) {
      const c = bytes[pos]!
      if (c === C.colon) break
      if (!isDigit(c)) {
        if (c === C.minus || c === C.plus) fail("InvalidLength", pos, "string length with a sign")
        fail("UnexpectedByte", pos, `expected a digit or ':' in a string length, found ${describe(c)}`)
      }
      if (digits === 1 && bytes[start] === C.zero) fail("LeadingZero", start, "string length with a leading zero")
      // Beyond 15 digits the length cannot fit in any input we accept; keep counting to report it.
      if (digits < 16) n = n * 10 + (c - C.zero)
      digits++
      pos++
    }
    if (pos >= len) fail("Truncated", len, "input ends inside a string length")
    pos++ // ':'
    if (digits > 15 || n > len - pos) {
      fail("LengthPastEnd", start, `string length ${digits > 15 ? "of " + digits + " digits" : n} runs past the end`)
    }
    const s = bytes.subarray(pos, pos + n)
    pos += n
    return s
  }

  const readInteger = (): number | bigint => {
    const start = pos
    pos++ // 'i'
    let end = pos
    while (end < len && bytes[end] !== C.e) {
      if (end - pos > maxIntegerChars) fail("InvalidInteger", start, `integer longer than ${maxIntegerChars} characters`)
      end++
    }
    if (end >= len) fail("Truncated", len, "input ends inside an integer")
    let p = pos
    const negative = bytes[p] === C.minus
    if (negative) p++
    if (bytes[p] === C.plus) fail("PlusSign", p, "integer with a '+' sign")
    if (p === end) fail("InvalidInteger", start, "integer without digits")
    for (let q = p; q < end; q++) {
      if (!isDigit(bytes[q]!)) fail("InvalidInteger", q, `unexpected ${describe(bytes[q]!)} in an integer`)
    }
    if (bytes[p] === C.zero && end - p > 1) fail("LeadingZero", p, "integer with a leading zero")
    if (negative && bytes[p] === C.zero) fail("NegativeZero", start, "negative zero")
    pos = end + 1
    const digits = end - p
    if (digits <= 15) {
      let n = 0
      for (let q = p; q < end; q++) n = n * 10 + (bytes[q]! - C.zero)
      return negative ? -n : n
    }
    const big = BigInt(Buffer.from(bytes.buffer, bytes.byteOffset + start + 1, end - start - 1).toString("latin1"))
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  const deliver = (value: Bencode) => {
    const top = stack[stack.length - 1]
    if (top === undefined) {
      root = value
      done = true
    } else if (top.list !== undefined) {
      top.list.push(value)
    } else {
      top.dict.set(top.key!, value)
      if (stack.length === 1 && infoStart >= 0 && infoSpan === undefined && top.key === "info") {
        infoSpan = { start: infoStart, end: pos }
      }
      top.key = undefined
    }
  }

  const push = (frame: Frame) => {
    if (stack.length + 1 > maxDepth) fail("TooDeep", pos, `nesting deeper than ${maxDepth}`)
    stack.push(frame)
    if (stack.length > depth) depth = stack.length
  }

  while (!done) {
    if (pos >= len) fail("Truncated", len, stack.length > 0 ? "input ends inside a list or dictionary" : "input ends")
    if (++tokens > maxTokens) fail("TooManyTokens", pos, `more than ${maxTokens} values`)
    const c = bytes[pos]!
    const top = stack[stack.length - 1]

    if (top !== undefined && top.dict !== undefined && top.key === undefined) {
      // A dictionary expects a key or its end.
      if (c === C.e) {
        pos++
        stack.pop()
        if (!top.sorted) unsorted.push(pathOf([...stack, top], stack.length))
        deliver(top.dict)
        continue
      }
      if (!isDigit(c)) fail("NonStringKey", pos, `dictionary key is not a byte string (found ${describe(c)})`)
      const keyAt = pos
      const key = keyFromBytes(readString())
      if (top.last !== undefined) {
        if (key === top.last || top.dict.has(key)) fail("DuplicateKey", keyAt, `duplicate dictionary key '${key}'`)
        if (key < top.last) top.sorted = false
      }
      top.last = key
      top.key = key
      if (stack.length === 1 && key === "info") infoStart = pos
      continue
    }

    switch (c) {
      case C.i:
        deliver(readInteger())
        break
      case C.l: {
        const at = top === undefined ? undefined : top.list !== undefined ? top.list.length : top.key
        push({ list: [], dict: undefined, at })
        pos++
        break
      }
      case C.d: {
        const at = top === undefined ? undefined : top.list !== undefined ? top.list.length : top.key
        push({ list: undefined, dict: new Map(), at, start: pos, key: undefined, last: undefined, sorted: true })
        pos++
        break
      }
      case C.e:
        if (top === undefined || top.list === undefined) {
          fail("UnexpectedByte", pos, top === undefined ? "unexpected 'e'" : "dictionary key without a value")
        }
        pos++
        stack.pop()
        deliver(top!.list!)
        break
      default:
        if (isDigit(c)) deliver(readString())
        else if (c === C.minus || c === C.plus) fail("InvalidLength", pos, "string length with a sign")
        else fail("UnexpectedByte", pos, `unexpected ${describe(c)}`)
    }
  }

  const trailing = len - pos
  if (trailing > 0 && options?.allowTrailing !== true) {
    fail("TrailingData", pos, `${trailing} byte(s) after the value`)
  }
  return { value: root!, end: pos, trailing, unsorted, infoSpan, depth }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

const sortedKeys = (d: BencodeDict): ReadonlyArray<string> => {
  const keys = [...d.keys()]
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! >= keys[i]!) return keys.sort()
  }
  return keys
}

const digitsOf = (n: number | bigint) => String(n)

const sizeOf = (v: Bencode): number => {
  if (isBytes(v)) return digitsOf(v.length).length + 1 + v.length
  if (typeof v === "number" || typeof v === "bigint") return digitsOf(v).length + 2
  let n = 2
  if (isList(v)) {
    for (const item of v) n += sizeOf(item)
  } else {
    for (const [k, item] of v) n += digitsOf(k.length).length + 1 + k.length + sizeOf(item)
  }
  return n
}

const write = (v: Bencode, out: Buffer, pos: number): number => {
  if (isBytes(v)) {
    pos += out.write(`${v.length}:`, pos, "latin1")
    out.set(v, pos)
    return pos + v.length
  }
  if (typeof v === "number" || typeof v === "bigint") {
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new RangeError(`bencode integer not exact: ${v}`)
    return pos + out.write(`i${digitsOf(v)}e`, pos, "latin1")
  }
  if (isList(v)) {
    out[pos++] = C.l
    for (const item of v) pos = write(item, out, pos)
  } else if (isDict(v)) {
    out[pos++] = C.d
    for (const k of sortedKeys(v)) {
      pos += out.write(`${k.length}:`, pos, "latin1")
      pos += out.write(k, pos, "latin1")
      pos = write(v.get(k)!, out, pos)
    }
  }
  out[pos++] = C.e
  return pos
}

/** Encode a value canonically (dictionary keys in byte order). */
export const encode = (value: Bencode): Uint8Array => {
  const out = Buffer.allocUnsafe(sizeOf(value))
  write(value, out, 0)
  return out
}

/** Bencode bytes <-> bencode value, strict, with the default limits. */
export const BencodeFromBytes: Schema.Schema<Bencode, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, BencodeValue, {
  decode: (bytes) => Either.map(Either.mapLeft(decode(bytes), (e) => e.message), (d) => d.value),
  encode: (value) => encode(value)
})
