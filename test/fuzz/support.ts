/**
 * The fuzz harness shared by test/fuzz: the runner that bounds every input in time, the watchdog that
 * ends a run stuck on one input, and the inputs (see mutations.ts for the mutations of valid encodings).
 *
 * Each decoder is fed what it was never written for and must answer with a value or its typed error.
 * Anything it throws is a bug, and so is an input it is slow on (`slowBoundMs`, in CPU time and measured
 * twice before it counts, so that a busy machine does not fail the run). An input still running after
 * 30 s is a hang: the watchdog (a worker thread, since the stuck thread cannot time itself out) prints
 * the target, seed and run and ends the process, so that the run fails instead of never finishing.
 *
 * Modes: under `npm test` each property runs its modest `runs`. `scripts/fuzz.mjs` sets BT_FUZZ_FILE_MS,
 * this file's share of the time, and each property then runs batches with fresh seeds until its part of
 * that share is up, printing (and recording in BT_FUZZ_REPORT) how many inputs it tried. A counterexample
 * is printed with its seed and path; BT_FUZZ_SEED and BT_FUZZ_PATH replay it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { afterAll, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { type Bencode, keyFromBytes } from "../../src/domain/Bencode.js"

export const MiB = 1024 * 1024

/**
 * The most CPU time one decoder call may take on an input of `size` bytes: 200 ms, plus 2 ms per KiB
 * (2.2 s at 1 MiB). CPU time, not wall time, so that other work on the machine does not count. Linear
 * decoders take up to ~0.8 ms per KiB of their densest input (a resume file's list of empty entries), so
 * a flat bound would fail them; a quadratic path takes seconds to minutes on the long inputs the repeat
 * mutations make, and fails it many times over.
 */
export const slowBoundMs = (size: number): number => 200 + (2 * size) / 1024

/** How long (wall time) one input may run before the watchdog ends the process. */
const hangLimitMs = 30_000

/** CPU time used by this process so far, in ms. */
const cpuMs = (): number => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}

const fileMs = Number(process.env["BT_FUZZ_FILE_MS"] ?? "0")

/** True under `npm run fuzz`: properties run until their share of the time is up. */
export const fuzzMode = Number.isFinite(fileMs) && fileMs > 0

const replaySeed = process.env["BT_FUZZ_SEED"]
const replayPath = process.env["BT_FUZZ_PATH"]
const reportFile = process.env["BT_FUZZ_REPORT"]

// ---------------------------------------------------------------------------------------------------------
// Watchdog

// Shared with the watchdog: [input started at (0: idle), seed, run, input size, sample length], then the
// target's name and the first bytes of the input.
const shared = new SharedArrayBuffer(40 + 256 + 256)
const state = new Float64Array(shared, 0, 5)
const labelBytes = new Uint8Array(shared, 40, 256)
const sampleBytes = new Uint8Array(shared, 296, 256)

const watchdogSource = `
const { workerData } = require("node:worker_threads")
const fs = require("node:fs")
const state = new Float64Array(workerData.shared, 0, 5)
const label = new Uint8Array(workerData.shared, 40, 256)
const sample = new Uint8Array(workerData.shared, 296, 256)
setInterval(() => {
  const started = state[0]
  if (started > 0 && Date.now() - started > workerData.limitMs) {
    const name = Buffer.from(label).toString("utf8").split("\\0")[0]
    const head = Buffer.from(sample.subarray(0, state[4])).toString("hex")
    fs.writeSync(2, "\\nfuzz watchdog: '" + name + "' has been on one input for more than " + workerData.limitMs +
      " ms: seed " + state[1] + ", run " + state[2] + " (path " + (state[2] - 1) + "), " + state[3] +
      " bytes starting " + head + "\\nreplay with BT_FUZZ_SEED=" + state[1] + " BT_FUZZ_PATH=" + (state[2] - 1) + "\\n")
    process.kill(process.pid, "SIGKILL")
  }
}, 200)
`

let watchdog: Worker | undefined

const startWatchdog = () => {
  if (watchdog !== undefined) return
  watchdog = new Worker(watchdogSource, { eval: true, workerData: { shared, limitMs: hangLimitMs } })
  watchdog.unref()
}

