/**
 * Runs the built command line (`dist/main.js`, built by `npm test`'s pretest step) as a child process,
 * bounded in time.
 */
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const mainJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/main.js")

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const runCli = (args: ReadonlyArray<string>, options?: { readonly timeoutMs?: number; readonly cwd?: string }) =>
  new Promise<CliResult>((resolve) => {
    execFile(
      process.execPath,
      [mainJs, ...args],
      { timeout: options?.timeoutMs ?? 30_000, cwd: options?.cwd, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr })
      }
    )
  })
