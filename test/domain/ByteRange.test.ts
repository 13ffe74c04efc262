import { describe, expect, it } from "vitest"
import { contentRange, parseRange, unsatisfiedRange } from "../../src/domain/ByteRange.js"

const partial = (start: number, end: number) => ({ _tag: "Partial", range: { start, end } })

describe("parseRange (RFC 9110 14.1.2)", () => {
  it("serves the whole body without a Range header, or with one of another unit or bad syntax", () => {
    expect(parseRange(undefined, 100)._tag).toBe("Whole")
    expect(parseRange("items=0-5", 100)._tag).toBe("Whole")
    expect(parseRange("bytes=5-2", 100)._tag).toBe("Whole")
    expect(parseRange("bytes=a-b", 100)._tag).toBe("Whole")
    expect(parseRange("bytes=", 100)._tag).toBe("Whole")
    expect(parseRange("bytes=1-2,x", 100)._tag).toBe("Whole")
    expect(parseRange("bytes=--5", 100)._tag).toBe("Whole")
  })

  it("reads a-b, a- and -n, clipping the end to the body", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual(partial(0, 9))
    expect(parseRange("bytes=10-", 100)).toEqual(partial(10, 99))
    expect(parseRange("bytes=90-500", 100)).toEqual(partial(90, 99))
    expect(parseRange("Bytes = 99-99", 100)).toEqual(partial(99, 99))
    expect(parseRange("bytes=-10", 100)).toEqual(partial(90, 99))
    expect(parseRange("bytes=-1000", 100)).toEqual(partial(0, 99))
  })

  it("answers 416 for a start at or past the end, a zero suffix, or any range of an empty body", () => {
    expect(parseRange("bytes=100-", 100)._tag).toBe("Unsatisfiable")
    expect(parseRange("bytes=100-200", 100)._tag).toBe("Unsatisfiable")
    expect(parseRange("bytes=-0", 100)._tag).toBe("Unsatisfiable")
    expect(parseRange("bytes=0-", 0)._tag).toBe("Unsatisfiable")
  })

  it("serves the first satisfiable range of several", () => {
    expect(parseRange("bytes=0-9, 20-29", 100)).toEqual(partial(0, 9))
    expect(parseRange("bytes=200-300,-5", 100)).toEqual(partial(95, 99))
    expect(parseRange("bytes=200-300,150-", 100)._tag).toBe("Unsatisfiable")
  })

  it("writes Content-Range", () => {
    expect(contentRange({ start: 0, end: 9 }, 100)).toBe("bytes 0-9/100")
    expect(unsatisfiedRange(100)).toBe("bytes */100")
  })
})
