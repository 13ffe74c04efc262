/**
 * Where the shared conformance corpus lives: `../shared/corpus` beside the repository, or `BT_CORPUS`.
 * The corpus is data from other projects' test suites and is never copied into this repository, so the
 * conformance tests skip, saying why, when it is absent.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

export const corpusDir = process.env["BT_CORPUS"] ?? path.resolve(repoRoot, "../shared/corpus")

export const corpusPresent = fs.existsSync(path.join(corpusDir, "README.md"))

if (!corpusPresent) {
  console.warn(`conformance corpus not found at ${corpusDir}: conformance tests skipped (set BT_CORPUS to run them)`)
}

/** The lines of a JSONL file in the corpus, parsed. */
export const readJsonl = (file: string): ReadonlyArray<Record<string, unknown>> =>
  corpusPresent
    ? fs
        .readFileSync(path.join(corpusDir, file), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : []

export const readCorpusFile = (file: string): Buffer => fs.readFileSync(path.join(corpusDir, file))

/** How the corpus shows a byte string: text when it is UTF-8, else `{ hex }`. */
export const shownBytes = (b: Uint8Array): string | { hex: string } => {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b)
  } catch {
    return { hex: Buffer.from(b).toString("hex") }
  }
}
