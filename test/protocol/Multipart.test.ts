/**
 * The multipart/form-data codec (src/protocol/Multipart.ts): the boundary read from Content-Types as
 * curl, python requests, .NET and browsers send them; bodies as those clients write them (by hand, byte
 * for byte); binary data with CR LF and "--" inside kept exactly and not copied; the preamble, epilogue
 * and padding ignored; every malformed body refused with its reason and a one-line detail; and random
 * forms encoded then parsed coming back whole.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import type { MultipartError } from "../../src/domain/Errors.js"
import * as Multipart from "../../src/protocol/Multipart.js"

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1"))
const utf8 = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")
const join = (...chunks: Array<string | Uint8Array>) =>
  new Uint8Array(Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "utf8") : c))))

const parts = (body: Uint8Array, boundary: string, limits?: Partial<Multipart.MultipartLimits>) =>
  Either.getOrThrowWith(
    Multipart.parseMultipart(body, boundary, limits),
    (e) => new Error(`expected parts, got ${e.reason}: ${e.detail}`)
  )

const refusal = (body: Uint8Array, boundary: string, limits?: Partial<Multipart.MultipartLimits>): MultipartError => {
  const result = Multipart.parseMultipart(body, boundary, limits)
  if (Either.isRight(result)) throw new Error(`expected a MultipartError, got ${result.right.length} parts`)
  return result.left
}

/** A part as plain values, its data as latin1 text, for toEqual. */
const plain = (part: Multipart.MultipartPart) => ({ ...part, data: Buffer.from(part.data).toString("latin1") })

/** A small .torrent's bytes, binary and with the CR LF and "--" a boundary search must step over. */
const torrent = bytes("d8:announce13:http://t/ann4:infod6:lengthi3e4:name5:a.bin12:piece lengthi16384e6:pieces20:\r\n--\r\n\r\n\x00\xff--\r\n\x80\x81\x82\x83\x84\x85\x86\x87ee")

