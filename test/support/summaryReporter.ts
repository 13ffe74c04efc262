/**
 * The closing count of a test run, honest about what did not run, and the reason of every skip.
 *
 * Vitest counts a test whose setup failed (a `beforeAll` that throws, say for a missing aria2c) as
 * skipped, like a test skipped on purpose, and a file that failed to load as no test at all: a run could
 * end "0 failed" with whole files unrun. This reporter, after vitest's own, counts instead:
 * - passed: the tests that passed;
 * - failed: the tests that failed, every test that did not run because a suite or file setup of its
 *   failed (or, where none was left unrun, that suite or file once: an `afterAll` that threw, a file
 *   that failed to load), every test left unfinished, and every unhandled error;
 * - skipped: the tests skipped on purpose. Those are skipped at run time with their reason as the note
 *   (test/support/skips.ts), and each is printed with it; a skip without a reason is printed as such.
 *
 * It ends with the line `tests: N passed, N failed, N skipped` and, when given `countsFile`, writes the
 * same counts there as JSON for .ci/run.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason, TestSuite, Vitest } from "vitest/node"

export interface Counts {
  readonly passed: number
  readonly failed: number
  readonly skipped: number
}

type Parent = TestSuite | TestModule

const firstLine = (error: SerializedError | undefined): string =>
  (error?.message ?? "no message").split("\n").find((line) => line.trim() !== "") ?? "no message"

const ran = (test: TestCase) => {
  const state = test.result().state
  return state === "passed" || state === "failed"
}

/**
 * The nearest suite or file above `test` that failed itself (its hooks, or loading it: `errors()`), not
 * only through failed tests in it; undefined when there is none.
 */
const brokenAbove = (test: TestCase): Parent | undefined => {
  for (let parent: Parent = test.parent; ; parent = parent.parent) {
    if (parent.errors().length > 0) return parent
    if (parent.type === "module") return undefined
  }
}

/** What a run gave: the counts and a line for every skip and everything counted as failed beyond failed tests. */
export interface Summary {
  readonly counts: Counts
  readonly lines: ReadonlyArray<string>
}

export const summarize = (
  modules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError>,
  root: string
): Summary => {
  const lines: Array<string> = []
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const module of modules) {
    const file = path.relative(root, module.moduleId)
    const where = (entity: TestCase | Parent) => (entity.type === "module" ? file : `${file} > ${entity.fullName}`)
    /** The tests that each failed suite or file left unrun. */
    const unrun = new Map<Parent, number>()
    for (const test of module.children.allTests()) {
      const result = test.result()
      if (result.state === "passed") passed++
      else if (result.state === "failed") failed++
      else if (result.state === "pending") {
        failed++
        lines.push(`did not finish (counted as failed): ${where(test)}`)
      } else if (result.note !== undefined) {
        skipped++
        lines.push(`skipped: ${where(test)}: ${result.note}`)
      } else {
        const cause = brokenAbove(test)
        // A failed beforeAll leaves every test below it unrun; a failed afterAll leaves tests that ran.
        if (cause !== undefined && ![...cause.children.allTests()].some(ran)) {
          failed++
          unrun.set(cause, (unrun.get(cause) ?? 0) + 1)
        } else {
          skipped++
          lines.push(`${test.options.mode === "todo" ? "todo" : "skipped without a reason"}: ${where(test)}`)
        }
      }
    }
    for (const parent of [module, ...module.children.allSuites()]) {
      if (parent.errors().length === 0) continue
      const error = firstLine(parent.errors()[0])
      const count = unrun.get(parent) ?? 0
      if (count === 0) failed++
      lines.push(
        count === 0
          ? `failed (counted once): ${where(parent)}: ${error}`
          : `did not run (${count} counted as failed): ${where(parent)}: ${error}`
      )
    }
  }
  for (const error of unhandledErrors) lines.push(`unhandled error (counted as failed): ${firstLine(error)}`)
  failed += unhandledErrors.length
  return { counts: { passed, failed, skipped }, lines }
}

/**
 * Listed after vitest's default reporter. Vitest 3.2 hands every reporter `onTestRunEnd`, then
 * `onFinished`, in the order listed, and the default reporter prints its summary in `onFinished`: the
 * lines here come after it, the count last.
 */
export default class SummaryReporter implements Reporter {
  private root = process.cwd()
  private log: (line: string) => void = (line) => console.log(line)
  private summary: Summary | undefined
  private interrupted = false

  constructor(private readonly options: { readonly countsFile?: string | undefined } = {}) {}

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root
    this.log = (line) => vitest.logger.log(line)
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason
  ): void {
    this.summary = summarize(modules, unhandledErrors, this.root)
    this.interrupted = reason === "interrupted"
    if (this.options.countsFile !== undefined) fs.writeFileSync(this.options.countsFile, JSON.stringify(this.summary.counts))
  }

  onFinished(): void {
    if (this.summary === undefined) return
    const { counts, lines } = this.summary
    this.log("")
    for (const line of lines) this.log(line)
    if (this.interrupted) this.log("the run was interrupted: the tests it did not finish are counted as failed")
    this.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`)
  }
}
