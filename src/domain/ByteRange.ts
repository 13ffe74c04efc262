/**
 * The Range header of an HTTP request (RFC 9110 section 14) against a body of known length: what a media
 * player sends to seek. One range is served; a request for several ranges is answered with the first of them that the body can satisfy
 * (as nginx does when the ranges are not worth a multipart body): a player asks for one range at a time,
 * and a multipart/byteranges body is something no player needs.
 */

/** The bytes `start` to `end`, both included (as Content-Range counts them). */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/**
 * What to answer:
 * - `Whole`: no Range header, or one this server ignores (another unit, a malformed value: RFC 9110
 *   says a server may ignore a Range it does not understand, and then sends the whole body with 200);
 * - `Partial`: 206 with this range;
 * - `Unsatisfiable`: 416 (a valid range that starts at or past the end, or a suffix of 0 bytes).
 */
export type RangeAnswer =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Partial"; readonly range: ByteRange }
  | { readonly _tag: "Unsatisfiable" }

const whole: RangeAnswer = { _tag: "Whole" }
const unsatisfiable: RangeAnswer = { _tag: "Unsatisfiable" }
const digits = /^[0-9]+$/

/** One range spec ("a-b", "a-", "-n") against `size` bytes; undefined when it is not valid syntax. */
const parseSpec = (spec: string, size: number): RangeAnswer | undefined => {
  const dash = spec.indexOf("-")
  if (dash < 0) return undefined
  const first = spec.slice(0, dash).trim()
  const last = spec.slice(dash + 1).trim()
  if (first === "") {
    // A suffix: the last n bytes (all of them when n is larger than the body).
    if (!digits.test(last)) return undefined
    const n = Number(last)
    if (n === 0 || size === 0) return unsatisfiable
    return { _tag: "Partial", range: { start: Math.max(0, size - n), end: size - 1 } }
  }
  if (!digits.test(first) || (last !== "" && !digits.test(last))) return undefined
  const start = Number(first)
  if (last !== "" && Number(last) < start) return undefined
  if (start >= size) return unsatisfiable
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  return { _tag: "Partial", range: { start, end } }
}

/** The answer to a Range header (`undefined`: none was sent) for a body of `size` bytes. */
export const parseRange = (header: string | undefined, size: number): RangeAnswer => {
  if (header === undefined) return whole
  const eq = header.indexOf("=")
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return whole
  const specs = header.slice(eq + 1).split(",").map((s) => s.trim()).filter((s) => s !== "")
  if (specs.length === 0) return whole
  // Every spec must be valid syntax, else the header is ignored; the first satisfiable one is served.
  const answers: Array<RangeAnswer> = []
  for (const spec of specs) {
    const answer = parseSpec(spec, size)
    if (answer === undefined) return whole
    answers.push(answer)
  }
  return answers.find((a) => a._tag === "Partial") ?? unsatisfiable
}

/** The Content-Range of a 206. */
export const contentRange = (range: ByteRange, size: number): string => `bytes ${range.start}-${range.end}/${size}`

/** The Content-Range of a 416. */
export const unsatisfiedRange = (size: number): string => `bytes */${size}`
