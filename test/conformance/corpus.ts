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

/** Why the conformance tests skip when the corpus is absent (`skipUnless`; the summary prints it). */
export const corpusMissing = `the conformance corpus is not at ${corpusDir} (set BT_CORPUS to where it is)`

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
