/**
 * Root reads and writes any file whatever its mode, so a test that takes a permission away proves nothing
 * when the tests run as root, as CI does. Such a test runs its case through `runUnprivileged`: run by an
 * ordinary user, the case runs right here; run by root, it runs in a Node process of its own as the user
 * nobody (uid and gid 65534), whom the kernel refuses what it refuses anyone. Either way the case gets a
 * fresh temporary folder that its user owns, and returns what it found for the test to check.
 *
 * A case is a module's default export (`UnprivilegedCase`) that names its own module. For the other
 * process that module is bundled with esbuild, as the program is (scripts/build.mjs), into a folder
 * nobody can read: the case runs the real code from the sources, not the last build, and needs nothing
 * from the repository's folder, which nobody may not be able to reach.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as esbuild from "esbuild"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

export interface UnprivilegedCase<A> {
  /** `import.meta.url` of the module whose default export this is. */
  readonly module: string
  /** Does the work in `folder` and gives what the test checks: plain data, since it may cross as JSON. */
  readonly run: (folder: string) => Promise<A>
}

export const runsAsRoot = process.getuid?.() === 0

/** nobody and nogroup on Debian: a user with no files of its own. */
const nobody = { uid: 65534, gid: 65534 }

/** Gives back the permissions a case took away (read and search on every folder), so that all can go. */
const unlock = (dir: string): void => {
  fs.chmodSync(dir, 0o700)
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) unlock(path.join(dir, entry.name))
  }
}

/** A fresh temporary folder, given to `owner` when there is one, removed with its content at the end. */
const temporaryFolder = (prefix: string, owner?: { readonly uid: number; readonly gid: number }) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
      if (owner !== undefined) fs.chownSync(folder, owner.uid, owner.gid)
      return folder
    }),
    (folder) =>
      Effect.sync(() => {
        unlock(folder)
        fs.rmSync(folder, { recursive: true, force: true })
      })
  )

/** The other process's program: runs the case on the folder it is given and prints what it returned. */
const entry = (caseModule: string) => `
import unprivilegedCase from ${JSON.stringify(caseModule)}
const found = await unprivilegedCase.run(process.argv[2])
process.stdout.write(JSON.stringify(found))
`

const runAsNobody = <A>(unprivilegedCase: UnprivilegedCase<A>, folder: string): Effect.Effect<A, never, Scope.Scope> =>
  Effect.flatMap(temporaryFolder("bt-unprivileged-program-"), (programFolder) =>
    Effect.promise(async () => {
      const program = path.join(programFolder, "case.mjs")
      await esbuild.build({
        stdin: { contents: entry(fileURLToPath(unprivilegedCase.module)), resolveDir: programFolder, loader: "js" },
        outfile: program,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        logLevel: "error"
      })
      // Readable by nobody: the folder mkdtemp made is the caller's alone.
      fs.chmodSync(programFolder, 0o755)
      fs.chmodSync(program, 0o644)
      const { stdout } = await promisify(execFile)(process.execPath, [program, folder], {
        ...nobody,
        cwd: folder,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
        timeout: 30_000
      })
      return JSON.parse(stdout) as A
    }))

/**
 * Runs the case on a temporary folder of its own (removed at the end of the scope): here, or, when the
 * tests run as root, as nobody in a process of its own. A case that throws, or a process that fails,
 * fails the test with what it printed.
 */
export const runUnprivileged = <A>(unprivilegedCase: UnprivilegedCase<A>): Effect.Effect<A, never, Scope.Scope> =>
  runsAsRoot
    ? Effect.flatMap(temporaryFolder("bt-unprivileged-", nobody), (folder) => runAsNobody(unprivilegedCase, folder))
    : Effect.flatMap(temporaryFolder("bt-unprivileged-"), (folder) => Effect.promise(() => unprivilegedCase.run(folder)))
