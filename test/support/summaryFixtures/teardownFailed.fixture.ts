// A fixture of test/summaryReporter.test.ts: a test that passes in a file whose afterAll throws.
import { afterAll, expect, it } from "vitest"

afterAll(() => {
  throw new Error("the teardown failed")
})

it("passes", () => expect(1).toBe(1))
