/**
 * Tests that need something from outside the repository (the shared conformance corpus, a real client,
 * Chromium) say so here, inside their `describe`. Without it each of the describe's tests is skipped at
 * run time with the reason as its note (vitest's `context.skip(note)`), and test/support/summaryReporter.ts
 * prints every skip with its note. What CI installs (the real clients, Chromium) is required there: in CI
 * (CI=true) its absence fails the tests instead of skipping them.
 *
 * The skip is taken in a `beforeEach`, so a describe using these must have no `beforeAll` that needs the
 * missing thing.
 */
import { beforeEach } from "vitest"

export const inCi = process.env["CI"] === "true"

/** Skips each test of the enclosing describe, naming `missing`, unless `present`. */
export const skipUnless = (present: boolean, missing: string): void => {
  if (!present) beforeEach((context) => context.skip(missing))
}

/** As `skipUnless` outside CI; in CI, which installs what is missing, each test fails naming it. */
export const requiredInCi = (present: boolean, missing: string): void => {
  if (!present) {
    beforeEach((context) => {
      if (inCi) throw new Error(`${missing}; CI installs it, so there its absence is a failure`)
      context.skip(missing)
    })
  }
}