afterAll(async () => {
  await watchdog?.terminate()
  watchdog = undefined
})

const setLabel = (name: string) => {
  labelBytes.fill(0)
  labelBytes.set(Buffer.from(name, "utf8").subarray(0, labelBytes.length - 1))
}

/** The first bytes of an input, for the watchdog's report. */
const sampleOf = (input: unknown): Uint8Array | undefined => {
  if (input instanceof Uint8Array) return input
  if (typeof input === "string") return Buffer.from(input.slice(0, 256), "utf8")
  if (Array.isArray(input)) {
    for (const item of input) {
      const s = sampleOf(item)
      if (s !== undefined) return s
    }
  }
  return undefined
}

/** The size of an input in bytes (or characters): its byte arrays and strings, at any depth up to 4. */
export const sizeOf = (input: unknown, depth = 0): number => {
  if (input instanceof Uint8Array || typeof input === "string") return input.length
  if (depth > 4 || typeof input !== "object" || input === null) return 0
  let n = 0
  for (const v of Array.isArray(input) ? input : Object.values(input)) n += sizeOf(v, depth + 1)
  return n
}

// ---------------------------------------------------------------------------------------------------------
// Runner

class SlowInput extends Error {}

let registered = 0
let finished = 0
let fileStart: number | undefined

/** The longest decoder call of the input being checked, in ms of CPU (see `runDecoder`). */
let decoderMs = 0

/** After a failure, how long fast-check may spend shrinking it before every further candidate passes. */
const shrinkBudgetMs = 15_000

/**
 * `check` as a predicate that times the decoder calls of each input and reports the input to the
 * watchdog. Once an input has failed, shrinking is cut short after `shrinkBudgetMs`: slow inputs are
 * slow to shrink, and the first counterexample is already a reproducer.
 */
const timed = <T>(target: string, seed: number, check: (input: T) => void) => {
  let run = 0
  let failedAt: number | undefined
  return (input: T): void => {
    if (failedAt !== undefined && Date.now() - failedAt > shrinkBudgetMs) return
    const size = sizeOf(input)
    const sample = sampleOf(input)
    const head = sample === undefined ? 0 : Math.min(sample.length, sampleBytes.length)
    if (sample !== undefined) sampleBytes.set(sample.subarray(0, head))
    state[1] = seed
    state[2] = ++run
    state[3] = size
    state[4] = head
    const once = () => {
      decoderMs = 0
      state[0] = Date.now()
      try {
        check(input)
      } catch (e) {
        failedAt ??= Date.now()
        throw e
      } finally {
        state[0] = 0
      }
      return decoderMs
    }
    const bound = slowBoundMs(size)
    const first = once()
    if (first <= bound) return
    // Measured again, so that a pause of the machine is not taken for a slow path.
    const second = once()
    if (second > bound) {
      failedAt ??= Date.now()
      const ms = Math.round(Math.min(first, second))
      throw new SlowInput(`${target}: ${ms} ms of CPU in one decoder call on a ${size}-byte input (bound ${Math.round(bound)} ms)`)
    }
  }
}

const record = (line: Record<string, unknown>) => {
  if (reportFile !== undefined) fs.appendFileSync(reportFile, JSON.stringify(line) + "\n")
}

const newSeed = () => (Math.random() * 0x7fff_ffff) | 0

const latin1 = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString("latin1"))

/** A counterexample short enough to read: long byte strings and texts by their ends. */
const shortly = (v: unknown): string => {
  if (v instanceof Uint8Array) {
    return v.length <= 600
      ? `bytes(${v.length}) ${latin1(v)}`
      : `bytes(${v.length}) ${latin1(v.subarray(0, 300))} ... ${latin1(v.subarray(v.length - 100))}`
  }
  if (typeof v === "string") {
    return v.length <= 600
      ? JSON.stringify(v)
      : `string(${v.length}) ${JSON.stringify(v.slice(0, 300))} ... ${JSON.stringify(v.slice(-100))}`
  }
  if (Array.isArray(v)) return `[${v.map(shortly).join(", ")}]`
  const s = FastCheck.stringify(v)
  return s.length <= 2000 ? s : `${s.slice(0, 2000)} ...`
}

