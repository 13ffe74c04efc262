/**
 * Mutations of valid inputs, for the fuzz tests: a valid encoding damaged a little reaches much deeper
 * into a decoder than random bytes do.
 *
 * Byte mutations: flips, interesting bytes, insertions, deletions, truncations, duplicated and repeated
 * spans (up to ~1 MiB, which finds quadratic paths), splices of two inputs. Bencode mutations work on
 * the spans of a tolerant scan of the input: change an integer or a string's length prefix, swap,
 * duplicate or drop dictionary entries, put one value in place of another (a list where a string was),
 * nest a value deeper, repeat a value thousands of times (a list of one file becomes 50,000 files).
 *
 * A mutation is a record of small numbers taken modulo what the input offers, so fast-check can shrink
 * it, and a counterexample is the final bytes.
 */
import * as FastCheck from "effect/FastCheck"
import { MiB } from "./support.js"

/** Inputs are kept under this size, which the time bound is set for. */
export const maxMutatedBytes = MiB

export interface Step {
  readonly kind: number
  readonly a: number
  readonly b: number
  readonly c: number
  readonly bytes: Uint8Array
}

interface Span {
  readonly start: number
  readonly end: number
}

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

const ascii = (s: string): Uint8Array => Buffer.from(s, "latin1")

const interestingBytes = ascii("\x00\xff\x7f\x80019:-+eildx%&=")

/** A span of `input` from two numbers: short spans mostly, any length when `c` is odd. */
const spanOf = (length: number, a: number, b: number, c: number): Span => {
  const start = a % length
  const room = length - start
  const size = 1 + (c % 2 === 0 ? b % Math.min(room, 16) : b % room)
  return { start, end: start + size }
}

const replace = (input: Uint8Array, span: Span, by: Uint8Array): Uint8Array =>
  concat(input.subarray(0, span.start), by, input.subarray(span.end))

type Mutation = (input: Uint8Array, step: Step, other: Uint8Array) => Uint8Array

// ---------------------------------------------------------------------------------------------------------
// Byte mutations (the input is never empty here)

const flipBit: Mutation = (input, { a, b }) => {
  const out = Uint8Array.from(input)
  out[a % out.length]! ^= 1 << (b % 8)
  return out
}

const setByte: Mutation = (input, { a, b }) => {
  const out = Uint8Array.from(input)
  out[a % out.length] = interestingBytes[b % interestingBytes.length]!
  return out
}

const insertBytes: Mutation = (input, { a, bytes }) => {
  const at = a % (input.length + 1)
  return concat(input.subarray(0, at), bytes, input.subarray(at))
}

const deleteSpan: Mutation = (input, { a, b, c }) => replace(input, spanOf(input.length, a, b, c), new Uint8Array(0))

const truncate: Mutation = (input, { a }) => input.subarray(0, a % input.length)

const duplicateSpan: Mutation = (input, { a, b, c }) => {
  const span = spanOf(input.length, a, b, c)
  const at = (a + c) % (input.length + 1)
  return concat(input.subarray(0, at), input.subarray(span.start, span.end), input.subarray(at))
}

/** A span repeated up to thousands of times in place: many entries, many keys, many parameters. */
const repeatSpan: Mutation = (input, { a, b, c }) => {
  const span = spanOf(input.length, a, b, c % 4 === 1 ? 1 : 0)
  const unit = input.subarray(span.start, span.end)
  const room = Math.floor((maxMutatedBytes - input.length) / unit.length)
  const times = Math.max(0, Math.min(room, c % 2 === 0 ? 2 + (c % 30) : 2 + (c % 20_000)))
  return replace(input, span, Buffer.alloc(unit.length * (times + 1), unit))
}

const splice: Mutation = (input, { a, b }, other) =>
  concat(input.subarray(0, a % (input.length + 1)), other.subarray(b % (other.length + 1)))

const insertOther: Mutation = (input, { a, b, c }, other) => {
  if (other.length === 0) return input
  const span = spanOf(other.length, b, c, a)
  const at = a % (input.length + 1)
  return concat(input.subarray(0, at), other.subarray(span.start, span.end), input.subarray(at))
}

const byteMutations: ReadonlyArray<Mutation> = [
  flipBit, setByte, insertBytes, deleteSpan, truncate, duplicateSpan, repeatSpan, splice, insertOther
]

