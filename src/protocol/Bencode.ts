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
  const maxBytes = options?.maxBytes ?? defaultLimits.maxBytes
  const len = bytes.length
  if (len > maxBytes) fail("TooLarge", 0, `input of ${len} bytes exceeds the limit of ${maxBytes}`)
  if (len === 0) fail("Empty", 0, "empty input")
  const decoder = new Decoder(
    bytes,
    options?.maxDepth ?? defaultLimits.maxDepth,
    options?.maxTokens ?? defaultLimits.maxTokens
  )
  return decoder.run(options?.allowTrailing === true)
}

/**
 * One decode: the input, where we are in it, and the lists and dictionaries open there, innermost last
 * (our own stack, so that nesting is bounded by `maxDepth` and never by the JavaScript stack). Each step
 * reads one token: a dictionary's key or end, or a value, or a list's end.
 */
class Decoder {
  private pos = 0
  private tokens = 0
  /** The deepest nesting seen. */
  private depth = 0
  /** Where the top-level dictionary's `info` value starts, once its key is read. */
  private infoStart = -1
  private infoSpan: Span | undefined = undefined
  private root: Bencode | undefined = undefined
  private done = false
  private readonly stack: Array<Frame> = []
  private readonly unsorted: Array<string> = []

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxTokens: number
  ) {}

  run(allowTrailing: boolean): Decoded {
    const len = this.bytes.length
    const stack = this.stack
    while (!this.done) {
      if (this.pos >= len) fail("Truncated", len, stack.length > 0 ? "input ends inside a list or dictionary" : "input ends")
      if (++this.tokens > this.maxTokens) fail("TooManyTokens", this.pos, `more than ${this.maxTokens} values`)
      const top = stack[stack.length - 1]
      if (top !== undefined && top.dict !== undefined && top.key === undefined) this.keyOrEnd(top)
      else this.value(top)
    }
    const pos = this.pos
    const trailing = len - pos
    if (trailing > 0 && !allowTrailing) fail("TrailingData", pos, `${trailing} byte(s) after the value`)
    return { value: this.root!, end: pos, trailing, unsorted: this.unsorted, infoSpan: this.infoSpan, depth: this.depth }
  }

  /** A dictionary expects a key or its end. */
  private keyOrEnd(top: DictFrame): void {
    const c = this.bytes[this.pos]!
    const stack = this.stack
    if (c === C.e) {
      this.pos++
      stack.pop()
      if (!top.sorted) this.unsorted.push(pathOf([...stack, top], stack.length))
      this.deliver(top.dict)
      return
    }
    if (!isDigit(c)) fail("NonStringKey", this.pos, `dictionary key is not a byte string (found ${describe(c)})`)
    const keyAt = this.pos
    const key = keyFromBytes(this.readString())
    if (top.last !== undefined) {
      if (key === top.last || top.dict.has(key)) fail("DuplicateKey", keyAt, `duplicate dictionary key '${key}'`)
      if (key < top.last) top.sorted = false
    }
    top.last = key
    top.key = key
    if (stack.length === 1 && key === "info") this.infoStart = this.pos
  }

  /** A value (an integer, a string, a list or dictionary opening), or the end of a list. */
  private value(top: Frame | undefined): void {
    const c = this.bytes[this.pos]!
    switch (c) {
      case C.i:
        this.deliver(this.readInteger())
        break
      case C.l: {
        const at = top === undefined ? undefined : top.list !== undefined ? top.list.length : top.key
        this.push({ list: [], dict: undefined, at })
        this.pos++
        break
      }
      case C.d: {
        const at = top === undefined ? undefined : top.list !== undefined ? top.list.length : top.key
        this.push({ list: undefined, dict: new Map(), at, start: this.pos, key: undefined, last: undefined, sorted: true })
        this.pos++
        break
      }
      case C.e:
        if (top === undefined || top.list === undefined) {
          fail("UnexpectedByte", this.pos, top === undefined ? "unexpected 'e'" : "dictionary key without a value")
        }
        this.pos++
        this.stack.pop()
        this.deliver(top!.list!)
        break
      default:
        if (isDigit(c)) this.deliver(this.readString())
        else if (c === C.minus || c === C.plus) fail("InvalidLength", this.pos, "string length with a sign")
        else fail("UnexpectedByte", this.pos, `unexpected ${describe(c)}`)
    }
  }

  /** Reads `<digits>:` and the string after it, returned as a view of the input. */
  private readString(): Uint8Array {
    const bytes = this.bytes
    const len = bytes.length
    const start = this.pos
    let pos = start
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
    this.pos = pos + n
    return bytes.subarray(pos, pos + n)
  }

  /** Reads `i<digits>e`: a number when it is a safe integer, else a bigint (exact). */
  private readInteger(): number | bigint {
    const bytes = this.bytes
    const len = bytes.length
    const start = this.pos
    const first = start + 1 // after 'i'
    let end = first
    while (end < len && bytes[end] !== C.e) {
      if (end - first > maxIntegerChars) fail("InvalidInteger", start, `integer longer than ${maxIntegerChars} characters`)
      end++
    }
    if (end >= len) fail("Truncated", len, "input ends inside an integer")
    let p = first
    const negative = bytes[p] === C.minus
    if (negative) p++
    if (bytes[p] === C.plus) fail("PlusSign", p, "integer with a '+' sign")
    if (p === end) fail("InvalidInteger", start, "integer without digits")
    for (let q = p; q < end; q++) {
      if (!isDigit(bytes[q]!)) fail("InvalidInteger", q, `unexpected ${describe(bytes[q]!)} in an integer`)
    }
    if (bytes[p] === C.zero && end - p > 1) fail("LeadingZero", p, "integer with a leading zero")
    if (negative && bytes[p] === C.zero) fail("NegativeZero", start, "negative zero")
    this.pos = end + 1
    const digits = end - p
    if (digits <= 15) {
      let n = 0
      for (let q = p; q < end; q++) n = n * 10 + (bytes[q]! - C.zero)
      return negative ? -n : n
    }
    const big = BigInt(Buffer.from(bytes.buffer, bytes.byteOffset + first, end - first).toString("latin1"))
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  /** A complete value goes into the list or dictionary open around it, or is the result. */
  private deliver(value: Bencode): void {
    const stack = this.stack
    const top = stack[stack.length - 1]
    if (top === undefined) {
      this.root = value
      this.done = true
    } else if (top.list !== undefined) {
      top.list.push(value)
    } else {
      top.dict.set(top.key!, value)
      if (stack.length === 1 && this.infoStart >= 0 && this.infoSpan === undefined && top.key === "info") {
        this.infoSpan = { start: this.infoStart, end: this.pos }
      }
      top.key = undefined
    }
  }

  private push(frame: Frame): void {
    if (this.stack.length + 1 > this.maxDepth) fail("TooDeep", this.pos, `nesting deeper than ${this.maxDepth}`)
    this.stack.push(frame)
    if (this.stack.length > this.depth) this.depth = this.stack.length
  }
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
