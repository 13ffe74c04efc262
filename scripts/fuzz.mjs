#!/usr/bin/env node
/**
 * The long fuzz run: `npm run fuzz -- --minutes N [--only NAME]` runs the properties of test/fuzz for
 * about N minutes (default 5) instead of their few hundred inputs under `npm test`.
 *
 * Each test file runs in its own vitest, two at a time (one per core), and is given its share of the
 * time left when it starts; each of its properties gets an equal part of that share, in batches of fresh
 * seeds. At the end it prints how many inputs each target tried, and any counterexample with its seed; a
 * failing property fails the run. Replay one with the command printed beside it.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const usage = () => {
  console.error("usage: npm run fuzz -- [--minutes N] [--only NAME]   (NAME: part of a test/fuzz file name)")
  process.exit(2)
}

let minutes = 5
let only
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--minutes") minutes = Number(args[++i])
  else if (args[i] === "--only") only = args[++i]
  else usage()
}
if (!Number.isFinite(minutes) || minutes <= 0 || only === "") usage()

const files = fs
  .readdirSync(path.join(root, "test/fuzz"))
  .filter((f) => f.endsWith(".test.ts") && (only === undefined || f.includes(only)))
  .sort()
  .map((f) => path.join("test/fuzz", f))
if (files.length === 0) {
  console.error(`no fuzz test file matches '${only}'`)
  process.exit(2)
}

const workers = Math.max(1, Math.min(files.length, os.availableParallelism(), 2))
// What starting vitest and loading a file costs, taken out of each file's share.
const loadMs = 4000
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bt-fuzz-")), "report.jsonl")
fs.writeFileSync(report, "")

const started = Date.now()
const deadline = started + minutes * 60_000
console.log(`fuzzing ${files.length} file(s) for ${minutes} min, ${workers} at a time`)

/** The end times of the files running now. */
const running = new Map()
const queue = [...files]
let failed = false

/** A file's share: the worker time left, less what the running files still take, over the files to go. */
const shareOf = () => {
  const now = Date.now()
  let busy = 0
  for (const end of running.values()) busy += Math.max(0, end - now)
  return Math.max(5000, Math.floor((workers * (deadline - now) - busy) / (queue.length + 1)))
}

const runNext = () =>
  new Promise((resolve) => {
    const file = queue.shift()
    if (file === undefined) return resolve()
    const share = shareOf()
    running.set(file, Date.now() + share)
    const fileMs = Math.max(3000, share - loadMs)
    console.log(`== ${file}: ${Math.round(fileMs / 1000)} s`)
    const child = spawn("npx", ["vitest", "run", file, `--testTimeout=${fileMs + 120_000}`], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, BT_FUZZ_FILE_MS: String(fileMs), BT_FUZZ_REPORT: report }
    })
    child.on("exit", (code) => {
      if (code !== 0) failed = true
      running.delete(file)
      resolve(runNext())
    })
  })

await Promise.all(Array.from({ length: workers }, runNext))

const lines = fs
  .readFileSync(report, "utf8")
  .split("\n")
  .filter((l) => l !== "")
  .map((l) => JSON.parse(l))
console.log(`\nfuzz summary (${((Date.now() - started) / 60_000).toFixed(1)} min):`)
const width = Math.max(10, ...lines.map((l) => l.target.length))
let total = 0
for (const l of lines) {
  total += l.inputs
  const rate = l.ms > 0 ? Math.round((l.inputs / l.ms) * 1000) : 0
  const seconds = (l.ms / 1000).toFixed(1).padStart(6)
  const status = l.failed ? "FAILED" : "ok"
  console.log(`  ${l.target.padEnd(width)}  ${String(l.inputs).padStart(9)} inputs  ${seconds} s  ${String(rate).padStart(7)}/s  ${status}`)
}
console.log(`  ${"total".padEnd(width)}  ${String(total).padStart(9)} inputs`)
for (const l of lines.filter((l) => l.failed)) console.log(`\n${l.report}`)
if (failed && !lines.some((l) => l.failed)) console.log("\na fuzz file failed without a counterexample: see its output above")
process.exit(failed ? 1 : 0)
