/**
 * multipart/form-data (RFC 7578 over RFC 2046) as the qBittorrent WebUI API's `torrents/add` receives it
 * from curl, python requests, .NET's HttpClient (Sonarr, Radarr), Go (autobrr) and browsers: a body that
 * arrived whole is cut into its parts, each a name, an optional filename and Content-Type, and its bytes
 * as a subarray of the body (never copied: a .torrent may be megabytes).
 *
 * The delimiters are found with Buffer.indexOf, so the data is never walked byte by byte in JavaScript;
 * only the headers (at most `maxHeaderBytes` per part) are read as text. The preamble and the epilogue
 * are ignored, the closing `--boundary--` is required, and whatever cannot be read (a part without the
 * blank line ending its headers, without a form-data name, too many parts) is a `MultipartError` whose
 * detail is one line.
 *
 * What senders differ in, and what is accepted for them: .NET quotes the boundary in the Content-Type and
 * leaves token values unquoted (`name=urls`); .NET and browsers may give the filename as RFC 5987
 * `filename*=UTF-8''...`, which wins over `filename`; browsers write a filename's UTF-8 raw inside the
 * quotes. In a quoted string a backslash escapes only `"` and `\` (as Go's mime package reads it), so a
 * Windows path sent unescaped keeps its backslashes.
 */
import * as Either from "effect/Either"
import { MultipartError, type MultipartErrorReason } from "../domain/Errors.js"

/** One part of the body. */
export interface MultipartPart {
  readonly name: string
  readonly filename?: string
  readonly contentType?: string
  /** The part's bytes: a subarray of the body given to `parseMultipart`. */
  readonly data: Uint8Array
}

export interface MultipartLimits {
  /** Most parts in one body; one more is refused rather than ignored. */
  readonly maxParts: number
  /** Most bytes of headers in one part, not counting the blank line that ends them. */
  readonly maxHeaderBytes: number
}

export const defaultLimits: MultipartLimits = { maxParts: 1000, maxHeaderBytes: 16 * 1024 }

const CR = 0x0d
const LF = 0x0a
const DASH = 0x2d
const headersEnd = Buffer.from("\r\n\r\n", "latin1")

const fail = (reason: MultipartErrorReason, detail: string) => Either.left(new MultipartError({ reason, detail }))

/** Text from a sender, shortened and quoted so that it cannot break a detail's one line. */
const show = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text)

/**
 * RFC 2046 allows 1 to 70 characters of a narrower set; like Go's and busboy's readers we accept any
 * printable ASCII, since the boundary is only ever searched for, never ending in a space (which would be
 * indistinguishable from the padding allowed after a delimiter).
 */
const isBoundary = (boundary: string): boolean => /^[\x20-\x7e]{0,69}[\x21-\x7e]$/.test(boundary)

// ---------------------------------------------------------------------------------------------------------
// Header parameters (`; name="value"`), shared by the request's Content-Type and each Content-Disposition

const isBlank = (c: string | undefined) => c === " " || c === "\t"

/** A quoted string from its opening quote: its value and the index after its closing quote. */
const quotedString = (text: string, open: number): { readonly value: string; readonly end: number } | undefined => {
  let value = ""
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') return { value, end: i + 1 }
    const next = text[i + 1]
    if (c === "\\" && (next === '"' || next === "\\")) {
      value += next
      i++
    } else value += c
  }
  return undefined
}

/**
 * `;`-separated parameters: names lower-cased, the first of a name kept, values unquoted (a token value
 * runs to the next `;`, trimmed). Undefined when one is malformed: no `=`, an unterminated quote, text
 * after a closing quote.
 */
const parameters = (text: string): ReadonlyMap<string, string> | undefined => {
  const found = new Map<string, string>()
  let i = 0
  while (i < text.length) {
    if (text[i] === ";" || isBlank(text[i])) {
      i++
      continue
    }
    const equals = text.indexOf("=", i)
    const semicolon = text.indexOf(";", i)
    if (equals < 0 || (semicolon >= 0 && semicolon < equals)) return undefined
    const key = text.slice(i, equals).trim().toLowerCase()
    if (key === "") return undefined
    i = equals + 1
    while (isBlank(text[i])) i++
    let value: string
    if (text[i] === '"') {
      const quoted = quotedString(text, i)
      if (quoted === undefined) return undefined
      i = quoted.end
      while (isBlank(text[i])) i++
      if (i < text.length && text[i] !== ";") return undefined
      value = quoted.value
    } else {
      const end = text.indexOf(";", i)
      value = text.slice(i, end < 0 ? text.length : end).trim()
      i = end < 0 ? text.length : end
    }
    if (!found.has(key)) found.set(key, value)
  }
  return found
}

