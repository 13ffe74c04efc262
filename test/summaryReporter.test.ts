/**
 * The closing count of a test run (test/support/summaryReporter.ts), on a real vitest run of the fixtures
 * in test/support/summaryFixtures: a suite whose beforeAll throws, a file that fails to load, a file whose
 * afterAll throws, skips with and without a reason, a test that passes and one that fails.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { createVitest } from "vitest/node"
import type { SerializedError } from "vitest/node"
import { summarize } from "./support/summaryReporter.js"

const fixtures = path.resolve("test/support/summaryFixtures")

describe("the summary of a test run", () => {
  it("counts what did not run as failed, skips on purpose as neither, and says why for each", async () => {
    const vitest = await createVitest("test", {
      root: fixtures,
      config: false,
      include: ["*.fixture.ts"],
      watch: false,
      // Nothing printed: the run is this test's to read.
      reporters: [{}]
    })
    // The inner run sets this process's exit code when its fixtures fail, as vitest does for a run.
    const exitCode = process.exitCode
    try {
      const run = await vitest.start()
      const { counts, lines } = summarize(run.testModules, run.unhandledErrors as ReadonlyArray<SerializedError>, fixtures)
      // passed: "outside the suite", "passes" twice; failed: the two tests of the broken suite, the file that
      // did not load, "fails", and the file whose afterAll threw; skipped: two with a reason, one without.
      expect(counts).toEqual({ passed: 3, failed: 5, skipped: 3 })
      expect([...lines].sort()).toEqual([
        "did not run (2 counted as failed): setupFailed.fixture.ts > needs a client: the client is not installed",
        "failed (counted once): loadFailed.fixture.ts: the file failed to load",
        "failed (counted once): teardownFailed.fixture.ts: the teardown failed",
        "skipped without a reason: skips.fixture.ts > skipped with no reason",
        "skipped: skips.fixture.ts > needs the corpus > one: the corpus is absent",
        "skipped: skips.fixture.ts > needs the corpus > two: the corpus is absent"
      ])
    } finally {
      await vitest.close()
      process.exitCode = exitCode
    }
  }, 60_000)
})