// ---------------------------------------------------------------------------------------------------------
// Bencode mutations

interface Scan {
  /** The digits of each integer. */
  readonly integers: Array<Span>
  /** The length prefix of each string. */
  readonly lengths: Array<Span>
  /** Every complete value. */
  readonly values: Array<Span>
  /** Each dictionary's entries, key and value. */
  readonly dicts: Array<Array<Span>>
}

interface Container {
  readonly dict: boolean
  readonly start: number
  readonly entries: Array<Span>
  keyStart: number
}

/** The spans of `b` read as bencode, as far as it reads; never fails. */
export const scan = (b: Uint8Array): Scan => {
  const out: Scan = { integers: [], lengths: [], values: [], dicts: [] }
  const stack: Array<Container> = []
  const complete = (start: number, end: number) => {
    out.values.push({ start, end })
    const top = stack[stack.length - 1]
    if (top === undefined || !top.dict) return
    if (top.keyStart < 0) top.keyStart = start
    else {
      top.entries.push({ start: top.keyStart, end })
      top.keyStart = -1
    }
  }
  let pos = 0
  while (pos < b.length) {
    const c = b[pos]!
    if (c === 0x65) {
      const top = stack.pop()
      if (top === undefined) break
      pos++
      if (top.dict) out.dicts.push(top.entries)
      complete(top.start, pos)
    } else if (c === 0x6c || c === 0x64) {
      stack.push({ dict: c === 0x64, start: pos, entries: [], keyStart: -1 })
      pos++
    } else if (c === 0x69) {
      const end = b.indexOf(0x65, pos + 1)
      if (end < 0 || end - pos > 130) break
      out.integers.push({ start: pos + 1, end })
      complete(pos, end + 1)
      pos = end + 1
    } else if (c >= 0x30 && c <= 0x39) {
      const colon = b.indexOf(0x3a, pos)
      if (colon < 0 || colon - pos > 20) break
      const n = Number(Buffer.from(b.subarray(pos, colon)).toString("latin1"))
      if (!Number.isSafeInteger(n) || colon + 1 + n > b.length) break
      out.lengths.push({ start: pos, end: colon })
      complete(pos, colon + 1 + n)
      pos = colon + 1 + n
    } else {
      break
    }
  }
  return out
}

const interestingIntegers: ReadonlyArray<string> = [
  "0", "1", "-1", "2", "255", "256", "16383", "16384", "16385", "65535", "65536", "2147483647", "2147483648",
  "-2147483649", "4294967295", "4294967296", "9007199254740991", "9007199254740992", "-9007199254740993",
  "18446744073709551616", "-0", "00", "01", "+1", "", "-", "1e3", " 1", "9".repeat(128), "9".repeat(129)
]

const setInteger: Mutation = (input, { a, b }) => {
  const { integers } = scan(input)
  if (integers.length === 0) return flipBit(input, { a, b, c: 0, kind: 0, bytes: input }, input)
  return replace(input, integers[a % integers.length]!, ascii(interestingIntegers[b % interestingIntegers.length]!))
}

const setLength: Mutation = (input, { a, b }) => {
  const { lengths } = scan(input)
  if (lengths.length === 0) return flipBit(input, { a, b, c: 0, kind: 0, bytes: input }, input)
  const span = lengths[a % lengths.length]!
  const n = Number(Buffer.from(input.subarray(span.start, span.end)).toString("latin1"))
  const choices = [n + 1, n - 1, 0, n * 2, n + 20, 2 ** 32 + n, `0${n}`, `-${n}`, "", "99999999999999999", "1".repeat(40)]
  return replace(input, span, ascii(String(choices[b % choices.length])))
}

/** Dictionaries with at least `min` entries. */
const dictsOf = (input: Uint8Array, min: number) => scan(input).dicts.filter((d) => d.length >= min)

const swapEntries: Mutation = (input, step) => {
  const dicts = dictsOf(input, 2)
  const entries = dicts[step.a % Math.max(1, dicts.length)]
  if (entries === undefined) return setInteger(input, step, input)
  const i = step.b % entries.length
  const j = (i + 1 + (step.c % (entries.length - 1))) % entries.length
  const [x, y] = i < j ? [entries[i]!, entries[j]!] : [entries[j]!, entries[i]!]
  return concat(
    input.subarray(0, x.start),
    input.subarray(y.start, y.end),
    input.subarray(x.end, y.start),
    input.subarray(x.start, x.end),
    input.subarray(y.end)
  )
}