/** The report of a failed run; the whole counterexample goes to a file beside it. */
const failure = <T>(target: string, details: FastCheck.RunDetails<[T]>, inputs: number, ms: number): Error => {
  const slug = target.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")
  const file = path.join(os.tmpdir(), `bt-fuzz-${slug}-${details.seed}.txt`)
  const example = details.counterexample?.[0]
  fs.writeFileSync(file, FastCheck.stringify(example) + "\n")
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  const report = `${target}: failed after ${inputs} input(s) (seed ${details.seed}, path ${details.counterexamplePath})\n` +
    `${cause}\ncounterexample (shrunk ${details.numShrinks} times): ${shortly(example)}\nwhole counterexample: ${file}\n` +
    `replay: BT_FUZZ_SEED=${details.seed} BT_FUZZ_PATH=${details.counterexamplePath} npx vitest run ${testFile()} -t '${target}'`
  record({ target, inputs, ms, failed: true, seed: details.seed, path: details.counterexamplePath, report })
  return new Error(report, { cause: details.errorInstance })
}

/** The test file being run, relative to the repository. */
const testFile = (): string => {
  const file = expect.getState().testPath
  return file === undefined ? "test/fuzz" : path.relative(process.cwd(), file)
}

const batch = <T>(target: string, arbitrary: FastCheck.Arbitrary<T>, check: (input: T) => void, numRuns: number, seed: number) =>
  FastCheck.check(FastCheck.property(arbitrary, timed(target, seed, check)), { numRuns, seed })

/**
 * The one input at `path` of `seed`. Given a path, fast-check would go on through every input after it,
 * so the check runs on the first and the rest pass unseen.
 */
const replay = <T>(target: string, arbitrary: FastCheck.Arbitrary<T>, check: (input: T) => void, seed: number, at: string) => {
  const run = timed(target, seed, check)
  let first = true
  return FastCheck.check(
    FastCheck.property(arbitrary, (input) => {
      if (first) run(input)
      first = false
    }),
    { seed, path: at, endOnFailure: true }
  )
}

const runOnce = <T>(target: string, arbitrary: FastCheck.Arbitrary<T>, check: (input: T) => void, runs: number) => {
  const started = Date.now()
  const details = replaySeed !== undefined && replayPath !== undefined
    ? replay(target, arbitrary, check, Number(replaySeed), replayPath)
    : batch(target, arbitrary, check, runs, replaySeed !== undefined ? Number(replaySeed) : newSeed())
  if (details.failed) throw failure(target, details, details.numRuns, Date.now() - started)
}

/** Fuzz mode: batches with fresh seeds until this property's part of the file's time is up. */
const runUntilDeadline = async <T>(target: string, arbitrary: FastCheck.Arbitrary<T>, check: (input: T) => void) => {
  const now = Date.now()
  fileStart ??= now
  const deadline = now + Math.max(1000, (fileStart + fileMs - now) / Math.max(1, registered - finished))
  let inputs = 0
  let size = 100
  while (Date.now() < deadline) {
    const t0 = Date.now()
    const details = batch(target, arbitrary, check, size, newSeed())
    inputs += details.numRuns
    if (details.failed) {
      const error = failure(target, details, inputs, Date.now() - now)
      console.error(`fuzz COUNTEREXAMPLE ${error.message}`)
      throw error
    }
    // Batches of about 1 s, between which the test runner gets to talk to its worker.
    const perRun = Math.max(0.01, (Date.now() - t0) / Math.max(1, details.numRuns))
    size = Math.max(10, Math.min(100_000, Math.round(Math.min(1000, deadline - Date.now()) / perRun)))
    await new Promise((resolve) => setImmediate(resolve))
  }
  const ms = Date.now() - now
  console.log(`fuzz ${target}: ${inputs} inputs in ${(ms / 1000).toFixed(1)} s, no failure`)
  record({ target, inputs, ms, failed: false })
}

/**
 * A fuzz property: `check` runs the decoder on one input and asserts what it answered; it must not throw
 * otherwise. `runs` is the count under `npm test`.
 */
