/**
 * One daemon per state folder. Two daemons on one folder would load the same torrents, write into the
 * same files at once and overwrite each other's session.json and resume data; the second one is refused.
 *
 * The lock is `<state>/daemon.lock`, created exclusively (O_EXCL) with the holder's process id, and
 * removed when the daemon stops. A lock left by a daemon that was killed (kill -9, a power cut) names a
 * process that no longer runs: it is taken over. Node has no flock, and a lock file names its holder in
 * the message, which a user needs to act.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"

/** Whether process `pid` runs (ours to signal or not). */
const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The holder's pid, or undefined when the file is gone or names none. */
const holderOf = (file: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const failure = (dir: string, detail: string) => new StorageError({ reason: "Locked", path: dir, detail })

/** Folders this process holds: its own pid in a lock file does not tell one session from another. */
const heldHere = new Set<string>()

const take = (dir: string, file: string): void => {
  if (heldHere.has(path.resolve(dir))) throw failure(dir, "in use by another session of this process")
  fs.mkdirSync(dir, { recursive: true })
  // Twice at most: a stale lock is removed once, then taken.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" })
      heldHere.add(path.resolve(dir))
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const holder = holderOf(file)
    if (holder !== undefined && holder !== process.pid && running(holder)) {
      throw failure(dir, `in use by another bt-effect daemon (process ${holder}); stop it first, or give this one another --state`)
    }
    fs.rmSync(file, { force: true })
  }
  throw failure(dir, `another daemon took ${file} at the same moment`)
}

/** Holds the state folder `dir` for this process until the scope closes; fails (reason Locked) while
 *  another running process holds it. */
export const lock = (dir: string): Effect.Effect<void, StorageError, Scope.Scope> => {
  const file = path.join(dir, "daemon.lock")
  return Effect.acquireRelease(
    Effect.try({
      try: () => take(dir, file),
      catch: (error) =>
        error instanceof StorageError ? error : failure(dir, `cannot lock: ${error instanceof Error ? error.message : String(error)}`)
    }),
    // Only our own lock: a folder taken over meanwhile is not ours to free.
    () =>
      Effect.sync(() => {
        heldHere.delete(path.resolve(dir))
        if (holderOf(file) === process.pid) fs.rmSync(file, { force: true })
      })
  )
}
