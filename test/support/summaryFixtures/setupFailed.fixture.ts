// A fixture of test/summaryReporter.test.ts: a suite whose beforeAll throws, so its two tests never run.
import { beforeAll, describe, expect, it } from "vitest"

describe("needs a client", () => {
  beforeAll(() => {
    throw new Error("the client is not installed")
  })
  it("first", () => expect(1).toBe(1))
  it("second", () => expect(1).toBe(1))
})

it("outside the suite", () => expect(1).toBe(1))
