import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { type Bencode, bytes, equals, keyFromBytes } from "../../src/domain/Bencode.js"
import { BencodeFromBytes, decode, encode } from "../../src/protocol/Bencode.js"

const ascii = (s: string) => Buffer.from(s, "latin1")

/** Arbitrary bencode values: exact integers (bigints past 2^53), binary strings, binary keys. */
const bencodeArb: FastCheck.Arbitrary<Bencode> = FastCheck.letrec<{ value: Bencode }>((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.uint8Array({ maxLength: 40 }),
    FastCheck.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    FastCheck.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }).map((n) =>
      n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
    ),
    FastCheck.array(tie("value"), { maxLength: 5 }),
    FastCheck.array(FastCheck.tuple(FastCheck.uint8Array({ maxLength: 8 }).map(keyFromBytes), tie("value")), {
      maxLength: 5
    }).map((entries) => new Map(entries))
  )
})).value

const nested = (depth: number, open: string, close: string) => ascii(open.repeat(depth) + close.repeat(depth))

describe("Bencode", () => {
  it("encodes canonically, keys in byte order", () => {
    const value = new Map<string, Bencode>([
      ["spam", [bytes("a"), bytes("b")]],
      ["cow", bytes("moo")],
      ["n", -42],
      ["big", 2n ** 64n]
    ])
    expect(Buffer.from(encode(value)).toString("latin1")).toBe(
      "d3:bigi18446744073709551616e3:cow3:moo1:ni-42e4:spaml1:a1:bee"
    )
  })

  it.prop("decode(encode(x)) equals x", [bencodeArb], ([value]) => {
    const decoded = decode(encode(value))
    expect(Either.isRight(decoded) && equals(decoded.right.value, value)).toBe(true)
  })

  it.prop("encode(decode(bytes)) is the same bytes for canonical input", [bencodeArb], ([value]) => {
    const canonical = encode(value)
    const decoded = decode(canonical)
    expect(Either.isRight(decoded) && Buffer.compare(encode(decoded.right.value), canonical)).toBe(0)
  })

  it.prop("arbitrary bytes give a value or a BencodeError, never an exception", [FastCheck.uint8Array({ maxLength: 200 })], ([input]) => {
    const result = decode(input)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("BencodeError")
      expect(result.left.offset).toBeGreaterThanOrEqual(0)
      expect(result.left.offset).toBeLessThanOrEqual(input.length)
    }
  })

  it.prop(
    "mutations of valid input never throw",
    [bencodeArb, FastCheck.nat(), FastCheck.integer({ min: 0, max: 255 })],
    ([value, at, byte]) => {
      const input = Buffer.from(encode(value))
      input[at % input.length] = byte
      const result = decode(input)
      expect(Either.isLeft(result) ? result.left._tag : "ok").toMatch(/BencodeError|ok/)
    }
  )

  it("keeps integers past 2^53 exact", () => {
    const result = decode(ascii("li9007199254740993ei-9223372036854775809ei9007199254740991ee"))
    expect(Either.getOrThrow(result).value).toEqual([9007199254740993n, -9223372036854775809n, 9007199254740991])
  })

  it.each([
    ["i03e", "LeadingZero", 1],
    ["i-0e", "NegativeZero", 0],
    ["i+1e", "PlusSign", 1],
    ["d1:ai1e1:ai2ee", "DuplicateKey", 7],
    ["di1ei2ee", "NonStringKey", 1],
    ["5:abc", "LengthPastEnd", 0],
    ["l4:spam", "Truncated", 7],
    ["03:abc", "LeadingZero", 0],
    ["i1ei2e", "TrailingData", 3]
  ] as const)("refuses %s with %s at byte %i", (input, reason, offset) => {
    const result = decode(ascii(input))
    expect(Either.isLeft(result) && [result.left.reason, result.left.offset]).toEqual([reason, offset])
  })

  it("refuses a 10,000-deep nesting with TooDeep, without overflowing the stack", () => {
    for (const input of [nested(10_000, "l", "e"), nested(10_000, "l", ""), ascii("d1:a".repeat(10_000) + "de" + "e".repeat(10_000))]) {
      const result = decode(input)
      expect(Either.isLeft(result) && result.left.reason).toBe("TooDeep")
    }
  })

  it("accepts exactly the depth limit and refuses one more", () => {
    expect(Either.isRight(decode(nested(100, "l", "e")))).toBe(true)
    expect(Either.isLeft(decode(nested(101, "l", "e")))).toBe(true)
    expect(Either.isRight(decode(nested(101, "l", "e"), { maxDepth: 101 }))).toBe(true)
  })

  it("enforces the input size and token limits", () => {
    const result = decode(ascii("4:spam"), { maxBytes: 5 })
    expect(Either.isLeft(result) && result.left.reason).toBe("TooLarge")
    const many = decode(ascii("l" + "i1e".repeat(100) + "e"), { maxTokens: 50 })
    expect(Either.isLeft(many) && many.left.reason).toBe("TooManyTokens")
  })

  it("refuses an integer longer than 128 characters before converting it", () => {
    const result = decode(ascii(`i${"9".repeat(200)}e`))
    expect(Either.isLeft(result) && result.left.reason).toBe("InvalidInteger")
  })

  it("keeps the raw span of the top-level info value, whatever its key order", () => {
    const info = "d4:name1:a12:piece lengthi16384e6:lengthi1ee" // unsorted: 'name' < 'piece length' > 'length'
    const input = ascii(`d8:announce3:url4:info${info}3:zzzi1ee`)
    const d = Either.getOrThrow(decode(input))
    expect(Buffer.from(input.subarray(d.infoSpan!.start, d.infoSpan!.end)).toString("latin1")).toBe(info)
    expect(d.unsorted).toEqual(["/info"])
  })

  it("reports the path of every unsorted dictionary", () => {
    const d = Either.getOrThrow(decode(ascii("d1:bi1e1:ald1:yi1e1:xi2eeee")))
    expect(d.unsorted).toEqual(["/a[0]", "/"])
  })

  it("only takes info at the top level", () => {
    const d = Either.getOrThrow(decode(ascii("d1:xd4:infoi1eee")))
    expect(d.infoSpan).toBeUndefined()
  })

  it("gives strings as views into the input, not copies", () => {
    const input = ascii("l4:spame")
    const list = Either.getOrThrow(decode(input)).value as ReadonlyArray<Uint8Array>
    expect(list[0]!.buffer).toBe(input.buffer)
  })

  it("tolerates trailing bytes when asked and counts them", () => {
    const d = Either.getOrThrow(decode(ascii("de\n\n"), { allowTrailing: true }))
    expect([d.end, d.trailing]).toEqual([2, 2])
  })

  it("is a Schema transform", () => {
    const value = Schema.decodeSync(BencodeFromBytes)(ascii("d3:cow3:mooe"))
    expect(equals(value, new Map([["cow", bytes("moo")]]))).toBe(true)
    expect(() => Schema.decodeSync(BencodeFromBytes)(ascii("i01e"))).toThrow(/leading zero/)
    expect(Buffer.from(Schema.encodeSync(BencodeFromBytes)([1, bytes("x")])).toString()).toBe("li1e1:xe")
  })
})