describe("boundaryOf", () => {
  it("reads the boundary as curl, python requests, .NET, Go and browsers write it", () => {
    expect(Multipart.boundaryOf("multipart/form-data; boundary=------------------------d74496d66958873e")).toBe(
      "------------------------d74496d66958873e"
    )
    expect(Multipart.boundaryOf("multipart/form-data; boundary=3c1a9e2f0b7d4e5a8c6f1d2e3b4a5c6d")).toBe(
      "3c1a9e2f0b7d4e5a8c6f1d2e3b4a5c6d"
    )
    expect(Multipart.boundaryOf('multipart/form-data; boundary="8e6b5a1c-3f2d-4c9b-a7e1-0d5f6c3b2a19"')).toBe(
      "8e6b5a1c-3f2d-4c9b-a7e1-0d5f6c3b2a19"
    )
    expect(Multipart.boundaryOf("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")).toBe(
      "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    )
  })

  it("reads the type and the parameter's name in any case, beside other parameters, with a quoted space", () => {
    expect(Multipart.boundaryOf('Multipart/Form-Data ; charset=utf-8; BOUNDARY="a b\\"c"')).toBe('a b"c')
    expect(Multipart.boundaryOf("multipart/form-data;boundary=x;charset=utf-8")).toBe("x")
    expect(Multipart.boundaryOf(`multipart/form-data; boundary=${"b".repeat(70)}`)).toBe("b".repeat(70))
  })

  it("is undefined for another type, no boundary, a boundary of 0 or 71 characters, or a malformed header", () => {
    expect(Multipart.boundaryOf("application/x-www-form-urlencoded")).toBeUndefined()
    expect(Multipart.boundaryOf("multipart/mixed; boundary=x")).toBeUndefined()
    expect(Multipart.boundaryOf("multipart/form-data")).toBeUndefined()
    expect(Multipart.boundaryOf("multipart/form-data; charset=utf-8")).toBeUndefined()
    expect(Multipart.boundaryOf('multipart/form-data; boundary=""')).toBeUndefined()
    expect(Multipart.boundaryOf(`multipart/form-data; boundary=${"b".repeat(71)}`)).toBeUndefined()
    expect(Multipart.boundaryOf('multipart/form-data; boundary="abc')).toBeUndefined()
    expect(Multipart.boundaryOf('multipart/form-data; boundary="ab "')).toBeUndefined()
    expect(Multipart.boundaryOf("multipart/form-data; boundary")).toBeUndefined()
  })
})

describe("bodies as clients write them", () => {
  it("curl -F urls=... -F torrents=@a.torrent", () => {
    const b = "------------------------d74496d66958873e"
    const body = join(
      `--${b}\r\nContent-Disposition: form-data; name="urls"\r\n\r\n`,
      "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567\nhttp://x/y.torrent",
      `\r\n--${b}\r\nContent-Disposition: form-data; name="paused"\r\n\r\ntrue`,
      `\r\n--${b}\r\nContent-Disposition: form-data; name="torrents"; filename="a.torrent"\r\n`,
      "Content-Type: application/x-bittorrent\r\n\r\n",
      torrent,
      `\r\n--${b}--\r\n`
    )
    const got = parts(body, b)
    expect(got.map(plain)).toEqual([
      { name: "urls", data: "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567\nhttp://x/y.torrent" },
      { name: "paused", data: "true" },
      {
        name: "torrents",
        filename: "a.torrent",
        contentType: "application/x-bittorrent",
        data: Buffer.from(torrent).toString("latin1")
      }
    ])
    const form = Multipart.formFields(got)
    expect(form.text("urls")?.split("\n")).toHaveLength(2)
    expect(form.text("paused")).toBe("true")
    expect(form.text("category")).toBeUndefined()
    expect(form.files("torrents").map((p) => p.filename)).toEqual(["a.torrent"])
  })

  it("python requests (qbittorrent-api): fields, then two files with filename=\"x.torrent\" and no Content-Type", () => {
    const b = "3c1a9e2f0b7d4e5a8c6f1d2e3b4a5c6d"
    const body = join(
      `--${b}\r\nContent-Disposition: form-data; name="savepath"\r\n\r\n/srv/downloads\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="tags"\r\n\r\nlinux,iso\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="torrents"; filename="x.torrent"\r\n\r\n`,
      torrent,
      `\r\n--${b}\r\nContent-Disposition: form-data; name="torrents"; filename="y.torrent"\r\n\r\nd4:infodee\r\n`,
      `--${b}--\r\n`
    )
    const form = Multipart.formFields(parts(body, b))
    expect(form.text("savepath")).toBe("/srv/downloads")
    expect(form.text("tags")).toBe("linux,iso")
    const files = form.files("torrents")
    expect(files.map((p) => [p.filename, p.contentType])).toEqual([["x.torrent", undefined], ["y.torrent", undefined]])
    expect(files[0]!.data).toEqual(torrent)
    expect(utf8(files[1]!.data)).toBe("d4:infodee")
  })

  it(".NET HttpClient (Sonarr, Radarr): a quoted boundary, Content-Type first, unquoted names, filename*", () => {
    const contentType = 'multipart/form-data; boundary="8e6b5a1c-3f2d-4c9b-a7e1-0d5f6c3b2a19"'
    const b = Multipart.boundaryOf(contentType)!
    const body = join(
      `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=urls\r\n\r\n`,
      "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
      `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=category\r\n\r\ntv-sonarr`,
      `\r\n--${b}\r\nContent-Type: application/x-bittorrent\r\n`,
      "Content-Disposition: form-data; name=torrents; filename=\"=?utf-8?B?w6l0w6kudG9ycmVudA==?=\"; ",
      "filename*=utf-8''%C3%A9t%C3%A9.torrent\r\n\r\n",
      torrent,
      `\r\n--${b}--\r\n`
    )
    const got = parts(body, b)
    expect(got.map((p) => [p.name, p.contentType])).toEqual([
      ["urls", "text/plain; charset=utf-8"],
      ["category", "text/plain; charset=utf-8"],
      ["torrents", "application/x-bittorrent"]
    ])
    const form = Multipart.formFields(got)
    expect(form.text("category")).toBe("tv-sonarr")
    expect(form.files("torrents")[0]!.filename).toBe("été.torrent")
    expect(form.files("torrents")[0]!.data).toEqual(torrent)
  })

  it("a browser: raw UTF-8 in the quoted filename; Go: a 60-character boundary", () => {
    const b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    const chrome = join(
      `--${b}\r\nContent-Disposition: form-data; name="torrents"; filename="Ubuntu 24.04 – été.torrent"\r\n`,
      `Content-Type: application/x-bittorrent\r\n\r\n`,
      torrent,
      `\r\n--${b}--\r\n`
    )
    expect(parts(chrome, b)[0]!.filename).toBe("Ubuntu 24.04 – été.torrent")
    const go = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
    const body = join(
      `--${go}\r\nContent-Disposition: form-data; name="torrents"; filename="a.torrent"\r\n`,
      `Content-Type: application/octet-stream\r\n\r\n`,
      torrent,
      `\r\n--${go}\r\nContent-Disposition: form-data; name="skip_checking"\r\n\r\nfalse\r\n--${go}--\r\n`
    )
    expect(parts(body, go).map((p) => p.name)).toEqual(["torrents", "skip_checking"])
  })
})

describe("parseMultipart", () => {
  const b = "XyZ"
  const field = (name: string, value: string) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`

  it("keeps binary data exactly, near-delimiters included, as a subarray of the body", () => {
    // "\n--XyZ", "\r--XyZ", "--XyZ" after a blank line's LF only, and "--Xy" are data: only CR LF "--XyZ" is a delimiter.
    const data = bytes("\r\n--\r\n--XY\r\n--Xy\r\n\r\n\n--XyZ\r--XyZ-XyZ\x00\xff\r\n")
    const head = `--${b}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n`
    const body = join(head, data, `\r\n--${b}--`)
    const [part] = parts(body, b)
    expect(part!.data).toEqual(data)
    expect(part!.data.buffer).toBe(body.buffer)
    expect(part!.data.byteOffset).toBe(body.byteOffset + head.length)
    // CR LF "--XyZ" followed by neither "--" nor CR LF is a delimiter line that goes on: refused, not data.
    expect(refusal(join(head, "a\r\n--XyZ-b", `\r\n--${b}--`), b).reason).toBe("BadDelimiter")
  })

  it("keeps data with CR LF, \"--\", a blank line and the boundary without its CR LF, byte for byte", () => {
    const data = bytes(`x--${b}\r\n\r\n--\r\n-${b}\r\n-\r\n--X\r\n\r\n\x00\x01\xfe\xff`)
    const body = join(`--${b}\r\nContent-Disposition: form-data; name="f"\r\n\r\n`, data, `\r\n--${b}--\r\n`)
    const [part] = parts(body, b)
    expect(part!.data).toEqual(data)
    expect(part!.data.buffer).toBe(body.buffer)
  })

  it("ignores the preamble, the epilogue and padding after a boundary; accepts an empty form and empty values", () => {
    const body = join(
      `This is the preamble.\r\n--${b} \t\r\n`,
      `Content-Disposition: form-data; name="a"\r\n\r\n\r\n`,
      field("b", "2"),
      `--${b}--\r\nepilogue --${b}\r\n garbage`
    )
    expect(parts(body, b).map(plain)).toEqual([{ name: "a", data: "" }, { name: "b", data: "2" }])
    expect(parts(bytes(`--${b}--`), b)).toEqual([])
    expect(parts(bytes(`preamble\r\n--${b}--\r\n`), b)).toEqual([])
  })

  it("reads header names in any case, folded lines, escapes, RFC 5987 in ISO-8859-1, and keeps a Windows path", () => {
    const body = join(
      `--${b}\r\ncontent-DISPOSITION: Form-Data; NAME="n"; FileName="a\\"b\\\\c.torrent"\r\nCONTENT-type: text/x\r\n\r\n1\r\n`,
      `--${b}\r\nContent-Disposition: form-data;\r\n name="folded";\r\n\tfilename="C:\\dir\\x.torrent"\r\n\r\n2\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name=latin; filename*=ISO-8859-1'fr'%E9t%E9.torrent; filename=x\r\n\r\n3\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name=bad; filename*=utf-8''%C3; filename=plain.torrent\r\n\r\n4\r\n`,
      `--${b}--\r\n`
    )
    expect(parts(body, b).map(plain)).toEqual([
      { name: "n", filename: 'a"b\\c.torrent', contentType: "text/x", data: "1" },
      { name: "folded", filename: "C:\\dir\\x.torrent", data: "2" },
      { name: "latin", filename: "été.torrent", data: "3" },
      { name: "bad", filename: "plain.torrent", data: "4" }
    ])
  })

  const disposition = (value: string) => bytes(`--${b}\r\nContent-Disposition: ${value}\r\n\r\nv\r\n--${b}--\r\n`)

  it.each([
    ["a boundary of 0 characters", bytes("--\r\n"), "", "Boundary"],
    ["a boundary of 71 characters", bytes("x"), "b".repeat(71), "Boundary"],
    ["no delimiter at all", bytes("name=value"), b, "NoDelimiter"],
    ["a boundary only inside a line", bytes(`text --${b}\r\n`), b, "NoDelimiter"],
    ["no closing delimiter after the last part", bytes(`--${b}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${b}\r\n`), b, "Unterminated"],
    ["a body cut after a boundary", bytes(`--${b}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${b}`), b, "Unterminated"],
    ["a body cut inside a part", bytes(`--${b}\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue`), b, "Unterminated"],
    ["a body of the opening boundary alone", bytes(`--${b}`), b, "Unterminated"],
    ["a boundary line going on", bytes(`--${b}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${b}x\r\n--${b}--`), b, "BadDelimiter"],
    ["a part without headers end", bytes(`--${b}\r\nContent-Disposition: form-data; name=a\r\n--${b}--\r\n`), b, "NoHeadersEnd"],
    ["an empty part", bytes(`--${b}\r\n--${b}--\r\n`), b, "NoHeadersEnd"],
    ["a header line without a colon", bytes(`--${b}\r\nContent-Disposition form-data\r\n\r\nv\r\n--${b}--`), b, "BadHeader"],
    ["a part without headers", bytes(`--${b}\r\n\r\nv\r\n--${b}--`), b, "BadDisposition"],
    ["a part without Content-Disposition", bytes(`--${b}\r\nContent-Type: text/plain\r\n\r\nv\r\n--${b}--`), b, "BadDisposition"],
    ["a Content-Disposition other than form-data", disposition('attachment; name="a"'), b, "BadDisposition"],
    ["an unterminated quoted name", disposition('form-data; name="a'), b, "BadDisposition"],
    ["text after a quoted name", disposition('form-data; name="a"b'), b, "BadDisposition"],
    ["a parameter without a value", disposition("form-data; name"), b, "BadDisposition"],
    ["no name", disposition('form-data; filename="a.torrent"'), b, "NoName"],
    ["no parameters", disposition("form-data"), b, "NoName"]
  ] as const)("refuses %s", (_, body, boundary, reason) => {
    const error = refusal(body, boundary)
    expect(error.reason).toBe(reason)
    expect(error._tag).toBe("MultipartError")
    expect(error.message).toMatch(/^bad multipart\/form-data body: \S/)
    expect(error.message).not.toMatch(/[\r\n]/)
  })

  it("names the part at fault in its detail", () => {
    const body = bytes(`${field("a", "1")}${field("b", "2")}--${b}\r\nContent-Disposition: form-data\r\n\r\n3\r\n--${b}--`)
    expect(refusal(body, b).detail).toBe("part 3 has no name in its Content-Disposition")
  })

  it("takes at most maxParts parts (1000 by default), refusing one more", () => {
    const form = (count: number) => bytes(`${Array.from({ length: count }, (_, i) => field(`f${i}`, `${i}`)).join("")}--${b}--\r\n`)
    expect(parts(form(1000), b)).toHaveLength(1000)
    expect(refusal(form(1001), b).reason).toBe("TooManyParts")
    expect(parts(form(2), b, { maxParts: 2 })).toHaveLength(2)
    expect(refusal(form(3), b, { maxParts: 2 }).detail).toBe("the body has more than 2 parts")
  })

  it("takes at most maxHeaderBytes of headers per part (16 KiB by default)", () => {
    const withHeaders = (length: number) => {
      const disposition = `Content-Disposition: form-data; name="a"\r\nX-Pad: `
      const headers = disposition + "p".repeat(length - disposition.length)
      return bytes(`--${b}\r\n${headers}\r\n\r\nvalue\r\n--${b}--\r\n`)
    }
    expect(parts(withHeaders(16 * 1024), b)).toHaveLength(1)
    expect(refusal(withHeaders(16 * 1024 + 1), b).reason).toBe("HeadersTooLarge")
    expect(parts(withHeaders(100), b, { maxHeaderBytes: 100 })).toHaveLength(1)
    expect(refusal(withHeaders(101), b, { maxHeaderBytes: 100 }).detail).toBe("part 1's headers are longer than 100 bytes")
  })
})

