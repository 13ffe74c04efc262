import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as StateLock from "../../../src/services/storage/StateLock.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "state-lock-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The pid of a process that has ended. */
const endedPid = () => spawnSync(process.execPath, ["-e", ""]).pid!

describe("StateLock", () => {
  it.scoped("holds the folder while its scope is open, and frees it when it closes", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const held = yield* Scope.make()
      yield* Scope.extend(StateLock.lock(dir), held)
      expect(fs.readFileSync(path.join(dir, "daemon.lock"), "utf8")).toBe(`${process.pid}\n`)
      yield* Scope.close(held, Exit.void)
      expect(fs.existsSync(path.join(dir, "daemon.lock"))).toBe(false)
    }))

  it.scoped("refuses a folder that a running process holds, naming it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      // A live process other than us: our parent.
      fs.writeFileSync(path.join(dir, "daemon.lock"), `${process.ppid}\n`)
      const error = yield* Effect.flip(StateLock.lock(dir))
      expect([error._tag, error.reason, error.path]).toEqual(["StorageError", "Locked", dir])
      expect(error.message).toContain(`in use by another bt-effect daemon (process ${process.ppid})`)
      // Still the holder's.
      expect(fs.readFileSync(path.join(dir, "daemon.lock"), "utf8")).toBe(`${process.ppid}\n`)
    }))

  it.scoped("refuses a folder that another session of this process holds", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* StateLock.lock(dir)
      const error = yield* Effect.flip(StateLock.lock(dir))
      expect([error.reason, error.message]).toEqual(["Locked", `${dir}: in use by another session of this process`])
    }))

  it.scoped("takes over a lock left by a process that is gone (killed, not stopped)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "daemon.lock"), `${endedPid()}\n`)
      yield* StateLock.lock(dir)
      expect(fs.readFileSync(path.join(dir, "daemon.lock"), "utf8")).toBe(`${process.pid}\n`)
    }))

  it.scoped("creates the folder when it is missing", () =>
    Effect.gen(function* () {
      const dir = path.join(yield* tempDir, "new", "state")
      yield* StateLock.lock(dir)
      expect(fs.existsSync(path.join(dir, "daemon.lock"))).toBe(true)
    }))
})
