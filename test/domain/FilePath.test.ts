import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as path from "node:path"
import { deduplicate, sanitiseComponent, sanitisePath, unsafeReason } from "../../src/domain/FilePath.js"

describe("FilePath", () => {
  it.each([
    ["normal.txt", "normal.txt"],
    ["..", undefined],
    [".", undefined],
    ["", undefined],
    ["...", undefined],
    ["a/b", "a_b"],
    ["a\\b", "a_b"],
    ["/etc", "_etc"],
    ["nul\u0000byte", "nul_byte"],
    ["tab\there", "tab_here"],
    ["CON", "_CON"],
    ["con.txt", "_con.txt"],
    ["LPT1", "_LPT1"],
    ["console", "console"],
    ["what?.txt", "what_.txt"],
    ["trailing. . ", "trailing"],
    [".hidden", ".hidden"]
  ])("sanitises %j to %j", (input, expected) => {
    expect(sanitiseComponent(input)).toBe(expected)
  })

  it("shortens a name over 255 bytes, keeping its extension and whole characters", () => {
    const long = "é".repeat(200) + ".mkv"
    const safe = sanitiseComponent(long)!
    expect(Buffer.byteLength(safe, "utf8")).toBeLessThanOrEqual(255)
    expect(safe.endsWith(".mkv")).toBe(true)
    expect(safe.startsWith("éé")).toBe(true)
    expect(safe).not.toContain("\ufffd")
  })

  it("drops components that cannot be names and keeps the rest", () => {
    expect(sanitisePath(["..", "..", "etc", "passwd"])).toEqual(["etc", "passwd"])
    expect(sanitisePath(["foo/../../../bar", "bar"])).toEqual(["foo_.._.._.._bar", "bar"])
    expect(sanitisePath(["", "", "x"])).toEqual(["x"])
  })

  it("says why a component is unsafe", () => {
    expect(unsafeReason("..")).toBe("dot component '..'")
    expect(unsafeReason("a/b")).toBe("separator in component")
    expect(unsafeReason("")).toBe("empty component")
    expect(unsafeReason("AUX")).toBe("Windows reserved name")
    expect(unsafeReason("ok")).toBeUndefined()
  })

  it("renames duplicates, case-insensitively, and files that clash with folders", () => {
    expect(deduplicate([["a.txt"], ["A.TXT"], ["a.txt"], ["d"], ["d", "x"], []])).toEqual([
      ["a.txt"],
      ["A.1.TXT"],
      ["a.2.txt"],
      ["d.1"],
      ["d", "x"],
      ["_"]
    ])
  })

  it("deduplicates in linear time: 20,000 files of one name, and one path 20,000 folders deep", () => {
    // 63 s and 7 s when every file was checked against every earlier one and every folder prefix was
    // joined from the start of its path: a small .torrent could hang the client (see test/fuzz).
    const started = performance.now()
    const same = deduplicate(Array.from({ length: 20_000 }, () => ["d", "a.txt"]))
    const deep = deduplicate([Array.from({ length: 20_000 }, () => "a"), ["a"]])
    expect(performance.now() - started).toBeLessThan(1000)
    expect(same[1]).toEqual(["d", "a.1.txt"])
    expect(same[19_999]).toEqual(["d", "a.19999.txt"])
    expect(new Set(same.map((p) => p.join("/"))).size).toBe(20_000)
    expect(deep[1]).toEqual(["a.1"])
  })

  it.prop(
    "any components sanitise to names that stay inside the folder",
    [FastCheck.array(FastCheck.string({ unit: "binary", maxLength: 300 }), { maxLength: 6 })],
    ([components]) => {
      const safe = sanitisePath(components)
      for (const c of safe) {
        expect(c).not.toMatch(/[/\\\u0000]/)
        expect([".", ".."]).not.toContain(c)
        expect(c.length).toBeGreaterThan(0)
        expect(Buffer.byteLength(c, "utf8")).toBeLessThanOrEqual(255)
      }
      const root = path.resolve("/downloads/t")
      const full = path.resolve(root, ...safe)
      expect(full === root || full.startsWith(root + path.sep)).toBe(true)
    }
  )
})
