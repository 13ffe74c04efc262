// A fixture of test/summaryReporter.test.ts: skips with a reason and without, a test that passes, one that fails.
import { describe, expect, it } from "vitest"
import { skipUnless } from "../skips.js"

describe("needs the corpus", () => {
  skipUnless(false, "the corpus is absent")
  it("one", () => expect(1).toBe(1))
  it("two", () => expect(1).toBe(1))
})

it.skip("skipped with no reason", () => expect(1).toBe(1))
it("passes", () => expect(1).toBe(1))
it("fails", () => expect(1).toBe(2))