export const fuzz = <T>(target: string, arbitrary: FastCheck.Arbitrary<T>, check: (input: T) => void, runs: number): void => {
  registered++
  it(
    target,
    async () => {
      startWatchdog()
      setLabel(target)
      try {
        if (fuzzMode && replaySeed === undefined) await runUntilDeadline(target, arbitrary, check)
        else runOnce(target, arbitrary, check, runs)
      } finally {
        finished++
      }
    },
    fuzzMode ? fileMs + 120_000 : 60_000
  )
}

/**
 * Runs one decoder call for a check and returns what it answered. A throw is reported as what it is (not
 * as an assertion that failed), with the decoder's name; the call's time is what the slow bound applies
 * to, so that the checks' own work (re-encoding, Schema checks) does not count.
 */
export const runDecoder = <A>(decoder: string, run: () => A): A => {
  const t0 = cpuMs()
  const excludedBefore = excludedMs
  try {
    return run()
  } catch (cause) {
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    throw new Error(`${decoder} threw ${what}`, { cause })
  } finally {
    decoderMs = Math.max(decoderMs, cpuMs() - t0 - (excludedMs - excludedBefore))
  }
}

let excludedMs = 0

/** Runs a check's own work inside a decoder call (a frame handler), leaving its time out of the call's. */
export const untimed = <A>(run: () => A): A => {
  const t0 = cpuMs()
  try {
    return run()
  } finally {
    excludedMs += cpuMs() - t0
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plain inputs

export const utf8 = (s: string): Uint8Array => Buffer.from(s, "utf8")

/** Arbitrary bytes: short ones, where most decoders fail early, and longer ones. */
export const anyBytes: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  FastCheck.uint8Array({ maxLength: 32 }),
  FastCheck.uint8Array({ maxLength: 4096 })
)

/** Strings of the given tokens: garbage in a decoder's own vocabulary, which reaches deeper than bytes. */
export const tokenSoup = (tokens: ReadonlyArray<string>, maxLength = 200): FastCheck.Arbitrary<Uint8Array> =>
  FastCheck.array(FastCheck.constantFrom(...tokens), { maxLength }).map((parts) => utf8(parts.join("")))

/** The bencode vocabulary, and the keys of the formats built on it. */
export const bencodeTokens = (keys: ReadonlyArray<string>): ReadonlyArray<string> => [
  "i", "e", "l", "d", ":", "-", "0", "1", "2", "9", "i0e", "i-1e", "i1e", "i16384e", "i9007199254740993e",
  "0:", "1:", "1:a", "2:", "20:", "le", "de", "li0ee", "d1:ai0ee", "e", "e",
  ...keys.map((k) => `${k.length}:${k}`)
]

/** A short pattern repeated up to ~1 MiB: deep nesting, many tokens, long runs. */
export const repeated = (units: ReadonlyArray<string>, prefix = ""): FastCheck.Arbitrary<Uint8Array> =>
  FastCheck.tuple(
    FastCheck.constantFrom(...units),
    FastCheck.integer({ min: 1, max: 200_000 }),
    FastCheck.constantFrom("", "e", "ee")
  ).map(([unit, count, tail]) => utf8(prefix + unit.repeat(Math.min(count, Math.floor(MiB / unit.length))) + tail))

/** Bencode values whose dictionary keys are the given ones (or any bytes): the shape of real documents. */
export const bencodeValue = (keys: ReadonlyArray<string>): FastCheck.Arbitrary<Bencode> => {
  const anyKey = FastCheck.uint8Array({ maxLength: 8 }).map(keyFromBytes)
  const key = keys.length === 0 ? anyKey : FastCheck.oneof(FastCheck.constantFrom(...keys), anyKey)
  return FastCheck.letrec<{ value: Bencode }>((tie) => ({
    value: FastCheck.oneof(
      { depthSize: "small", withCrossShrink: true },
      FastCheck.uint8Array({ maxLength: 40 }),
      FastCheck.integer({ min: -70_000, max: 70_000 }),
      FastCheck.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) =>
        n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
      ),
      FastCheck.array(tie("value"), { maxLength: 5 }),
      FastCheck.array(FastCheck.tuple(key, tie("value")), { maxLength: 5 }).map((entries) => new Map(entries))
    )
  })).value
}
