/**
 * Runs the built command line (`dist/main.js`, built by `npm test`'s pretest step) as a child process,
 * bounded in time.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** BT_EFFECT_CLI runs another build (a copy of dist/ made aside, so that a rebuild cannot pull it away
 *  from under a run). */
export const mainJs = process.env.BT_EFFECT_CLI ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/main.js")

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

export interface Background {
  readonly child: ChildProcess
  /** Everything printed so far, stdout and stderr together. */
  readonly output: () => string
  readonly match: RegExpMatchArray
}

const running = new Set<ChildProcess>()
/** When each background child's output streams closed, with its exit code. */
const closed = new WeakMap<ChildProcess, Promise<number | null>>()

/** Starts the CLI in the background; resolves once its output matches `ready`. */
export const background = (args: ReadonlyArray<string>, ready: RegExp, timeoutMs = 20_000) =>
  new Promise<Background>((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" }
    })
    running.add(child)
    closed.set(child, new Promise((done) => child.once("close", (code) => done(code))))
    child.once("exit", () => running.delete(child))
    let output = ""
    let done = false
    const timer = setTimeout(() => {
      done = true
      child.kill("SIGKILL")
      reject(new Error(`not ready after ${timeoutMs} ms: ${output}`))
    }, timeoutMs)
    const onData = (d: Buffer) => {
      output += d.toString()
      const match = output.match(ready)
      if (match !== null && !done) {
        done = true
        clearTimeout(timer)
        resolve({ child, output: () => output, match })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      if (done) return
      done = true
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before ready: ${output}`))
    })
  })

/** Stops a background CLI with SIGINT (SIGKILL after 10 s); resolves with its exit code once all its
 *  output has arrived ('close', not 'exit'). */
export const stop = async (child: ChildProcess): Promise<number | null> => {
  const ended = closed.get(child) ?? new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT")
  const kill = setTimeout(() => child.kill("SIGKILL"), 10_000)
  try {
    return await ended
  } finally {
    clearTimeout(kill)
  }
}

/** Kills every background CLI still running (for afterAll). */
export const stopAllBackground = async () => {
  await Promise.all([...running].map(stop))
}