/** An RFC 5987 ext-value (`UTF-8''%E2%82%AC.torrent`), or undefined when its charset or escapes are not usable. */
const extValue = (raw: string | undefined): string | undefined => {
  const match = raw === undefined ? null : /^([A-Za-z0-9!#$&+^_`{}~.-]+)'[^']*'(.*)$/.exec(raw)
  if (match === null) return undefined
  const charset = match[1]!.toLowerCase()
  const encoded = match[2]!
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(encoded)) return undefined
  if (charset === "iso-8859-1") return encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  if (charset !== "utf-8") return undefined
  try {
    return decodeURIComponent(encoded)
  } catch {
    return undefined // not UTF-8 after all: the plain filename is used
  }
}

/**
 * The boundary of a multipart/form-data Content-Type (`multipart/form-data; boundary="x"`, the parameter's
 * name in any case, its value quoted or not), or undefined when the type is another, the header is
 * malformed or the boundary is not 1 to 70 printable characters.
 */
export const boundaryOf = (contentType: string): string | undefined => {
  const semicolon = contentType.indexOf(";")
  if (semicolon < 0 || contentType.slice(0, semicolon).trim().toLowerCase() !== "multipart/form-data") return undefined
  const boundary = parameters(contentType.slice(semicolon + 1))?.get("boundary")
  return boundary !== undefined && isBoundary(boundary) ? boundary : undefined
}

// ---------------------------------------------------------------------------------------------------------
// One part

/** Header lines as name (lower-cased) to value, the first of a name kept; folded lines joined. */
const headerFields = (text: string, ordinal: number): Either.Either<ReadonlyMap<string, string>, MultipartError> => {
  const lines: Array<string> = []
  for (const line of text === "" ? [] : text.split("\r\n")) {
    if (isBlank(line[0]) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`
    else lines.push(line)
  }
  const fields = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon <= 0) return fail("BadHeader", `part ${ordinal} has a header line without a name and colon: ${show(line)}`)
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim())
  }
  return Either.right(fields)
}

/** The name and filename of a part from its `Content-Disposition: form-data; name=...; filename=...`. */
const disposition = (
  value: string | undefined,
  ordinal: number
): Either.Either<{ readonly name: string; readonly filename: string | undefined }, MultipartError> => {
  if (value === undefined) return fail("BadDisposition", `part ${ordinal} has no Content-Disposition header`)
  const semicolon = value.indexOf(";")
  const kind = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase()
  if (kind !== "form-data") return fail("BadDisposition", `part ${ordinal}'s Content-Disposition is ${show(kind)}, not form-data`)
  const params = parameters(semicolon < 0 ? "" : value.slice(semicolon + 1))
  if (params === undefined) return fail("BadDisposition", `part ${ordinal} has a malformed Content-Disposition: ${show(value)}`)
  const name = params.get("name")
  if (name === undefined) return fail("NoName", `part ${ordinal} has no name in its Content-Disposition`)
  return Either.right({ name, filename: extValue(params.get("filename*")) ?? params.get("filename") })
}

/** The part whose headers and data lie in body[start, end) (the CR LF before the next delimiter excluded). */
const parsePart = (
  body: Uint8Array,
  buffer: Buffer,
  start: number,
  end: number,
  ordinal: number,
  limits: MultipartLimits
): Either.Either<MultipartPart, MultipartError> => {
  const content = buffer.subarray(start, Math.max(start, end))
  let headersLength: number
  let dataStart: number
  if (content[0] === CR && content[1] === LF) {
    headersLength = 0 // no headers at all: the blank line comes first
    dataStart = 2
  } else {
    const window = content.subarray(0, limits.maxHeaderBytes + headersEnd.length)
    headersLength = window.indexOf(headersEnd)
    if (headersLength < 0) {
      return content.length > window.length
        ? fail("HeadersTooLarge", `part ${ordinal}'s headers are longer than ${limits.maxHeaderBytes} bytes`)
        : fail("NoHeadersEnd", `part ${ordinal} has no blank line ending its headers`)
    }
    dataStart = headersLength + headersEnd.length
  }
  const fields = headerFields(content.subarray(0, headersLength).toString("utf8"), ordinal)
  if (Either.isLeft(fields)) return Either.left(fields.left)
  const named = disposition(fields.right.get("content-disposition"), ordinal)
  if (Either.isLeft(named)) return Either.left(named.left)
  const contentType = fields.right.get("content-type")
  return Either.right({
    name: named.right.name,
    ...(named.right.filename !== undefined ? { filename: named.right.filename } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
    data: body.subarray(start + dataStart, end)
  })
}

// ---------------------------------------------------------------------------------------------------------
// The body

/**
 * The parts of a multipart/form-data body, in order, or why it cannot be read. `boundary` is the
 * Content-Type's (see `boundaryOf`).
 */
export const parseMultipart = (
  body: Uint8Array,
  boundary: string,
  limits: Partial<MultipartLimits> = {}
): Either.Either<ReadonlyArray<MultipartPart>, MultipartError> => {
  const bounds: MultipartLimits = { ...defaultLimits, ...limits }
  if (!isBoundary(boundary)) return fail("Boundary", `the boundary ${show(boundary)} is not 1 to 70 printable characters`)
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  // Every delimiter but a first one at the very start of the body begins a line: CR LF "--" boundary.
  const delimiter = Buffer.from(`\r\n--${boundary}`, "latin1")
  const unterminated = () => fail("Unterminated", `the body ends before its closing --${boundary}--`)
  let at: number
  if (buffer.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2))) at = delimiter.length - 2
  else {
    const first = buffer.indexOf(delimiter)
    if (first < 0) return fail("NoDelimiter", `the body has no --${boundary} line`)
    at = first + delimiter.length
  }
  const parts: Array<MultipartPart> = []
  for (;;) {
    // `at` is just after a delimiter: "--" closes the body, else padding and CR LF start the next part.
    if (buffer[at] === DASH && buffer[at + 1] === DASH) return Either.right(parts)
    let lineEnd = at
    while (buffer[lineEnd] === 0x20 || buffer[lineEnd] === 0x09) lineEnd++
    if (lineEnd + 1 >= buffer.length) return unterminated()
    if (buffer[lineEnd] !== CR || buffer[lineEnd + 1] !== LF) {
      return fail("BadDelimiter", `the --${boundary} line before part ${parts.length + 1} goes on after the boundary`)
    }
    if (parts.length === bounds.maxParts) return fail("TooManyParts", `the body has more than ${bounds.maxParts} parts`)
    const start = lineEnd + 2
    // From start - 2: a delimiter right after the boundary line's own CR LF makes an empty (malformed) part.
    const next = buffer.indexOf(delimiter, start - 2)
    if (next < 0) return unterminated()
    const part = parsePart(body, buffer, start, next, parts.length + 1, bounds)
    if (Either.isLeft(part)) return Either.left(part.left)
    parts.push(part.right)
    at = next + delimiter.length
  }
}

// ---------------------------------------------------------------------------------------------------------
// A view of the parts as a form

export interface FormFields {
  /** The first part of that name as UTF-8 text, undefined when there is none. */
  readonly text: (name: string) => string | undefined
  /** Every part of that name as UTF-8 text, in order. */
  readonly texts: (name: string) => ReadonlyArray<string>
  /**
   * The parts of that name that have a filename; when none of them has one, all the parts of that name
   * (a client that sends a .torrent as a plain field still sends a .torrent).
   */
  readonly files: (name: string) => ReadonlyArray<MultipartPart>
}

const utf8 = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")

export const formFields = (parts: ReadonlyArray<MultipartPart>): FormFields => {
  const named = (name: string) => parts.filter((part) => part.name === name)
  return {
    text: (name) => {
      const part = parts.find((p) => p.name === name)
      return part === undefined ? undefined : utf8(part.data)
    },
    texts: (name) => named(name).map((part) => utf8(part.data)),
    files: (name) => {
      const all = named(name)
      const withName = all.filter((part) => part.filename !== undefined)
      return withName.length > 0 ? withName : all
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding (tests, and a client that posts a form)

export interface MultipartFile {
  readonly name: string
  readonly filename: string
  readonly contentType?: string
  readonly data: Uint8Array
}

const quote = (text: string) => `"${text.replace(/["\\]/g, "\\$&")}"`

/**
 * A body of the text fields then the files, as curl writes it. Names and filenames are quoted with `"`
 * and `\` escaped and must not hold CR or LF; no field value or file may contain CR LF "--" boundary.
 */
export const encodeMultipart = (
  fields: ReadonlyArray<readonly [name: string, value: string]>,
  files: ReadonlyArray<MultipartFile>,
  boundary: string
): Uint8Array => {
  const chunks: Array<Uint8Array> = []
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quote(name)}\r\n\r\n${value}\r\n`))
  }
  for (const file of files) {
    const type = file.contentType === undefined ? "" : `Content-Type: ${file.contentType}\r\n`
    const disposition = `form-data; name=${quote(file.name)}; filename=${quote(file.filename)}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), file.data, Buffer.from("\r\n"))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}