const duplicateEntry: Mutation = (input, step) => {
  const dicts = dictsOf(input, 1)
  const entries = dicts[step.a % Math.max(1, dicts.length)]
  if (entries === undefined) return setLength(input, step, input)
  const e = entries[step.b % entries.length]!
  return concat(input.subarray(0, e.end), input.subarray(e.start, e.end), input.subarray(e.end))
}

const deleteValue: Mutation = (input, step) => {
  const { values } = scan(input)
  if (values.length === 0) return deleteSpan(input, step, input)
  return replace(input, values[step.a % values.length]!, new Uint8Array(0))
}

const replaceValue: Mutation = (input, step, other) => {
  const mine = scan(input).values
  const theirs = step.c % 2 === 0 ? mine : scan(other).values
  const from = step.c % 2 === 0 ? input : other
  if (mine.length === 0 || theirs.length === 0) return splice(input, step, other)
  const by = theirs[step.b % theirs.length]!
  return replace(input, mine[step.a % mine.length]!, from.subarray(by.start, by.end))
}

const nest: Mutation = (input, step) => {
  const { values } = scan(input)
  if (values.length === 0) return insertBytes(input, step, input)
  const v = values[step.a % values.length]!
  const depth = 1 + (step.b % (step.c % 2 === 0 ? 4 : 300))
  return concat(
    input.subarray(0, v.start),
    ascii("l".repeat(depth)),
    input.subarray(v.start, v.end),
    ascii("e".repeat(depth)),
    input.subarray(v.end)
  )
}

/** A value repeated in place, up to thousands of times: a list element becomes a long list of them. */
const repeatValue: Mutation = (input, step) => {
  const { values } = scan(input)
  if (values.length === 0) return repeatSpan(input, step, input)
  const v = values[step.a % values.length]!
  const unit = input.subarray(v.start, v.end)
  const room = Math.floor((maxMutatedBytes - input.length) / unit.length)
  const times = Math.max(0, Math.min(room, step.c % 2 === 0 ? 1 + (step.b % 30) : 1 + (step.b % 50_000)))
  return replace(input, v, Buffer.alloc(unit.length * (times + 1), unit))
}

const bencodeMutations: ReadonlyArray<Mutation> = [
  ...byteMutations, setInteger, setLength, swapEntries, duplicateEntry, deleteValue, replaceValue, nest, repeatValue
]

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const step: FastCheck.Arbitrary<Omit<Step, "kind">> = FastCheck.record({
  a: FastCheck.nat(),
  b: FastCheck.nat(),
  c: FastCheck.nat(),
  bytes: FastCheck.uint8Array({ minLength: 1, maxLength: 8 })
})

const applyAll = (mutations: ReadonlyArray<Mutation>) =>
  ([input, other, steps]: readonly [Uint8Array, Uint8Array, ReadonlyArray<Step>]): Uint8Array =>
    steps.reduce((x, s) => {
      const y = x.length === 0 ? insertBytes(x, s, other) : mutations[s.kind % mutations.length]!(x, s, other)
      return y.length > maxMutatedBytes ? y.subarray(0, maxMutatedBytes) : y
    }, input)

/**
 * Valid inputs with 1 to `maxSteps` mutations each; with `bencode`, the bencode-aware ones too. The second
 * valid input is what splices and value replacements take from.
 */
export const mutated = (
  valid: FastCheck.Arbitrary<Uint8Array>,
  options: { readonly bencode: boolean; readonly maxSteps?: number }
): FastCheck.Arbitrary<Uint8Array> => {
  const mutations = options.bencode ? bencodeMutations : byteMutations
  const steps = FastCheck.array(
    FastCheck.tuple(FastCheck.integer({ min: 0, max: mutations.length - 1 }), step).map(([kind, s]): Step => ({ kind, ...s })),
    { minLength: 1, maxLength: options.maxSteps ?? 4 }
  )
  return FastCheck.tuple(valid, valid, steps).map(applyAll(mutations))
}