describe("formFields", () => {
  const part = (name: string, data: string, filename?: string): Multipart.MultipartPart => ({
    name,
    data: bytes(data),
    ...(filename !== undefined ? { filename } : {})
  })

  it("gives the first text of a name, every text of it, and its files (all its parts when none has a filename)", () => {
    const form = Multipart.formFields([
      part("tags", "a"),
      part("torrents", "plain"),
      part("tags", "b"),
      part("torrents", "d1", "one.torrent"),
      part("raw", "d2"),
      part("torrents", "d3", "two.torrent"),
      part("empty", "")
    ])
    expect(form.text("tags")).toBe("a")
    expect(form.texts("tags")).toEqual(["a", "b"])
    expect(form.text("empty")).toBe("")
    expect(form.text("none")).toBeUndefined()
    expect(form.texts("none")).toEqual([])
    expect(form.files("torrents").map((p) => p.filename)).toEqual(["one.torrent", "two.torrent"])
    expect(form.files("raw").map((p) => utf8(p.data))).toEqual(["d2"])
    expect(form.files("none")).toEqual([])
  })
})

describe("encode then parse", () => {
  const bchars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
  const boundaryArb = FastCheck.array(FastCheck.constantFrom(...bchars), { minLength: 1, maxLength: 70 }).map((c) => c.join(""))
  /** Names and filenames: any text without CR or LF, quotes and backslashes included. */
  const nameArb = FastCheck.string({ unit: "grapheme", maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, "_"))
  /** Data made of pieces that look like delimiters, so that near-misses are tried every run. */
  const dataArb = (boundary: string) =>
    FastCheck.array(
      FastCheck.oneof(
        FastCheck.uint8Array({ maxLength: 40 }),
        FastCheck.constantFrom("\r\n", "--", "\r\n--", "\r\n\r\n", `--${boundary}`, `\r\n-${boundary}`, `\r\n--${boundary.slice(0, -1)}`).map(
          (s) => bytes(s)
        )
      ),
      { maxLength: 12 }
    ).map((chunks) => new Uint8Array(Buffer.concat(chunks)))

  it("gives back every field and file, in order, byte for byte", () => {
    const caseArb = boundaryArb.chain((boundary) =>
      FastCheck.record({
        boundary: FastCheck.constant(boundary),
        fields: FastCheck.array(FastCheck.tuple(nameArb, FastCheck.string({ unit: "grapheme", maxLength: 30 })), { maxLength: 5 }),
        files: FastCheck.array(
          FastCheck.record(
            { name: nameArb, filename: nameArb, contentType: FastCheck.constantFrom("application/x-bittorrent", "text/plain"), data: dataArb(boundary) },
            { requiredKeys: ["name", "filename", "data"] }
          ),
          { maxLength: 4 }
        )
      })
    )
    FastCheck.assert(
      FastCheck.property(caseArb, ({ boundary, fields, files }) => {
        const delimiter = Buffer.from(`\r\n--${boundary}`, "latin1")
        // The boundary must not be in the data, which follows the headers' blank line: "--XyZ" first is one.
        FastCheck.pre(files.every((f) => Buffer.concat([bytes("\r\n"), f.data]).indexOf(delimiter) < 0))
        FastCheck.pre(fields.every(([, value]) => !`\r\n${value}\r\n`.includes(`\r\n--${boundary}`)))
        const body = Multipart.encodeMultipart(fields, files, boundary)
        const got = parts(body, boundary)
        expect(got.length).toBe(fields.length + files.length)
        fields.forEach(([name, value], i) => {
          expect(got[i]!.name).toBe(name)
          expect(got[i]!.filename).toBeUndefined()
          expect(utf8(got[i]!.data)).toBe(value)
        })
        files.forEach((file, i) => {
          const part = got[fields.length + i]!
          expect([part.name, part.filename, part.contentType]).toEqual([file.name, file.filename, file.contentType])
          expect(new Uint8Array(part.data)).toEqual(file.data)
          expect(part.data.buffer).toBe(body.buffer)
        })
      }),
      { numRuns: 300 }
    )
  })
})
